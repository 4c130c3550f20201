#pragma once
// The PostgreSQL forms of the two record sets that keep their own connection beside the store, as
// their SQLite forms do: wazuh::AgentRecords (table wazuh_agents) and auth::ThrottleRecords (table
// throttle). Open them after PgStore::open() has migrated the database. Each is thread-safe (one
// mutex per instance) and reconnects a broken connection before a call, like PgStore.

#include <memory>
#include <mutex>
#include <string>

#include "auth/throttle.hpp"
#include "state/pg_connection.hpp"
#include "wazuh/manager.hpp"

namespace lxcprov::state {

class PgAgentRecords : public wazuh::AgentRecords {
 public:
  /// `node`: pending() returns the agents of this node's containers only, so each node retries
  /// its own enrollments and never another node's.
  static Result<std::unique_ptr<PgAgentRecords>> open(const std::string& conninfo, const std::string& node);
  Status put(const wazuh::AgentRecord& rec) override;
  Result<std::optional<wazuh::AgentRecord>> find(const std::string& container) override;
  Result<std::vector<wazuh::AgentRecord>> pending() override;
  Status remove(const std::string& container) override;

 private:
  PgAgentRecords(std::unique_ptr<PgConnection> c, std::string node) : c_(std::move(c)), node_(std::move(node)) {}
  std::mutex mutex_;
  std::unique_ptr<PgConnection> c_;  ///< guarded by mutex_
  const std::string node_;
};

class PgThrottleRecords : public auth::ThrottleRecords {
 public:
  static Result<std::unique_ptr<PgThrottleRecords>> open(const std::string& conninfo);
  Result<std::vector<auth::ThrottleEntry>> load() override;
  Status save(const std::vector<auth::ThrottleEntry>& entries) override;
  Status forget(const std::string& key) override;
  Status prune(int64_t before_ms, int64_t now_ms) override;

 private:
  explicit PgThrottleRecords(std::unique_ptr<PgConnection> c) : c_(std::move(c)) {}
  std::mutex mutex_;
  std::unique_ptr<PgConnection> c_;  ///< guarded by mutex_
};

}  // namespace lxcprov::state
