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
//     state         TEXT NOT NULL           -- "creating", "ready", "updating" (from 5), "deleting"
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
//   ports        (version 2) one row per port forward; the row *is* the reservation of its public
//                port, released with its container (ON DELETE CASCADE).
//     container -> containers(name) ON DELETE CASCADE, service ("SSH", "MYSQL"...),
//     proto ('tcp'|'udp'), public_port, container_port;
//     UNIQUE (proto, public_port)            -- one owner per public port and L4 protocol
//     UNIQUE (container, proto, container_port)
//
//   wazuh_agents (version 3) the Wazuh agent enrolled for a container, so delete removes exactly
//                that agent from the manager; gone with its container (ON DELETE CASCADE).
//     container PK -> containers(name), agent_id ("" while pending), state ('enrolled'|'pending'),
//     attempts (failed enrollments of a pending agent), updated_at (unix seconds)
//
//   template_seals (version 4) the golden values of a template (container/template_digest.hpp), apart from the
//                template's own directory, so editing a template cannot also edit its seal.
//     name PK (case-sensitive, as LXC's names), content_sha256, fingerprint_sha256, config_sha256
//     (64 hex digits each), entries (count walked), built_info (the build's note), sealed_at
//     (unix seconds), manifest (BLOB: per-entry digests, so verify names what changed)
//
//   deployments  (version 5) what is deployed in a container (deploy/): the secret-free spec
//                (deploy::to_stored_json; never an environment value or a token), the release
//                serving and its commit and HTTP_PORT, and the same of the release before it (what
//                undoing an update restores); gone with its container (ON DELETE CASCADE).
//     container PK -> containers(name), spec, current_release, git_commit, http_port, previous_spec,
//     previous_release, previous_commit, previous_http_port, updated_at (unix seconds)
//
//   throttle     (version 6) the brute-force throttle's state (auth/throttle.hpp), so a restart
//                forgets no failure and lifts no lockout; written on every failure.
//     key PK ("user:NAME" or "src:ADDR"), failures, last_ms, locked_until_ms (unix ms, 0 = not locked)
//
//   job_log      the operator-visible log lines of a job.
//     job_id -> jobs(id) ON DELETE CASCADE, seq (1, 2, ... per job), at (unix ms), level, text;
//     UNIQUE index (job_id, seq) serves lookups by job_id and keeps seq from repeating.

#include "state/schema.hpp"

#include <array>

namespace lxcprov::state::schema {

namespace {

constexpr std::array<std::string_view, 6> kMigrations = {
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
    // 2: port forwards.
    R"sql(
CREATE TABLE ports (
  container      TEXT    NOT NULL REFERENCES containers(name) ON DELETE CASCADE,
  service        TEXT    NOT NULL,
  proto          TEXT    NOT NULL CHECK (proto IN ('tcp', 'udp')),
  public_port    INTEGER NOT NULL CHECK (public_port BETWEEN 1 AND 65535),
  container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
  UNIQUE (proto, public_port),
  UNIQUE (container, proto, container_port)
);
CREATE INDEX ports_by_container ON ports(container);
)sql",
    // 3: Wazuh agents (state/sqlite_agent_records.cpp).
    R"sql(
CREATE TABLE wazuh_agents (
  container  TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES containers(name) ON DELETE CASCADE,
  agent_id   TEXT    NOT NULL DEFAULT '',
  state      TEXT    NOT NULL CHECK (state IN ('enrolled', 'pending')),
  attempts   INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL
);
)sql",
    // 4: template seals (lxcprovctl template seal; checked before every clone).
    R"sql(
CREATE TABLE template_seals (
  name               TEXT    NOT NULL PRIMARY KEY,
  content_sha256     TEXT    NOT NULL CHECK (length(content_sha256) = 64),
  fingerprint_sha256 TEXT    NOT NULL CHECK (length(fingerprint_sha256) = 64),
  config_sha256      TEXT    NOT NULL CHECK (length(config_sha256) = 64),
  entries            INTEGER NOT NULL CHECK (entries > 0),
  built_info         TEXT    NOT NULL DEFAULT '',
  sealed_at          INTEGER NOT NULL,
  manifest           BLOB    NOT NULL
);
)sql",
    // 5: deployments (deploy/; written by the deploy feature's switch, read by update and info).
    R"sql(
CREATE TABLE deployments (
  container          TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE REFERENCES containers(name) ON DELETE CASCADE,
  spec               TEXT    NOT NULL,
  current_release    TEXT    NOT NULL,
  git_commit         TEXT    NOT NULL DEFAULT '',
  http_port          INTEGER NOT NULL CHECK (http_port BETWEEN 0 AND 65535),
  previous_spec      TEXT    NOT NULL DEFAULT '',
  previous_release   TEXT    NOT NULL DEFAULT '',
  previous_commit    TEXT    NOT NULL DEFAULT '',
  previous_http_port INTEGER NOT NULL DEFAULT 0 CHECK (previous_http_port BETWEEN 0 AND 65535),
  updated_at         INTEGER NOT NULL
);
)sql",
    // 6: the brute-force throttle (state/sqlite_throttle_records.cpp).
    R"sql(
CREATE TABLE throttle (
  key             TEXT    NOT NULL PRIMARY KEY,
  failures        INTEGER NOT NULL CHECK (failures >= 0),
  last_ms         INTEGER NOT NULL,
  locked_until_ms INTEGER NOT NULL DEFAULT 0
);
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

int latest_version() { return static_cast<int>(kMigrations.size()); }

}  // namespace lxcprov::state::schema
