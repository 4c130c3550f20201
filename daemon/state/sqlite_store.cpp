// SqliteStore: the Store on an SQLite file. See sqlite_store.hpp for thread-safety and
// schema.cpp for the tables. Every value reaches SQL through a bound parameter; the only SQL
// built at run time is "PRAGMA user_version = N" with N from our own migration counter
// (PRAGMA arguments cannot be bound).

#include "state/sqlite_store.hpp"

#include "state/sqlite_statement.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <set>
#include <string_view>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "state/schema.hpp"

namespace lxcprov::state {

namespace {

constexpr int kBusyTimeoutMs = 10000;

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Error errno_error(std::string_view what, int err) {
  std::string message = "state database: ";
  message += what;
  message += ": ";
  message += std::error_code(err, std::generic_category()).message();
  return make_error(Errc::io, std::move(message));
}

// Runs a statement that returns no rows we care about.
Status exec(sqlite3* db, std::string_view sql, std::string_view what) {
  Statement st(db, sql);
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) return db_error(db, what);
  return {};
}

// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. IMMEDIATE takes the write lock up
// front (waiting through the busy handler), so reads inside see the state the write applies to;
// a deferred transaction could fail with an unretryable SQLITE_BUSY_SNAPSHOT on upgrade.
class WriteTransaction {
 public:
  explicit WriteTransaction(sqlite3* db) : db_(db) {}
  ~WriteTransaction() {
    if (active_ && sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  WriteTransaction(const WriteTransaction&) = delete;
  WriteTransaction& operator=(const WriteTransaction&) = delete;

  Status begin() {
    Status s = exec(db_, "BEGIN IMMEDIATE", "begin transaction");
    if (s) active_ = true;
    return s;
  }
  Status commit() {
    Status s = exec(db_, "COMMIT", "commit");
    if (s) active_ = false;
    return s;
  }

 private:
  sqlite3* db_;
  bool active_ = false;
};

Result<int> read_user_version(sqlite3* db) {
  Statement st(db, "PRAGMA user_version");
  if (st.step() != SQLITE_ROW) return db_error(db, "read schema version");
  return static_cast<int>(st.int64(0));
}

// Switching to WAL needs a moment of exclusive access; when many connections open a fresh file
// at once, SQLite may report SQLITE_BUSY here without consulting the busy handler, so retry.
Status enable_wal(sqlite3* db) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  for (;;) {
    Statement st(db, "PRAGMA journal_mode=WAL");
    int rc = st.step();
    if (rc == SQLITE_ROW) {
      if (st.text(0) == "wal") return {};
      return make_error(Errc::io, "state database: cannot enable WAL journal mode (got \"" + st.text(0) + "\")");
    }
    if ((rc & 0xFF) != SQLITE_BUSY && (rc & 0xFF) != SQLITE_LOCKED) return db_error(db, "enable WAL");
    if (std::chrono::steady_clock::now() >= deadline) return db_error(db, "enable WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

constexpr std::string_view kContainerColumns =
    "name, ctid, ip, owner, distribution, http_port, state, job_id, created_at";

ContainerRecord container_from_row(const Statement& st) {
  ContainerRecord r;
  r.name = st.text(0);
  r.ctid = st.int64(1);
  r.ip = network::format_ipv4(static_cast<uint32_t>(st.int64(2)));
  r.owner = st.text(3);
  r.distribution = st.text(4);
  r.http_port = static_cast<uint16_t>(st.int64(5));
  // A value this version does not know (written by a newer one) reads as the safest: in use.
  r.state = parse_container_state(st.text(6)).value_or(ContainerState::ready);
  r.job_id = st.text(7);
  r.created_at = st.int64(8);
  return r;
}

constexpr std::string_view kJobColumns =
    "id, op, container, user, state, step, exit_code, message, created_at, updated_at";

JobRecord job_from_row(const Statement& st) {
  JobRecord j;
  j.id = st.text(0);
  j.kind = parse_job_kind(st.text(1)).value_or(JobKind::create);
  j.container = st.text(2);
  j.user = st.text(3);
  j.state = parse_job_state(st.text(4)).value_or(JobState::failed);
  j.step = st.text(5);
  j.exit_code = static_cast<int>(st.int64(6));
  j.message = st.text(7);
  j.created_at = st.int64(8);
  j.updated_at = st.int64(9);
  return j;
}

Error no_such_job() { return make_error(Errc::not_found, "no such job"); }

constexpr std::string_view kSealColumns =
    "name, content_sha256, fingerprint_sha256, config_sha256, entries, built_info, sealed_at";

TemplateSealRecord seal_from_row(const Statement& st) {
  TemplateSealRecord r;
  r.name = st.text(0);
  r.content_sha256 = st.text(1);
  r.fingerprint_sha256 = st.text(2);
  r.config_sha256 = st.text(3);
  r.entries = st.int64(4);
  r.built_info = st.text(5);
  r.sealed_at = st.int64(6);
  return r;
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path) {
  // Create the file ourselves so it is 0600 from its first moment (umask is process-wide and
  // so cannot be changed safely in a threaded daemon). SQLite gives the -wal and -shm files the
  // mode of the database file. Symlinks are refused: the daemon runs as root.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return errno_error("cannot open database file", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("cannot stat database file", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(Errc::io, "state database: database path is not a regular file");
  }
  // An existing file with looser permissions (or a umask that dropped our bits) is corrected.
  if ((st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("cannot set database file mode to 0600", err);
  }
  ::close(fd);

  sqlite3* db = nullptr;
  // NOMUTEX: the store's own mutex already serializes every use of the connection.
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, nullptr);
  if (rc != SQLITE_OK) {
    Error e = db_error(db, "cannot open database");
    sqlite3_close_v2(db);
    return e;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  std::lock_guard lock(store->mutex_);
  if (Status s = exec(db, "PRAGMA foreign_keys = ON", "enable foreign keys"); !s) return s.error();
  if (Status s = enable_wal(db); !s) return s.error();
  // FULL: a reservation the user was told about must survive a power cut, WAL or not.
  if (Status s = exec(db, "PRAGMA synchronous = FULL", "set synchronous"); !s) return s.error();
  if (Status s = store->migrate_locked(); !s) return s.error();
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close_v2(db_); }

Status SqliteStore::migrate_locked() {
  const auto migrations = schema::migrations();
  const int latest = schema::latest_version();
  for (;;) {
    // Cheap check without the write lock: the common case is an up-to-date database.
    Result<int> seen = read_user_version(db_);
    if (!seen) return seen.error();
    if (*seen == latest) return {};

    WriteTransaction txn(db_);
    if (Status s = txn.begin(); !s) return s;
    // Re-read under the write lock: another connection may have migrated meanwhile.
    Result<int> version = read_user_version(db_);
    if (!version) return version.error();
    if (*version > latest || *version < 0) {
      return make_error(Errc::io, "state database: schema version " + std::to_string(*version) +
                                      " is not supported by this lxcprovd (latest " + std::to_string(latest) + ")");
    }
    if (*version == latest) return {};

    // sqlite3_exec: a migration is several statements; it is our own constant SQL.
    const std::string sql(migrations[static_cast<std::size_t>(*version)]);
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return db_error(db_, "migration to schema version " + std::to_string(*version + 1));
    }
    if (Status s = exec(db_, "PRAGMA user_version = " + std::to_string(*version + 1), "set schema version"); !s) {
      return s;
    }
    if (Status s = txn.commit(); !s) return s;
  }
}

Result<int> SqliteStore::schema_version() {
  std::lock_guard lock(mutex_);
  return read_user_version(db_);
}

Result<ContainerRecord> SqliteStore::reserve_container(const NewContainer& c, const network::IpPool& pool,
                                                       int64_t ctid_min) {
  std::lock_guard lock(mutex_);
  WriteTransaction txn(db_);
  if (Status s = txn.begin(); !s) return s.error();

  // The quota, under the write lock: of two creates racing at the limit, the second sees the
  // first's row.
  if (c.quota > 0) {
    Statement st(db_, "SELECT COUNT(*) FROM containers WHERE owner = ?1");
    st.bind(1, c.owner);
    if (st.step() != SQLITE_ROW) return db_error(db_, "count the owner's containers");
    const int64_t owned = st.int64(0);
    if (owned >= c.quota)
      return make_error(Errc::permission_denied,
                        fmt::format("quota: you already own {} container{} and the limit is {}; delete one first",
                                    owned, owned == 1 ? "" : "s", c.quota));
  }

  // Lowest free CTID >= ctid_min: walk the used ones in order until the first gap.
  int64_t ctid = ctid_min;
  {
    Statement st(db_, "SELECT ctid FROM containers WHERE ctid >= ?1 ORDER BY ctid");
    st.bind(1, ctid_min);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      int64_t used = st.int64(0);
      if (used > ctid) break;
      ctid = used + 1;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_, "read used CTIDs");
  }

  std::set<uint32_t> used_ips;
  {
    Statement st(db_, "SELECT ip FROM containers");
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) used_ips.insert(static_cast<uint32_t>(st.int64(0)));
    if (rc != SQLITE_DONE) return db_error(db_, "read used IP addresses");
  }
  std::optional<uint32_t> ip = pool.pick(used_ips);
  if (!ip) {
    // A taken name is the more useful answer to the user than a full pool; safe to check here
    // because the write lock is held.
    Statement st(db_, "SELECT 1 FROM containers WHERE name = ?1");
    st.bind(1, c.name);
    int rc = st.step();
    if (rc == SQLITE_ROW) return make_error(Errc::conflict, "CONTAINER_NAME: is already taken");
    if (rc != SQLITE_DONE) return db_error(db_, "look up container");
    return make_error(Errc::unavailable, "no free IP address in the configured pool");
  }

  ContainerRecord r;
  r.name = c.name;
  r.ctid = ctid;
  r.ip = network::format_ipv4(*ip);
  r.owner = c.owner;
  r.distribution = c.distribution;
  r.http_port = c.http_port;
  r.state = ContainerState::creating;
  r.job_id = c.job_id;
  r.created_at = now_seconds();
  {
    Statement st(db_,
                 "INSERT INTO containers (name, ctid, ip, owner, distribution, http_port, state, job_id, created_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    st.bind(1, r.name)
        .bind(2, r.ctid)
        .bind(3, static_cast<int64_t>(*ip))
        .bind(4, r.owner)
        .bind(5, r.distribution)
        .bind(6, static_cast<int64_t>(r.http_port))
        .bind(7, std::string(to_string(r.state)))
        .bind(8, r.job_id)
        .bind(9, r.created_at);
    int rc = st.step();
    // The name is the table's PRIMARY KEY; ctid and ip cannot collide as they were chosen under
    // the same write lock, so any other constraint failure is a genuine fault.
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return make_error(Errc::conflict, "CONTAINER_NAME: is already taken");
    if (rc != SQLITE_DONE) return db_error(db_, "insert container");
  }
  for (const auto& want : c.ports) {
    auto port = reserve_port_locked(r.name, want);
    if (!port) return port.error();
    r.ports.push_back(std::move(*port));
  }
  if (Status s = txn.commit(); !s) return s.error();
  return r;
}

// Inside reserve_container's write transaction: the lowest public port of the pool that no row
// of the same L4 protocol holds (rows inserted earlier in this transaction included).
Result<PortRecord> SqliteStore::reserve_port_locked(const std::string& container, const PortRequest& want) {
  if (want.proto != "tcp" && want.proto != "udp")
    return make_error(Errc::invalid_argument, "port forward: protocol must be tcp or udp");
  if (want.pool_first == 0 || want.pool_first > want.pool_last)
    return make_error(Errc::invalid_argument, "port forward: empty port pool");
  int64_t port = want.pool_first;
  {
    Statement st(db_,
                 "SELECT public_port FROM ports WHERE proto = ?1 AND public_port BETWEEN ?2 AND ?3 "
                 "ORDER BY public_port");
    st.bind(1, want.proto).bind(2, int64_t{want.pool_first}).bind(3, int64_t{want.pool_last});
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      const int64_t used = st.int64(0);
      if (used > port) break;
      port = used + 1;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_, "read used ports");
  }
  if (port > want.pool_last)
    return make_error(Errc::unavailable, "no free public port for " + want.service + " in its configured pool");
  PortRecord p{container, want.service, want.proto, static_cast<uint16_t>(port), want.container_port};
  Statement st(db_,
               "INSERT INTO ports (container, service, proto, public_port, container_port) "
               "VALUES (?1, ?2, ?3, ?4, ?5)");
  st.bind(1, p.container)
      .bind(2, p.service)
      .bind(3, p.proto)
      .bind(4, int64_t{p.public_port})
      .bind(5, int64_t{p.container_port});
  const int rc = st.step();
  // The public port was chosen under the write lock, so only a repeated (proto, container port)
  // in one request can collide: a caller's mistake, not a race.
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return make_error(Errc::invalid_argument, "port forward: the same container port is asked for twice");
  if (rc != SQLITE_DONE) return db_error(db_, "insert port forward");
  return p;
}

Result<std::vector<PortRecord>> SqliteStore::list_ports() {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "SELECT container, service, proto, public_port, container_port FROM ports "
               "ORDER BY proto, public_port");
  std::vector<PortRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW)
    out.push_back(PortRecord{st.text(0), st.text(1), st.text(2), static_cast<uint16_t>(st.int64(3)),
                             static_cast<uint16_t>(st.int64(4))});
  if (rc != SQLITE_DONE) return db_error(db_, "list port forwards");
  return out;
}

Status SqliteStore::release_ports(const std::string& container) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "DELETE FROM ports WHERE container = ?1");
  st.bind(1, container);
  if (st.step() != SQLITE_DONE) return db_error(db_, "delete port forwards");
  return {};
}

Result<std::optional<ContainerRecord>> SqliteStore::find_container(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT " + std::string(kContainerColumns) + " FROM containers WHERE name = ?1");
  st.bind(1, name);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<ContainerRecord>();
  if (rc != SQLITE_ROW) return db_error(db_, "look up container");
  return std::optional<ContainerRecord>(container_from_row(st));
}

Result<std::vector<ContainerRecord>> SqliteStore::list_containers(const std::string& owner) {
  std::lock_guard lock(mutex_);
  // ?1 = '' selects every owner; one statement keeps the query plan simple and bound.
  Statement st(
      db_, "SELECT " + std::string(kContainerColumns) + " FROM containers WHERE ?1 = '' OR owner = ?1 ORDER BY name");
  st.bind(1, owner);
  std::vector<ContainerRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(container_from_row(st));
  if (rc != SQLITE_DONE) return db_error(db_, "list containers");
  return out;
}

Status SqliteStore::set_container_state(const std::string& name, ContainerState state, const std::string& job_id) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "UPDATE containers SET state = ?2, job_id = ?3 WHERE name = ?1");
  st.bind(1, name).bind(2, std::string(to_string(state))).bind(3, job_id);
  if (st.step() != SQLITE_DONE) return db_error(db_, "update container");
  if (sqlite3_changes(db_) == 0) return make_error(Errc::not_found, "no such container");
  return {};
}

Status SqliteStore::transition_container(const std::string& name, ContainerState from, ContainerState to,
                                         const std::string& job_id) {
  std::lock_guard lock(mutex_);
  // One statement: the check and the change cannot be separated by another connection's write.
  Statement st(db_, "UPDATE containers SET state = ?3, job_id = ?4 WHERE name = ?1 AND state = ?2");
  st.bind(1, name).bind(2, std::string(to_string(from))).bind(3, std::string(to_string(to))).bind(4, job_id);
  if (st.step() != SQLITE_DONE) return db_error(db_, "update container");
  if (sqlite3_changes(db_) > 0) return {};
  Statement look(db_, "SELECT state FROM containers WHERE name = ?1");
  look.bind(1, name);
  const int rc = look.step();
  if (rc == SQLITE_DONE) return make_error(Errc::not_found, "no such container");
  if (rc != SQLITE_ROW) return db_error(db_, "look up container");
  return make_error(Errc::conflict,
                    "container " + name + " is " + look.text(0) + ", not " + std::string(to_string(from)));
}

Status SqliteStore::release_container(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "DELETE FROM containers WHERE name = ?1");
  st.bind(1, name);
  if (st.step() != SQLITE_DONE) return db_error(db_, "delete container");
  return {};
}

Status SqliteStore::create_job(const JobRecord& job) {
  std::lock_guard lock(mutex_);
  int64_t created = job.created_at != 0 ? job.created_at : now_millis();
  int64_t updated = job.updated_at != 0 ? job.updated_at : created;
  Statement st(db_,
               "INSERT INTO jobs (" + std::string(kJobColumns) + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  st.bind(1, job.id)
      .bind(2, std::string(to_string(job.kind)))
      .bind(3, job.container)
      .bind(4, job.user)
      .bind(5, std::string(to_string(job.state)))
      .bind(6, job.step)
      .bind(7, static_cast<int64_t>(job.exit_code))
      .bind(8, job.message)
      .bind(9, created)
      .bind(10, updated);
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return make_error(Errc::conflict, "job id already exists");
  if (rc != SQLITE_DONE) return db_error(db_, "insert job");
  return {};
}

Status SqliteStore::update_job(const std::string& id, JobState state, const std::string& step, int exit_code,
                               const std::string& message) {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "UPDATE jobs SET state = ?2, step = ?3, exit_code = ?4, message = ?5, updated_at = ?6 WHERE id = ?1");
  st.bind(1, id)
      .bind(2, std::string(to_string(state)))
      .bind(3, step)
      .bind(4, static_cast<int64_t>(exit_code))
      .bind(5, message)
      .bind(6, now_millis());
  if (st.step() != SQLITE_DONE) return db_error(db_, "update job");
  if (sqlite3_changes(db_) == 0) return no_such_job();
  return {};
}

Result<std::optional<JobRecord>> SqliteStore::find_job(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE id = ?1");
  st.bind(1, id);
  int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<JobRecord>();
  if (rc != SQLITE_ROW) return db_error(db_, "look up job");
  return std::optional<JobRecord>(job_from_row(st));
}

Result<std::vector<JobRecord>> SqliteStore::unfinished_jobs() {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT " + std::string(kJobColumns) +
                        " FROM jobs WHERE state IN ('PENDING', 'RUNNING') ORDER BY created_at, id");
  std::vector<JobRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(job_from_row(st));
  if (rc != SQLITE_DONE) return db_error(db_, "list unfinished jobs");
  return out;
}

Status SqliteStore::append_job_log(const std::string& id, const std::string& level, const std::string& text) {
  std::lock_guard lock(mutex_);
  // One statement, so computing the next seq and inserting it happen in one write transaction
  // even when another connection appends to the same job.
  Statement st(db_,
               "INSERT INTO job_log (job_id, seq, at, level, text) "
               "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 FROM job_log WHERE job_id = ?1");
  st.bind(1, id).bind(2, now_millis()).bind(3, level).bind(4, text);
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return no_such_job();
  if (rc != SQLITE_DONE) return db_error(db_, "append job log");
  return {};
}

Result<std::vector<JobLogLine>> SqliteStore::job_log(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT at, level, text FROM job_log WHERE job_id = ?1 ORDER BY seq");
  st.bind(1, id);
  std::vector<JobLogLine> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(JobLogLine{st.int64(0), st.text(1), st.text(2)});
  if (rc != SQLITE_DONE) return db_error(db_, "read job log");
  return out;
}

Status SqliteStore::record_step(const std::string& id, const std::string& step) {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "INSERT INTO job_steps (job_id, seq, step) "
               "SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM job_steps WHERE job_id = ?1");
  st.bind(1, id).bind(2, step);
  int rc = st.step();
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return no_such_job();
  if (rc != SQLITE_DONE) return db_error(db_, "record job step");
  return {};
}

Result<std::vector<std::string>> SqliteStore::recorded_steps(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT step FROM job_steps WHERE job_id = ?1 ORDER BY seq");
  st.bind(1, id);
  std::vector<std::string> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(st.text(0));
  if (rc != SQLITE_DONE) return db_error(db_, "read job steps");
  return out;
}

Status SqliteStore::put_deployment(const DeploymentRecord& d) {
  std::lock_guard lock(mutex_);
  WriteTransaction txn(db_);
  if (Status s = txn.begin(); !s) return s;
  {
    Statement st(db_, "UPDATE containers SET http_port = ?2 WHERE name = ?1");
    st.bind(1, d.container).bind(2, int64_t{d.http_port});
    if (st.step() != SQLITE_DONE) return db_error(db_, "update container");
    if (sqlite3_changes(db_) == 0) return make_error(Errc::not_found, "no such container");
  }
  {
    Statement st(db_,
                 "INSERT OR REPLACE INTO deployments (container, spec, current_release, git_commit, http_port, "
                 "previous_spec, previous_release, previous_commit, previous_http_port, updated_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    st.bind(1, d.container)
        .bind(2, d.spec)
        .bind(3, d.release)
        .bind(4, d.commit)
        .bind(5, int64_t{d.http_port})
        .bind(6, d.previous_spec)
        .bind(7, d.previous_release)
        .bind(8, d.previous_commit)
        .bind(9, int64_t{d.previous_http_port})
        .bind(10, d.updated_at != 0 ? d.updated_at : now_seconds());
    if (st.step() != SQLITE_DONE) return db_error(db_, "store deployment");
  }
  return txn.commit();
}

Status SqliteStore::remove_deployment(const std::string& container, uint16_t http_port) {
  std::lock_guard lock(mutex_);
  WriteTransaction txn(db_);
  if (Status s = txn.begin(); !s) return s;
  {
    Statement st(db_, "UPDATE containers SET http_port = ?2 WHERE name = ?1");
    st.bind(1, container).bind(2, int64_t{http_port});
    if (st.step() != SQLITE_DONE) return db_error(db_, "update container");
    if (sqlite3_changes(db_) == 0) return make_error(Errc::not_found, "no such container");
  }
  {
    Statement st(db_, "DELETE FROM deployments WHERE container = ?1");
    st.bind(1, container);
    if (st.step() != SQLITE_DONE) return db_error(db_, "delete deployment");
  }
  return txn.commit();
}

Result<std::optional<DeploymentRecord>> SqliteStore::find_deployment(const std::string& container) {
  std::lock_guard lock(mutex_);
  Statement st(db_,
               "SELECT container, spec, current_release, git_commit, http_port, previous_spec, previous_release, "
               "previous_commit, previous_http_port, updated_at FROM deployments WHERE container = ?1");
  st.bind(1, container);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<DeploymentRecord>();
  if (rc != SQLITE_ROW) return db_error(db_, "look up deployment");
  DeploymentRecord d;
  d.container = st.text(0);
  d.spec = st.text(1);
  d.release = st.text(2);
  d.commit = st.text(3);
  d.http_port = static_cast<uint16_t>(st.int64(4));
  d.previous_spec = st.text(5);
  d.previous_release = st.text(6);
  d.previous_commit = st.text(7);
  d.previous_http_port = static_cast<uint16_t>(st.int64(8));
  d.updated_at = st.int64(9);
  return std::optional<DeploymentRecord>(std::move(d));
}

Status SqliteStore::put_template_seal(const TemplateSealRecord& seal, const std::string& manifest) {
  for (const std::string* d : {&seal.content_sha256, &seal.fingerprint_sha256, &seal.config_sha256})
    if (d->size() != 64) return make_error(Errc::invalid_argument, "template seal: a digest is not 64 hex digits");
  if (seal.entries <= 0) return make_error(Errc::invalid_argument, "template seal: no entries");
  std::lock_guard lock(mutex_);
  // One statement: the seal and its manifest are replaced together or not at all.
  Statement st(db_, "INSERT OR REPLACE INTO template_seals (" + std::string(kSealColumns) +
                        ", manifest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  st.bind(1, seal.name)
      .bind(2, seal.content_sha256)
      .bind(3, seal.fingerprint_sha256)
      .bind(4, seal.config_sha256)
      .bind(5, seal.entries)
      .bind(6, seal.built_info)
      .bind(7, seal.sealed_at != 0 ? seal.sealed_at : now_seconds())
      .bind_blob(8, manifest);
  if (st.step() != SQLITE_DONE) return db_error(db_, "store template seal");
  return {};
}

Result<std::optional<TemplateSealRecord>> SqliteStore::find_template_seal(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT " + std::string(kSealColumns) + " FROM template_seals WHERE name = ?1");
  st.bind(1, name);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<TemplateSealRecord>();
  if (rc != SQLITE_ROW) return db_error(db_, "look up template seal");
  return std::optional<TemplateSealRecord>(seal_from_row(st));
}

Result<std::optional<std::string>> SqliteStore::template_seal_manifest(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT manifest FROM template_seals WHERE name = ?1");
  st.bind(1, name);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return db_error(db_, "read template manifest");
  return std::optional<std::string>(st.blob(0));
}

Result<std::vector<TemplateSealRecord>> SqliteStore::list_template_seals() {
  std::lock_guard lock(mutex_);
  Statement st(db_, "SELECT " + std::string(kSealColumns) + " FROM template_seals ORDER BY name");
  std::vector<TemplateSealRecord> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(seal_from_row(st));
  if (rc != SQLITE_DONE) return db_error(db_, "list template seals");
  return out;
}

Status SqliteStore::remove_template_seal(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement st(db_, "DELETE FROM template_seals WHERE name = ?1");
  st.bind(1, name);
  if (st.step() != SQLITE_DONE) return db_error(db_, "delete template seal");
  return {};
}

}  // namespace lxcprov::state
