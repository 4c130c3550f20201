#pragma once
// The JSON forms of the deploy variables, as the old system took them:
//   INSTALL_COMMAND / BUILD_COMMAND / START_COMMAND  {"path": "command", ...}   (several components)
//   RUNTIME_LANGUAGE                                 {"path": "nodejs@18", ...}
//   CONTAINER_ENV_VARS  {"KEY": "value"}  or  {"path": {"KEY": "value"}}
//   SERVICES            ["redis", "postgresql"]  (or, for people typing, "redis, postgresql")
//   CUSTOM_SERVICES     ["cmd", ["cmd", "cmd"]]  (the old form: arrays of command lines)
// Each key is a component path, normalised by check_repo_path; two keys that normalise alike are
// refused. Pure. Environment values leave here as Secrets and the parsed JSON's copies are wiped.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "deploy/catalog.hpp"
#include "deploy/spec.hpp"
#include "request/deploy_rules.hpp"

namespace lxcprov::request {

/// Normalised component path -> value. The single-component forms use the key "".
using ByComponent = std::map<std::string, std::string>;

inline constexpr size_t max_components = 32;

/// A component path inside a message: quoted(), the project root's own shown as ".".
std::string shown_path(std::string_view path);

/// Whether `text` is meant as a JSON object (its first non-blank character is '{'): how a
/// variable's form is told apart where MULTI_COMPONENT does not say.
bool looks_like_object(std::string_view text);

/// A command variable in its JSON form (`field` names it). Blank commands are left out.
Checked<ByComponent> check_commands_json(std::string_view field, std::string_view text);

/// RUNTIME_LANGUAGE in its JSON form, each value as check_runtime.
Checked<std::map<std::string, RuntimeChoice>> check_runtimes_json(std::string_view text,
                                                                  const deploy::Catalog& catalog);

/// CONTAINER_ENV_VARS, either form.
struct EnvForm {
  bool by_component = false;  ///< {"path": {...}}; false: {"KEY": "value"} under the key ""
  std::map<std::string, deploy::EnvVars> vars;
};
/// Strings, numbers and booleans are accepted as values (numbers and booleans as their JSON
/// text); at most 256 variables in all. Messages name variables, never values.
Checked<EnvForm> check_env_json(std::string_view text);
/// One interactive answer "KEY=VALUE" added to `form` (flat); refuses a name given twice.
std::optional<FieldError> add_env_answer(std::string_view answer, EnvForm& form);

/// SERVICES: a JSON array of catalog names, or names separated by commas and/or spaces; no
/// repeats, at most 32.
Checked<std::vector<std::string>> check_services(std::string_view text, const deploy::Catalog& catalog);
/// CUSTOM_SERVICES: a JSON array whose items are commands or arrays of commands, flattened in
/// order; at most 64 commands. `allowed` is deploy.allow_custom_services.
Checked<std::vector<std::string>> check_custom_services(std::string_view text, bool allowed);

/// The refusal of CUSTOM_SERVICES where the configuration does not allow it.
FieldError custom_services_refused();

}  // namespace lxcprov::request
