#include "deploy/merge.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/quoted.hpp"

namespace lxcprov::deploy {
namespace {

Error bad(std::string message) { return make_error(Errc::invalid_argument, std::move(message)); }

// The project root's own component is written "." in the JSON forms.
std::string shown(const std::string& path) { return quoted(path.empty() ? "." : path); }

void overlay(Component& into, const Component& given) {
  if (!given.runtime.empty()) {
    into.runtime = given.runtime;
    into.version = given.version;
  }
  if (!given.install.empty()) into.install = given.install;
  if (!given.build.empty()) into.build = given.build;
  if (!given.start.empty()) into.start = given.start;
}

void add_missing(std::vector<std::string>& into, const std::vector<std::string>& more) {
  for (const auto& item : more)
    if (std::find(into.begin(), into.end(), item) == into.end()) into.push_back(item);
}

Status complete(const DeploySpec& spec) {
  if (spec.repository.empty())
    return bad("PROJECT_REPOSITORY: is required (nothing has been deployed into this container yet)");
  if (spec.components.empty() && spec.root_start.empty())
    return bad("START_COMMAND: is required (a start command for each component, or ROOT_START_COMMAND)");
  if (!spec.multi && (spec.components.size() > 1 || (spec.components.size() == 1 && !spec.components[0].path.empty())))
    return bad("MULTI_COMPONENT: the deployment has one component; give plain values, or MULTI_COMPONENT=y");
  if (!spec.root_start.empty()) return {};
  for (const auto& c : spec.components) {
    const std::string which = spec.multi ? " for component " + shown(c.path) : "";
    if (c.start.empty()) return bad(fmt::format("START_COMMAND: is required{}", which));
    if (c.runtime.empty()) return bad(fmt::format("RUNTIME_LANGUAGE: is required{}", which));
  }
  return {};
}

}  // namespace

Result<DeploySpec> merge(const DeploySpec& stored, const DeploySpec& given, const Given& which) {
  DeploySpec out = stored;
  if (stored.repository.empty()) {
    // Nothing deployed yet: the update is the first deploy, and says everything itself.
    out = given;
    if (auto s = complete(out); !s) return s.error();
    return out;
  }
  if (!given.repository.empty() && given.repository != stored.repository) {
    out.repository = given.repository;
    out.branch.clear();  // another repository: its default branch unless one is given
    out.commit.clear();
  }
  if (!given.branch.empty() && given.branch != stored.branch) {
    out.branch = given.branch;
    out.commit.clear();
  }
  if (which.root) out.root = given.root;
  if (!given.root_start.empty()) out.root_start = given.root_start;
  if (!given.commit.empty()) out.commit = given.commit;
  add_missing(out.services, given.services);
  add_missing(out.custom_services, given.custom_services);

  if (which.multi && given.multi != stored.multi) {
    out.multi = given.multi;
    out.components = given.components;
  } else if (!given.components.empty()) {
    if (given.multi != stored.multi) {
      return bad(stored.multi ? "MULTI_COMPONENT: the deployment has several components; give the commands and "
                                "runtimes as JSON objects {\"path\": ...}"
                              : "MULTI_COMPONENT: the deployment has one component; give plain values, or "
                                "MULTI_COMPONENT=y to make it several");
    }
    for (const auto& g : given.components) {
      auto it = std::find_if(out.components.begin(), out.components.end(),
                             [&](const Component& c) { return c.path == g.path; });
      if (it == out.components.end()) {
        out.components.push_back(g);
      } else {
        overlay(*it, g);
      }
    }
    std::sort(out.components.begin(), out.components.end(),
              [](const Component& a, const Component& b) { return a.path < b.path; });
  }
  if (auto s = complete(out); !s) return s.error();
  return out;
}

Status place_env(const DeploySpec& merged, const Given& which, DeploySecrets& secrets) {
  if (!secrets.env) return {};
  auto& env = *secrets.env;
  const bool root = !merged.root_start.empty();
  if (which.env_for_every_component) {
    EnvVars vars;
    if (auto it = env.find(""); it != env.end()) vars = it->second;
    env.clear();
    for (const auto& c : merged.components) env[c.path] = vars;
    if (root) env[""] = vars;
    return {};
  }
  // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& entry : env) {
    const std::string& path = entry.first;
    const bool known = std::any_of(merged.components.begin(), merged.components.end(),
                                   [&](const Component& c) { return c.path == path; });
    if (!known && !(root && path.empty()))
      return bad(
          fmt::format("CONTAINER_ENV_VARS: names component {}, which the deployment does not have", shown(path)));
  }
  return {};
}

}  // namespace lxcprov::deploy
