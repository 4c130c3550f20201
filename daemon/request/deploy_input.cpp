#include "request/deploy_input.hpp"

#include <set>

#include <fmt/format.h>

namespace lxcprov::request {
namespace {

template <class Map>
void add_keys(const std::optional<Map>& values, std::set<std::string>& into) {
  if (!values) return;
  for (const auto& [path, value] : *values) into.insert(path);
}

template <class Map>
bool has(const std::optional<Map>& values, const std::string& path) {
  return values && values->count(path) != 0;
}

std::string text_of(const std::optional<ByComponent>& values, const std::string& path) {
  if (!values) return {};
  const auto it = values->find(path);
  return it == values->end() ? std::string() : it->second;
}

std::vector<deploy::Component> components_of(const DeployInput& in, const std::vector<std::string>& paths) {
  std::vector<deploy::Component> out;
  for (const auto& path : paths) {
    deploy::Component c;
    c.path = path;
    if (has(in.runtime, path)) {
      c.runtime = in.runtime->at(path).name;
      c.version = in.runtime->at(path).version;
    }
    c.install = text_of(in.install, path);
    c.build = text_of(in.build, path);
    c.start = text_of(in.start, path);
    out.push_back(std::move(c));
  }
  return out;
}

std::map<std::string, deploy::EnvVars> copy_env(const EnvForm& form) {
  std::map<std::string, deploy::EnvVars> out;
  for (const auto& [path, vars] : form.vars) out[path] = vars;
  return out;
}

}  // namespace

std::vector<std::string> named_components(const DeployInput& in) {
  std::set<std::string> paths;
  add_keys(in.start, paths);
  add_keys(in.runtime, paths);
  add_keys(in.install, paths);
  add_keys(in.build, paths);
  return {paths.begin(), paths.end()};
}

std::vector<FieldError> assemble_create(const DeployInput& in, deploy::DeploySpec& spec,
                                        std::optional<std::map<std::string, deploy::EnvVars>>& env) {
  std::vector<FieldError> errors;
  const bool multi = in.multi.value_or(false);
  const bool root = !in.root_start.empty();
  std::set<std::string> paths;
  add_keys(in.start, paths);
  add_keys(in.runtime, paths);
  if (root) {
    add_keys(in.install, paths);
    add_keys(in.build, paths);
  }
  if (paths.empty() && !root) {
    errors.push_back(
        {"START_COMMAND", multi ? "is required (a command for each component, or ROOT_START_COMMAND)" : "is required"});
    errors.push_back({"RUNTIME_LANGUAGE", "is required"});
  }
  if (!root) {
    for (const auto& path : paths) {
      if (!has(in.start, path))
        errors.push_back({"START_COMMAND", multi ? fmt::format("has no command for component {} (RUNTIME_LANGUAGE "
                                                               "names it)",
                                                               shown_path(path))
                                                 : "is required"});
      if (!has(in.runtime, path))
        errors.push_back({"RUNTIME_LANGUAGE", multi ? fmt::format("has no runtime for component {} (START_COMMAND "
                                                                  "names it)",
                                                                  shown_path(path))
                                                    : "is required"});
    }
    for (const auto& [field, values] : {std::pair{"INSTALL_COMMAND", &in.install}, {"BUILD_COMMAND", &in.build}}) {
      if (!*values) continue;
      for (const auto& [path, command] : **values) {
        if (paths.count(path) == 0)
          errors.push_back({field, fmt::format("names component {}, which has no START_COMMAND or RUNTIME_LANGUAGE",
                                               shown_path(path))});
      }
    }
  }
  if (in.env && in.env->by_component) {
    for (const auto& [path, vars] : in.env->vars) {
      if (paths.count(path) == 0 && !(root && path.empty()))
        errors.push_back({"CONTAINER_ENV_VARS",
                          fmt::format("names component {}, which is not one of the components", shown_path(path))});
    }
  }
  if (!errors.empty()) return errors;

  spec.multi = multi;
  spec.components = components_of(in, {paths.begin(), paths.end()});
  spec.root_start = in.root_start;
  spec.services = in.services;
  spec.custom_services = in.custom_services;
  env.reset();
  if (in.env) {
    if (in.env->by_component) {
      env = copy_env(*in.env);
    } else {
      env.emplace();
      const auto it = in.env->vars.find("");
      const deploy::EnvVars vars = it == in.env->vars.end() ? deploy::EnvVars{} : it->second;
      for (const auto& path : paths) (*env)[path] = vars;
      if (root) (*env)[""] = vars;
    }
  }
  return errors;
}

deploy::Given assemble_update(const DeployInput& in, deploy::DeploySpec& spec,
                              std::optional<std::map<std::string, deploy::EnvVars>>& env) {
  spec.multi = in.multi.value_or(false);
  spec.components = components_of(in, named_components(in));
  spec.root_start = in.root_start;
  spec.services = in.services;
  spec.custom_services = in.custom_services;
  env.reset();
  if (in.env) env = copy_env(*in.env);
  deploy::Given given;
  given.multi = in.multi_given;
  given.env_for_every_component = in.env && !in.env->by_component;
  return given;
}

}  // namespace lxcprov::request
