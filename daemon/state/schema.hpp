#pragma once
// The SQLite schema of lxcprov's state database, as an ordered list of migrations. Migration i
// (0-based) takes PRAGMA user_version from i to i+1; SqliteStore applies each pending one in its
// own transaction. Never edit a released migration: append a new one. Immutable data, so
// thread-safe.

#include <span>
#include <string_view>

namespace lxcprov::state::schema {

/// Every migration, oldest first. migrations().size() is the current schema version.
std::span<const std::string_view> migrations();

/// The user_version of a fully migrated database.
int latest_version();

}  // namespace lxcprov::state::schema
