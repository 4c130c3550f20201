// PgStore: the Store on PostgreSQL. See pg_store.hpp for the guarantees and pg_schema.cpp for the
// tables. Every value reaches SQL as a bound parameter; the SQL text is constant.

#include "state/pg_store.hpp"

#include <chrono>
#include <set>

#include <fmt/format.h>

#include "state/pg_schema.hpp"

namespace lxcprov::state {

namespace {

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::string_view kContainerColumns =
    "name, lxc_id, ip, owner, distribution, http_port, state, job_id, created_at, node";

ContainerRecord container_from_row(const PgResult& r, int row) {
  ContainerRecord c;
  c.name = r.text(row, 0);
  c.ctid = r.int64(row, 1);
  c.ip = network::format_ipv4(static_cast<uint32_t>(r.int64(row, 2)));
  c.owner = r.text(row, 3);
  c.distribution = r.text(row, 4);
  c.http_port = static_cast<uint16_t>(r.int64(row, 5));
  // A value this version does not know (written by a newer one) reads as the safest: in use.
  c.state = parse_container_state(r.text(row, 6)).value_or(ContainerState::ready);
  c.job_id = r.text(row, 7);
  c.created_at = r.int64(row, 8);
  c.node = r.text(row, 9);
  return c;
}

constexpr std::string_view kJobColumns =
    R"(id, op, container, "user", state, step, exit_code, message, created_at, updated_at, node)";

JobRecord job_from_row(const PgResult& r, int row) {
  JobRecord j;
  j.id = r.text(row, 0);
  j.kind = parse_job_kind(r.text(row, 1)).value_or(JobKind::create);
  j.container = r.text(row, 2);
  j.user = r.text(row, 3);
  j.state = parse_job_state(r.text(row, 4)).value_or(JobState::failed);
  j.step = r.text(row, 5);
  j.exit_code = static_cast<int>(r.int64(row, 6));
  j.message = r.text(row, 7);
  j.created_at = r.int64(row, 8);
  j.updated_at = r.int64(row, 9);
  j.node = r.text(row, 10);
  return j;
}

constexpr std::string_view kSealColumns =
    "name, content_sha256, fingerprint_sha256, config_sha256, entries, built_info, sealed_at";

TemplateSealRecord seal_from_row(const PgResult& r, int row) {
  TemplateSealRecord s;
  s.name = r.text(row, 0);
  s.content_sha256 = r.text(row, 1);
  s.fingerprint_sha256 = r.text(row, 2);
  s.config_sha256 = r.text(row, 3);
  s.entries = r.int64(row, 4);
  s.built_info = r.text(row, 5);
  s.sealed_at = r.int64(row, 6);
  return s;
}

constexpr std::string_view kNodeColumns =
    "n.name, n.endpoint, n.subnet, n.templates, n.draining, n.memory_total_kb, n.memory_available_kb, n.seen_at, "
    "n.added_at";

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t end = text.find(' ', i);
    const size_t stop = end == std::string::npos ? text.size() : end;
    if (stop > i) out.push_back(text.substr(i, stop - i));
    i = stop + 1;
  }
  return out;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

Error no_such_job() { return make_error(Errc::not_found, "no such job"); }
Error no_such_container() { return make_error(Errc::not_found, "no such container"); }
Error no_such_node() { return make_error(Errc::not_found, "no such node"); }

}  // namespace

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& conninfo, const std::string& node) {
  auto c = PgConnection::open(conninfo);
  if (!c) return c.error();
  std::unique_ptr<PgStore> store(new PgStore(std::move(*c), node));
  std::lock_guard lock(store->mutex_);
  if (Status s = store->migrate_locked(); !s) return s.error();
  return store;
}

void PgStore::recover_locked() {
  if (c_->recover() == PgConnection::Recovered::reconnected && claimed_) claim_lost_ = !claim_locked();
}

Status PgStore::migrate_locked() {
  const auto migrations = pg_schema::migrations();
  const int latest = pg_schema::latest_version();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s;
  // Daemons starting together: the first migrates, the others wait here and then find it done.
  if (auto r = c_->exec("SELECT pg_advisory_xact_lock($1)", {int64_t{pg_schema::kReservationLock}}); !r.ok())
    return r.error("lock for migration");
  if (auto r = c_->exec("CREATE TABLE IF NOT EXISTS lxcprov_schema (version INTEGER NOT NULL)"); !r.ok())
    return r.error("create schema version table");
  auto v = c_->exec("SELECT version FROM lxcprov_schema");
  if (!v.ok()) return v.error("read schema version");
  int version = 0;
  if (v.rows() == 0) {
    if (auto r = c_->exec("INSERT INTO lxcprov_schema (version) VALUES (0)"); !r.ok())
      return r.error("set schema version");
  } else {
    version = static_cast<int>(v.int64(0, 0));
  }
  if (version > latest || version < 0)
    return make_error(Errc::io, fmt::format("state database: schema version {} is not supported by this lxcprovd "
                                            "(latest {})",
                                            version, latest));
  for (; version < latest; ++version) {
    // Our own constant SQL, several statements: the simple query protocol runs them in the
    // transaction already open.
    if (auto r = c_->exec_script(std::string(migrations[static_cast<size_t>(version)])); !r.ok())
      return r.error(fmt::format("migration to schema version {}", version + 1));
    if (auto r = c_->exec("UPDATE lxcprov_schema SET version = $1", {version + 1}); !r.ok())
      return r.error("set schema version");
  }
  return txn.commit();
}

Status PgStore::claim_node() {
  std::lock_guard lock(mutex_);
  recover_locked();
  Status s = claim_locked();
  claimed_ = claimed_ || s.has_value();
  claim_lost_ = !s.has_value() && claimed_;
  return s;
}

Status PgStore::claim_locked() {
  auto r = c_->exec("SELECT pg_try_advisory_lock(hashtext('lxcprov node ' || $1))", {node_});
  if (!r.ok()) return r.error("claim the node");
  if (!r.boolean(0, 0))
    return make_error(Errc::conflict, fmt::format("another lxcprovd already serves node {}: one daemon per node "
                                                  "(check fleet.node in each config)",
                                                  node_));
  return {};
}

Result<int> PgStore::schema_version() {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT version FROM lxcprov_schema");
  if (!r.ok()) return r.error("read schema version");
  if (r.rows() != 1) return make_error(Errc::io, "state database: no schema version");
  return static_cast<int>(r.int64(0, 0));
}

Result<ContainerRecord> PgStore::reserve_container(const NewContainer& c, const network::IpPool& pool,
                                                   int64_t ctid_min) {
  std::lock_guard lock(mutex_);
  recover_locked();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s.error();
  // Serializes reservations fleet-wide: each statement below then reads every reservation
  // committed before this one (READ COMMITTED takes a new snapshot per statement).
  if (auto r = c_->exec("SELECT pg_advisory_xact_lock($1)", {int64_t{pg_schema::kReservationLock}}); !r.ok())
    return r.error("lock for reservation");

  if (claim_lost_)
    return make_error(Errc::unavailable, fmt::format("another lxcprovd claimed node {} while this one was cut off "
                                                     "from the state database; restart this one",
                                                     node_));
  // Once the fleet has a registry, only its nodes hold containers: a node removed meanwhile (the
  // removal takes this lock too) cannot get one.
  {
    auto r = c_->exec("SELECT EXISTS (SELECT 1 FROM nodes), EXISTS (SELECT 1 FROM nodes WHERE name = $1)", {node_});
    if (!r.ok()) return r.error("look up this node");
    if (r.boolean(0, 0) && !r.boolean(0, 1))
      return make_error(Errc::unavailable, fmt::format("node {} is not in the fleet's registry: an admin adds it with "
                                                       "lxcprovctl node add {}",
                                                       node_, node_));
  }
  if (c.quota > 0) {
    auto r = c_->exec("SELECT COUNT(*) FROM containers WHERE owner = $1", {c.owner});
    if (!r.ok()) return r.error("count the owner's containers");
    const int64_t owned = r.int64(0, 0);
    if (owned >= c.quota)
      return make_error(Errc::permission_denied,
                        fmt::format("quota: you already own {} container{} and the limit is {}; delete one first",
                                    owned, owned == 1 ? "" : "s", c.quota));
  }

  int64_t ctid = ctid_min;
  {
    auto r = c_->exec("SELECT lxc_id FROM containers WHERE lxc_id >= $1 ORDER BY lxc_id", {ctid_min});
    if (!r.ok()) return r.error("read used CTIDs");
    for (int i = 0; i < r.rows(); ++i) {
      const int64_t used = r.int64(i, 0);
      if (used > ctid) break;
      ctid = used + 1;
    }
  }

  std::set<uint32_t> used_ips;
  {
    auto r = c_->exec("SELECT ip FROM containers");
    if (!r.ok()) return r.error("read used IP addresses");
    for (int i = 0; i < r.rows(); ++i) used_ips.insert(static_cast<uint32_t>(r.int64(i, 0)));
  }
  std::optional<uint32_t> ip = pool.pick(used_ips);
  if (!ip) {
    auto r = c_->exec("SELECT 1 FROM containers WHERE lower(name) = lower($1)", {c.name});
    if (!r.ok()) return r.error("look up container");
    if (r.rows() > 0) return make_error(Errc::conflict, "CONTAINER_NAME: is already taken");
    return make_error(Errc::unavailable, "no free IP address in the configured pool");
  }

  ContainerRecord rec;
  rec.name = c.name;
  rec.ctid = ctid;
  rec.ip = network::format_ipv4(*ip);
  rec.owner = c.owner;
  rec.distribution = c.distribution;
  rec.http_port = c.http_port;
  rec.state = ContainerState::creating;
  rec.job_id = c.job_id;
  rec.created_at = now_seconds();
  rec.node = node_;
  {
    auto r = c_->exec(
        "INSERT INTO containers (name, lxc_id, ip, owner, distribution, http_port, state, job_id, created_at, node) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {rec.name, rec.ctid, static_cast<int64_t>(*ip), rec.owner, rec.distribution, int64_t{rec.http_port},
         to_string(rec.state), rec.job_id, rec.created_at, rec.node});
    // The name (its primary key or its lower-case index) is what can collide: CTID and address
    // were chosen under the reservation lock.
    if (!r.ok() && r.sqlstate() == kUniqueViolation)
      return make_error(Errc::conflict, "CONTAINER_NAME: is already taken");
    if (!r.ok()) return r.error("insert container");
  }
  for (const auto& want : c.ports) {
    auto port = reserve_port_locked(rec.name, want);
    if (!port) return port.error();
    rec.ports.push_back(std::move(*port));
  }
  if (Status s = txn.commit(); !s) return s.error();
  return rec;
}

Result<PortRecord> PgStore::reserve_port_locked(const std::string& container, const PortRequest& want) {
  if (want.proto != "tcp" && want.proto != "udp")
    return make_error(Errc::invalid_argument, "port forward: protocol must be tcp or udp");
  if (want.pool_first == 0 || want.pool_first > want.pool_last)
    return make_error(Errc::invalid_argument, "port forward: empty port pool");
  int64_t port = want.pool_first;
  {
    auto r = c_->exec(
        "SELECT public_port FROM ports WHERE proto = $1 AND public_port BETWEEN $2 AND $3 ORDER BY public_port",
        {want.proto, int64_t{want.pool_first}, int64_t{want.pool_last}});
    if (!r.ok()) return r.error("read used ports");
    for (int i = 0; i < r.rows(); ++i) {
      const int64_t used = r.int64(i, 0);
      if (used > port) break;
      port = used + 1;
    }
  }
  if (port > want.pool_last)
    return make_error(Errc::unavailable, "no free public port for " + want.service + " in its configured pool");
  PortRecord p{container, want.service, want.proto, static_cast<uint16_t>(port), want.container_port};
  auto r =
      c_->exec("INSERT INTO ports (container, service, proto, public_port, container_port) VALUES ($1, $2, $3, $4, $5)",
               {p.container, p.service, p.proto, int64_t{p.public_port}, int64_t{p.container_port}});
  if (!r.ok() && r.sqlstate() == kUniqueViolation)
    return make_error(Errc::invalid_argument, "port forward: the same container port is asked for twice");
  if (!r.ok()) return r.error("insert port forward");
  return p;
}

Result<std::vector<PortRecord>> PgStore::list_ports() {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r =
      c_->exec("SELECT container, service, proto, public_port, container_port FROM ports ORDER BY proto, public_port");
  if (!r.ok()) return r.error("list port forwards");
  std::vector<PortRecord> out;
  for (int i = 0; i < r.rows(); ++i)
    out.push_back(PortRecord{r.text(i, 0), r.text(i, 1), r.text(i, 2), static_cast<uint16_t>(r.int64(i, 3)),
                             static_cast<uint16_t>(r.int64(i, 4))});
  return out;
}

Status PgStore::release_ports(const std::string& container) {
  std::lock_guard lock(mutex_);
  recover_locked();
  if (auto r = c_->exec("DELETE FROM ports WHERE container = $1", {container}); !r.ok())
    return r.error("delete port forwards");
  return {};
}

Result<std::optional<ContainerRecord>> PgStore::find_container(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r =
      c_->exec("SELECT " + std::string(kContainerColumns) + " FROM containers WHERE lower(name) = lower($1)", {name});
  if (!r.ok()) return r.error("look up container");
  if (r.rows() == 0) return std::optional<ContainerRecord>();
  return std::optional<ContainerRecord>(container_from_row(r, 0));
}

Result<std::vector<ContainerRecord>> PgStore::list_containers(const std::string& owner) {
  std::lock_guard lock(mutex_);
  recover_locked();
  // lower(), byte order: what SQLite's NOCASE column gives, whatever the database's locale.
  auto r =
      c_->exec("SELECT " + std::string(kContainerColumns) +
                   R"( FROM containers WHERE $1 = '' OR owner = $1 ORDER BY lower(name) COLLATE "C", name COLLATE "C")",
               {owner});
  if (!r.ok()) return r.error("list containers");
  std::vector<ContainerRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(container_from_row(r, i));
  return out;
}

Status PgStore::set_container_state(const std::string& name, ContainerState state, const std::string& job_id) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("UPDATE containers SET state = $2, job_id = $3 WHERE lower(name) = lower($1)",
                    {name, to_string(state), job_id});
  if (!r.ok()) return r.error("update container");
  if (r.changed() == 0) return no_such_container();
  return {};
}

Status PgStore::transition_container(const std::string& name, ContainerState from, ContainerState to,
                                     const std::string& job_id) {
  std::lock_guard lock(mutex_);
  recover_locked();
  // One statement: a concurrent transition of the same row waits for this one and then re-checks
  // the state against the row it committed, so only one of them changes it.
  auto r = c_->exec("UPDATE containers SET state = $3, job_id = $4 WHERE lower(name) = lower($1) AND state = $2",
                    {name, to_string(from), to_string(to), job_id});
  if (!r.ok()) return r.error("update container");
  if (r.changed() > 0) return {};
  auto look = c_->exec("SELECT state FROM containers WHERE lower(name) = lower($1)", {name});
  if (!look.ok()) return look.error("look up container");
  if (look.rows() == 0) return no_such_container();
  return make_error(Errc::conflict,
                    "container " + name + " is " + look.text(0, 0) + ", not " + std::string(to_string(from)));
}

Status PgStore::release_container(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  if (auto r = c_->exec("DELETE FROM containers WHERE lower(name) = lower($1)", {name}); !r.ok())
    return r.error("delete container");
  return {};
}

Status PgStore::create_job(const JobRecord& job) {
  std::lock_guard lock(mutex_);
  recover_locked();
  const int64_t created = job.created_at != 0 ? job.created_at : now_millis();
  const int64_t updated = job.updated_at != 0 ? job.updated_at : created;
  auto r = c_->exec(
      "INSERT INTO jobs (" + std::string(kJobColumns) + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
      {job.id, to_string(job.kind), job.container, job.user, to_string(job.state), job.step, job.exit_code, job.message,
       created, updated, job.node.empty() ? node_ : job.node});
  if (!r.ok() && r.sqlstate() == kUniqueViolation) return make_error(Errc::conflict, "job id already exists");
  if (!r.ok()) return r.error("insert job");
  return {};
}

Status PgStore::update_job(const std::string& id, JobState state, const std::string& step, int exit_code,
                           const std::string& message) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r =
      c_->exec("UPDATE jobs SET state = $2, step = $3, exit_code = $4, message = $5, updated_at = $6 WHERE id = $1",
               {id, to_string(state), step, exit_code, message, now_millis()});
  if (!r.ok()) return r.error("update job");
  if (r.changed() == 0) return no_such_job();
  return {};
}

Result<std::optional<JobRecord>> PgStore::find_job(const std::string& id) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = $1", {id});
  if (!r.ok()) return r.error("look up job");
  if (r.rows() == 0) return std::optional<JobRecord>();
  return std::optional<JobRecord>(job_from_row(r, 0));
}

Result<std::vector<JobRecord>> PgStore::unfinished_jobs() {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT " + std::string(kJobColumns) +
                        " FROM jobs WHERE state IN ('PENDING', 'RUNNING') AND node = $1 ORDER BY created_at, id",
                    {node_});
  if (!r.ok()) return r.error("list unfinished jobs");
  std::vector<JobRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(job_from_row(r, i));
  return out;
}

Status PgStore::append_job_log(const std::string& id, const std::string& level, const std::string& text) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("INSERT INTO job_log (job_id, at, level, text) VALUES ($1, $2, $3, $4)",
                    {id, now_millis(), level, text});
  if (!r.ok() && r.sqlstate() == kForeignKeyViolation) return no_such_job();
  if (!r.ok()) return r.error("append job log");
  return {};
}

Result<std::vector<JobLogLine>> PgStore::job_log(const std::string& id) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT at, level, text FROM job_log WHERE job_id = $1 ORDER BY seq", {id});
  if (!r.ok()) return r.error("read job log");
  std::vector<JobLogLine> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(JobLogLine{r.int64(i, 0), r.text(i, 1), r.text(i, 2)});
  return out;
}

Status PgStore::record_step(const std::string& id, const std::string& step) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("INSERT INTO job_steps (job_id, step) VALUES ($1, $2)", {id, step});
  if (!r.ok() && r.sqlstate() == kForeignKeyViolation) return no_such_job();
  if (!r.ok()) return r.error("record job step");
  return {};
}

Result<std::vector<std::string>> PgStore::recorded_steps(const std::string& id) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT step FROM job_steps WHERE job_id = $1 ORDER BY seq", {id});
  if (!r.ok()) return r.error("read job steps");
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.text(i, 0));
  return out;
}

Status PgStore::put_deployment(const DeploymentRecord& d) {
  std::lock_guard lock(mutex_);
  recover_locked();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s;
  // RETURNING name: the row is keyed by the container's own spelling of its name.
  auto u = c_->exec("UPDATE containers SET http_port = $2 WHERE lower(name) = lower($1) RETURNING name",
                    {d.container, int64_t{d.http_port}});
  if (!u.ok()) return u.error("update container");
  if (u.rows() == 0) return no_such_container();
  auto r = c_->exec(
      "INSERT INTO deployments (container, spec, current_release, git_commit, http_port, previous_spec, "
      "previous_release, previous_commit, previous_http_port, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (container) DO UPDATE SET "
      "spec = EXCLUDED.spec, current_release = EXCLUDED.current_release, git_commit = EXCLUDED.git_commit, "
      "http_port = EXCLUDED.http_port, previous_spec = EXCLUDED.previous_spec, "
      "previous_release = EXCLUDED.previous_release, previous_commit = EXCLUDED.previous_commit, "
      "previous_http_port = EXCLUDED.previous_http_port, updated_at = EXCLUDED.updated_at",
      {u.text(0, 0), d.spec, d.release, d.commit, int64_t{d.http_port}, d.previous_spec, d.previous_release,
       d.previous_commit, int64_t{d.previous_http_port}, d.updated_at != 0 ? d.updated_at : now_seconds()});
  if (!r.ok()) return r.error("store deployment");
  return txn.commit();
}

Status PgStore::remove_deployment(const std::string& container, uint16_t http_port) {
  std::lock_guard lock(mutex_);
  recover_locked();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s;
  auto u =
      c_->exec("UPDATE containers SET http_port = $2 WHERE lower(name) = lower($1)", {container, int64_t{http_port}});
  if (!u.ok()) return u.error("update container");
  if (u.changed() == 0) return no_such_container();
  if (auto r = c_->exec("DELETE FROM deployments WHERE lower(container) = lower($1)", {container}); !r.ok())
    return r.error("delete deployment");
  return txn.commit();
}

Result<std::optional<DeploymentRecord>> PgStore::find_deployment(const std::string& container) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec(
      "SELECT container, spec, current_release, git_commit, http_port, previous_spec, previous_release, "
      "previous_commit, previous_http_port, updated_at FROM deployments WHERE lower(container) = lower($1)",
      {container});
  if (!r.ok()) return r.error("look up deployment");
  if (r.rows() == 0) return std::optional<DeploymentRecord>();
  DeploymentRecord d;
  d.container = r.text(0, 0);
  d.spec = r.text(0, 1);
  d.release = r.text(0, 2);
  d.commit = r.text(0, 3);
  d.http_port = static_cast<uint16_t>(r.int64(0, 4));
  d.previous_spec = r.text(0, 5);
  d.previous_release = r.text(0, 6);
  d.previous_commit = r.text(0, 7);
  d.previous_http_port = static_cast<uint16_t>(r.int64(0, 8));
  d.updated_at = r.int64(0, 9);
  return std::optional<DeploymentRecord>(std::move(d));
}

Status PgStore::put_template_seal(const TemplateSealRecord& seal, const std::string& manifest) {
  for (const std::string* d : {&seal.content_sha256, &seal.fingerprint_sha256, &seal.config_sha256})
    if (d->size() != 64) return make_error(Errc::invalid_argument, "template seal: a digest is not 64 hex digits");
  if (seal.entries <= 0) return make_error(Errc::invalid_argument, "template seal: no entries");
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec(
      "INSERT INTO template_seals (" + std::string(kSealColumns) +
          ", manifest, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (node, name) DO "
          "UPDATE SET "
          "content_sha256 = EXCLUDED.content_sha256, fingerprint_sha256 = EXCLUDED.fingerprint_sha256, "
          "config_sha256 = EXCLUDED.config_sha256, entries = EXCLUDED.entries, "
          "built_info = EXCLUDED.built_info, sealed_at = EXCLUDED.sealed_at, manifest = EXCLUDED.manifest",
      {seal.name, seal.content_sha256, seal.fingerprint_sha256, seal.config_sha256, seal.entries, seal.built_info,
       seal.sealed_at != 0 ? seal.sealed_at : now_seconds(), PgParam::bytes(manifest), node_});
  if (!r.ok()) return r.error("store template seal");
  return {};
}

Result<std::optional<TemplateSealRecord>> PgStore::find_template_seal(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT " + std::string(kSealColumns) + " FROM template_seals WHERE node = $2 AND name = $1",
                    {name, node_});
  if (!r.ok()) return r.error("look up template seal");
  if (r.rows() == 0) return std::optional<TemplateSealRecord>();
  return std::optional<TemplateSealRecord>(seal_from_row(r, 0));
}

Result<std::optional<std::string>> PgStore::template_seal_manifest(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT manifest FROM template_seals WHERE node = $2 AND name = $1", {name, node_});
  if (!r.ok()) return r.error("read template manifest");
  if (r.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r.bytes(0, 0));
}

Result<std::vector<TemplateSealRecord>> PgStore::list_template_seals() {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec(
      "SELECT " + std::string(kSealColumns) + R"( FROM template_seals WHERE node = $1 ORDER BY name COLLATE "C")",
      {node_});
  if (!r.ok()) return r.error("list template seals");
  std::vector<TemplateSealRecord> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(seal_from_row(r, i));
  return out;
}

Status PgStore::remove_template_seal(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  if (auto r = c_->exec("DELETE FROM template_seals WHERE node = $2 AND name = $1", {name, node_}); !r.ok())
    return r.error("delete template seal");
  return {};
}

Status PgStore::add_node(const NodeRecord& node) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec(
      "INSERT INTO nodes (name, endpoint, subnet, templates, draining, added_at) VALUES ($1, $2, $3, $4, $5, $6)",
      {node.name, node.endpoint, node.subnet, join_words(node.templates), node.draining,
       node.added_at != 0 ? node.added_at : now_seconds()});
  if (!r.ok() && r.sqlstate() == kUniqueViolation)
    return make_error(Errc::conflict, "node: the name or the subnet is already a node's");
  if (!r.ok()) return r.error("add node");
  return {};
}

Result<std::vector<NodeRecord>> PgStore::list_nodes() {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("SELECT " + std::string(kNodeColumns) +
                    R"(, COUNT(c.name) FROM nodes n LEFT JOIN containers c ON c.node = n.name )"
                    R"(GROUP BY n.name ORDER BY n.name COLLATE "C")");
  if (!r.ok()) return r.error("list nodes");
  std::vector<NodeRecord> out;
  for (int i = 0; i < r.rows(); ++i) {
    NodeRecord n;
    n.name = r.text(i, 0);
    n.endpoint = r.text(i, 1);
    n.subnet = r.text(i, 2);
    n.templates = split_words(r.text(i, 3));
    n.draining = r.boolean(i, 4);
    n.memory_total_kb = r.int64(i, 5);
    n.memory_available_kb = r.int64(i, 6);
    n.seen_at = r.int64(i, 7);
    n.added_at = r.int64(i, 8);
    n.containers = r.int64(i, 9);
    out.push_back(std::move(n));
  }
  return out;
}

Status PgStore::set_node_draining(const std::string& name, bool draining) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("UPDATE nodes SET draining = $2 WHERE name = $1", {name, draining});
  if (!r.ok()) return r.error("update node");
  if (r.changed() == 0) return no_such_node();
  return {};
}

Status PgStore::remove_node(const std::string& name) {
  std::lock_guard lock(mutex_);
  recover_locked();
  PgTransaction txn(*c_);
  if (Status s = txn.begin(); !s) return s;
  // Under the reservation lock: no container can be placed on it between the count and the delete.
  if (auto r = c_->exec("SELECT pg_advisory_xact_lock($1)", {int64_t{pg_schema::kReservationLock}}); !r.ok())
    return r.error("lock for node removal");
  auto held = c_->exec("SELECT COUNT(*) FROM containers WHERE node = $1", {name});
  if (!held.ok()) return held.error("count the node's containers");
  if (held.int64(0, 0) > 0)
    return make_error(Errc::conflict, fmt::format("node {} still has {} container{}: drain it and delete them first",
                                                  name, held.int64(0, 0), held.int64(0, 0) == 1 ? "" : "s"));
  auto r = c_->exec("DELETE FROM nodes WHERE name = $1", {name});
  if (!r.ok()) return r.error("remove node");
  if (r.changed() == 0) return no_such_node();
  return txn.commit();
}

Status PgStore::node_seen(const std::string& name, int64_t memory_total_kb, int64_t memory_available_kb) {
  std::lock_guard lock(mutex_);
  recover_locked();
  auto r = c_->exec("UPDATE nodes SET memory_total_kb = $2, memory_available_kb = $3, seen_at = $4 WHERE name = $1",
                    {name, memory_total_kb, memory_available_kb, now_seconds()});
  if (!r.ok()) return r.error("record node heartbeat");
  if (r.changed() == 0) return no_such_node();
  return {};
}

}  // namespace lxcprov::state
