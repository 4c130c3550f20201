#include "state/sqlite_agent_records.hpp"

#include <sqlite3.h>

#include <chrono>

namespace lxcprov::state {
namespace {

Error db_error(sqlite3* db, std::string_view what) {
  std::string message = "state database: ";
  message += what;
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return make_error(Errc::io, std::move(message));
}

struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &st, nullptr); }
  ~Stmt() { sqlite3_finalize(st); }
  void text(int i, const std::string& v) { sqlite3_bind_text(st, i, v.c_str(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
};

wazuh::AgentRecord row(sqlite3_stmt* st) {
  auto col = [&](int i) {
    const unsigned char* t = sqlite3_column_text(st, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  return {col(0), col(1), col(2), sqlite3_column_int(st, 3)};
}

}  // namespace

Result<std::unique_ptr<SqliteAgentRecords>> SqliteAgentRecords::open(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr) !=
      SQLITE_OK) {
    Error e = db_error(db, "cannot open database");
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<SqliteAgentRecords> r(new SqliteAgentRecords(db));
  sqlite3_busy_timeout(db, 10000);
  // The container foreign key (and its cascade) is enforced per connection.
  if (sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(db, "enable foreign keys");
  return r;
}

SqliteAgentRecords::~SqliteAgentRecords() { sqlite3_close_v2(db_); }

Status SqliteAgentRecords::put(const wazuh::AgentRecord& rec) {
  std::lock_guard lock(mutex_);
  Stmt s(db_,
         "INSERT INTO wazuh_agents (container, agent_id, state, attempts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT (container) DO UPDATE SET agent_id = ?2, state = ?3, attempts = ?4, updated_at = ?5");
  if (!s.st) return db_error(db_, "prepare agent record");
  s.text(1, rec.container);
  s.text(2, rec.agent_id);
  s.text(3, rec.state);
  sqlite3_bind_int(s.st, 4, rec.attempts);
  sqlite3_bind_int64(s.st, 5,
                     std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                         .count());
  if (sqlite3_step(s.st) != SQLITE_DONE) return db_error(db_, "write agent record");
  return {};
}

Result<std::optional<wazuh::AgentRecord>> SqliteAgentRecords::find(const std::string& container) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "SELECT container, agent_id, state, attempts FROM wazuh_agents WHERE container = ?1");
  if (!s.st) return db_error(db_, "prepare agent lookup");
  s.text(1, container);
  int rc = sqlite3_step(s.st);
  if (rc == SQLITE_ROW) return std::optional<wazuh::AgentRecord>(row(s.st));
  if (rc == SQLITE_DONE) return std::optional<wazuh::AgentRecord>();
  return db_error(db_, "read agent record");
}

Result<std::vector<wazuh::AgentRecord>> SqliteAgentRecords::pending() {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "SELECT container, agent_id, state, attempts FROM wazuh_agents WHERE state = 'pending' ORDER BY updated_at");
  if (!s.st) return db_error(db_, "prepare pending agents");
  std::vector<wazuh::AgentRecord> out;
  int rc;
  while ((rc = sqlite3_step(s.st)) == SQLITE_ROW) out.push_back(row(s.st));
  if (rc != SQLITE_DONE) return db_error(db_, "read pending agents");
  return out;
}

Status SqliteAgentRecords::remove(const std::string& container) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "DELETE FROM wazuh_agents WHERE container = ?1");
  if (!s.st) return db_error(db_, "prepare agent removal");
  s.text(1, container);
  if (sqlite3_step(s.st) != SQLITE_DONE) return db_error(db_, "remove agent record");
  return {};
}

}  // namespace lxcprov::state
