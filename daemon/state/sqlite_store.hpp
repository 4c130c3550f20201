#pragma once
// SqliteStore: the Store on an SQLite database file (WAL, synchronous=FULL, foreign keys on).
// Thread-safety: one connection per instance, every call serialized by an internal mutex, so an
// instance may be shared by any number of threads. Several instances or processes may open the
// same file at once: writes take the database write lock (BEGIN IMMEDIATE) and wait for it up to
// 10 s, and uniqueness comes from UNIQUE constraints checked inside that transaction.

#include <memory>
#include <mutex>
#include <string>

#include "state/store.hpp"

struct sqlite3;

namespace lxcprov::state {

class SqliteStore : public Store {
 public:
  /// Opens (creating with mode 0600 if needed) the database at `path` and migrates its schema
  /// to the latest version. The parent directory must exist. Errc::io on any failure.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  /// PRAGMA user_version of the open database (schema::latest_version() after open()).
  Result<int> schema_version();

  Result<ContainerRecord> reserve_container(const NewContainer& c, const network::IpPool& pool,
                                            int64_t ctid_min) override;
  Result<std::optional<ContainerRecord>> find_container(const std::string& name) override;
  Result<std::vector<ContainerRecord>> list_containers(const std::string& owner) override;
  /// Errc::not_found when there is no such container.
  Status set_container_state(const std::string& name, ContainerState state, const std::string& job_id) override;
  Status transition_container(const std::string& name, ContainerState from, ContainerState to,
                              const std::string& job_id) override;
  Status release_container(const std::string& name) override;
  Result<std::vector<PortRecord>> list_ports() override;
  Status release_ports(const std::string& container) override;

  /// Errc::conflict when the id exists. created_at/updated_at of 0 mean "now".
  Status create_job(const JobRecord& job) override;
  /// Sets updated_at to now. Errc::not_found when there is no such job.
  Status update_job(const std::string& id, JobState state, const std::string& step, int exit_code,
                    const std::string& message) override;
  Result<std::optional<JobRecord>> find_job(const std::string& id) override;
  Result<std::vector<JobRecord>> unfinished_jobs() override;

  /// Errc::not_found when there is no such job (log lines belong to a job row).
  Status append_job_log(const std::string& id, const std::string& level, const std::string& text) override;
  Result<std::vector<JobLogLine>> job_log(const std::string& id) override;

  /// Errc::not_found when there is no such job.
  Status record_step(const std::string& id, const std::string& step) override;
  Result<std::vector<std::string>> recorded_steps(const std::string& id) override;

  Status put_deployment(const DeploymentRecord& d) override;
  Result<std::optional<DeploymentRecord>> find_deployment(const std::string& container) override;
  Status remove_deployment(const std::string& container, uint16_t http_port) override;

  /// Errc::invalid_argument when a digest is not 64 characters or entries is not positive.
  Status put_template_seal(const TemplateSealRecord& seal, const std::string& manifest) override;
  Result<std::optional<TemplateSealRecord>> find_template_seal(const std::string& name) override;
  Result<std::optional<std::string>> template_seal_manifest(const std::string& name) override;
  Result<std::vector<TemplateSealRecord>> list_template_seals() override;
  Status remove_template_seal(const std::string& name) override;

 private:
  explicit SqliteStore(sqlite3* db) : db_(db) {}

  Status migrate_locked();
  Result<PortRecord> reserve_port_locked(const std::string& container, const PortRequest& want);

  std::mutex mutex_;
  sqlite3* db_ = nullptr;  ///< guarded by mutex_
};

}  // namespace lxcprov::state
