#pragma once
// The Wazuh agent as a feature (jobs/feature.hpp): after configure, a create enrolls an agent named
// after the container with the manager (authd) and writes client.keys and ossec.conf from inside
// the container; a delete removes the agent through the manager's API before the container goes.
// When the manager is down and wazuh.on_unavailable is "pending", the create goes on and the agent
// is enrolled later by retry_pending(). No I/O of its own: the manager, the records and the runtime
// do it. Thread-safe: one agent change at a time, so a retry never races a delete's unenroll.

#include <mutex>
#include <string>

#include "config/config.hpp"
#include "container/runtime.hpp"
#include "jobs/feature.hpp"
#include "wazuh/manager.hpp"

namespace lxcprov::wazuh {

class WazuhFeature final : public jobs::Feature {
 public:
  /// `agent_config_template`: the text of the agent's ossec.conf template.
  WazuhFeature(const config::Config& config, state::Store& store, container::ContainerRuntime& runtime,
               Manager& manager, AgentRecords& records, std::string agent_config_template)
      : config_(config),
        store_(store),
        runtime_(runtime),
        manager_(manager),
        records_(records),
        agent_config_template_(std::move(agent_config_template)) {}

  std::string_view name() const override { return "wazuh"; }
  /// after_configure "wazuh" (undo: the agent removed from the manager).
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// before_destroy "unenroll": while its record still says which agent it is.
  void delete_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// A crash inside the "wazuh" step leaves an agent no recorded step knows of.
  void forget(const jobs::JobContext& ctx, jobs::Reporter& reporter) override;
  void describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const override;

  /// Enrolls the agents creates left pending, each at most wazuh.retry_attempts times in all.
  /// Safe to call while jobs run.
  void retry_pending(jobs::Reporter& reporter);

 private:
  Status enroll(const std::string& name);
  /// Enrolls `name`; a stale agent of that name (left by an earlier container whose name we now
  /// hold) is removed from the manager and the enrollment tried once more.
  Result<Enrollment> enroll_agent(const std::string& name);
  Status write_agent_files(const std::string& name, const Enrollment& e);
  /// Removes the container's agent from the manager (by recorded id, else by name) and its record.
  Status forget_agent(const std::string& name);

  const config::Config& config_;
  state::Store& store_;
  container::ContainerRuntime& runtime_;
  Manager& manager_;
  AgentRecords& records_;
  std::string agent_config_template_;
  std::mutex mutex_;
};

}  // namespace lxcprov::wazuh
