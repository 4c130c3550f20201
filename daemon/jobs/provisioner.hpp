#pragma once
// Provisioner: the plans of a create, an update and a delete. Its own steps are the core of every
// container (reserve, clone, configure, start, configure-inside, ready; lock, unlock; mark, destroy,
// release); the features it is given (jobs/feature.hpp) add theirs in the phases between. Blocking:
// call from a worker thread. Thread-safe as long as the store, the runtime and the features are.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "container/limits.hpp"
#include "container/runtime.hpp"
#include "container/template_seals.hpp"
#include "jobs/feature.hpp"
#include "jobs/plan.hpp"
#include "request/request.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

/// What the client is told at the end.
struct Outcome {
  int exit_code = 0;
  std::vector<std::string> lines;
};

class Provisioner {
 public:
  /// `features` in the order their steps run within a phase and their state converges
  /// (isolation first: it is what keeps containers apart). They must outlive the provisioner.
  /// `seals` checks each template against its golden value before a clone (config
  /// templates.require_seal).
  Provisioner(const config::Config& config, state::Store& store, container::ContainerRuntime& runtime,
              container::TemplateSeals& seals, container::CgroupVersion cgroup, std::vector<Feature*> features)
      : config_(config),
        store_(store),
        runtime_(runtime),
        seals_(seals),
        cgroup_(cgroup),
        features_(std::move(features)) {}

  /// reserve -> clone -> configure (files written before the first start) -> [before_start] ->
  /// start with [with_start] at the same time -> [after_start] -> configure-inside (only when
  /// configure could not write them) -> [after_configure] -> ready; undone step by step on failure.
  Outcome create(const request::Request& req, const std::string& job_id, Reporter& reporter);
  /// The caller's own container (or any, for an admin): mark -> [before_destroy] -> destroy ->
  /// release -> [after_release]. Every step is idempotent, so a crash is finished by resuming.
  Outcome destroy(const request::Request& req, const std::string& job_id, Reporter& reporter);
  /// The caller's own container (or any, for an admin): each feature's prepare_update, then
  /// lock (ready -> updating) -> [update] -> [after_update] -> unlock. A failure undoes the steps
  /// (the previous release serves again) and is a non-zero exit code; nothing to do is exit 0.
  /// Updates and deletes of one container run one at a time: a second waits for the first.
  Outcome update(const request::Request& req, const std::string& job_id, Reporter& reporter);

  /// At start-up: rolls back creates and updates and finishes deletes that a crash interrupted, recording
  /// what really happened, then converge().
  void recover(Reporter& reporter);
  /// Every feature's outside state made to match the store. Failures are reported, not fatal.
  void converge(Reporter& reporter);
  /// Every feature's refresh(): what a fleet's entry does when another node changed the state.
  /// The first failure is returned (the other features are still refreshed).
  Status refresh();

  /// How a group of steps runs (jobs/plan.hpp); on_threads unless a test needs call order fixed.
  void set_concurrently(Concurrently concurrently) { concurrently_ = std::move(concurrently); }

 private:
  std::vector<Step> create_plan(JobContext& ctx);
  std::vector<Step> delete_plan(JobContext& ctx);
  std::vector<Step> update_plan(JobContext& ctx);
  Status reserve(JobContext& ctx);
  Status clone(const JobContext& ctx);
  /// Writes the container's first-boot files before its start; `seeded` says whether it could.
  Status seed(const JobContext& ctx, bool& seeded);
  /// The same from inside the running container, for when seed() could not.
  Status configure_inside(const JobContext& ctx);
  void recover_create(const state::JobRecord& job, Reporter& reporter);
  void recover_delete(const state::JobRecord& job, Reporter& reporter);
  void recover_update(const state::JobRecord& job, Reporter& reporter);
  /// The mutex that serializes the updates and deletes of `name` in this daemon (the store's
  /// states refuse what another process or a create is doing).
  std::shared_ptr<std::mutex> container_mutex(const std::string& name);

  const config::Config& config_;
  state::Store& store_;
  container::ContainerRuntime& runtime_;
  container::TemplateSeals& seals_;
  container::CgroupVersion cgroup_;
  std::vector<Feature*> features_;
  Concurrently concurrently_ = on_threads;
  std::mutex mutexes_mutex_;
  std::map<std::string, std::weak_ptr<std::mutex>> mutexes_;  ///< guarded by mutexes_mutex_
};

/// A fresh random job id: 16 lowercase hex digits.
std::string new_job_id();

}  // namespace lxcprov::jobs
