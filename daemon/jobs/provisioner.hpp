#pragma once
// Provisioner: builds and runs the plans of lxcprov's operations (create, delete) and answers the
// read-only ones (exists, list, status, logs). Blocking: call from a worker thread. Thread-safe as
// long as Store and ContainerRuntime are.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/limits.hpp"
#include "jobs/plan.hpp"
#include "lxc/runtime.hpp"
#include "network/edges.hpp"
#include "request/request.hpp"
#include "seal/template_seals.hpp"
#include "state/store.hpp"
#include "wazuh/manager.hpp"

namespace lxcprov::jobs {

/// What the client is told at the end.
struct Outcome {
  int exit_code = 0;
  std::vector<std::string> lines;
};

class Provisioner {
 public:
  Provisioner(const config::Config& config, state::Store& store, lxc::ContainerRuntime& runtime)
      : config_(config), store_(store), runtime_(runtime),
        cgroup_version_(config.limits.cgroup == "v2" ? config::CgroupVersion::v2 : config::CgroupVersion::v1) {}

  /// Where port forwards and HTTP routes are installed. Null (the default): that feature is off
  /// and its create/delete steps are left out. Call before the first job.
  void set_network(network::RulesetApplier* forwards, network::RouteInstaller* routes) {
    forwards_ = forwards;
    routes_ = routes;
  }
  /// The Wazuh manager and where agents are recorded (config "wazuh"): adds the create step
  /// "wazuh" and the delete step "unenroll". Null (the default): off. `agent_config_template`: the
  /// text of the agent's ossec.conf template. Call before the first job.
  void set_wazuh(wazuh::Manager* manager, wazuh::AgentRecords* records, std::string agent_config_template) {
    wazuh_ = manager;
    agents_ = records;
    agent_config_template_ = std::move(agent_config_template);
  }
  /// LDAP login inside containers (config "container_ldap"): adds the create step "ldap-login".
  /// `templates`: client ("sssd", "nslcd") -> template text; `ca_pem`: the directory's CA.
  void set_container_ldap(std::map<std::string, std::string> templates, std::string ca_pem) {
    ldap_templates_ = std::move(templates);
    ldap_ca_pem_ = std::move(ca_pem);
    ldap_login_ = true;
  }
  /// Enrolls the agents a create left pending (manager unavailable, on_unavailable "pending"),
  /// each at most wazuh.retry_attempts times in all. Safe to call while jobs run.
  void retry_pending_agents(Reporter& reporter);

  /// The seal check the "clone" step runs before cloning (config templates.require_seal). With
  /// require_seal on and no checker set, every create is refused: a missing wire-up must not
  /// quietly clone unchecked templates. Call before the first job.
  void set_template_seals(seal::TemplateSeals* seals) { seals_ = seals; }

  /// Which lxc keys carry the resource limits (the host's cgroup layout). Call before the first job.
  void set_cgroup_version(config::CgroupVersion version) { cgroup_version_ = version; }

  /// Installs forwards and routes rendered from the state as it is now (start-up, after a crash,
  /// after any change). Serialized per kind, and the state is read under the same lock, so the
  /// last install always reflects the newest state.
  Status sync_forwards();
  /// `exclude`: leave that container's route out (the undo of its "route" step).
  Status sync_routes(const std::string& exclude = "");

  /// reserve -> clone -> start -> configure -> ready; undone step by step on failure.
  Outcome create(const request::Request& req, const std::string& job_id, Reporter& reporter,
                 const std::string& fail_at = "");
  /// The caller's own container: mark deleting -> destroy -> release name, CTID and IP.
  Outcome destroy(const request::Request& req, const std::string& job_id, Reporter& reporter,
                  const std::string& fail_at = "");

  Outcome exists(const request::Request& req);
  Outcome list(const request::Request& req);
  Outcome status(const request::Request& req);
  Outcome logs(const request::Request& req);

  /// At start-up: roll back creates and finish deletes that a crash interrupted, then converge().
  void recover(Reporter& reporter);
  /// Installs forwards and routes from the state. Failures are reported, not fatal: the daemon
  /// still starts (deletes and queries work), and the next change installs everything again.
  void converge(Reporter& reporter);

  /// True when `name` is free for `user` to create (the authoritative check is the reservation).
  Result<bool> name_free(const std::string& name);
  /// True when `name` exists and belongs to `user`. An existing container of someone else is
  /// reported exactly like an absent one, so refusals reveal nothing.
  Result<bool> owns(const std::string& user, const std::string& name);
  /// owns(), or for an admin: the container exists.
  Result<bool> may_manage(const std::string& user, bool admin, const std::string& name);
  /// Quota and per-group distributions (jobs/policy.hpp) for a create by `user`.
  Status admit_create(const std::string& user, const std::vector<std::string>& groups, bool admin,
                      const std::string& distribution);

 private:
  std::vector<Step> create_plan(const request::Request& req, const std::string& job_id, state::ContainerRecord& rec);
  std::vector<Step> delete_plan(const std::string& name, const std::string& job_id);
  Outcome fail(const std::string& job_id, const Error& error, std::string_view what);

  Status sync_network();  ///< both kinds that are on
  /// Enrolls `name`; a stale agent of that name (left by an earlier container whose name we now
  /// hold) is removed from the manager and the enrollment tried once more.
  Result<wazuh::Enrollment> enroll_agent(const std::string& name);
  /// client.keys and ossec.conf into the container, written from inside it.
  Status write_agent_files(const std::string& name, const wazuh::Enrollment& e);
  /// Removes the container's agent from the manager (by recorded id, else by name) and its record.
  Status forget_agent(const std::string& name);
  Status write_ldap_login(const std::string& name, const std::string& distribution);
  Status write_container_file(const std::string& name, const std::string& path, const char* mode,
                              const std::string& content);
  std::vector<std::string> network_lines(const state::ContainerRecord& rec) const;

  const config::Config& config_;
  state::Store& store_;
  lxc::ContainerRuntime& runtime_;
  config::CgroupVersion cgroup_version_;
  network::RulesetApplier* forwards_ = nullptr;
  network::RouteInstaller* routes_ = nullptr;
  std::mutex forwards_mutex_;
  std::mutex routes_mutex_;
  wazuh::Manager* wazuh_ = nullptr;
  wazuh::AgentRecords* agents_ = nullptr;
  std::string agent_config_template_;
  std::mutex agents_mutex_;  ///< one agent change at a time: a retry never races a delete's unenroll
  seal::TemplateSeals* seals_ = nullptr;
  bool ldap_login_ = false;
  std::map<std::string, std::string> ldap_templates_;
  std::string ldap_ca_pem_;
};

/// "00:16:3e:xx:xx:xx" from the low 24 bits of the address: unique within the pool.
std::string hwaddr_for(uint32_t address);
/// A fresh random job id: 16 lowercase hex digits.
std::string new_job_id();

}  // namespace lxcprov::jobs
