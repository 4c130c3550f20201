#pragma once
// DeployInput: the deploy variables of one request after each passed its own rule
// (deploy_rules.hpp, deploy_forms.hpp), and the rules between them that turn it into a
// DeploySpec. Pure. The Dialogue fills it from the environment and answers.
//
// Cross-variable rules of a create (assemble_create):
//   - without ROOT_START_COMMAND the components are the paths START_COMMAND and RUNTIME_LANGUAGE
//     name, and each needs both (the message says which component the other one names);
//     INSTALL_COMMAND, BUILD_COMMAND and CONTAINER_ENV_VARS may name only those;
//   - with ROOT_START_COMMAND a component needs neither (the root start runs the app); the
//     components are every path a command or runtime names;
//   - single-component values are all under the path "";
//   - an environment object without components goes to every component, and to "" (the
//     project root, where ROOT_START_COMMAND runs) when there is a root start.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "deploy/merge.hpp"
#include "deploy/spec.hpp"
#include "request/deploy_forms.hpp"

namespace lxcprov::request {

struct DeployInput {
  std::optional<bool> multi;  ///< MULTI_COMPONENT, or what a JSON form implied
  bool multi_given = false;   ///< MULTI_COMPONENT itself was set
  std::optional<ByComponent> install, build, start;
  std::optional<std::map<std::string, RuntimeChoice>> runtime;
  std::string root_start;
  std::optional<EnvForm> env;  ///< nullopt: CONTAINER_ENV_VARS not given
  std::vector<std::string> services;
  std::vector<std::string> custom_services;
};

/// The paths some command or runtime of `in` names, sorted.
std::vector<std::string> named_components(const DeployInput& in);

/// create: fills `spec`'s multi, components, root_start, services and custom_services (not the
/// repository fields) and `env`, or returns every broken rule.
std::vector<FieldError> assemble_create(const DeployInput& in, deploy::DeploySpec& spec,
                                        std::optional<std::map<std::string, deploy::EnvVars>>& env);

/// update: the same fields with only what was given (deploy/merge.hpp says how they combine
/// with the stored spec), and what the empty values cannot say.
deploy::Given assemble_update(const DeployInput& in, deploy::DeploySpec& spec,
                              std::optional<std::map<std::string, deploy::EnvVars>>& env);

}  // namespace lxcprov::request
