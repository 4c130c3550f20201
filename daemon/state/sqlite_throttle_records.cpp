#include "state/sqlite_throttle_records.hpp"

#include <sqlite3.h>

#include "state/sqlite_statement.hpp"

namespace lxcprov::state {

Result<std::unique_ptr<SqliteThrottleRecords>> SqliteThrottleRecords::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr) !=
      SQLITE_OK) {
    Error e = db_error(db, "cannot open database");
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<SqliteThrottleRecords> r(new SqliteThrottleRecords(db));
  sqlite3_busy_timeout(db, 10000);
  return r;
}

SqliteThrottleRecords::~SqliteThrottleRecords() { sqlite3_close_v2(db_); }

Result<std::vector<auth::ThrottleEntry>> SqliteThrottleRecords::load() {
  std::lock_guard lock(mutex_);
  std::vector<auth::ThrottleEntry> out;
  Statement s(db_, "SELECT key, failures, last_ms, locked_until_ms FROM throttle ORDER BY key");
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back({s.text(0), static_cast<int>(s.int64(1)), s.int64(2), s.int64(3)});
  if (rc != SQLITE_DONE) return db_error(db_, "read throttle state");
  return out;
}

Status SqliteThrottleRecords::save(const std::vector<auth::ThrottleEntry>& entries) {
  std::lock_guard lock(mutex_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(db_, "begin throttle write");
  for (const auto& e : entries) {
    Statement s(db_,
                "INSERT INTO throttle (key, failures, last_ms, locked_until_ms) VALUES (?1, ?2, ?3, ?4) "
                "ON CONFLICT (key) DO UPDATE SET failures = ?2, last_ms = ?3, locked_until_ms = ?4");
    s.bind(1, e.key).bind(2, int64_t{e.failures}).bind(3, e.last_ms).bind(4, e.locked_until_ms);
    if (s.step() != SQLITE_DONE) {
      Error err = db_error(db_, "write throttle state");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return err;
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error err = db_error(db_, "commit throttle state");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return err;
  }
  return {};
}

Status SqliteThrottleRecords::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM throttle WHERE key = ?1");
  s.bind(1, key);
  if (s.step() != SQLITE_DONE) return db_error(db_, "forget throttle state");
  return {};
}

Status SqliteThrottleRecords::prune(int64_t before_ms, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM throttle WHERE last_ms < ?1 AND locked_until_ms <= ?2");
  s.bind(1, before_ms).bind(2, now_ms);
  if (s.step() != SQLITE_DONE) return db_error(db_, "prune throttle state");
  return {};
}

}  // namespace lxcprov::state
