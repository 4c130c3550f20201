#pragma once
// Where a deployment lives inside its container, and the text lxcprov writes there: the units'
// plan, the environment files, the systemd units and git's environment. Pure. The layout, the
// formats and why they are so are in docs/architecture.md ("Deployment").
//
//   /srv/app/                        root 0755
//     home/                          app  0700   the app user's HOME (npm, pip caches)
//     releases/<release>/            app         one clone per job (<release> = the job id)
//     current -> releases/<release>              what the units run; flipped atomically
//   /etc/lxcprov-app/                root 0755
//     git-ca.pem                     root 0644   system CAs + deploy.git.ca_file (when set)
//     releases/<release>/            root 0755
//       <unit>.env                   root 0600   the user's variables (EnvironmentFile)
//       <unit>.lxcprov.env           root 0600   HTTP_PORT, PORT, a venv's PATH (read after: they win)
//       <unit>.sh                    root 0644   the command, verbatim (ExecStart=/bin/bash <it>)
//     current -> releases/<release>              flipped with /srv/app/current
//   /etc/systemd/system/lxcprov-app-<unit>.service

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "deploy/catalog.hpp"
#include "deploy/spec.hpp"

namespace lxcprov::deploy {

inline constexpr std::string_view app_user = "app";
inline constexpr std::string_view app_dir = "/srv/app";
inline constexpr std::string_view app_home = "/srv/app/home";
inline constexpr std::string_view releases_dir = "/srv/app/releases";
inline constexpr std::string_view current_link = "/srv/app/current";
inline constexpr std::string_view etc_dir = "/etc/lxcprov-app";
inline constexpr std::string_view etc_releases_dir = "/etc/lxcprov-app/releases";
inline constexpr std::string_view etc_current_link = "/etc/lxcprov-app/current";
inline constexpr std::string_view git_ca_bundle = "/etc/lxcprov-app/git-ca.pem";
/// Every unit of a deployment is lxcprov-app-<id>.service (app-logs reads lxcprov-app-*).
inline constexpr std::string_view unit_prefix = "lxcprov-app-";
/// PATH of commands run inside, before a venv's bin is put in front of it.
inline constexpr std::string_view base_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// One systemd unit of a deployment: a component, or ROOT_START_COMMAND.
struct UnitPlan {
  /// [A-Za-z0-9_-], 1-48 characters, unique in the spec, from the component's path ("app" for the
  /// project root, "root-start" for ROOT_START_COMMAND; a repeat gets "-2", "-3", ...).
  std::string id;
  std::string dir;      ///< relative to the release: the project root joined with the path ("" = the release)
  std::string env_key;  ///< the CONTAINER_ENV_VARS key whose variables it gets (the component's path)
  std::string install;  ///< verbatim; "" = none (ROOT_START_COMMAND: always "")
  std::string build;
  std::string start;
  bool venv = false;         ///< Python: <dir>/venv made before install, its bin first in PATH
  bool serves_http = false;  ///< gets PORT (ROOT_START_COMMAND's unit if any, else the first component's)
  bool operator==(const UnitPlan&) const = default;
};

/// The units of `spec`, components first in their order, then ROOT_START_COMMAND. A component
/// without a start command (allowed when there is a root start) gets no unit but is still
/// installed and built: such plans have an empty `start`. `catalog` says which runtimes use a
/// venv; null gives names and directories only (the unit files of a release made earlier, whose
/// runtime the catalog may have dropped since). Errc::invalid_argument for a runtime the catalog
/// does not have, or a directory a unit file could not hold.
Result<std::vector<UnitPlan>> plan_units(const DeploySpec& spec, const Catalog* catalog);

/// "lxcprov-app-<id>.service".
std::string unit_name(const UnitPlan& unit);
/// The units of `plans` that run (a non-empty start command), as unit names.
std::vector<std::string> unit_names(const std::vector<UnitPlan>& plans);

/// /srv/app/releases/<release>, and a unit's directory in it.
std::string release_path(std::string_view release);
std::string unit_path(std::string_view release, const UnitPlan& unit);
/// /etc/lxcprov-app/releases/<release>, and a file of it ("<id>.env", ...).
std::string etc_release_path(std::string_view release);
std::string etc_file(std::string_view release, const UnitPlan& unit, std::string_view suffix);

/// The Debian packages a spec needs: git and ca-certificates (the clone), then each runtime's and
/// each service's, without repeats, in that order. Errors as Catalog::runtime / service.
Result<std::vector<std::string>> packages_for(const DeploySpec& spec, const Catalog& catalog);
/// The systemd units of the spec's services, in order, without repeats.
Result<std::vector<std::string>> service_units_for(const std::vector<std::string>& services, const Catalog& catalog);

/// An environment file: one `KEY="value"` line per variable, in the given order, the value inside
/// double quotes with a backslash before each `"`, `\`, `$` and backquote. systemd's
/// EnvironmentFile= and a POSIX shell's `.` both read back exactly the value given (neither
/// expands anything in it). Errc::invalid_argument (naming the key, never the value) for a key
/// not matching ^[A-Za-z_][A-Za-z0-9_]*$ or a value holding NUL, CR or LF.
Result<Secret> render_env_file(const std::vector<std::pair<std::string, std::string_view>>& vars);
/// The variables lxcprov sets for a unit of `release` (they override the user's): HTTP_PORT for
/// every unit, PORT for the one that serves HTTP, LXCPROV_BRANCH and LXCPROV_COMMIT (what the
/// release was built from, for the app to report), VIRTUAL_ENV and PATH for a venv.
std::vector<std::pair<std::string, std::string>> lxcprov_env(std::string_view release, const UnitPlan& unit,
                                                             uint16_t http_port, std::string_view branch,
                                                             std::string_view commit);

/// The unit file of `unit` (User=app, WorkingDirectory under /srv/app/current, the two
/// EnvironmentFiles and the command file under /etc/lxcprov-app/current, Restart=on-failure,
/// WantedBy=multi-user.target), ordered after `service_units`. Errc::invalid_argument when the
/// directory cannot be written in a unit file (a backslash, a control character, leading or
/// trailing blanks); '%' is escaped.
Result<std::string> render_unit(const UnitPlan& unit, const std::vector<std::string>& service_units);

/// The environment of git inside the container: a clean HOME, no prompt, no system or global
/// config, and the config below only through GIT_CONFIG_COUNT/KEY_n/VALUE_n, so the token is in no
/// argv and no file: only https (protocol.allow=never, protocol.https.allow=always), no redirect,
/// no credential helper, and when set the CA bundle and `Authorization: Basic` header (user
/// "x-access-token", the token as password, as GitHub, GitLab and git-http-backend accept),
/// sent only to the repository's own origin. Errc::invalid_argument when `repository` is not an
/// https URL. Holds the token: wipe it after use (wipe()).
Result<std::vector<std::string>> git_environment(std::string_view repository, const Secret& token, bool with_ca);
/// The header line git_environment sends for `token` ("Authorization: Basic ..."); for redaction.
Secret git_auth_header(const Secret& token);
/// Overwrites and clears every string (environments holding a token).
void wipe(std::vector<std::string>& strings);

}  // namespace lxcprov::deploy
