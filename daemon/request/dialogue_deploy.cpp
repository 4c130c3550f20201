// The deploy stages of Dialogue (dialogue.hpp): the old system's deploy variables, its gates
// (DEPLOY_ON_START, REQUIRE_ENV_VARS, REQUIRE_SERVICES), its prompts in its order, and the
// repeated prompts where it looped (environment variables, services, one runtime per component).

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "request/deploy_forms.hpp"
#include "request/deploy_rules.hpp"
#include "request/dialogue.hpp"

namespace lxcprov::request {
namespace {

bool is_yes(std::string_view text) { return text == "y" || text == "Y"; }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The catalog's names, shortened for a prompt.
std::string examples(const std::vector<std::string>& names) {
  std::vector<std::string> shown(names.begin(), names.begin() + static_cast<long>(std::min<size_t>(names.size(), 6)));
  std::string out = joined(shown);
  if (names.size() > shown.size()) out += ", ...";
  return out;
}

// Variables that describe an app. PROJECT_REPOSITORY, PROJECT_BRANCH and GITHUB_PAT are not
// among them: the old CI client sends those from its workflow's context whether it deploys or not.
constexpr std::array<std::string_view, 9> app_texts{"PROJECT_ROOT",  "INSTALL_COMMAND",  "BUILD_COMMAND",
                                                    "START_COMMAND", "RUNTIME_LANGUAGE", "ROOT_START_COMMAND",
                                                    "SERVICES",      "CUSTOM_SERVICES",  "CONTAINER_ENV_VARS"};
constexpr std::array<std::string_view, 3> app_gates{"MULTI_COMPONENT", "REQUIRE_ENV_VARS", "REQUIRE_SERVICES"};

}  // namespace

bool Dialogue::is_deploy_stage(Stage stage) const {
  return stage >= Stage::deploy_on_start && stage <= Stage::deploy_check && stage != Stage::check_repository;
}

std::vector<std::string> Dialogue::app_variables_set() const {
  std::vector<std::string> out;
  for (auto name : app_texts)
    if (env_value(std::string(name))) out.emplace_back(name);
  for (auto name : app_gates)
    if (auto v = env_value(std::string(name)); v && is_yes(*v)) out.emplace_back(name);
  if (!env_token_.empty() && token_field_ == "PROJECT_TOKEN") out.emplace_back("PROJECT_TOKEN");
  return out;
}

void Dialogue::decide_deploy(bool deploy) {
  deploy_ = deploy;
  if (deploy) {
    if (!request_.deploy) request_.deploy.emplace();
    return;
  }
  if (const auto app = app_variables_set(); !app.empty())
    request_.notes.push_back(joined(app) + (app.size() == 1 ? " is" : " are") +
                             " ignored: nothing is deployed without DEPLOY_ON_START=y");
  request_.deploy.reset();
  request_.deploy_secrets = deploy::DeploySecrets{};
  env_token_ = Secret{};
  env_vars_ = Secret{};
}

void Dialogue::start_deploy(std::vector<FieldError>& errors) {
  const bool create = op_ == Operation::create;
  if (!create && !options_.deploy.enabled) {
    errors.push_back(FieldError{"update", "app deployment is disabled on this server"});
    return;
  }
  if (token_conflict_) errors.push_back(FieldError{"PROJECT_TOKEN", "differs from GITHUB_PAT; set only one of them"});
  if (create) {
    if (env_value("VERSIONS_DICT"))
      errors.push_back(FieldError{"VERSIONS_DICT",
                                  "is internal to the old system and not accepted; give the version "
                                  "in RUNTIME_LANGUAGE (e.g. nodejs@18)"});
    if (auto it = env_.find("SELF_HOSTED_RUNNER"); it != env_.end()) {
      request_.notes.push_back(is_yes(it->second) ? "SELF_HOSTED_RUNNER=y is ignored: lxcprov does not set up GitHub "
                                                    "runners, so no runner was set up"
                                                  : "SELF_HOSTED_RUNNER is ignored: lxcprov does not set up GitHub "
                                                    "runners");
    }
  } else if (env_value("LINUX_DISTRIBUTION")) {
    request_.notes.push_back("LINUX_DISTRIBUTION is ignored by update: the container keeps its distribution");
  }

  // A gate's valid value; an invalid one is reported by its own stage.
  auto gate = [this](const char* name) -> std::optional<bool> {
    const auto value = env_value(name);
    if (!value) return std::nullopt;
    auto r = check_yes_no(name, *value);
    return r.ok() ? r.value : std::nullopt;
  };
  require_env_ = gate("REQUIRE_ENV_VARS");
  if (!env_vars_.empty()) {
    if (require_env_ == false)
      errors.push_back(FieldError{"CONTAINER_ENV_VARS", "is set, but REQUIRE_ENV_VARS is n; unset one of them"});
    require_env_ = true;
  }
  require_services_ = gate("REQUIRE_SERVICES");
  for (const char* name : {"SERVICES", "CUSTOM_SERVICES"}) {
    if (!env_value(name)) continue;
    if (require_services_ == false)
      errors.push_back(FieldError{name, "is set, but REQUIRE_SERVICES is n; unset one of them"});
    require_services_ = true;
  }
  // As the old system did: runtimes given by component mean several components.
  if (!env_value("MULTI_COMPONENT"))
    if (auto runtime = env_value("RUNTIME_LANGUAGE"); runtime && looks_like_object(*runtime)) input_.multi = true;
  if (!create) return;

  const auto wanted = gate("DEPLOY_ON_START");
  const auto gh = env_.find("GH_ACTION");
  const bool gh_action = gh != env_.end() && is_yes(gh->second);
  if (wanted == false) {
    if (const auto app = app_variables_set(); !app.empty()) {
      errors.push_back(FieldError{"DEPLOY_ON_START", "is n, but " + joined(app) + (app.size() == 1 ? " is" : " are") +
                                                         " set; set DEPLOY_ON_START=y or unset them"});
    }
    decide_deploy(false);
  } else if (wanted == true) {
    decide_deploy(true);
  } else if (!env_value("DEPLOY_ON_START") && gh_action && env_value("RUNTIME_LANGUAGE")) {
    // The old client deploys without saying so: GH_ACTION and a runtime were its signal.
    forced_ = true;
    decide_deploy(true);
  } else if (!env_value("DEPLOY_ON_START") && (!interactive() || !options_.deploy.enabled)) {
    decide_deploy(false);
  }
  if (deploy_ == true && !options_.deploy.enabled) {
    errors.push_back(
        FieldError{forced_ ? "RUNTIME_LANGUAGE" : "DEPLOY_ON_START", "app deployment is disabled on this server"});
    // The one error says it all: the deploy variables' own rules would only add noise.
    deploy_ = false;
    request_.deploy.reset();
  }
}

bool Dialogue::skipped(Stage stage) const {
  if (op_ == Operation::update && stage == Stage::http_port) return !env_value("HTTP_PORT");
  if (!is_deploy_stage(stage)) return false;
  if (op_ == Operation::create) {
    if (stage == Stage::deploy_on_start) return deploy_.has_value();
    if (!deploy_.value_or(false)) return true;
  }
  if (stage == Stage::deploy_check) return false;
  const bool given = env_value(variable_of_stage(stage)).has_value();
  // An update asks for nothing it was not given: unset means "as stored".
  if (op_ == Operation::update) return !given;
  switch (stage) {
    case Stage::token:
      return token_env_ok_;
    case Stage::multi:
      return input_.multi.has_value() && !given;
    case Stage::require_env:
      return require_env_.has_value() && !given;
    case Stage::env_vars:
      return !require_env_.value_or(false);
    case Stage::root_start:
      // The old system asked for it only for several components; the environment may still set it.
      return !input_.multi.value_or(false) && !given;
    case Stage::runtime:
      return input_.multi.value_or(false) && components_without_runtime().empty() && !given;
    case Stage::require_services:
      return require_services_.has_value() && !given;
    case Stage::services:
      return !require_services_.value_or(false);
    case Stage::custom_services:
      return !given && !custom_asked_;
    default:
      return false;
  }
}

std::optional<FieldError> Dialogue::missing_deploy_value(Stage stage) const {
  if (op_ != Operation::create) return std::nullopt;
  switch (stage) {
    case Stage::repository:
      return FieldError{"PROJECT_REPOSITORY", "is required (set it with ssh -o SendEnv=PROJECT_REPOSITORY)"};
    case Stage::env_vars:
      return FieldError{"CONTAINER_ENV_VARS", "is required when REQUIRE_ENV_VARS is y"};
    case Stage::services:
      if (env_value("CUSTOM_SERVICES")) return std::nullopt;
      return FieldError{"SERVICES", "is required when REQUIRE_SERVICES is y"};
    default:
      return std::nullopt;
  }
}

std::vector<std::string> Dialogue::components_without_runtime() const {
  // Without a root start the components are the ones with a start command (a path only an
  // install or build command names is an error the deploy check reports, not a component).
  std::vector<std::string> paths;
  if (input_.root_start.empty()) {
    if (input_.start)
      for (const auto& [path, command] : *input_.start) paths.push_back(path);
  } else {
    paths = named_components(input_);
  }
  std::vector<std::string> out;
  for (const auto& path : paths)
    if (!input_.runtime || input_.runtime->count(path) == 0) out.push_back(path);
  return out;
}

std::optional<FieldError> Dialogue::apply_deploy(Stage stage, std::string_view text) {
  const bool update = op_ == Operation::update;
  const std::string name = variable_of_stage(stage);
  auto spec = [this]() -> deploy::DeploySpec& {
    if (!request_.deploy) request_.deploy.emplace();
    return *request_.deploy;
  };
  // An update's empty answer (to a variable asked again) means "as stored".
  auto optional = [&] { return update || stage == Stage::build || stage == Stage::install; };
  switch (stage) {
    case Stage::deploy_on_start: {
      if (text.empty()) {
        decide_deploy(false);
        return std::nullopt;
      }
      auto r = check_yes_no(name, text);
      if (!r.ok()) return r.error;
      if (*r.value && !options_.deploy.enabled) return FieldError{name, "app deployment is disabled on this server"};
      decide_deploy(*r.value);
      const auto& allowed = options_.deploy.distributions;
      if (*r.value && std::find(allowed.begin(), allowed.end(), request_.distribution) == allowed.end()) {
        // The distribution was asked first; it is asked again, now under the deploy rule.
        reask(Stage::distribution,
              {FieldError{"LINUX_DISTRIBUTION", allowed.empty() ? "deployment is not offered for any distribution here"
                                                                : "deployment needs one of: " + joined(allowed)}},
              Stage::repository);
        jumped_ = true;
      }
      return std::nullopt;
    }
    case Stage::repository: {
      if (text.empty()) {
        if (update) return std::nullopt;
        return FieldError{name, "is required"};
      }
      auto r = check_repository(text, options_.deploy.allowed_hosts);
      if (!r.ok()) return r.error;
      spec().repository = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::token: {
      const std::string field = from_env_ ? token_field_ : "PROJECT_TOKEN";
      auto r = check_token(field, text);
      // The environment's copy has served its one use (`text` may point into it: not used below).
      if (from_env_) env_token_ = Secret{};
      if (text.empty()) {
        request_.deploy_secrets.git_token = Secret{};
        return std::nullopt;
      }
      if (!r.ok()) return r.error;
      request_.deploy_secrets.git_token = std::move(*r.value);
      if (from_env_) token_env_ok_ = true;
      return std::nullopt;
    }
    case Stage::branch: {
      auto r = check_branch(text);
      if (!r.ok()) return r.error;
      spec().branch = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::root: {
      if (text.empty() && update) return std::nullopt;
      auto r = check_repo_path(name, text);
      if (!r.ok()) return r.error;
      spec().root = std::move(*r.value);
      request_.deploy_given.root = true;
      return std::nullopt;
    }
    case Stage::multi:
    case Stage::require_env:
    case Stage::require_services: {
      std::optional<bool> value;
      if (!text.empty()) {
        auto r = check_yes_no(name, text);
        if (!r.ok()) return r.error;
        value = *r.value;
      } else if (!update) {
        value = false;  // the prompt's default
      }
      if (!value) return std::nullopt;
      if (stage == Stage::multi) {
        input_.multi = value;
        input_.multi_given = true;
      } else if (stage == Stage::require_env) {
        require_env_ = value;
      } else {
        require_services_ = value;
      }
      return std::nullopt;
    }
    case Stage::env_vars: {
      if (text.empty()) return std::nullopt;
      auto r = check_env_json(text);
      if (from_env_) env_vars_ = Secret{};  // as the token's above
      if (!r.ok()) return r.error;
      input_.env = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::build:
    case Stage::install:
    case Stage::start: {
      auto& slot = stage == Stage::build ? input_.build : stage == Stage::install ? input_.install : input_.start;
      if (text.empty() && (optional() || input_.multi.value_or(false))) {
        slot.reset();
        return std::nullopt;
      }
      if (text.empty()) return FieldError{name, "is required"};
      const bool json = update && !input_.multi_given ? looks_like_object(text) : input_.multi.value_or(false);
      if (json) {
        auto r = check_commands_json(name, text);
        if (!r.ok()) return r.error;
        slot = std::move(*r.value);
        json_form_ = true;
        return std::nullopt;
      }
      if (looks_like_object(text))
        return FieldError{name,
                          "is a JSON object of components, but MULTI_COMPONENT is not y; set "
                          "MULTI_COMPONENT=y, or give one command"};
      auto r = check_command(name, text);
      if (!r.ok()) return r.error;
      if (r.value->empty()) {
        if (!optional()) return FieldError{name, "is required"};
        slot.reset();
      } else {
        slot = ByComponent{{"", std::move(*r.value)}};
        plain_form_ = true;
      }
      return std::nullopt;
    }
    case Stage::root_start: {
      auto r = check_command(name, text);
      if (!r.ok()) return r.error;
      input_.root_start = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::runtime: {
      if (text.empty()) {
        if (update) {
          input_.runtime.reset();
          return std::nullopt;
        }
        return FieldError{name, "is required"};
      }
      const bool multi = update && !input_.multi_given ? looks_like_object(text) : input_.multi.value_or(false);
      if (looks_like_object(text)) {
        if (!multi)
          return FieldError{name,
                            "is a JSON object of components, but MULTI_COMPONENT is n; set MULTI_COMPONENT=y, "
                            "or give one runtime"};
        auto r = check_runtimes_json(text, options_.deploy.catalog);
        if (!r.ok()) return r.error;
        input_.runtime = std::move(*r.value);
        json_form_ = true;
        return std::nullopt;
      }
      auto r = check_runtime(text, options_.deploy.catalog);
      if (!r.ok()) return r.error;
      if (!multi) {
        input_.runtime = std::map<std::string, RuntimeChoice>{{"", std::move(*r.value)}};
        plain_form_ = true;
        return std::nullopt;
      }
      // One runtime for several components: the old clients' shorthand for "all of them".
      const auto paths = named_components(input_);
      if (paths.empty())
        return FieldError{name, "names no component: give it as a JSON object {\"path\": \"nodejs@18\"}"};
      input_.runtime.emplace();
      for (const auto& path : paths) (*input_.runtime)[path] = *r.value;
      return std::nullopt;
    }
    case Stage::services: {
      if (text.empty()) return std::nullopt;
      auto r = check_services(text, options_.deploy.catalog);
      if (!r.ok()) return r.error;
      input_.services = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::custom_services: {
      if (text.empty()) return std::nullopt;
      auto r = check_custom_services(text, options_.deploy.allow_custom_services);
      if (!r.ok()) return r.error;
      input_.custom_services = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::http_port: {  // update only: unset keeps the container's port
      if (text.empty()) {
        request_.http_port = 0;
        return std::nullopt;
      }
      auto r = check_http_port(text);
      if (!r.ok()) return r.error;
      request_.http_port = *r.value;
      return std::nullopt;
    }
    default:
      break;
  }
  return FieldError{"dialogue", "internal error: no field for this step"};
}

bool Dialogue::repeated(Stage stage) const {
  switch (stage) {
    case Stage::env_vars:
    case Stage::services:
    case Stage::custom_services:
      return true;
    case Stage::runtime:
      return op_ == Operation::create && input_.multi.value_or(false);
    default:
      return false;
  }
}

std::optional<FieldError> Dialogue::answer_repeated(Stage stage, std::string& value, bool& finished) {
  finished = false;
  switch (stage) {
    case Stage::env_vars: {
      if (value.empty()) {
        finished = true;
        return std::nullopt;
      }
      if (looks_like_object(value)) {
        if (input_.env && !input_.env->vars.empty())
          return FieldError{"CONTAINER_ENV_VARS", "give either KEY=VALUE answers or one JSON object, not both"};
        auto r = check_env_json(value);
        if (!r.ok()) return r.error;
        input_.env = std::move(*r.value);
        finished = true;
        return std::nullopt;
      }
      if (!input_.env) input_.env.emplace();
      return add_env_answer(value, *input_.env);
    }
    case Stage::runtime: {
      if (value.empty()) return FieldError{"RUNTIME_LANGUAGE", "is required"};
      const auto missing = components_without_runtime();
      if (looks_like_object(value) || missing.empty()) {
        auto error = apply_deploy(stage, value);
        finished = !error;
        return error;
      }
      auto r = check_runtime(value, options_.deploy.catalog);
      if (!r.ok()) return r.error;
      if (!input_.runtime) input_.runtime.emplace();
      (*input_.runtime)[missing.front()] = std::move(*r.value);
      finished = missing.size() == 1;
      return std::nullopt;
    }
    case Stage::services: {
      if (value.empty()) {
        finished = true;
        return std::nullopt;
      }
      if (value == "C" || value == "c") {
        if (!options_.deploy.allow_custom_services) return custom_services_refused();
        custom_asked_ = true;
        finished = true;
        return std::nullopt;
      }
      auto r = check_service(value, options_.deploy.catalog, input_.services);
      if (!r.ok()) return r.error;
      if (input_.services.size() == 32) return FieldError{"SERVICES", "must list at most 32 services"};
      input_.services.push_back(std::move(*r.value));
      return std::nullopt;
    }
    case Stage::custom_services: {
      if (value.empty()) {
        finished = true;
        return std::nullopt;
      }
      if (!options_.deploy.allow_custom_services) return custom_services_refused();
      auto r = check_custom_command(value);
      if (!r.ok()) return r.error;
      if (input_.custom_services.size() == 64) return FieldError{"CUSTOM_SERVICES", "must hold at most 64 commands"};
      input_.custom_services.push_back(std::move(*r.value));
      return std::nullopt;
    }
    default:
      return FieldError{"dialogue", "internal error: not a repeated question"};
  }
}

Prompt Dialogue::make_deploy_prompt(Stage stage) const {
  Prompt p;
  p.field = variable_of_stage(stage);
  const bool multi = input_.multi.value_or(false);
  const std::string json_form = multi ? " as JSON {\"path\": \"command\"}" : "";
  const std::string runtimes = joined(options_.deploy.catalog.runtime_names());
  switch (stage) {
    case Stage::deploy_on_start:
      p.text = "Do you want to deploy your project automatically? (y/n)";
      p.default_value = "n";
      break;
    case Stage::repository:
      p.text = "Paste the link to your project repository (https://...)";
      break;
    case Stage::token:
      p.text = "Access token for a private repository (leave blank for a public one)";
      p.secret = true;
      break;
    case Stage::branch:
      p.text = "Enter the project branch to deploy from (leave blank for the repository's default branch)";
      break;
    case Stage::root:
      p.text = "Enter the project root directory, relative to the repository (leave blank for its top)";
      break;
    case Stage::multi:
      p.text =
          "Does your app consist of multiple components in separate directories (e.g. a frontend and a "
          "backend)? (y/n)";
      p.default_value = "n";
      break;
    case Stage::require_env:
      p.text = "Does your application require environment variables? (y/n)";
      p.default_value = "n";
      break;
    case Stage::env_vars: {
      p.text = multi ? "Environment variable as KEY=VALUE for every component, or a JSON object {\"path\": {\"KEY\": "
                       "\"value\"}} (leave blank to finish)"
                     : "Environment variable as KEY=VALUE, or a JSON object (leave blank to finish)";
      p.secret = true;  // values are secrets: never echoed
      std::vector<std::string> names;
      if (input_.env)
        for (const auto& [path, vars] : input_.env->vars)
          for (const auto& [key, value] : vars) names.push_back(key);
      if (!names.empty()) p.text += " [set: " + joined(names) + "]";
      break;
    }
    case Stage::build:
      p.text = "Enter the build command" + json_form + " (leave blank if none)";
      break;
    case Stage::install:
      p.text = "Enter the install command" + json_form + " (e.g. npm install; leave blank if none)";
      break;
    case Stage::start:
      p.text = "Enter the start command" + json_form +
               (multi ? " (leave blank if only a root start command runs the "
                        "app)"
                      : " (e.g. npm start)");
      break;
    case Stage::root_start:
      p.text = "If your app needs a start command run in the project root, enter it (leave blank if none)";
      break;
    case Stage::runtime: {
      const auto missing = components_without_runtime();
      const std::string which = multi && !missing.empty() ? " for " + shown_path(missing.front()) : "";
      p.text = "Enter the underlying runtime environment" + which + " (" + runtimes +
               "; NAME@VERSION for a version, e.g. nodejs@18)";
      break;
    }
    case Stage::require_services:
      p.text = "Does your application require special services (e.g. a database)? (y/n)";
      p.default_value = "n";
      break;
    case Stage::services:
      p.text = "Enter the name of a service (" + examples(options_.deploy.catalog.service_names()) + ")" +
               (options_.deploy.allow_custom_services ? ", or C for custom commands" : "") + " (leave blank to finish)";
      if (!input_.services.empty()) p.text += " [chosen: " + joined(input_.services) + "]";
      break;
    case Stage::custom_services:
      p.text = "Enter a custom service command, run as root in the container (leave blank to finish)";
      break;
    default:
      break;
  }
  if (op_ == Operation::update && stage != Stage::token) {
    p.text += " [blank: keep the deployed value]";
    p.default_value.clear();
  }
  return p;
}

std::vector<FieldError> Dialogue::check_deploy() {
  if (op_ == Operation::create) {
    if (!deploy_.value_or(false)) return {};
    auto errors = assemble_create(input_, *request_.deploy, request_.deploy_secrets.env);
    return errors;
  }
  if (plain_form_ && json_form_ && !input_.multi_given)
    return {FieldError{"MULTI_COMPONENT",
                       "some values name components (JSON objects) and some do not; give every "
                       "command and runtime in one form"}};
  if (!input_.multi_given) input_.multi = json_form_;
  const bool given = (request_.deploy && (!request_.deploy->repository.empty() || !request_.deploy->branch.empty())) ||
                     request_.deploy_given.root || input_.multi_given || input_.install || input_.build ||
                     input_.start || input_.runtime || !input_.root_start.empty() || input_.env ||
                     !input_.services.empty() || !input_.custom_services.empty();
  if (!given) {
    // Nothing to deploy from this request: the session says so (or redeploys what is stored).
    request_.deploy.reset();
    request_.deploy_secrets.env.reset();
    return {};
  }
  if (!request_.deploy) request_.deploy.emplace();
  const bool root = request_.deploy_given.root;
  request_.deploy_given = assemble_update(input_, *request_.deploy, request_.deploy_secrets.env);
  request_.deploy_given.root = root;
  return {};
}

std::optional<Dialogue::Stage> Dialogue::stage_of(std::string_view field) const {
  const std::string name = field == "GITHUB_PAT" ? "PROJECT_TOKEN" : std::string(field);
  for (Stage stage : stages_) {
    if (stage == Stage::deploy_check || stage == Stage::check_repository) continue;
    if (variable_of_stage(stage) == name) return stage;
  }
  return std::nullopt;
}

void Dialogue::clear_deploy_value(Stage stage) {
  auto* spec = request_.deploy ? &*request_.deploy : nullptr;
  switch (stage) {
    case Stage::repository:
      if (spec != nullptr) spec->repository.clear();
      break;
    case Stage::token:
      request_.deploy_secrets.git_token = Secret{};
      break;
    case Stage::branch:
      if (spec != nullptr) spec->branch.clear();
      break;
    case Stage::root:
      if (spec != nullptr) spec->root.clear();
      request_.deploy_given.root = false;
      break;
    case Stage::env_vars:
      input_.env.reset();
      break;
    case Stage::build:
      input_.build.reset();
      break;
    case Stage::install:
      input_.install.reset();
      break;
    case Stage::start:
      input_.start.reset();
      break;
    case Stage::root_start:
      input_.root_start.clear();
      break;
    case Stage::runtime:
      input_.runtime.reset();
      break;
    case Stage::services:
      input_.services.clear();
      break;
    case Stage::custom_services:
      input_.custom_services.clear();
      break;
    default:
      break;
  }
}

}  // namespace lxcprov::request
