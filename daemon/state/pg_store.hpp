#pragma once
// PgStore: the Store on PostgreSQL, the state every node of a fleet shares (docs/architecture.md,
// "Fleet"); SqliteStore stays the single-host default. It gives the same guarantees as SqliteStore
// fleet-wide: names (case-insensitively), CTIDs, addresses and public ports are unique by
// constraints checked inside the reserving transaction, and reservations are serialized by one
// advisory lock, so "lowest free" is decided against every committed reservation of the fleet.
//
// Each store is bound to one node (the lxcprovd it serves): the containers it reserves and the
// jobs it creates are recorded as that node's, and unfinished_jobs() returns only that node's, so a
// daemon that restarts recovers its own interrupted jobs and never another node's. Template seals
// are this node's too: each node's copy of a template is its own build, with its own fingerprint.
//
// Thread-safety: one connection per instance, every call serialized by an internal mutex. A call
// that finds the connection broken (the server restarted, a network cut) reconnects first; a call
// during which it breaks fails with Errc::io, its transaction rolled back by the server.

#include <memory>
#include <mutex>
#include <string>

#include "state/node_registry.hpp"
#include "state/pg_connection.hpp"
#include "state/store.hpp"

namespace lxcprov::state {

class PgStore : public Store, public NodeRegistry {
 public:
  /// Connects with `conninfo` and migrates the schema. `node`: this daemon's node name ("" for a
  /// tool that only reads, or a single host on PostgreSQL). Errc::io on any failure.
  static Result<std::unique_ptr<PgStore>> open(const std::string& conninfo, const std::string& node);

  /// lxcprov_schema.version (pg_schema::latest_version() after open()).
  Result<int> schema_version();
  const std::string& node() const { return node_; }

  Result<ContainerRecord> reserve_container(const NewContainer& c, const network::IpPool& pool,
                                            int64_t ctid_min) override;
  Result<std::optional<ContainerRecord>> find_container(const std::string& name) override;
  Result<std::vector<ContainerRecord>> list_containers(const std::string& owner) override;
  Status set_container_state(const std::string& name, ContainerState state, const std::string& job_id) override;
  Status transition_container(const std::string& name, ContainerState from, ContainerState to,
                              const std::string& job_id) override;
  Status release_container(const std::string& name) override;
  Result<std::vector<PortRecord>> list_ports() override;
  Status release_ports(const std::string& container) override;

  Status create_job(const JobRecord& job) override;
  Status update_job(const std::string& id, JobState state, const std::string& step, int exit_code,
                    const std::string& message) override;
  Result<std::optional<JobRecord>> find_job(const std::string& id) override;
  Result<std::vector<JobRecord>> unfinished_jobs() override;
  Status append_job_log(const std::string& id, const std::string& level, const std::string& text) override;
  Result<std::vector<JobLogLine>> job_log(const std::string& id) override;
  Status record_step(const std::string& id, const std::string& step) override;
  Result<std::vector<std::string>> recorded_steps(const std::string& id) override;

  Status put_deployment(const DeploymentRecord& d) override;
  Result<std::optional<DeploymentRecord>> find_deployment(const std::string& container) override;
  Status remove_deployment(const std::string& container, uint16_t http_port) override;

  Status put_template_seal(const TemplateSealRecord& seal, const std::string& manifest) override;
  Result<std::optional<TemplateSealRecord>> find_template_seal(const std::string& name) override;
  Result<std::optional<std::string>> template_seal_manifest(const std::string& name) override;
  Result<std::vector<TemplateSealRecord>> list_template_seals() override;
  Status remove_template_seal(const std::string& name) override;

  Status add_node(const NodeRecord& node) override;
  Result<std::vector<NodeRecord>> list_nodes() override;
  Status set_node_draining(const std::string& name, bool draining) override;
  Status remove_node(const std::string& name) override;
  Status node_seen(const std::string& name, int64_t memory_total_kb, int64_t memory_available_kb) override;
  /// A session advisory lock on this store's node name.
  Status claim_node() override;

 private:
  PgStore(std::unique_ptr<PgConnection> c, std::string node) : c_(std::move(c)), node_(std::move(node)) {}
  Status migrate_locked();
  Result<PortRecord> reserve_port_locked(const std::string& container, const PortRequest& want);
  /// Reconnects a broken connection before a call (see the class comment), and claims the node
  /// again on the new session when this store had claimed it.
  void recover_locked();
  Status claim_locked();

  std::mutex mutex_;
  std::unique_ptr<PgConnection> c_;  ///< guarded by mutex_
  const std::string node_;
  bool claimed_ = false;     ///< claim_node() succeeded: keep the claim across reconnects
  bool claim_lost_ = false;  ///< a reconnect found the node claimed by another daemon
};

}  // namespace lxcprov::state
