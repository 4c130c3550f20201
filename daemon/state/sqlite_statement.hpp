#pragma once
// Small helpers over the SQLite C API shared by the state stores: operator-safe errors and a
// prepared statement that remembers a failed prepare or bind until step().

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::state {

// SQLite's messages name tables and constraints, never the values bound, so they are safe for
// operators. The file path is deliberately left out (Error's contract).
inline Error db_error(sqlite3* db, std::string_view what) {
  std::string message = "state database: ";
  message += what;
  message += ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  return make_error(Errc::io, std::move(message));
}

// A prepared statement. A failed prepare or bind is remembered and reported by step(), so call
// sites handle every SQLite failure in one place.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) {
    rc_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, int64_t value) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  Statement& bind(int index, std::string_view value) {
    // SQLITE_TRANSIENT: SQLite copies, so temporaries passed here are safe.
    if (rc_ == SQLITE_OK)
      rc_ = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
  }

  Statement& bind_blob(int index, std::string_view bytes) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
  }

  /// SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  int step() { return rc_ == SQLITE_OK ? sqlite3_step(stmt_) : rc_; }

  int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::string blob(int column) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
    if (p == nullptr) return {};
    return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

}  // namespace lxcprov::state
