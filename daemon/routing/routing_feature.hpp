#pragma once
// HTTP routes as a feature (jobs/feature.hpp): NAME.<http.domain> through nginx to the container's
// HTTP_PORT. The include file is rendered from the store (routing/nginx_routes.hpp) and installed
// whole (routing/nginx_installer.hpp, on this host or another). No I/O of its own. Thread-safe.

#include <mutex>

#include "config/config.hpp"
#include "jobs/feature.hpp"
#include "routing/route_installer.hpp"

namespace lxcprov::routing {

class RoutingFeature final : public jobs::Feature {
 public:
  RoutingFeature(const config::Config& config, state::Store& store, routing::RouteInstaller& nginx)
      : config_(config), store_(store), nginx_(nginx) {}

  std::string_view name() const override { return "routing"; }
  /// with_start "route": while the container starts (undo: the routes without this container).
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// after_release "unroute".
  void delete_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  /// after_update "reroute": the routes from the rows, so an HTTP_PORT the update changed is what
  /// nginx sends to before the app's health is checked through it. No undo: the update's lock
  /// converges every feature when it is undone, after the row is back.
  void update_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  Status converge() override { return sync(""); }
  /// The same: installing equal routes again does nothing (the installer compares).
  Status refresh() override { return sync(""); }
  void describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const override;

 private:
  /// `exclude`: leave that container's route out (the undo of its "route" step).
  Status sync(const std::string& exclude);

  const config::Config& config_;
  state::Store& store_;
  routing::RouteInstaller& nginx_;
  std::mutex mutex_;
};

}  // namespace lxcprov::routing
