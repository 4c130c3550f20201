#include "request/dialogue.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>

#include "request/validation.hpp"

namespace lxcprov::request {

namespace {

void wipe(std::string& text) {
  volatile char* p = text.data();
  for (size_t i = 0; i < text.size(); ++i) p[i] = 0;
  text.clear();
}

bool is_yes(std::string_view text) { return text == "y" || text == "Y"; }

std::string variable_of(int stage) {
  // Indexed by Dialogue::Stage; the steps handed to the session have no variable.
  static constexpr std::array<std::string_view, 27> names{"PROXMOX_USERNAME",
                                                          "PROXMOX_PASSWORD",
                                                          "",
                                                          "CONTAINER_NAME",
                                                          "",
                                                          "LINUX_DISTRIBUTION",
                                                          "HTTP_PORT",
                                                          "PUBLIC_KEY",
                                                          "EXTRA_PROTOCOLS",
                                                          "DEPLOY_ON_START",
                                                          "PROJECT_REPOSITORY",
                                                          "PROJECT_TOKEN",
                                                          "PROJECT_BRANCH",
                                                          "PROJECT_ROOT",
                                                          "",
                                                          "MULTI_COMPONENT",
                                                          "REQUIRE_ENV_VARS",
                                                          "CONTAINER_ENV_VARS",
                                                          "BUILD_COMMAND",
                                                          "INSTALL_COMMAND",
                                                          "START_COMMAND",
                                                          "ROOT_START_COMMAND",
                                                          "RUNTIME_LANGUAGE",
                                                          "REQUIRE_SERVICES",
                                                          "SERVICES",
                                                          "CUSTOM_SERVICES",
                                                          ""};
  return std::string(names.at(static_cast<size_t>(stage)));
}

bool uses_container_name(Operation op) {
  return op == Operation::create || op == Operation::exists || op == Operation::destroy || op == Operation::update;
}

// NAME [LINES] of info and app-logs, from the words after the verb.
std::vector<FieldError> read_name_args(Operation op, const std::vector<std::string>& args, Request& request) {
  const bool lines = op == Operation::app_logs;
  const std::string usage = lines ? " NAME [LINES]" : " NAME";
  const std::string verb(to_string(op));
  if (args.empty())
    return {FieldError{"CONTAINER_NAME", "is required (ssh create-container@host " + verb + usage + ")"}};
  if (args.size() > (lines ? 2U : 1U))
    return {FieldError{"CONTAINER_NAME", "too many arguments (ssh create-container@host " + verb + usage + ")"}};
  std::vector<FieldError> errors;
  if (auto name = check_container_name(args[0]); !name.ok()) {
    errors.push_back(*name.error);
  } else {
    request.container_name = std::move(*name.value);
  }
  if (args.size() == 2) {
    const std::string& text = args[1];
    const bool digits = !text.empty() && text.size() <= 5 && text.front() != '0' &&
                        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    const unsigned value = digits ? static_cast<unsigned>(std::stoul(text)) : 0;
    if (value < 1 || value > 10000) {
      errors.push_back(FieldError{"LINES", "must be a number from 1 to 10000"});
    } else {
      request.log_lines = value;
    }
  }
  return errors;
}

}  // namespace

Dialogue::Dialogue(Operation op, DialogueOptions options, std::map<std::string, std::string> env)
    : op_(op), options_(std::move(options)), env_(std::move(env)) {
  request_.op = op_;
  const bool deploys = op_ == Operation::create || op_ == Operation::update;
  // Copied into Secrets, not moved: a moved-from short string keeps its bytes in the inline
  // buffer, where wipe() (which clears size() bytes) could not reach them.
  auto take = [this](const char* name, Secret* into) {
    auto it = env_.find(name);
    if (it == env_.end()) return;
    if (into != nullptr) *into = Secret(it->second);
    wipe(it->second);
    env_.erase(it);
  };
  // The old name counts only where the new one is not set; both set must agree (start_deploy).
  if (deploys) {
    const auto pat = env_.find("GITHUB_PAT");
    const auto token = env_.find("PROJECT_TOKEN");
    const bool has_token = token != env_.end() && !token->second.empty();
    if (pat != env_.end() && !pat->second.empty() && has_token && pat->second != token->second) {
      token_conflict_ = true;  // reported by start_deploy
    } else if (!has_token && pat != env_.end() && !pat->second.empty()) {
      token_field_ = "GITHUB_PAT";
      take("GITHUB_PAT", &env_token_);
    }
    take("PROJECT_TOKEN", env_token_.empty() ? &env_token_ : nullptr);
    take("GITHUB_PAT", nullptr);
    take("CONTAINER_ENV_VARS", &env_vars_);
  } else {
    take("GITHUB_PAT", nullptr);
    take("PROJECT_TOKEN", nullptr);
    take("CONTAINER_ENV_VARS", nullptr);
  }
  // Accepted for compatibility with old callers, never used (notes in start_deploy).
  if (auto it = env_.find("CONTAINER_PASSWORD"); it != env_.end() && !it->second.empty() && op_ == Operation::create)
    request_.notes.push_back(
        "CONTAINER_PASSWORD is ignored: root login by password is locked; log in with your ssh key");
  take("CONTAINER_PASSWORD", nullptr);
  take("SSH_KEY_FP", nullptr);
  if (auto it = env_.find("PROXMOX_PASSWORD"); it != env_.end()) {
    // A key-bound identity has no password; one sent anyway is discarded, not kept.
    take("PROXMOX_PASSWORD", options_.bound_user.empty() ? &env_password_ : nullptr);
  }
  start();
}

bool Dialogue::interactive() const {
  const auto gh = env_.find("GH_ACTION");
  return options_.tty && !(gh != env_.end() && is_yes(gh->second));
}

std::optional<std::string_view> Dialogue::env_value(const std::string& name) const {
  // GitHub Actions forwards unset inputs as empty strings, so empty means unset.
  const Secret* secret = name == "PROXMOX_PASSWORD"     ? &env_password_
                         : name == "PROJECT_TOKEN"      ? &env_token_
                         : name == "CONTAINER_ENV_VARS" ? &env_vars_
                                                        : nullptr;
  if (secret != nullptr) {
    if (secret->empty()) return std::nullopt;
    return secret->reveal();
  }
  const auto it = env_.find(name);
  if (it == env_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void Dialogue::fail(Errc code, std::vector<FieldError> errors) {
  // Secrets are worthless to everything after a failure; do not keep them around.
  request_.password = Secret{};
  request_.deploy_secrets = deploy::DeploySecrets{};
  input_.env.reset();
  env_password_ = Secret{};
  env_token_ = Secret{};
  env_vars_ = Secret{};
  Step step;
  step.kind = Step::failed;
  step.errors = std::move(errors);
  step.error_class = code;
  final_ = std::move(step);
  waiting_ = Waiting::nothing;
}

std::string Dialogue::variable_of_stage(Stage stage) { return variable_of(static_cast<int>(stage)); }

size_t Dialogue::index_of(Stage stage) const {
  const auto it = std::find(stages_.begin(), stages_.end(), stage);
  return static_cast<size_t>(it - stages_.begin());
}

void Dialogue::advance() {
  waiting_ = Waiting::nothing;
  const Stage finished = stage_ < stages_.size() ? stages_[stage_] : Stage::deploy_check;
  reasking_.reset();
  // A re-asked repository brings the token prompt after it: a private repository may need one.
  if (resume_ && finished != Stage::repository) {
    stage_ = *resume_;
    resume_.reset();
    return;
  }
  ++stage_;
}

void Dialogue::reask(Stage stage, std::vector<FieldError> notices, std::optional<Stage> resume) {
  notices_ = std::move(notices);
  waiting_ = Waiting::nothing;
  resume_.reset();
  if (resume) resume_ = index_of(*resume);
  stage_ = index_of(stage);
  reasking_ = stage;
  clear_deploy_value(stage);
}

void Dialogue::start() {
  if (!options_.session_key.empty()) {
    auto key = check_public_key(options_.session_key, options_.key_contents_valid);
    if (key.ok()) default_key_ = std::move(*key.value);
  }

  const bool bound = !options_.bound_user.empty();
  if (!bound) {
    stages_ = {Stage::username, Stage::password, Stage::authenticate};
  } else {
    // The identity comes from the operator's authorized_keys entry, yet a malformed one must not
    // flow into paths and queries downstream.
    if (!check_username(options_.bound_user).ok()) {
      fail(Errc::internal, {FieldError{"authentication", "the identity bound to this key is not a valid username"}});
      return;
    }
    request_.username = options_.bound_user;
  }
  if (uses_container_name(op_)) stages_.push_back(Stage::container_name);
  if (uses_container_name(op_) || op_ == Operation::info || op_ == Operation::app_logs)
    stages_.push_back(Stage::check_name);
  if (op_ == Operation::create) {
    for (Stage s : {Stage::distribution,
                    Stage::http_port,
                    Stage::public_key,
                    Stage::extra_protocols,
                    Stage::deploy_on_start,
                    Stage::repository,
                    Stage::token,
                    Stage::branch,
                    Stage::root,
                    Stage::check_repository,
                    Stage::multi,
                    Stage::require_env,
                    Stage::env_vars,
                    Stage::build,
                    Stage::install,
                    Stage::start,
                    Stage::root_start,
                    Stage::runtime,
                    Stage::require_services,
                    Stage::services,
                    Stage::custom_services,
                    Stage::deploy_check})
      stages_.push_back(s);
  }
  if (op_ == Operation::update) {
    // The deploy check comes last: the session merges the given values over the stored ones
    // before it can check the repository.
    for (Stage s : {Stage::repository, Stage::token, Stage::branch, Stage::root, Stage::multi, Stage::require_env,
                    Stage::env_vars, Stage::build, Stage::install, Stage::start, Stage::root_start, Stage::runtime,
                    Stage::require_services, Stage::services, Stage::custom_services, Stage::http_port,
                    Stage::deploy_check, Stage::check_repository})
      stages_.push_back(s);
  }

  std::vector<FieldError> errors;
  if (op_ == Operation::status || op_ == Operation::logs) {
    if (options_.args.empty()) {
      errors.push_back(
          FieldError{"JOB_ID", "is required (ssh create-container@host " + std::string(to_string(op_)) + " JOB_ID)"});
    } else if (options_.args.size() > 1) {
      errors.push_back(FieldError{"JOB_ID", "exactly one job id is expected"});
    } else if (auto job = check_job_id(options_.args[0]); !job.ok()) {
      errors.push_back(*job.error);
    } else {
      request_.job_id = std::move(*job.value);
    }
  }
  if (op_ == Operation::info || op_ == Operation::app_logs) {
    for (auto& e : read_name_args(op_, options_.args, request_)) errors.push_back(std::move(e));
  }
  if (op_ == Operation::create || op_ == Operation::update) start_deploy(errors);
  // Interactive mode fails on these at once too: no answer could fix them, so asking for a
  // password first would only waste the user's time.
  if (!errors.empty() && interactive()) {
    fail(Errc::invalid_argument, std::move(errors));
    return;
  }
  if (interactive()) return;

  // Non-interactive: every field now, so the caller learns all broken rules in one run.
  std::vector<Stage> rest;
  for (Stage stage : stages_) {
    if (stage == Stage::authenticate || stage == Stage::check_name || stage == Stage::check_repository) {
      if (stage != Stage::check_repository || op_ == Operation::update || deploy_.value_or(false))
        rest.push_back(stage);
      continue;
    }
    if (stage == Stage::deploy_check) {
      // The rules between variables only mean something once the variables describing the
      // components passed their own: otherwise a refused value would be reported again as missing.
      static constexpr std::array<std::string_view, 6> component_fields{"MULTI_COMPONENT",    "BUILD_COMMAND",
                                                                        "INSTALL_COMMAND",    "START_COMMAND",
                                                                        "ROOT_START_COMMAND", "RUNTIME_LANGUAGE"};
      const bool refused = std::any_of(errors.begin(), errors.end(), [](const FieldError& e) {
        return std::find(component_fields.begin(), component_fields.end(), e.field) != component_fields.end();
      });
      if (!refused)
        for (auto& e : check_deploy()) errors.push_back(std::move(e));
      continue;
    }
    if (skipped(stage)) continue;
    const std::string name = variable_of(static_cast<int>(stage));
    const auto value = env_value(name);
    const bool required = stage == Stage::username || stage == Stage::password || stage == Stage::container_name;
    if (!value && required) {
      errors.push_back(FieldError{name, "is required (set it with ssh -o SendEnv=" + name + ")"});
      continue;
    }
    if (!value && is_deploy_stage(stage)) {
      if (auto missing = missing_deploy_value(stage)) errors.push_back(std::move(*missing));
      continue;
    }
    from_env_ = true;
    auto error = apply(stage, value.value_or(std::string_view{}));
    from_env_ = false;
    if (error) errors.push_back(std::move(*error));
  }
  if (!errors.empty()) {
    fail(Errc::invalid_argument, std::move(errors));
    return;
  }
  stages_ = std::move(rest);
}

std::optional<FieldError> Dialogue::apply(Stage stage, std::string_view text) {
  if (is_deploy_stage(stage) || (op_ == Operation::update && stage == Stage::http_port))
    return apply_deploy(stage, text);
  const std::string name = variable_of(static_cast<int>(stage));
  const bool has_default = stage == Stage::distribution || stage == Stage::http_port || stage == Stage::public_key ||
                           stage == Stage::extra_protocols;
  if (text.empty() && !has_default) return FieldError{name, "is required"};
  switch (stage) {
    case Stage::username: {
      auto r = check_username(text);
      if (!r.ok()) return r.error;
      request_.username = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::password: {
      auto r = check_password(text);
      // The environment copy has served its one use; `text` may point into it, so not used below.
      env_password_ = Secret{};
      if (!r.ok()) return r.error;
      request_.password = Secret(*r.value);
      wipe(*r.value);
      return std::nullopt;
    }
    case Stage::container_name: {
      auto r = check_container_name(text);
      if (!r.ok()) return r.error;
      request_.container_name = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::distribution: {
      auto r = check_distribution(text, options_.distributions, options_.default_distribution);
      if (!r.ok()) return r.error;
      const auto& allowed = options_.deploy.distributions;
      if (deploy_.value_or(false) && std::find(allowed.begin(), allowed.end(), *r.value) == allowed.end()) {
        std::string names;
        for (const auto& d : allowed) names += (names.empty() ? "" : ", ") + d;
        return FieldError{"LINUX_DISTRIBUTION", names.empty() ? "deployment is not offered for any distribution here"
                                                              : "deployment needs one of: " + names};
      }
      request_.distribution = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::http_port: {
      if (text.empty()) {
        request_.http_port = options_.default_http_port;
        return std::nullopt;
      }
      auto r = check_http_port(text);
      if (!r.ok()) return r.error;
      request_.http_port = *r.value;
      return std::nullopt;
    }
    case Stage::public_key: {
      if (text.empty()) {
        request_.public_key = default_key_;
        return std::nullopt;
      }
      auto r = check_public_key(text, options_.key_contents_valid);
      if (!r.ok()) return r.error;
      request_.public_key = std::move(*r.value);
      return std::nullopt;
    }
    case Stage::extra_protocols: {
      // The whole list at once (the environment); answers to the prompt come one by one, in answer().
      auto r = check_extra_protocols(text, options_.protocols);
      if (!r.ok()) return r.error;
      request_.extra_protocols = std::move(*r.value);
      return std::nullopt;
    }
    default:
      break;
  }
  return FieldError{"dialogue", "internal error: no field for this step"};
}

Prompt Dialogue::make_prompt(Stage stage) const {
  if (is_deploy_stage(stage)) return make_deploy_prompt(stage);
  Prompt p;
  p.field = variable_of(static_cast<int>(stage));
  switch (stage) {
    case Stage::username:
      p.text = "Username";
      break;
    case Stage::password:
      p.text = "Password";
      p.secret = true;
      break;
    case Stage::container_name:
      p.text = "Container name";
      break;
    case Stage::distribution: {
      p.text = "Linux distribution (";
      for (size_t i = 0; i < options_.distributions.size(); ++i) {
        if (i != 0) p.text += ", ";
        p.text += options_.distributions[i];
      }
      p.text += ")";
      p.default_value = options_.default_distribution;
      break;
    }
    case Stage::http_port:
      p.text = "HTTP port";
      // An update's empty answer keeps the port the container has.
      if (op_ != Operation::update) p.default_value = std::to_string(options_.default_http_port);
      break;
    case Stage::public_key:
      p.text = "Public key";
      p.default_value = default_key_;
      break;
    case Stage::extra_protocols: {
      p.text = "Extra protocol (empty to finish)";
      for (size_t i = 0; i < request_.extra_protocols.size(); ++i)
        p.text += (i == 0 ? " [chosen: " : ", ") + request_.extra_protocols[i];
      if (!request_.extra_protocols.empty()) p.text += "]";
      break;
    }
    default:
      break;
  }
  return p;
}

Step Dialogue::next() {
  if (final_) return *final_;
  Step step;
  switch (waiting_) {
    case Waiting::answer:
      step.kind = Step::prompt;
      step.question = prompt_;
      step.errors = notices_;
      return step;
    case Waiting::authentication:
      step.kind = Step::authenticate;
      return step;
    case Waiting::name_check:
      step.kind = Step::check_name;
      return step;
    case Waiting::repository_check:
      step.kind = Step::check_repository;
      return step;
    case Waiting::nothing:
      break;
  }
  while (stage_ < stages_.size()) {
    const Stage stage = stages_[stage_];
    if (stage == Stage::authenticate) {
      waiting_ = Waiting::authentication;
      step.kind = Step::authenticate;
      return step;
    }
    if (stage == Stage::check_name) {
      waiting_ = Waiting::name_check;
      step.kind = Step::check_name;
      return step;
    }
    if (stage == Stage::check_repository) {
      if (op_ == Operation::create && !deploy_.value_or(false)) {
        advance();
        continue;
      }
      waiting_ = Waiting::repository_check;
      step.kind = Step::check_repository;
      return step;
    }
    if (stage == Stage::deploy_check) {
      // Reached only interactively (non-interactive start() ran it): a broken rule between two
      // variables asks for the first one it names again.
      auto errors = check_deploy();
      if (final_) return *final_;
      if (errors.empty()) {
        advance();
        continue;
      }
      const auto target = stage_of(errors.front().field);
      if (!target) {
        fail(Errc::invalid_argument, std::move(errors));
        return *final_;
      }
      reask(*target, std::move(errors), Stage::deploy_check);
      continue;
    }
    // Only interactive mode reaches a field stage: non-interactive start() removed them.
    if (stage == Stage::extra_protocols && options_.protocols.empty() && !env_value("EXTRA_PROTOCOLS")) {
      advance();  // nothing to offer, and nothing asked for that would need refusing
      continue;
    }
    if (reasking_ != stage && skipped(stage)) {
      advance();
      continue;
    }
    const uint64_t bit = uint64_t{1} << static_cast<unsigned>(stage);
    if ((env_tried_ & bit) == 0) {
      // An environment value is used at most once; after "name taken" the user must type one.
      env_tried_ |= bit;
      if (auto value = env_value(variable_of(static_cast<int>(stage)))) {
        from_env_ = true;
        auto error = apply(stage, *value);
        from_env_ = false;
        if (final_) return *final_;
        if (!error) {
          if (!std::exchange(jumped_, false)) advance();
          continue;
        }
        notices_.push_back(std::move(*error));
      }
    }
    prompt_ = make_prompt(stage);
    waiting_ = Waiting::answer;
    step.kind = Step::prompt;
    step.question = prompt_;
    step.errors = notices_;
    return step;
  }
  step.kind = Step::done;
  step.error_class = Errc::invalid_argument;
  final_ = step;
  return step;
}

std::optional<FieldError> Dialogue::answer(std::string value) {
  if (final_ || waiting_ != Waiting::answer) return FieldError{"dialogue", "no question is pending"};
  // The session may hand over the raw line; its terminator is not part of the answer.
  if (value.ends_with('\n')) value.pop_back();
  if (value.ends_with('\r')) value.pop_back();
  notices_.clear();
  const Stage stage = stages_[stage_];
  if (stage == Stage::extra_protocols) {
    // Repeatable: each answer adds one protocol and the prompt comes again; empty finishes.
    if (value.empty()) {
      advance();
      return std::nullopt;
    }
    auto r = check_extra_protocol(value, options_.protocols, request_.extra_protocols);
    if (!r.ok()) return r.error;
    request_.extra_protocols.push_back(std::move(*r.value));
    prompt_ = make_prompt(Stage::extra_protocols);
    return std::nullopt;
  }
  if (repeated(stage)) {
    bool finished = false;
    auto error = answer_repeated(stage, value, finished);
    wipe(value);
    if (error) return error;
    if (finished) {
      advance();
    } else {
      prompt_ = make_prompt(stage);
    }
    return std::nullopt;
  }
  auto error = apply(stage, value);
  // The answer may be a password, a token or an environment value; wipe the copy before it is freed.
  wipe(value);
  if (error) return error;
  if (final_) return std::nullopt;
  if (!std::exchange(jumped_, false)) advance();
  return std::nullopt;
}

void Dialogue::set_authenticated(bool ok) {
  // Out-of-order calls are ignored: a stray set_authenticated(true) must never skip a check.
  if (final_ || waiting_ != Waiting::authentication) return;
  waiting_ = Waiting::nothing;
  if (!ok) {
    // One message whatever went wrong, so the reply does not reveal which usernames exist.
    fail(Errc::auth_failed, {FieldError{"authentication", "username or password is wrong"}});
    return;
  }
  advance();
}

void Dialogue::set_name_available(bool ok) {
  if (final_ || waiting_ != Waiting::name_check) return;
  waiting_ = Waiting::nothing;
  if (ok) {
    advance();
    return;
  }
  if (op_ == Operation::create && interactive()) {
    request_.container_name.clear();
    notices_ = {FieldError{"CONTAINER_NAME", "is already taken; choose another name"}};
    --stage_;  // check_name always directly follows container_name
    return;
  }
  if (op_ == Operation::create) {
    fail(Errc::conflict, {FieldError{"CONTAINER_NAME", "is already taken"}});
  } else {
    fail(Errc::not_found, {FieldError{"CONTAINER_NAME", "no such container of yours"}});
  }
}

void Dialogue::set_repository_checked(std::optional<FieldError> error, std::string resolved_branch,
                                      std::string commit) {
  if (final_ || waiting_ != Waiting::repository_check) return;
  waiting_ = Waiting::nothing;
  if (!error) {
    if (request_.deploy) {
      if (!resolved_branch.empty()) request_.deploy->branch = std::move(resolved_branch);
      request_.deploy->commit = std::move(commit);
    }
    advance();
    return;
  }
  auto target = stage_of(error->field);
  // A create asks again only for what the check looked at: the stages after it were not asked yet.
  if (target && op_ == Operation::create && index_of(*target) > index_of(Stage::check_repository)) target.reset();
  if (!interactive() || !target) {
    fail(Errc::invalid_argument, {std::move(*error)});
    return;
  }
  // Create: the repository fields go straight into the request, so the check follows the
  // answer; update: the answer goes through the deploy check first.
  reask(*target, {std::move(*error)}, op_ == Operation::update ? Stage::deploy_check : Stage::check_repository);
}

}  // namespace lxcprov::request
