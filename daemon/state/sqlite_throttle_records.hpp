#pragma once
// SqliteThrottleRecords: auth::ThrottleRecords in the state database (table throttle, schema
// version 6). Its own connection to the file SqliteStore::open() has already migrated, like
// wazuh::SqliteAgentRecords. Thread-safe (one mutex per instance).

#include <memory>
#include <mutex>
#include <string>

#include "auth/throttle.hpp"

struct sqlite3;

namespace lxcprov::state {

class SqliteThrottleRecords : public auth::ThrottleRecords {
 public:
  /// `path`: a database SqliteStore::open() has opened (and so migrated) before.
  static Result<std::unique_ptr<SqliteThrottleRecords>> open(const std::string& path);
  ~SqliteThrottleRecords() override;
  SqliteThrottleRecords(const SqliteThrottleRecords&) = delete;
  SqliteThrottleRecords& operator=(const SqliteThrottleRecords&) = delete;

  Result<std::vector<auth::ThrottleEntry>> load() override;
  Status save(const std::vector<auth::ThrottleEntry>& entries) override;
  Status forget(const std::string& key) override;
  Status prune(int64_t before_ms, int64_t now_ms) override;

 private:
  explicit SqliteThrottleRecords(sqlite3* db) : db_(db) {}
  std::mutex mutex_;
  sqlite3* db_ = nullptr;  ///< guarded by mutex_
};

}  // namespace lxcprov::state
