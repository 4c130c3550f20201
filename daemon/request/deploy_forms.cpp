#include "request/deploy_forms.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lxcprov::request {
namespace {

using nlohmann::json;

// Overwrites every string the parsed document holds before it is freed: it may be the
// environment's values.
void wipe(json& j) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    volatile char* p = s.data();
    for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
    s.clear();
  } else if (j.is_structured()) {
    for (auto& item : j) wipe(item);
  }
}

struct Wiped {
  json doc;
  ~Wiped() { wipe(doc); }
};

// The component path of a key, or the error; `seen` catches "api" and "./api" in one object.
Checked<std::string> component_key(std::string_view field, const std::string& key, std::vector<std::string>& seen) {
  auto path = check_repo_path(field, key, "component paths ");
  if (!path.ok()) return path;
  if (std::find(seen.begin(), seen.end(), *path.value) != seen.end())
    return reject<std::string>(field, fmt::format("names component {} twice", shown_path(*path.value)));
  seen.push_back(*path.value);
  return path;
}

}  // namespace

std::string shown_path(std::string_view path) { return quoted(path.empty() ? "." : path); }

namespace {

std::string components_form(std::string_view example) {
  return fmt::format("must be a JSON object {{\"path\": {}}} (one entry per component)", example);
}

}  // namespace

bool looks_like_object(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}

Checked<ByComponent> check_commands_json(std::string_view field, std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return reject<ByComponent>(field, components_form("\"command\""));
  if (j.size() > max_components) return reject<ByComponent>(field, "must name at most 32 components");
  ByComponent out;
  std::vector<std::string> seen;
  for (const auto& [key, value] : j.items()) {
    auto path = component_key(field, key, seen);
    if (!path.ok()) return reject<ByComponent>(*path.error);
    if (!value.is_string()) return reject<ByComponent>(field, components_form("\"command\""));
    auto command = check_command(field, value.get_ref<const std::string&>());
    if (!command.ok()) return reject<ByComponent>(*command.error);
    if (!command.value->empty()) out.emplace(std::move(*path.value), std::move(*command.value));
  }
  return accept(std::move(out));
}

Checked<std::map<std::string, RuntimeChoice>> check_runtimes_json(std::string_view text,
                                                                  const deploy::Catalog& catalog) {
  using Out = std::map<std::string, RuntimeChoice>;
  constexpr std::string_view field = "RUNTIME_LANGUAGE";
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return reject<Out>(field, components_form("\"nodejs@18\""));
  if (j.size() > max_components) return reject<Out>(field, "must name at most 32 components");
  Out out;
  std::vector<std::string> seen;
  for (const auto& [key, value] : j.items()) {
    auto path = component_key(field, key, seen);
    if (!path.ok()) return reject<Out>(*path.error);
    if (!value.is_string()) return reject<Out>(field, components_form("\"nodejs@18\""));
    auto runtime = check_runtime(value.get_ref<const std::string&>(), catalog);
    if (!runtime.ok())
      return reject<Out>(field, fmt::format("component {}: {}", shown_path(*path.value), runtime.error->message));
    out.emplace(std::move(*path.value), std::move(*runtime.value));
  }
  return accept(std::move(out));
}

Checked<EnvForm> check_env_json(std::string_view text) {
  constexpr std::string_view field = "CONTAINER_ENV_VARS";
  constexpr std::string_view form =
      "must be a JSON object {\"KEY\": \"value\"} or {\"component\": {\"KEY\": \"value\"}}";
  Wiped parsed{json::parse(text, nullptr, false)};
  const json& j = parsed.doc;
  if (j.is_discarded() || !j.is_object()) return reject<EnvForm>(field, std::string(form));
  EnvForm out;
  const bool nested = std::any_of(j.begin(), j.end(), [](const json& v) { return v.is_object(); });
  const bool flat = std::any_of(j.begin(), j.end(), [](const json& v) { return !v.is_object(); });
  if (nested && flat) return reject<EnvForm>(field, std::string(form) + ", not a mix of both");
  out.by_component = nested;
  size_t count = 0;
  // Adds one object of KEY -> value to `vars`; a message never shows a value.
  auto add = [&](const json& object, deploy::EnvVars& vars) -> std::optional<FieldError> {
    for (const auto& [name, value] : object.items()) {
      if (auto e = check_env_name(name)) return e;
      std::string text_value;
      if (value.is_string()) {
        text_value = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        text_value = value.dump();
      } else {
        return FieldError{std::string(field), fmt::format("the value of {} must be a string", name)};
      }
      if (auto e = check_env_value(name, text_value)) return e;
      if (++count > max_env_vars) return FieldError{std::string(field), "must set at most 256 variables"};
      vars.emplace(name, Secret(text_value));
      volatile char* p = text_value.data();
      for (size_t i = 0; i < text_value.size(); ++i) p[i] = 0;
    }
    return std::nullopt;
  };
  if (!nested) {
    if (auto e = add(j, out.vars[""])) return reject<EnvForm>(std::move(*e));
    if (out.vars[""].empty()) out.vars.clear();
    return accept(std::move(out));
  }
  if (j.size() > max_components) return reject<EnvForm>(field, "must name at most 32 components");
  std::vector<std::string> seen;
  for (const auto& [key, value] : j.items()) {
    auto path = component_key(field, key, seen);
    if (!path.ok()) return reject<EnvForm>(*path.error);
    if (auto e = add(value, out.vars[*path.value])) return reject<EnvForm>(std::move(*e));
  }
  return accept(std::move(out));
}

std::optional<FieldError> add_env_answer(std::string_view answer, EnvForm& form) {
  const size_t eq = answer.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return FieldError{"CONTAINER_ENV_VARS", "answer KEY=VALUE, a JSON object of them, or nothing to finish"};
  const std::string_view name = answer.substr(0, eq), value = answer.substr(eq + 1);
  if (auto e = check_env_name(name)) return e;
  if (auto e = check_env_value(name, value)) return e;
  auto& vars = form.vars[""];
  if (vars.count(std::string(name)) != 0)
    return FieldError{"CONTAINER_ENV_VARS", fmt::format("{} is already set", name)};
  size_t count = 0;
  for (const auto& [path, v] : form.vars) count += v.size();
  if (count >= max_env_vars) return FieldError{"CONTAINER_ENV_VARS", "must set at most 256 variables"};
  vars.emplace(std::string(name), Secret(std::string(value)));
  return std::nullopt;
}

Checked<std::vector<std::string>> check_services(std::string_view text, const deploy::Catalog& catalog) {
  using Out = std::vector<std::string>;
  constexpr std::string_view field = "SERVICES";
  constexpr size_t max_services = 32;
  std::vector<std::string> names;
  const auto first = text.find_first_not_of(" \t");
  if (first != std::string_view::npos && text[first] == '[') {
    const json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array())
      return reject<Out>(field, "must be a JSON array of service names, e.g. [\"redis\"]");
    for (const auto& v : j) {
      if (!v.is_string()) return reject<Out>(field, "must be a JSON array of service names, e.g. [\"redis\"]");
      names.push_back(v.get<std::string>());
    }
  } else {
    size_t i = 0;
    while (i < text.size()) {
      if (text[i] == ',' || text[i] == ' ' || text[i] == '\t') {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < text.size() && text[end] != ',' && text[end] != ' ' && text[end] != '\t') ++end;
      names.emplace_back(text.substr(i, end - i));
      i = end;
    }
  }
  if (names.size() > max_services) return reject<Out>(field, "must list at most 32 services");
  Out chosen;
  for (const auto& name : names) {
    auto one = check_service(name, catalog, chosen);
    if (!one.ok()) return reject<Out>(*one.error);
    chosen.push_back(std::move(*one.value));
  }
  return accept(std::move(chosen));
}

FieldError custom_services_refused() {
  return FieldError{"CUSTOM_SERVICES",
                    "custom service commands are not allowed on this server (deploy.allow_custom_services); "
                    "use SERVICES"};
}

Checked<std::vector<std::string>> check_custom_services(std::string_view text, bool allowed) {
  using Out = std::vector<std::string>;
  constexpr std::string_view field = "CUSTOM_SERVICES";
  constexpr size_t max_commands = 64;
  if (!allowed) return reject<Out>(custom_services_refused());
  const json j = json::parse(text, nullptr, false);
  constexpr std::string_view form = "must be a JSON array of commands, or of arrays of commands";
  if (j.is_discarded() || !j.is_array()) return reject<Out>(field, std::string(form));
  Out commands;
  auto add = [&](const json& v) -> std::optional<FieldError> {
    if (!v.is_string()) return FieldError{std::string(field), std::string(form)};
    auto c = check_custom_command(v.get_ref<const std::string&>());
    if (!c.ok()) return c.error;
    if (commands.size() == max_commands) return FieldError{std::string(field), "must hold at most 64 commands"};
    commands.push_back(std::move(*c.value));
    return std::nullopt;
  };
  for (const auto& item : j) {
    if (item.is_array()) {
      for (const auto& v : item)
        if (auto e = add(v)) return reject<Out>(std::move(*e));
    } else if (auto e = add(item)) {
      return reject<Out>(std::move(*e));
    }
  }
  return accept(std::move(commands));
}

}  // namespace lxcprov::request
