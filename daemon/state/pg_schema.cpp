// The PostgreSQL schema (see pg_schema.hpp). Version 1 holds what SQLite reaches at its version 7
// (state/schema.cpp documents each table); differences:
//   - names: TEXT PRIMARY KEY plus a UNIQUE index on lower(name) (SQLite: COLLATE NOCASE);
//   - job_log and job_steps: ordered by an identity column, so appends from many connections
//     never compute the same sequence number (SQLite serializes writers instead);
//   - containers and jobs name their node (the daemon that made or runs them);
//   - containers.ctid is lxc_id: ctid is a PostgreSQL system column;
//   - a template is sealed per node (its copy on each node is its own build), so template_seals
//     is keyed by (node, name);
//   - nodes.draining is a BOOLEAN; manifests are BYTEA.
// Version 2 adds the triggers that notify a fleet's entry of changes (no SQLite counterpart: a
// single host has no one to tell).

#include "state/pg_schema.hpp"

#include <array>

namespace lxcprov::state::pg_schema {

namespace {

constexpr std::array<std::string_view, 2> kMigrations = {
    R"sql(
CREATE TABLE nodes (
  name          TEXT    NOT NULL PRIMARY KEY,
  endpoint      TEXT    NOT NULL,
  subnet        TEXT    NOT NULL UNIQUE,
  templates     TEXT    NOT NULL DEFAULT '',
  draining      BOOLEAN NOT NULL DEFAULT FALSE,
  memory_total_kb     BIGINT NOT NULL DEFAULT 0,
  memory_available_kb BIGINT NOT NULL DEFAULT 0,
  seen_at       BIGINT  NOT NULL DEFAULT 0,
  added_at      BIGINT  NOT NULL
);

CREATE TABLE containers (
  name         TEXT    NOT NULL PRIMARY KEY,
  lxc_id       BIGINT  NOT NULL UNIQUE,
  ip           BIGINT  NOT NULL UNIQUE CHECK (ip BETWEEN 0 AND 4294967295),
  owner        TEXT    NOT NULL,
  distribution TEXT    NOT NULL,
  http_port    INTEGER NOT NULL CHECK (http_port BETWEEN 0 AND 65535),
  state        TEXT    NOT NULL,
  job_id       TEXT    NOT NULL,
  created_at   BIGINT  NOT NULL,
  node         TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX containers_name_ci ON containers (lower(name));
CREATE INDEX containers_by_owner ON containers (owner);
CREATE INDEX containers_by_node ON containers (node);

CREATE TABLE jobs (
  id         TEXT    NOT NULL PRIMARY KEY,
  op         TEXT    NOT NULL,
  container  TEXT    NOT NULL,
  "user"     TEXT    NOT NULL,
  state      TEXT    NOT NULL,
  step       TEXT    NOT NULL DEFAULT '',
  exit_code  INTEGER NOT NULL DEFAULT 0,
  message    TEXT    NOT NULL DEFAULT '',
  created_at BIGINT  NOT NULL,
  updated_at BIGINT  NOT NULL,
  node       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX jobs_by_state ON jobs (state, node);

CREATE TABLE job_steps (
  seq    BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id TEXT   NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  step   TEXT   NOT NULL
);
CREATE INDEX job_steps_by_job ON job_steps (job_id, seq);

CREATE TABLE job_log (
  seq    BIGINT NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id TEXT   NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  at     BIGINT NOT NULL,
  level  TEXT   NOT NULL,
  text   TEXT   NOT NULL
);
CREATE INDEX job_log_by_job ON job_log (job_id, seq);

CREATE TABLE ports (
  container      TEXT    NOT NULL REFERENCES containers(name) ON DELETE CASCADE,
  service        TEXT    NOT NULL,
  proto          TEXT    NOT NULL CHECK (proto IN ('tcp', 'udp')),
  public_port    INTEGER NOT NULL CHECK (public_port BETWEEN 1 AND 65535),
  container_port INTEGER NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
  UNIQUE (proto, public_port),
  UNIQUE (container, proto, container_port)
);
CREATE INDEX ports_by_container ON ports (container);

CREATE TABLE wazuh_agents (
  container  TEXT    NOT NULL PRIMARY KEY REFERENCES containers(name) ON DELETE CASCADE,
  agent_id   TEXT    NOT NULL DEFAULT '',
  state      TEXT    NOT NULL CHECK (state IN ('enrolled', 'pending')),
  attempts   INTEGER NOT NULL DEFAULT 0,
  updated_at BIGINT  NOT NULL
);

CREATE TABLE template_seals (
  node               TEXT    NOT NULL,
  name               TEXT    NOT NULL,
  content_sha256     TEXT    NOT NULL CHECK (length(content_sha256) = 64),
  fingerprint_sha256 TEXT    NOT NULL CHECK (length(fingerprint_sha256) = 64),
  config_sha256      TEXT    NOT NULL CHECK (length(config_sha256) = 64),
  entries            BIGINT  NOT NULL CHECK (entries > 0),
  built_info         TEXT    NOT NULL DEFAULT '',
  sealed_at          BIGINT  NOT NULL,
  manifest           BYTEA   NOT NULL,
  PRIMARY KEY (node, name)
);

CREATE TABLE deployments (
  container          TEXT    NOT NULL PRIMARY KEY REFERENCES containers(name) ON DELETE CASCADE,
  spec               TEXT    NOT NULL,
  current_release    TEXT    NOT NULL,
  git_commit         TEXT    NOT NULL DEFAULT '',
  http_port          INTEGER NOT NULL CHECK (http_port BETWEEN 0 AND 65535),
  previous_spec      TEXT    NOT NULL DEFAULT '',
  previous_release   TEXT    NOT NULL DEFAULT '',
  previous_commit    TEXT    NOT NULL DEFAULT '',
  previous_http_port INTEGER NOT NULL DEFAULT 0 CHECK (previous_http_port BETWEEN 0 AND 65535),
  updated_at         BIGINT  NOT NULL
);

CREATE TABLE throttle (
  key             TEXT   NOT NULL PRIMARY KEY,
  failures        INTEGER NOT NULL CHECK (failures >= 0),
  last_ms         BIGINT NOT NULL,
  locked_until_ms BIGINT NOT NULL DEFAULT 0
);
)sql",
    // 2: every change of containers, ports or a node's address is told to listeners (a fleet's
    // entry, which forwards and routes every node's containers: state/pg_listener.hpp), once per
    // statement and only when its transaction commits. A heartbeat changes neither column.
    R"sql(
CREATE FUNCTION lxcprov_notify_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lxcprov_state', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE TRIGGER containers_changed AFTER INSERT OR UPDATE OR DELETE ON containers
  FOR EACH STATEMENT EXECUTE FUNCTION lxcprov_notify_state();
CREATE TRIGGER ports_changed AFTER INSERT OR UPDATE OR DELETE ON ports
  FOR EACH STATEMENT EXECUTE FUNCTION lxcprov_notify_state();
CREATE TRIGGER nodes_changed AFTER INSERT OR DELETE OR UPDATE OF endpoint, subnet ON nodes
  FOR EACH STATEMENT EXECUTE FUNCTION lxcprov_notify_state();
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() { return kMigrations; }

int latest_version() { return static_cast<int>(kMigrations.size()); }

}  // namespace lxcprov::state::pg_schema
