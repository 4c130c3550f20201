#pragma once
// Rules for the deploy variables taken one at a time (the old system's names: PROJECT_REPOSITORY,
// PROJECT_BRANCH, PROJECT_ROOT, the commands, RUNTIME_LANGUAGE, the token, one environment
// variable, one service). Pure: each returns the normalised value or a FieldError naming the
// variable and the rule. No message repeats the input unless it already passed a rule that makes
// it harmless (a catalog name, a normalised path in quoted() (common/quoted.hpp), an environment variable's name);
// values of environment variables and tokens never appear in one.
//
// The JSON forms (several components, CONTAINER_ENV_VARS, SERVICES) are in deploy_forms.hpp.

#include <string>
#include <string_view>
#include <vector>

#include "common/quoted.hpp"
#include "common/secret.hpp"
#include "deploy/catalog.hpp"
#include "request/validation.hpp"

namespace lxcprov::request {

inline constexpr size_t max_command_bytes = 8 * 1024;
inline constexpr size_t max_env_value_bytes = 32 * 1024;
inline constexpr size_t max_env_vars = 256;

/// DEPLOY_ON_START, MULTI_COMPONENT, REQUIRE_ENV_VARS, REQUIRE_SERVICES: y/Y or n/N.
Checked<bool> check_yes_no(std::string_view field, std::string_view text);

/// PROJECT_REPOSITORY: https://HOST[:PORT]/PATH, at most 2048 bytes; HOST[:PORT] one of
/// `allowed_hosts` (deploy::git_host_allowed: a plain entry allows port 443 only); no user
/// information, query or fragment; PATH of A-Z a-z 0-9 . _ ~ - in '/'-separated segments, none
/// empty, "." or "..". Returns the URL with the scheme and host lower-cased and a trailing '/'
/// dropped.
Checked<std::string> check_repository(std::string_view text, const std::vector<std::string>& allowed_hosts);

/// PROJECT_BRANCH: what `git check-ref-format --branch` accepts, in pure code: no leading '-', no
/// "..", "@{", "//", no control characters, space, ~ ^ : ? * [ or \, no part starting with '.' or
/// ending in ".lock", not ending in '/' or '.', not "@" or "HEAD", at most 255 bytes. "" stays ""
/// (the remote's default branch, resolved by the repository check).
Checked<std::string> check_branch(std::string_view text);

/// PROJECT_ROOT and the component paths (keys of the JSON forms): relative to the repository (or
/// the project root), normalised: leading "./" dropped, a trailing '/' dropped, "." alone is ""
/// (the root itself). No "..", no empty or "." segments, no segment starting with '-', no control
/// characters, at most 255 bytes. `subject` prefixes the rule ("component paths " for keys).
Checked<std::string> check_repo_path(std::string_view field, std::string_view text, std::string_view subject = {});

/// INSTALL_COMMAND, BUILD_COMMAND, START_COMMAND, ROOT_START_COMMAND: free text run by bash, at
/// most 8 KiB, no control characters but tab and newline (a script of several lines is fine; a
/// carriage return is not: it would end up inside the last word of each line). Only white space
/// counts as empty.
Checked<std::string> check_command(std::string_view field, std::string_view text);

struct RuntimeChoice {
  std::string name;     ///< a runtime of the catalog, e.g. "nodejs"
  std::string version;  ///< as asked ("18"); "" = the catalog's default
  bool operator==(const RuntimeChoice&) const = default;
};
/// One RUNTIME_LANGUAGE value: NAME or NAME@N[.N[.N]] (lower-cased first), NAME from the
/// catalog and the version one the catalog can resolve; otherwise the catalog's message, which
/// lists what is available.
Checked<RuntimeChoice> check_runtime(std::string_view text, const deploy::Catalog& catalog);

/// PROJECT_TOKEN (or the old GITHUB_PAT, named by `field`): 1-1024 bytes of printable ASCII
/// without spaces.
Checked<Secret> check_token(std::string_view field, std::string_view text);

/// A CONTAINER_ENV_VARS name: ^[A-Za-z_][A-Za-z0-9_]*$, at most 255 characters.
std::optional<FieldError> check_env_name(std::string_view name);
/// A CONTAINER_ENV_VARS value (of variable `name`, already checked): at most 32 KiB, no NUL, CR
/// or LF (they would split the env file's line).
std::optional<FieldError> check_env_value(std::string_view name, std::string_view value);

/// One service name (lower-cased): a service of the catalog, not already in `chosen`.
Checked<std::string> check_service(std::string_view text, const deploy::Catalog& catalog,
                                   const std::vector<std::string>& chosen);
/// One CUSTOM_SERVICES command: one line of at most 8 KiB without control characters but tab.
Checked<std::string> check_custom_command(std::string_view text);

}  // namespace lxcprov::request
