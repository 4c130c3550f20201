#pragma once
// merge: what an update asks (`given`, the request's DeploySpec) over what the create or the
// last update stored. Pure. The session calls it after check_name (it needs the stored spec),
// before the repository check of the result.
//
// An update's DeploySpec holds only what the client gave; everything empty is "as stored":
//   repository, branch, root_start   ""            = as stored (a value cannot be removed this way)
//   root                             Given::root    tells "" (the repository's top) from "not given"
//   multi                            the form the component values came in (a JSON object: true),
//                                    or MULTI_COMPONENT; Given::multi = MULTI_COMPONENT was given
//   components                       by path: a given component's non-empty fields replace the
//                                    stored ones (runtime and version together); a path not
//                                    stored adds a component; stored ones not given stay.
//                                    MULTI_COMPONENT given and different from the stored one:
//                                    the given components replace all of them.
//   services, custom_services        added to the stored ones (an update never removes one)
//   commit                           "" = as stored (the repository check fills it)
//   (another repository given without a branch: that repository's default branch; another
//   repository or branch: the stored commit is dropped)
// The result must be complete: a repository; every component with a start command and a
// runtime unless there is a root start; one component at "" when single.
//
// Environment variables are secrets and never stored: DeploySecrets::env nullopt keeps the
// container's env files as they are; set, it replaces all of them (a component it does not name
// gets none). place_env puts an object without components (Given::env_for_every_component)
// under every merged component.

#include <optional>

#include "common/result.hpp"
#include "deploy/spec.hpp"

namespace lxcprov::deploy {

/// What an update's empty values cannot say by themselves.
struct Given {
  bool root = false;   ///< PROJECT_ROOT was given; DeploySpec::root "" then means the repository's top
  bool multi = false;  ///< MULTI_COMPONENT was given: DeploySpec::multi is a request to switch
  /// CONTAINER_ENV_VARS was {"KEY": "value"}: DeploySecrets::env[""] is for every component.
  bool env_for_every_component = false;
  bool operator==(const Given&) const = default;
};

/// `given` over `stored` (an empty DeploySpec when nothing is stored). Errc::invalid_argument,
/// the message starting with the variable to fix ("START_COMMAND: ..."), when the result is not
/// a complete deployment.
Result<DeploySpec> merge(const DeploySpec& stored, const DeploySpec& given, const Given& which = {});

/// Puts `secrets.env` under the components of `merged`: an object without components goes to
/// every component (and to "" when there is a root start); one by component must name only
/// components of `merged` (or "" with a root start). Errc::invalid_argument naming
/// CONTAINER_ENV_VARS otherwise. Nothing to do when env is nullopt.
Status place_env(const DeploySpec& merged, const Given& which, DeploySecrets& secrets);

}  // namespace lxcprov::deploy
