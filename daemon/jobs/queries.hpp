#pragma once
// Queries: the read-only operations (exists, list, status, logs, info, app-logs) and the checks a session makes
// before it hands a job over (is the name free, may this user manage that container, may this
// user create one more). Blocking (the store): call from a worker thread. Thread-safe as long as
// the store and the runtime are.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "container/runtime.hpp"
#include "deploy/spec.hpp"
#include "jobs/provisioner.hpp"
#include "request/request.hpp"
#include "state/node_registry.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

class Queries {
 public:
  /// `nodes`: the fleet's registry when this daemon is a fleet node (creates are then admitted only
  /// while the registry lets this node take containers), else nullptr.
  Queries(const config::Config& config, state::Store& store, container::ContainerRuntime& runtime,
          state::NodeRegistry* nodes = nullptr)
      : config_(config), store_(store), runtime_(runtime), nodes_(nodes) {}

  /// The old container-exists contract: 0 free, 2 exists and yours, 1 otherwise (exit_codes.hpp).
  Outcome exists(const request::Request& req);
  Outcome list(const request::Request& req);
  Outcome status(const request::Request& req);
  Outcome logs(const request::Request& req);
  /// The caller's container as one line of JSON: name, owner, state, ip, http_port, url (""
  /// without routing), ports [{service, proto, public_port, container_port}], distribution, and
  /// deployment (null, or {repository, branch, commit, release, previous_release, services,
  /// custom_services (how many), root_start (whether one is set), units, components [{path,
  /// runtime, version}]}): no environment value, no token, no command. Exit 5 for a container
  /// that is not the caller's.
  Outcome info(const request::Request& req);
  /// The newest req.log_lines (1-10000) lines of the app units' journal in the caller's container
  /// (journalctl -u 'lxcprov-app-*' -o short-iso, run inside as root), at most 256 KiB; exit 5 as
  /// info, 6 when the container is not running.
  Outcome app_logs(const request::Request& req);
  /// The deployment an update of `name` starts from (for the repository check, which needs the
  /// stored repository and branch when the update gives none), or nullopt.
  Result<std::optional<deploy::DeploySpec>> deployment(const std::string& name);

  /// True when `name` is free to create (the authoritative check is the reservation).
  Result<bool> name_free(const std::string& name);
  /// True when `name` exists and `user` owns it, or `admin` and it exists. Someone else's
  /// container is reported exactly like an absent one, so refusals reveal nothing.
  Result<bool> may_manage(const std::string& user, bool admin, const std::string& name);
  /// Quota and per-group distributions (jobs/policy.hpp) for a create by `user`.
  /// In a fleet, first: fleet::may_take_here for this node (exit 6 when draining, unregistered or
  /// registered with another subnet).
  Status admit_create(const std::string& user, const std::vector<std::string>& groups, bool admin,
                      const std::string& distribution);

 private:
  const config::Config& config_;
  state::Store& store_;
  container::ContainerRuntime& runtime_;
  state::NodeRegistry* nodes_;
};

}  // namespace lxcprov::jobs
