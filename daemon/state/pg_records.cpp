// PgAgentRecords and PgThrottleRecords: see pg_records.hpp; the statements are their SQLite
// forms' (wazuh/sqlite_agent_records.cpp, state/sqlite_throttle_records.cpp).

#include "state/pg_records.hpp"

#include <chrono>

namespace lxcprov::state {

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

wazuh::AgentRecord agent_from_row(const PgResult& r, int row) {
  return {r.text(row, 0), r.text(row, 1), r.text(row, 2), static_cast<int>(r.int64(row, 3))};
}

}  // namespace

Result<std::unique_ptr<PgAgentRecords>> PgAgentRecords::open(const std::string& conninfo, const std::string& node) {
  auto c = PgConnection::open(conninfo);
  if (!c) return c.error();
  return std::unique_ptr<PgAgentRecords>(new PgAgentRecords(std::move(*c), node));
}

Status PgAgentRecords::put(const wazuh::AgentRecord& rec) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  auto r = c_->exec(
      "INSERT INTO wazuh_agents (container, agent_id, state, attempts, updated_at) VALUES ($1, $2, $3, $4, $5) "
      "ON CONFLICT (container) DO UPDATE SET agent_id = $2, state = $3, attempts = $4, updated_at = $5",
      {rec.container, rec.agent_id, rec.state, rec.attempts, now_seconds()});
  if (!r.ok()) return r.error("write agent record");
  return {};
}

Result<std::optional<wazuh::AgentRecord>> PgAgentRecords::find(const std::string& container) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  auto r = c_->exec("SELECT container, agent_id, state, attempts FROM wazuh_agents WHERE lower(container) = lower($1)",
                    {container});
  if (!r.ok()) return r.error("read agent record");
  if (r.rows() == 0) return std::optional<wazuh::AgentRecord>();
  return std::optional<wazuh::AgentRecord>(agent_from_row(r, 0));
}

Result<std::vector<wazuh::AgentRecord>> PgAgentRecords::pending() {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  auto r = c_->exec(
      "SELECT a.container, a.agent_id, a.state, a.attempts FROM wazuh_agents a JOIN containers c ON c.name = "
      "a.container WHERE a.state = 'pending' AND c.node = $1 ORDER BY a.updated_at",
      {node_});
  if (!r.ok()) return r.error("read pending agents");
  std::vector<wazuh::AgentRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(agent_from_row(r, i));
  return out;
}

Status PgAgentRecords::remove(const std::string& container) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  if (auto r = c_->exec("DELETE FROM wazuh_agents WHERE lower(container) = lower($1)", {container}); !r.ok())
    return r.error("remove agent record");
  return {};
}

Result<std::unique_ptr<PgThrottleRecords>> PgThrottleRecords::open(const std::string& conninfo) {
  auto c = PgConnection::open(conninfo);
  if (!c) return c.error();
  return std::unique_ptr<PgThrottleRecords>(new PgThrottleRecords(std::move(*c)));
}

Result<std::vector<auth::ThrottleEntry>> PgThrottleRecords::load() {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  auto r = c_->exec(R"(SELECT key, failures, last_ms, locked_until_ms FROM throttle ORDER BY key COLLATE "C")");
  if (!r.ok()) return r.error("read throttle state");
  std::vector<auth::ThrottleEntry> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back({r.text(i, 0), static_cast<int>(r.int64(i, 1)), r.int64(i, 2), r.int64(i, 3)});
  return out;
}

Status PgThrottleRecords::save(const std::vector<auth::ThrottleEntry>& entries) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s;
  for (const auto& e : entries) {
    auto r = c_->exec(
        "INSERT INTO throttle (key, failures, last_ms, locked_until_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (key) DO UPDATE SET failures = $2, last_ms = $3, locked_until_ms = $4",
        {e.key, e.failures, e.last_ms, e.locked_until_ms});
    if (!r.ok()) return r.error("write throttle state");
  }
  return txn.commit();
}

Status PgThrottleRecords::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  if (auto r = c_->exec("DELETE FROM throttle WHERE key = $1", {key}); !r.ok()) return r.error("forget throttle state");
  return {};
}

Status PgThrottleRecords::prune(int64_t before_ms, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  (void)c_->recover();
  if (auto r = c_->exec("DELETE FROM throttle WHERE last_ms < $1 AND locked_until_ms <= $2", {before_ms, now_ms});
      !r.ok())
    return r.error("prune throttle state");
  return {};
}

}  // namespace lxcprov::state
