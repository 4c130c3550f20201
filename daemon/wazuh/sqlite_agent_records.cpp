#include "wazuh/sqlite_agent_records.hpp"

#include <sqlite3.h>

#include <chrono>

#include "state/sqlite_statement.hpp"

namespace lxcprov::wazuh {

using state::db_error;
using state::Statement;
namespace {

wazuh::AgentRecord row(const Statement& st) {
  return {st.text(0), st.text(1), st.text(2), static_cast<int>(st.int64(3))};
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
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
  Statement s(db_,
              "INSERT INTO wazuh_agents (container, agent_id, state, attempts, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) "
              "ON CONFLICT (container) DO UPDATE SET agent_id = ?2, state = ?3, attempts = ?4, updated_at = ?5");
  s.bind(1, rec.container)
      .bind(2, rec.agent_id)
      .bind(3, rec.state)
      .bind(4, int64_t{rec.attempts})
      .bind(5, now_seconds());
  if (s.step() != SQLITE_DONE) return db_error(db_, "write agent record");
  return {};
}

Result<std::optional<wazuh::AgentRecord>> SqliteAgentRecords::find(const std::string& container) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT container, agent_id, state, attempts FROM wazuh_agents WHERE container = ?1");
  s.bind(1, container);
  const int rc = s.step();
  if (rc == SQLITE_ROW) return std::optional<wazuh::AgentRecord>(row(s));
  if (rc == SQLITE_DONE) return std::optional<wazuh::AgentRecord>();
  return db_error(db_, "read agent record");
}

Result<std::vector<wazuh::AgentRecord>> SqliteAgentRecords::pending() {
  std::lock_guard lock(mutex_);
  Statement s(
      db_, "SELECT container, agent_id, state, attempts FROM wazuh_agents WHERE state = 'pending' ORDER BY updated_at");
  std::vector<wazuh::AgentRecord> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) out.push_back(row(s));
  if (rc != SQLITE_DONE) return db_error(db_, "read pending agents");
  return out;
}

Status SqliteAgentRecords::remove(const std::string& container) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM wazuh_agents WHERE container = ?1");
  s.bind(1, container);
  if (s.step() != SQLITE_DONE) return db_error(db_, "remove agent record");
  return {};
}

}  // namespace lxcprov::wazuh
