#pragma once
// DeploySpec: what a user asked to deploy into a container (the old deploy variables, validated).
// Pure data. The stored form (to_stored_json) holds no secret: environment values and the git token
// never leave the request; an update that does not give CONTAINER_ENV_VARS keeps the env files
// already inside the container.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::deploy {

/// One runnable part of the app: a directory of the repository with its runtime and commands.
struct Component {
  /// Relative to the project root, normalized ("" = the project root itself; the old "." form).
  /// Never absolute, never with "..", "." or empty segments, never starting with '-'.
  std::string path;
  std::string runtime;  ///< runtime catalog name (config/runtimes.json), e.g. "nodejs"; "" = none
  std::string version;  ///< requested version prefix, e.g. "18" or "3.11"; "" = the catalog's default
  std::string install;  ///< commands, verbatim (run by bash as the app user); "" = none
  std::string build;
  std::string start;  ///< "" only when the spec has a root_start
  bool operator==(const Component&) const = default;
};

/// Environment variables of one component (KEY -> value). Values are secrets.
using EnvVars = std::map<std::string, Secret>;

struct DeploySpec {
  std::string repository;             ///< https URL, host allowed by deploy.git.allowed_hosts
  std::string branch;                 ///< git branch name; "" = the remote's default branch (resolved by the check)
  std::string root;                   ///< project root inside the repository, normalized like Component::path
  bool multi = false;                 ///< MULTI_COMPONENT: commands, runtimes and env are JSON objects by component
  std::vector<Component> components;  ///< one (path "") unless multi
  std::string root_start;             ///< ROOT_START_COMMAND, run in the project root; "" = none
  std::vector<std::string> services;  ///< service catalog names (config/services.json), no repeats
  /// CUSTOM_SERVICES: shell command lines run as root in the container (only when
  /// deploy.allow_custom_services), in order.
  std::vector<std::string> custom_services;
  /// Filled by the repository check, not by the user: the commit the branch pointed at.
  std::string commit;
  bool operator==(const DeploySpec&) const = default;
};

/// The secret part of a deploy request, kept apart so that DeploySpec can be stored and logged.
struct DeploySecrets {
  /// CONTAINER_ENV_VARS by component path ("" for a single component). nullopt: not given (an
  /// update then keeps the container's current env files).
  std::optional<std::map<std::string, EnvVars>> env;
  /// PROJECT_TOKEN or the old GITHUB_PAT: sent to the git server as an HTTP header, never stored.
  Secret git_token;
};

/// The spec as JSON without anything secret (for the state database and `info NAME`).
std::string to_stored_json(const DeploySpec& spec);
/// Reads to_stored_json's output back. Errc::invalid_argument for anything else.
Result<DeploySpec> from_stored_json(const std::string& text);

}  // namespace lxcprov::deploy
