// The SQLite schema of lxcprov's state database (see schema.hpp).
//
// Schema, version 1:
//
//   containers   one row per reserved container; the row *is* the reservation of its name,
//                CTID and IP, so deleting it frees all three at once.
//     name          TEXT PK COLLATE NOCASE  -- "Web" and "web" collide, whatever the caller did
//     ctid          INTEGER NOT NULL UNIQUE
//     ip            INTEGER NOT NULL UNIQUE -- IPv4 as uint32 host order, so it sorts numerically
//     owner         TEXT NOT NULL           -- Proxmox user name
//     distribution  TEXT NOT NULL
//     http_port     INTEGER NOT NULL
//     state         TEXT NOT NULL           -- "creating", "ready", "deleting"
//     job_id        TEXT NOT NULL           -- last job that touched it (no FK: jobs may be pruned)
//     created_at    INTEGER NOT NULL        -- unix seconds
//
//   jobs         one row per job; survives restarts so unfinished jobs can be recovered.
//     id TEXT PK, op, container, user, state, step, exit_code, message,
//     created_at, updated_at                -- unix milliseconds
//
//   job_steps    the completed steps of a job, in order: the undo list on failure.
//     job_id -> jobs(id) ON DELETE CASCADE, seq, step; PK (job_id, seq)
//
//   job_log      the operator-visible log lines of a job.
//     job_id -> jobs(id) ON DELETE CASCADE, seq (1, 2, ... per job), at (unix ms), level, text;
//     UNIQUE index (job_id, seq) serves lookups by job_id and keeps seq from repeating.

#include "state/schema.hpp"

#include <array>

namespace lxcprov::state::schema {

namespace {

constexpr std::array<std::string_view, 1> kMigrations = {
    // 1: initial schema.
    R"sql(
CREATE TABLE containers (
  name         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
  ctid         INTEGER NOT NULL UNIQUE,
  ip           INTEGER NOT NULL UNIQUE CHECK (ip BETWEEN 0 AND 4294967295),
  owner        TEXT    NOT NULL,
  distribution TEXT    NOT NULL,
  http_port    INTEGER NOT NULL CHECK (http_port BETWEEN 0 AND 65535),
  state        TEXT    NOT NULL,
  job_id       TEXT    NOT NULL,
  created_at   INTEGER NOT NULL
);
CREATE INDEX containers_by_owner ON containers(owner);

CREATE TABLE jobs (
  id         TEXT    NOT NULL PRIMARY KEY,
  op         TEXT    NOT NULL,
  container  TEXT    NOT NULL,
  user       TEXT    NOT NULL,
  state      TEXT    NOT NULL,
  step       TEXT    NOT NULL DEFAULT '',
  exit_code  INTEGER NOT NULL DEFAULT 0,
  message    TEXT    NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_by_state ON jobs(state);

CREATE TABLE job_steps (
  job_id TEXT    NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  step   TEXT    NOT NULL,
  PRIMARY KEY (job_id, seq)
);

CREATE TABLE job_log (
  job_id TEXT    NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq    INTEGER NOT NULL,
  at     INTEGER NOT NULL,
  level  TEXT    NOT NULL,
  text   TEXT    NOT NULL
);
CREATE UNIQUE INDEX job_log_by_job ON job_log(job_id, seq);
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

int latest_version() { return static_cast<int>(kMigrations.size()); }

}  // namespace lxcprov::state::schema
