// PgConnection: see pg_connection.hpp.

#include "state/pg_connection.hpp"

#include <poll.h>

#include <cstdlib>
#include <vector>

namespace lxcprov::state {

namespace {

// libpq's messages end with a newline and may span lines (DETAIL, HINT); the first line is the
// primary message, which quotes no bound value.
std::string first_line(const char* message) {
  std::string m = message != nullptr ? message : "";
  if (auto nl = m.find('\n'); nl != std::string::npos) m.resize(nl);
  if (m.rfind("ERROR:  ", 0) == 0) m.erase(0, 8);
  return m.empty() ? "unknown error" : m;
}

}  // namespace

Error pg_error(std::string_view what, std::string_view message) {
  std::string m = "state database: ";
  m += what;
  m += ": ";
  m += message;
  return make_error(Errc::io, std::move(m));
}

bool PgResult::ok() const {
  const auto s = PQresultStatus(result_.get());
  return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

std::string PgResult::sqlstate() const {
  const char* s = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return s != nullptr ? s : "";
}

Error PgResult::error(std::string_view what) const {
  const char* primary = PQresultErrorField(result_.get(), PG_DIAG_MESSAGE_PRIMARY);
  return pg_error(what, primary != nullptr ? std::string(primary) : first_line(PQresultErrorMessage(result_.get())));
}

int64_t PgResult::changed() const {
  const char* n = PQcmdTuples(result_.get());
  return n != nullptr && *n != '\0' ? std::strtoll(n, nullptr, 10) : 0;
}

std::string PgResult::text(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t PgResult::int64(int row, int column) const {
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}

bool PgResult::boolean(int row, int column) const { return PQgetvalue(result_.get(), row, column)[0] == 't'; }

std::string PgResult::bytes(int row, int column) const {
  std::size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &n);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return out;
}

Result<std::unique_ptr<PgConnection>> PgConnection::open(const std::string& conninfo) {
  // libpq's parse errors quote the connection string, which may hold a password: parsed here
  // first, and a failure said without its text.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (parse_error != nullptr) PQfreemem(parse_error);
  if (parsed == nullptr) return pg_error("cannot connect", "the connection string (fleet.database) does not parse");
  PQconninfoFree(parsed);
  // Defaults the connection string may override (it is expanded after them): a server that does
  // not answer fails a connect in 10 s, and a cut connection is noticed by TCP keepalives.
  // The server's side too: a backend whose client died (a node that crashed) is noticed within
  // a minute, and with it go the session locks it held (PgStore::claim_node). Given at connect,
  // they hold again after PQreset; notices (an idempotent DDL's) stay out of the daemon's stderr.
  const char* keywords[] = {"connect_timeout",  "keepalives", "keepalives_idle", "keepalives_interval",
                            "keepalives_count", "options",    "dbname",          nullptr};
  const char* values[] = {"10",
                          "1",
                          "30",
                          "10",
                          "3",
                          "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10 -c tcp_keepalives_count=3 "
                          "-c client_min_messages=warning",
                          conninfo.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return pg_error("cannot connect", "out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    Error e = pg_error("cannot connect", first_line(PQerrorMessage(conn)));
    PQfinish(conn);
    return e;
  }
  return std::unique_ptr<PgConnection>(new PgConnection(conn));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

PgResult PgConnection::exec(std::string_view sql, std::initializer_list<PgParam> params) {
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p.value.c_str());
    lengths.push_back(static_cast<int>(p.value.size()));
    formats.push_back(p.binary ? 1 : 0);
  }
  const std::string text(sql);
  return PgResult(PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), 0));
}

PgResult PgConnection::exec_script(const std::string& sql) { return PgResult(PQexec(conn_, sql.c_str())); }

bool PgConnection::wait_notify(std::chrono::milliseconds timeout) {
  auto drain = [this] {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_)) {
      any = true;
      PQfreemem(n);
    }
    return any;
  };
  if (drain()) return true;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  if (p.fd < 0 || ::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  if (PQconsumeInput(conn_) == 0) return false;
  return drain();
}

PgConnection::Recovered PgConnection::recover() {
  // Idle, a connection expects nothing from the server but notifications (which reading queues
  // for PQnotifies): other input now is a server that shut down telling us so and closing the
  // socket. Reading it, without blocking, makes libpq notice the close, so the call about to run
  // reconnects instead of failing on it.
  for (int reads = 0; reads < 4 && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
       ++reads) {
    pollfd p{PQsocket(conn_), POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) break;
    if (PQconsumeInput(conn_) == 0) break;
  }
  if (PQstatus(conn_) == CONNECTION_OK) return Recovered::ok;
  PQreset(conn_);
  return PQstatus(conn_) == CONNECTION_OK ? Recovered::reconnected : Recovered::broken;
}

PgTransaction::~PgTransaction() {
  if (active_) (void)c_.exec("ROLLBACK");
}

Status PgTransaction::begin() {
  if (auto r = c_.exec("BEGIN"); !r.ok()) return r.error("begin transaction");
  active_ = true;
  return {};
}

Status PgTransaction::commit() {
  auto r = c_.exec("COMMIT");
  active_ = false;
  if (!r.ok()) return r.error("commit");
  return {};
}

}  // namespace lxcprov::state
