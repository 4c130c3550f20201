#pragma once
// SqliteAgentRecords: wazuh::AgentRecords in the state database (table wazuh_agents, schema
// version 3). Its own connection to the file SqliteStore::open() has already migrated, so the
// Store interface other code depends on stays as it is. Thread-safe (one mutex per instance).

#include <memory>
#include <mutex>
#include <string>

#include "wazuh/manager.hpp"

struct sqlite3;

namespace lxcprov::wazuh {

class SqliteAgentRecords : public wazuh::AgentRecords {
 public:
  /// `path`: a database SqliteStore::open() has opened (and so migrated) before.
  static Result<std::unique_ptr<SqliteAgentRecords>> open(const std::string& path);
  ~SqliteAgentRecords() override;
  SqliteAgentRecords(const SqliteAgentRecords&) = delete;
  SqliteAgentRecords& operator=(const SqliteAgentRecords&) = delete;

  Status put(const wazuh::AgentRecord& rec) override;
  Result<std::optional<wazuh::AgentRecord>> find(const std::string& container) override;
  Result<std::vector<wazuh::AgentRecord>> pending() override;
  Status remove(const std::string& container) override;

 private:
  explicit SqliteAgentRecords(sqlite3* db) : db_(db) {}
  std::mutex mutex_;
  sqlite3* db_ = nullptr;  ///< guarded by mutex_
};

}  // namespace lxcprov::wazuh
