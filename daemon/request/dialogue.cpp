#include "request/dialogue.hpp"

#include <array>
#include <string_view>
#include <utility>

#include "request/validation.hpp"

namespace lxcprov::request {

namespace {

// Variables of the old app-deployment flow. Ignoring them would create a bare container while the
// caller believes its app was deployed, so they are refused by name until deployment exists.
constexpr std::array<std::string_view, 16> deploy_variables{
    "PROJECT_REPOSITORY", "PROJECT_BRANCH",     "PROJECT_ROOT",     "INSTALL_COMMAND",
    "BUILD_COMMAND",      "START_COMMAND",      "RUNTIME_LANGUAGE", "SERVICES",
    "REQUIRE_SERVICES",   "CUSTOM_SERVICES",    "MULTI_COMPONENT",  "ROOT_START_COMMAND",
    "REQUIRE_ENV_VARS",   "CONTAINER_ENV_VARS", "VERSIONS_DICT",    "SELF_HOSTED_RUNNER",
};
constexpr std::string_view deploy_message = "app deployment is not supported by this lxcprov version; unset it";

// Accepted for compatibility with old callers, never used: they are dropped on arrival so that
// no copy outlives the constructor.
constexpr std::array<std::string_view, 3> ignored_variables{"CONTAINER_PASSWORD", "GITHUB_PAT", "SSH_KEY_FP"};

void wipe(std::string& text) {
  volatile char* p = text.data();
  for (size_t i = 0; i < text.size(); ++i) p[i] = 0;
  text.clear();
}

bool is_yes(std::string_view text) { return text == "y" || text == "Y"; }

std::string variable_of(int stage) {
  // Indexed by Dialogue::Stage; authenticate and check_name have no variable.
  static constexpr std::array<std::string_view, 9> names{
      "PROXMOX_USERNAME",   "PROXMOX_PASSWORD", "",           "CONTAINER_NAME", "",
      "LINUX_DISTRIBUTION", "HTTP_PORT",        "PUBLIC_KEY", "EXTRA_PROTOCOLS"};
  return std::string(names.at(static_cast<size_t>(stage)));
}

bool uses_container_name(Operation op) {
  return op == Operation::create || op == Operation::exists || op == Operation::destroy;
}

}  // namespace

Dialogue::Dialogue(Operation op, DialogueOptions options, std::map<std::string, std::string> env)
    : op_(op), options_(std::move(options)), env_(std::move(env)) {
  request_.op = op_;
  for (auto name : ignored_variables) {
    if (auto it = env_.find(std::string(name)); it != env_.end()) {
      wipe(it->second);
      env_.erase(it);
    }
  }
  if (auto it = env_.find("PROXMOX_PASSWORD"); it != env_.end()) {
    // A key-bound identity has no password; one sent anyway is discarded, not kept.
    // Copied, not moved: a moved-from short string keeps its bytes in the inline buffer, where
    // wipe() (which clears size() bytes) could not reach them.
    if (options_.bound_user.empty()) env_password_ = Secret(it->second);
    wipe(it->second);
    env_.erase(it);
  }
  start();
}

bool Dialogue::interactive() const {
  const auto gh = env_.find("GH_ACTION");
  return options_.tty && !(gh != env_.end() && is_yes(gh->second));
}

std::optional<std::string_view> Dialogue::env_value(const std::string& name) const {
  // GitHub Actions forwards unset inputs as empty strings, so empty means unset.
  if (name == "PROXMOX_PASSWORD") {
    if (env_password_.empty()) return std::nullopt;
    return env_password_.reveal();
  }
  const auto it = env_.find(name);
  if (it == env_.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

void Dialogue::fail(Errc code, std::vector<FieldError> errors) {
  // A password is worthless to everything after a failure; do not keep it around.
  request_.password = Secret{};
  env_password_ = Secret{};
  Step step;
  step.kind = Step::failed;
  step.errors = std::move(errors);
  step.error_class = code;
  final_ = std::move(step);
  waiting_ = Waiting::nothing;
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
  if (uses_container_name(op_)) {
    stages_.push_back(Stage::container_name);
    stages_.push_back(Stage::check_name);
  }
  if (op_ == Operation::create) {
    stages_.push_back(Stage::distribution);
    stages_.push_back(Stage::http_port);
    stages_.push_back(Stage::public_key);
    stages_.push_back(Stage::extra_protocols);
  }

  std::vector<FieldError> errors;
  if (op_ == Operation::create) {
    for (auto name : deploy_variables) {
      if (env_value(std::string(name))) errors.push_back(FieldError{std::string(name), std::string(deploy_message)});
    }
    const auto deploy = env_.find("DEPLOY_ON_START");
    if (deploy != env_.end() && is_yes(deploy->second)) {
      errors.push_back(FieldError{"DEPLOY_ON_START", std::string(deploy_message)});
    }
  }
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
    if (stage == Stage::authenticate || stage == Stage::check_name) {
      rest.push_back(stage);
      continue;
    }
    const std::string name = variable_of(static_cast<int>(stage));
    const auto value = env_value(name);
    const bool required = stage == Stage::username || stage == Stage::password || stage == Stage::container_name;
    if (!value && required) {
      errors.push_back(FieldError{name, "is required (set it with ssh -o SendEnv=" + name + ")"});
      continue;
    }
    if (auto error = apply(stage, value.value_or(std::string_view{}))) errors.push_back(std::move(*error));
  }
  if (!errors.empty()) {
    fail(Errc::invalid_argument, std::move(errors));
    return;
  }
  stages_ = std::move(rest);
}

std::optional<FieldError> Dialogue::apply(Stage stage, std::string_view text) {
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
    case Stage::authenticate:
    case Stage::check_name:
      break;
  }
  return FieldError{"dialogue", "internal error: no field for this step"};
}

Prompt Dialogue::make_prompt(Stage stage) const {
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
      p.default_value = std::to_string(options_.default_http_port);
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
    case Stage::authenticate:
    case Stage::check_name:
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
    // Only interactive mode reaches a field stage: non-interactive start() removed them.
    if (stage == Stage::extra_protocols && options_.protocols.empty() && !env_value("EXTRA_PROTOCOLS")) {
      ++stage_;  // nothing to offer, and nothing asked for that would need refusing
      continue;
    }
    const unsigned bit = 1U << static_cast<unsigned>(stage);
    if ((env_tried_ & bit) == 0) {
      // An environment value is used at most once; after "name taken" the user must type one.
      env_tried_ |= bit;
      if (auto value = env_value(variable_of(static_cast<int>(stage)))) {
        auto error = apply(stage, *value);
        if (!error) {
          ++stage_;
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
  if (stages_[stage_] == Stage::extra_protocols) {
    // Repeatable: each answer adds one protocol and the prompt comes again; empty finishes.
    if (value.empty()) {
      waiting_ = Waiting::nothing;
      ++stage_;
      return std::nullopt;
    }
    auto r = check_extra_protocol(value, options_.protocols, request_.extra_protocols);
    if (!r.ok()) return r.error;
    request_.extra_protocols.push_back(std::move(*r.value));
    prompt_ = make_prompt(Stage::extra_protocols);
    return std::nullopt;
  }
  auto error = apply(stages_[stage_], value);
  // The answer may be a password; wipe the copy before it is freed.
  for (auto& c : value) reinterpret_cast<volatile char&>(c) = 0;
  if (error) return error;
  waiting_ = Waiting::nothing;
  ++stage_;
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
  ++stage_;
}

void Dialogue::set_name_available(bool ok) {
  if (final_ || waiting_ != Waiting::name_check) return;
  waiting_ = Waiting::nothing;
  if (ok) {
    ++stage_;
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

}  // namespace lxcprov::request
