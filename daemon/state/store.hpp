#pragma once
// Store: lxcprov's persistent state (containers with their reserved name/CTID/IP, jobs, job
// steps and job logs). Real implementation: SqliteStore. Every method is safe to call from any
// thread. Uniqueness of names, CTIDs and IPs is enforced by UNIQUE constraints inside one
// transaction, never by check-then-act.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::state {

struct NewContainer {
  std::string name;          ///< already validated, lowercase
  std::string owner;
  std::string distribution;
  uint16_t http_port = 0;
  std::string job_id;        ///< the job that reserved it
};

struct ContainerRecord {
  std::string name;
  int64_t ctid = 0;
  std::string ip;            ///< dotted quad, e.g. "10.0.3.10"
  std::string owner;
  std::string distribution;
  uint16_t http_port = 0;
  std::string state;         ///< "creating", "ready", "deleting"
  std::string job_id;        ///< last job that touched it
  int64_t created_at = 0;    ///< unix seconds
};

struct JobRecord {
  std::string id;            ///< 16 lowercase hex digits
  std::string op;            ///< "create", "delete", ...
  std::string container;
  std::string user;
  std::string state;         ///< PENDING, RUNNING, SUCCEEDED, FAILED, ROLLED_BACK
  std::string step;          ///< current or last step
  int exit_code = 0;
  std::string message;       ///< final one-line outcome (operator-safe, no secrets)
  int64_t created_at = 0;    ///< unix milliseconds
  int64_t updated_at = 0;
};

struct JobLogLine {
  int64_t at = 0;            ///< unix milliseconds
  std::string level;         ///< "info", "warn", "error"
  std::string text;
};

class Store {
 public:
  virtual ~Store() = default;

  /// In one transaction: insert the container with state "creating", the lowest free CTID
  /// >= ctid_min and the lowest free address of `pool`. Errc::conflict when the name is taken
  /// (case-insensitive), Errc::unavailable when the pool is exhausted.
  virtual Result<ContainerRecord> reserve_container(const NewContainer& c, const network::IpPool& pool,
                                                    int64_t ctid_min) = 0;
  virtual Result<std::optional<ContainerRecord>> find_container(const std::string& name) = 0;
  /// All containers, or only those of `owner` when it is non-empty; ordered by name.
  virtual Result<std::vector<ContainerRecord>> list_containers(const std::string& owner) = 0;
  virtual Status set_container_state(const std::string& name, const std::string& state,
                                     const std::string& job_id) = 0;
  /// Deletes the row, freeing name, CTID and IP. Not an error when absent.
  virtual Status release_container(const std::string& name) = 0;

  virtual Status create_job(const JobRecord& job) = 0;
  virtual Status update_job(const std::string& id, const std::string& state, const std::string& step,
                            int exit_code, const std::string& message) = 0;
  virtual Result<std::optional<JobRecord>> find_job(const std::string& id) = 0;
  /// Jobs in PENDING or RUNNING state (for recovery at start-up).
  virtual Result<std::vector<JobRecord>> unfinished_jobs() = 0;

  virtual Status append_job_log(const std::string& id, const std::string& level, const std::string& text) = 0;
  virtual Result<std::vector<JobLogLine>> job_log(const std::string& id) = 0;

  /// Marks `step` of job `id` as done (its undo is owed on failure), in order.
  virtual Status record_step(const std::string& id, const std::string& step) = 0;
  /// The steps recorded for job `id`, in the order they were done.
  virtual Result<std::vector<std::string>> recorded_steps(const std::string& id) = 0;
};

}  // namespace lxcprov::state
