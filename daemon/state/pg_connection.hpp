#pragma once
// PgConnection: one libpq connection to lxcprov's PostgreSQL state database, with the few
// things the stores need: statements with bound parameters only, transactions, and errors that
// are safe to show operators. Not thread-safe: each store guards its connection with a mutex.
//
// Errors carry the server's primary message (it names tables and constraints, never a bound
// value; the DETAIL line, which can quote values, is left out) and the SQLSTATE, so callers map
// unique violations to conflicts. The conninfo may hold a password, so it is never put in an
// error or a log line.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::state {

/// One bound parameter: text, or raw bytes (a bytea column), or SQL NULL.
struct PgParam {
  PgParam(std::string_view text) : value(text) {}  // NOLINT: implicit on purpose, like a bind
  PgParam(const std::string& text) : value(text) {}
  PgParam(const char* text) : value(text) {}
  PgParam(int64_t n) : value(std::to_string(n)) {}
  PgParam(int n) : value(std::to_string(n)) {}
  PgParam(bool b) : value(b ? "true" : "false") {}
  static PgParam bytes(std::string_view raw) {
    PgParam p{std::string_view(raw)};
    p.binary = true;
    return p;
  }
  std::string value;
  bool binary = false;
};

/// The outcome of one statement: rows, or the error with its SQLSTATE.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : result_(r, &PQclear) {}

  bool ok() const;
  /// Five characters ("23505"), or "" when the connection failed before the server answered.
  std::string sqlstate() const;
  /// Errc::io, "state database: WHAT: <server's primary message>".
  Error error(std::string_view what) const;

  int rows() const { return PQntuples(result_.get()); }
  /// The number of rows an UPDATE or DELETE changed.
  int64_t changed() const;
  bool null(int row, int column) const { return PQgetisnull(result_.get(), row, column) != 0; }
  std::string text(int row, int column) const;
  int64_t int64(int row, int column) const;
  bool boolean(int row, int column) const;
  /// A bytea column, unescaped.
  std::string bytes(int row, int column) const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_;
};

class PgConnection {
 public:
  /// Connects with the libpq connection string `conninfo` ("host=/run/postgresql dbname=lxcprov"
  /// or a postgresql:// URI). Errc::io naming the failure, never the conninfo.
  static Result<std::unique_ptr<PgConnection>> open(const std::string& conninfo);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  /// Runs one statement with `params` bound to $1, $2...; values never become SQL text.
  PgResult exec(std::string_view sql, std::initializer_list<PgParam> params = {});
  /// Several statements of our own constant SQL (a migration), no parameters.
  PgResult exec_script(const std::string& sql);

  /// For a connection that LISTENs: waits up to `timeout` for a notification. True when one or
  /// more came (all are consumed: a burst of changes wakes the caller once); false at the timeout
  /// or when the connection broke (recover() then reconnects it).
  bool wait_notify(std::chrono::milliseconds timeout);

  enum class Recovered { ok, reconnected, broken };
  /// After the server went away (restarted, or a network cut): reconnects, once, when no
  /// transaction is open. `reconnected`: usable, but a new session (session locks are gone).
  Recovered recover();

 private:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PGconn* conn_ = nullptr;
};

/// Errc::io "state database: WHAT: MESSAGE" for failures outside a statement.
Error pg_error(std::string_view what, std::string_view message);

/// BEGIN ... COMMIT, rolled back unless committed.
class PgTransaction {
 public:
  explicit PgTransaction(PgConnection& c) : c_(c) {}
  ~PgTransaction();
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  Status begin();
  Status commit();

 private:
  PgConnection& c_;
  bool active_ = false;
};

/// SQLSTATE classes the stores tell apart.
inline constexpr std::string_view kUniqueViolation = "23505";
inline constexpr std::string_view kForeignKeyViolation = "23503";

}  // namespace lxcprov::state
