#pragma once
// Store: lxcprov's persistent state (containers with their reserved name/CTID/IP, jobs, job
// steps and job logs, the seals of templates, and what is deployed in each container). Real
// implementations: SqliteStore (one host) and PgStore (a fleet's shared state). Every method is safe to call from any
// thread. Uniqueness of names, CTIDs and IPs is enforced by UNIQUE constraints inside one transaction, never by
// check-then-act.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "network/ip_pool.hpp"
#include "state/states.hpp"

namespace lxcprov::state {

/// A port forward to reserve with a container: the lowest free public port of the pool.
struct PortRequest {
  std::string service;  ///< "SSH" or a catalog name
  std::string proto;    ///< "tcp" or "udp"
  uint16_t container_port = 0;
  uint16_t pool_first = 0, pool_last = 0;
};

/// A reserved port forward.
struct PortRecord {
  std::string container;
  std::string service;
  std::string proto;
  uint16_t public_port = 0;
  uint16_t container_port = 0;
  bool operator==(const PortRecord&) const = default;
};

struct NewContainer {
  std::string name;  ///< already validated, lowercase
  std::string owner;
  std::string distribution;
  uint16_t http_port = 0;
  std::string job_id;              ///< the job that reserved it
  std::vector<PortRequest> ports;  ///< reserved in the same transaction as the container
  /// Containers `owner` may hold at once, this one included; 0 = no limit (admins). Checked in
  /// the reservation's transaction, so two creates racing at the limit cannot both pass.
  int quota = 0;
};

struct ContainerRecord {
  std::string name;
  int64_t ctid = 0;
  std::string ip;  ///< dotted quad, e.g. "10.0.3.10"
  std::string owner;
  std::string distribution;
  uint16_t http_port = 0;
  ContainerState state = ContainerState::creating;
  std::string job_id;             ///< last job that touched it
  int64_t created_at = 0;         ///< unix seconds
  std::string node;               ///< the fleet node it is on (PgStore); "" on a single host
  std::vector<PortRecord> ports;  ///< filled by reserve_container only
};

struct JobRecord {
  std::string id;  ///< 16 lowercase hex digits
  JobKind kind = JobKind::create;
  std::string container;
  std::string user;
  JobState state = JobState::pending;
  std::string step;  ///< current or last step
  int exit_code = 0;
  std::string message;     ///< final one-line outcome (operator-safe, no secrets)
  int64_t created_at = 0;  ///< unix milliseconds
  int64_t updated_at = 0;
  std::string node = "";  ///< the fleet node that runs it (set by PgStore::create_job); "" on a single host
};

struct JobLogLine {
  int64_t at = 0;     ///< unix milliseconds
  std::string level;  ///< "info", "warn", "error"
  std::string text;
};

/// The golden values of a template (container/template_digest.hpp), kept here rather than next to the template:
/// whoever can edit the template's directory must not be able to edit its seal too.
struct TemplateSealRecord {
  std::string name;                ///< the template container's name (case-sensitive, as LXC's)
  std::string content_sha256;      ///< hex; container::Measurement::content
  std::string fingerprint_sha256;  ///< hex; what every create compares
  std::string config_sha256;       ///< hex; the config file alone
  int64_t entries = 0;             ///< config + rootfs entries walked
  std::string built_info;          ///< the build's own note (its marker file), or ""
  int64_t sealed_at = 0;           ///< unix seconds; 0 in put_template_seal means "now"
  bool operator==(const TemplateSealRecord&) const = default;
};

/// What is deployed in a container (deploy/): the secret-free spec and the release serving it, and
/// the one before, so an update that fails (or a crash during one) can put that back. Removed with
/// its container.
struct DeploymentRecord {
  std::string container;
  std::string spec;           ///< deploy::to_stored_json: no environment value, no token
  std::string release;        ///< the release serving (/srv/app/current inside the container)
  std::string commit;         ///< the commit that release was cloned at
  uint16_t http_port = 0;     ///< the HTTP_PORT it serves on (put_deployment sets the container's)
  std::string previous_spec;  ///< the release before it ("" = none): what undoing an update restores
  std::string previous_release;
  std::string previous_commit;
  uint16_t previous_http_port = 0;
  int64_t updated_at = 0;  ///< unix seconds; 0 in put_deployment means now
  bool operator==(const DeploymentRecord&) const = default;
};

class Store {
 public:
  virtual ~Store() = default;

  /// In one transaction: insert the container with state "creating", the lowest free CTID
  /// >= ctid_min, the lowest free address of `pool` and, for each of c.ports, the lowest free
  /// public port of its pool. Errc::conflict when the name is taken (case-insensitive),
  /// Errc::unavailable when the address pool or a port pool is exhausted.
  virtual Result<ContainerRecord> reserve_container(const NewContainer& c, const network::IpPool& pool,
                                                    int64_t ctid_min) = 0;
  virtual Result<std::optional<ContainerRecord>> find_container(const std::string& name) = 0;
  /// All containers, or only those of `owner` when it is non-empty; ordered by name.
  virtual Result<std::vector<ContainerRecord>> list_containers(const std::string& owner) = 0;
  virtual Status set_container_state(const std::string& name, ContainerState state, const std::string& job_id) = 0;
  /// Sets the state to `to` (and the row's job to `job_id`) only if it is `from`, atomically: the
  /// lock of an update (ready -> updating). Errc::not_found when absent, Errc::conflict (naming
  /// the state it is in) otherwise.
  virtual Status transition_container(const std::string& name, ContainerState from, ContainerState to,
                                      const std::string& job_id) = 0;
  /// Deletes the row, freeing name, CTID, IP and its ports. Not an error when absent.
  virtual Status release_container(const std::string& name) = 0;
  /// Every reserved port forward, ordered by (proto, public_port).
  virtual Result<std::vector<PortRecord>> list_ports() = 0;
  /// Frees the port forwards of `container` (the container keeps its other reservations).
  virtual Status release_ports(const std::string& container) = 0;

  virtual Status create_job(const JobRecord& job) = 0;
  virtual Status update_job(const std::string& id, JobState state, const std::string& step, int exit_code,
                            const std::string& message) = 0;
  virtual Result<std::optional<JobRecord>> find_job(const std::string& id) = 0;
  /// Jobs in PENDING or RUNNING state (for recovery at start-up); on PgStore, this node's only.
  virtual Result<std::vector<JobRecord>> unfinished_jobs() = 0;

  virtual Status append_job_log(const std::string& id, const std::string& level, const std::string& text) = 0;
  virtual Result<std::vector<JobLogLine>> job_log(const std::string& id) = 0;

  /// Marks `step` of job `id` as done (its undo is owed on failure), in order.
  virtual Status record_step(const std::string& id, const std::string& step) = 0;
  /// The steps recorded for job `id`, in the order they were done.
  virtual Result<std::vector<std::string>> recorded_steps(const std::string& id) = 0;

  /// Inserts or replaces the deployment of `d.container` and sets that container's http_port to
  /// `d.http_port`, in one transaction. Errc::not_found when there is no such container.
  virtual Status put_deployment(const DeploymentRecord& d) = 0;
  virtual Result<std::optional<DeploymentRecord>> find_deployment(const std::string& container) = 0;
  /// Deletes the deployment of `container` and sets its http_port to `http_port` (what it had
  /// before its first deployment), in one transaction: the undo of an update that was the first
  /// deployment. Not an error when absent; Errc::not_found when the container is.
  virtual Status remove_deployment(const std::string& container, uint16_t http_port) = 0;

  /// Inserts or replaces the seal of `seal.name` with its manifest (container::encode_manifest), in
  /// one transaction.
  virtual Status put_template_seal(const TemplateSealRecord& seal, const std::string& manifest) = 0;
  /// The seal without its manifest (the per-create check needs only the fingerprint).
  virtual Result<std::optional<TemplateSealRecord>> find_template_seal(const std::string& name) = 0;
  /// The manifest stored with the seal of `name`, if sealed.
  virtual Result<std::optional<std::string>> template_seal_manifest(const std::string& name) = 0;
  /// Every seal, ordered by name, without manifests.
  virtual Result<std::vector<TemplateSealRecord>> list_template_seals() = 0;
  /// Not an error when absent.
  virtual Status remove_template_seal(const std::string& name) = 0;
};

}  // namespace lxcprov::state
