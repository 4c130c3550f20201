#pragma once
// App deployment as a feature (jobs/feature.hpp): a create with deploy values installs the packages
// and services, clones the branch as the unprivileged app user, writes the environment, installs,
// builds, starts one systemd unit per component and checks the app answers through its route; an
// update does the same into a new release while the old one serves, then switches, and switches
// back if anything after that fails. The layout inside the container and the file formats are in
// deploy/layout.hpp and docs/architecture.md ("Deployment").
//
// Everything inside the container runs through ContainerRuntime: fixed scripts (constants of this
// file) with user data only as positional arguments or on stdin; the user's own commands run
// verbatim by bash as the app user, never as root, except CUSTOM_SERVICES when
// deploy.allow_custom_services. No I/O of its own. Thread-safe as long as its edges are.

#include <memory>
#include <string>

#include "config/config.hpp"
#include "container/runtime.hpp"
#include "deploy/catalog.hpp"
#include "deploy/health.hpp"
#include "jobs/feature.hpp"

namespace lxcprov::deploy {

class DeployFeature final : public jobs::Feature {
 public:
  /// `catalog`, `probe` and `clock` must outlive the feature. `git_ca_pem`: the contents of
  /// deploy.git.ca_file, "" for none.
  DeployFeature(const config::Config& config, state::Store& store, container::ContainerRuntime& runtime,
                const Catalog& catalog, HttpProbe& probe, Clock& clock, std::string git_ca_pem)
      : config_(config),
        store_(store),
        runtime_(runtime),
        catalog_(catalog),
        probe_(probe),
        clock_(clock),
        git_ca_pem_(std::move(git_ca_pem)) {}

  std::string_view name() const override { return "deploy"; }
  /// When the request deploys, after_configure: deploy-packages, deploy-services, deploy-fetch,
  /// deploy-env, deploy-install, deploy-build, deploy-units, deploy-health. No undo: a failed
  /// create destroys the container, and everything these steps made is inside it (the row goes
  /// with the container's).
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// Nothing: the files go with the container, the row with the container's row.
  void delete_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>&) override {}
  /// update: deploy-packages, deploy-services, deploy-fetch (undo: remove the new release),
  /// deploy-env, deploy-install, deploy-build, deploy-switch (undo: the previous release back,
  /// its units restarted, its row restored); after_update: deploy-health, deploy-prune.
  void update_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// The stored spec merged with the given values into ctx.request.deploy (the HTTP_PORT kept
  /// when none is given). False when nothing is stored and nothing given.
  Result<bool> prepare_update(jobs::JobContext& ctx) override;
  void describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const override;

 private:
  struct Budget;
  class Stream;

  void push_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out, bool update);
  Status packages(jobs::JobContext& ctx, Budget& budget);
  Status services(jobs::JobContext& ctx, Budget& budget);
  Status fetch(jobs::JobContext& ctx, Budget& budget);
  Status environment(jobs::JobContext& ctx, Budget& budget);
  Status install(jobs::JobContext& ctx, Budget& budget, bool build);
  Status switch_release(jobs::JobContext& ctx, Budget& budget, std::string_view step);
  Status undo_switch(jobs::JobContext& ctx, Budget& budget);
  Status remove_release(const jobs::JobContext& ctx);
  Status health(jobs::JobContext& ctx, Budget& budget);
  // Until `units` are active and the app answers on `http_port` (true), or `deadline` passes
  // (false, `why` says what was seen last).
  Result<bool> answers_by(jobs::JobContext& ctx, const std::vector<std::string>& units, uint16_t http_port,
                          std::chrono::steady_clock::time_point deadline, std::string& why);
  Status prune(jobs::JobContext& ctx, Budget& budget);

  /// Runs `argv` inside the job's container as `uid` (0 or deploy.app_uid), its output streamed to
  /// the reporter under `step`, secrets redacted. Exit status non-zero is not an error here.
  Result<container::RunResult> run(jobs::JobContext& ctx, Budget& budget, std::string_view step,
                                   std::vector<std::string> argv, uid_t uid, std::chrono::milliseconds timeout,
                                   std::string input = {}, std::vector<std::string> env = {}, std::string cwd = {});
  Status write_root_file(const jobs::JobContext& ctx, const std::string& path, const char* mode,
                         const std::string& content);
  std::string journal(jobs::JobContext& ctx, int lines);
  uint16_t http_port(const jobs::JobContext& ctx) const;

  const config::Config& config_;
  state::Store& store_;
  container::ContainerRuntime& runtime_;
  const Catalog& catalog_;
  HttpProbe& probe_;
  Clock& clock_;
  std::string git_ca_pem_;
};

}  // namespace lxcprov::deploy
