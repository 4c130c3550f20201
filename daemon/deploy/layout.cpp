#include "deploy/layout.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "common/bytes.hpp"

namespace lxcprov::deploy {
namespace {

constexpr std::size_t max_id = 48;

std::string join_dir(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return fmt::format("{}/{}", a, b);
}

// A unit id from a component's path: letters, digits, '_' and '-' kept, '/' becomes '-', the rest
// '_' (no '.', so an id is never "." or ".." and never hides a file).
std::string slug(std::string_view path) {
  std::string out;
  for (const unsigned char c : bytes(path)) {
    if (out.size() == max_id) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')
      out.push_back(static_cast<char>(c));
    else if (c == '/')
      out.push_back('-');
    else
      out.push_back('_');
  }
  return out.empty() ? std::string("app") : out;
}

std::string unique_id(std::string base, std::set<std::string>& taken) {
  std::string id = base;
  for (int n = 2; taken.count(id); ++n) id = fmt::format("{}-{}", base.substr(0, max_id - 4), n);
  taken.insert(id);
  return id;
}

// What a unit file's WorkingDirectory= can hold as written: systemd joins a line ending in '\' with
// the next, strips blanks at both ends and expands '%' specifiers (escaped below).
Status unit_safe_dir(std::string_view dir) {
  for (const unsigned char c : bytes(dir))
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '"' || c == '\'')
      return make_error(Errc::invalid_argument,
                        "a component path with a backslash, a quote or a control character cannot be deployed");
  if (!dir.empty() && (dir.back() == ' ' || dir.front() == ' '))
    return make_error(Errc::invalid_argument, "a component path cannot begin or end with a blank");
  return {};
}

std::string escape_percent(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%') out.push_back('%');
    out.push_back(c);
  }
  return out;
}

bool env_key_ok(std::string_view key) {
  if (key.empty()) return false;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  const auto b = bytes(in);
  std::size_t i = 0;
  for (; i + 2 < b.size(); i += 3) {
    const unsigned v = (unsigned{b[i]} << 16) | (unsigned{b[i + 1]} << 8) | b[i + 2];
    for (int s : {18, 12, 6, 0}) out.push_back(table[(v >> s) & 63]);
  }
  if (i + 1 == b.size()) {
    const unsigned v = unsigned{b[i]} << 16;
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out += "==";
  } else if (i + 2 == b.size()) {
    const unsigned v = (unsigned{b[i]} << 16) | (unsigned{b[i + 1]} << 8);
    out.push_back(table[(v >> 18) & 63]);
    out.push_back(table[(v >> 12) & 63]);
    out.push_back(table[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

void push_unique(std::vector<std::string>& out, const std::string& v) {
  if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
}

}  // namespace

Result<std::vector<UnitPlan>> plan_units(const DeploySpec& spec, const Catalog* catalog) {
  std::vector<UnitPlan> out;
  std::set<std::string> taken;
  bool http_taken = !spec.root_start.empty();
  for (const auto& c : spec.components) {
    UnitPlan u;
    u.id = unique_id(slug(c.path), taken);
    u.dir = join_dir(spec.root, c.path);
    if (auto s = unit_safe_dir(u.dir); !s) return s.error();
    u.env_key = c.path;
    u.install = c.install;
    u.build = c.build;
    u.start = c.start;
    if (catalog && !c.runtime.empty()) {
      auto rt = catalog->runtime(c.runtime, c.version);
      if (!rt) return rt.error();
      u.venv = rt->venv;
    }
    if (!http_taken && !u.start.empty()) u.serves_http = http_taken = true;
    out.push_back(std::move(u));
  }
  if (!spec.root_start.empty()) {
    UnitPlan u;
    u.id = unique_id("root-start", taken);
    u.dir = spec.root;
    if (auto s = unit_safe_dir(u.dir); !s) return s.error();
    u.env_key = "";
    u.start = spec.root_start;
    u.serves_http = true;
    out.push_back(std::move(u));
  }
  return out;
}

std::string unit_name(const UnitPlan& unit) { return fmt::format("{}{}.service", unit_prefix, unit.id); }

std::vector<std::string> unit_names(const std::vector<UnitPlan>& plans) {
  std::vector<std::string> out;
  for (const auto& u : plans)
    if (!u.start.empty()) out.push_back(unit_name(u));
  return out;
}

std::string release_path(std::string_view release) { return fmt::format("{}/{}", releases_dir, release); }

std::string unit_path(std::string_view release, const UnitPlan& unit) {
  return unit.dir.empty() ? release_path(release) : fmt::format("{}/{}", release_path(release), unit.dir);
}

std::string etc_release_path(std::string_view release) { return fmt::format("{}/{}", etc_releases_dir, release); }

std::string etc_file(std::string_view release, const UnitPlan& unit, std::string_view suffix) {
  return fmt::format("{}/{}{}", etc_release_path(release), unit.id, suffix);
}

Result<std::vector<std::string>> packages_for(const DeploySpec& spec, const Catalog& catalog) {
  std::vector<std::string> out{"git", "ca-certificates"};
  for (const auto& c : spec.components) {
    if (c.runtime.empty()) continue;
    auto rt = catalog.runtime(c.runtime, c.version);
    if (!rt) return rt.error();
    for (const auto& p : rt->packages) push_unique(out, p);
  }
  for (const auto& name : spec.services) {
    auto svc = catalog.service(name);
    if (!svc) return svc.error();
    for (const auto& p : svc->packages) push_unique(out, p);
  }
  return out;
}

Result<std::vector<std::string>> service_units_for(const std::vector<std::string>& services, const Catalog& catalog) {
  std::vector<std::string> out;
  for (const auto& name : services) {
    auto svc = catalog.service(name);
    if (!svc) return svc.error();
    for (const auto& u : svc->units) push_unique(out, u);
  }
  return out;
}

Result<Secret> render_env_file(const std::vector<std::pair<std::string, std::string_view>>& vars) {
  std::string out;
  for (const auto& [key, value] : vars) {
    if (!env_key_ok(key))
      return make_error(Errc::invalid_argument,
                        fmt::format("CONTAINER_ENV_VARS: {} is not a variable name (letters, digits, '_')", key));
    if (value.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
      return make_error(Errc::invalid_argument,
                        fmt::format("CONTAINER_ENV_VARS: the value of {} holds a line break or NUL", key));
    out += key;
    out += "=\"";
    for (char c : value) {
      if (c == '"' || c == '\\' || c == '$' || c == '`') out.push_back('\\');
      out.push_back(c);
    }
    out += "\"\n";
  }
  Secret s(out);
  std::fill(out.begin(), out.end(), '\0');
  return s;
}

std::vector<std::pair<std::string, std::string>> lxcprov_env(std::string_view release, const UnitPlan& unit,
                                                             uint16_t http_port, std::string_view branch,
                                                             std::string_view commit) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("HTTP_PORT", std::to_string(http_port));
  if (unit.serves_http) out.emplace_back("PORT", std::to_string(http_port));
  out.emplace_back("LXCPROV_BRANCH", std::string(branch));
  out.emplace_back("LXCPROV_COMMIT", std::string(commit));
  if (unit.venv) {
    const std::string venv = fmt::format("{}/venv", unit_path(release, unit));
    out.emplace_back("VIRTUAL_ENV", venv);
    out.emplace_back("PATH", fmt::format("{}/bin:{}", venv, base_path));
  }
  return out;
}

Result<std::string> render_unit(const UnitPlan& unit, const std::vector<std::string>& service_units) {
  if (auto s = unit_safe_dir(unit.dir); !s) return s.error();
  std::string after = "network-online.target";
  for (const auto& u : service_units) after += " " + u;
  const std::string dir =
      unit.dir.empty() ? std::string(current_link) : fmt::format("{}/{}", current_link, escape_percent(unit.dir));
  return fmt::format(
      "# Written by lxcprov for the app's unit \"{id}\"; every deploy rewrites it.\n"
      "[Unit]\n"
      "Description=lxcprov app {id}\n"
      "Wants=network-online.target\n"
      "After={after}\n"
      "StartLimitIntervalSec=0\n"
      "\n"
      "[Service]\n"
      "Type=exec\n"
      "User={user}\n"
      "Group={user}\n"
      "WorkingDirectory={dir}\n"
      "EnvironmentFile={etc}/{id}.env\n"
      "EnvironmentFile={etc}/{id}.lxcprov.env\n"
      "ExecStart=/bin/bash {etc}/{id}.sh\n"
      "Restart=on-failure\n"
      "RestartSec=2\n"
      "\n"
      "[Install]\n"
      "WantedBy=multi-user.target\n",
      fmt::arg("id", unit.id), fmt::arg("after", after), fmt::arg("user", app_user), fmt::arg("dir", dir),
      fmt::arg("etc", etc_current_link));
}

Result<std::vector<std::string>> git_environment(std::string_view repository, const Secret& token, bool with_ca) {
  constexpr std::string_view scheme = "https://";
  if (!repository.starts_with(scheme) || repository.size() == scheme.size())
    return make_error(Errc::invalid_argument, "PROJECT_REPOSITORY: only https repositories can be fetched");
  const auto slash = repository.find('/', scheme.size());
  const std::string origin = std::string(repository.substr(0, slash)) + "/";
  std::vector<std::pair<std::string, std::string>> config = {
      {"protocol.allow", "never"}, {"protocol.https.allow", "always"}, {"http.followRedirects", "false"},
      {"credential.helper", ""},   {"submodule.recurse", "false"},
  };
  if (with_ca) config.emplace_back("http.sslCAInfo", std::string(git_ca_bundle));
  std::vector<std::string> env = {
      fmt::format("HOME={}", app_home),
      "GIT_TERMINAL_PROMPT=0",
      "GIT_CONFIG_NOSYSTEM=1",
      // Ignores what the app's own commands may have left in its HOME (an insteadOf could send the
      // token elsewhere).
      "GIT_CONFIG_GLOBAL=/dev/null",
      "XDG_CONFIG_HOME=/nonexistent",
  };
  if (!token.empty()) {
    const Secret header = git_auth_header(token);
    config.emplace_back(fmt::format("http.{}.extraHeader", origin), std::string(header.reveal()));
  }
  env.push_back(fmt::format("GIT_CONFIG_COUNT={}", config.size()));
  for (std::size_t i = 0; i < config.size(); ++i) {
    env.push_back(fmt::format("GIT_CONFIG_KEY_{}={}", i, config[i].first));
    env.push_back(fmt::format("GIT_CONFIG_VALUE_{}={}", i, config[i].second));
  }
  for (auto& [k, v] : config) std::fill(v.begin(), v.end(), '\0');
  return env;
}

Secret git_auth_header(const Secret& token) {
  std::string user_pass = "x-access-token:";
  user_pass += token.reveal();
  std::string encoded = base64(user_pass);
  std::fill(user_pass.begin(), user_pass.end(), '\0');
  Secret header("Authorization: Basic " + encoded);
  std::fill(encoded.begin(), encoded.end(), '\0');
  return header;
}

void wipe(std::vector<std::string>& strings) {
  for (auto& s : strings) std::fill(s.begin(), s.end(), '\0');
  strings.clear();
}

}  // namespace lxcprov::deploy
