#pragma once
// The PostgreSQL schema of lxcprov's state database, the shared state of a fleet (docs/
// architecture.md, "Fleet"), as an ordered list of migrations: migration i (0-based) takes
// lxcprov_schema.version from i to i+1. PgStore applies the pending ones in one transaction under
// an advisory lock, so daemons starting together migrate once. Never edit a released migration:
// append a new one. The tables and their guarantees are SQLite's (state/schema.cpp) with
// PostgreSQL's types; where SQLite's COLLATE NOCASE made names case-insensitive, a unique index on
// lower(name) does. Immutable data, so thread-safe.

#include <span>
#include <string_view>

namespace lxcprov::state::pg_schema {

std::span<const std::string_view> migrations();
int latest_version();

/// The key of the advisory lock every migration and every reservation takes: reservations pick the
/// lowest free CTID, address and ports, so they are serialized fleet-wide, as SQLite's BEGIN
/// IMMEDIATE serializes them on one host; the UNIQUE constraints remain the guarantee.
inline constexpr long long kReservationLock = 0x6c7863'70726f76LL;  // "lxcprov"

}  // namespace lxcprov::state::pg_schema
