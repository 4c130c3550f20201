#pragma once
// Dialogue: the state machine that turns environment variables and answers into a validated
// Request. Pure: it never reads a terminal, a socket or a clock. The session drives it:
//
//   Dialogue d(op, options, env);
//   for (auto s = d.next(); ; s = d.next()) switch (s.kind) {
//     case Step::prompt:       send s.question; d.answer(reply) -> maybe an error to show, then loop
//     case Step::authenticate: check d.request().username/password; d.set_authenticated(ok)
//     case Step::check_name:   look d.request().container_name up; d.set_name_available(ok)
//     case Step::check_repository: check d.request().deploy's repository, branch and root with git
//                              (create), or deploy::merge(stored, *deploy, deploy_given) then that
//                              (update); d.set_repository_checked(error, branch, commit)
//     case Step::done:         use d.request() (show its notes first)
//     case Step::failed:       report s.errors (one line each), exit with s.error_class
//   }
//
// Interactive mode (a TTY and GH_ACTION not y/Y) prompts for every field that is unset, and after
// an invalid answer says which rule was broken and asks again. A field set in the environment is
// not asked for when valid; when invalid, the error is shown and the field is asked for.
// Non-interactive mode never prompts: it validates everything it was given, and fails with one
// FieldError per missing or invalid field (all of them, not just the first).
//
// Operations and their steps (credentials = username, password, authenticate unless key-bound):
//   create    credentials, CONTAINER_NAME, check_name, LINUX_DISTRIBUTION, HTTP_PORT, PUBLIC_KEY,
//             EXTRA_PROTOCOLS, then the deploy variables in the old system's order: DEPLOY_ON_START,
//             PROJECT_REPOSITORY, the token (PROJECT_TOKEN or GITHUB_PAT; a new prompt),
//             PROJECT_BRANCH, PROJECT_ROOT, check_repository, MULTI_COMPONENT, REQUIRE_ENV_VARS,
//             CONTAINER_ENV_VARS, BUILD_COMMAND, INSTALL_COMMAND, START_COMMAND, ROOT_START_COMMAND,
//             RUNTIME_LANGUAGE, REQUIRE_SERVICES, SERVICES (CUSTOM_SERVICES)
//   update    credentials, CONTAINER_NAME, check_name, the same deploy variables and HTTP_PORT, all
//             optional and never prompted for unless set but invalid, then check_repository
//   info, app-logs   NAME [LINES] from args, credentials, check_name
// Deployment happens when DEPLOY_ON_START is y, or (GH_ACTION=y) when it is unset and
// RUNTIME_LANGUAGE is set, as the old system did. Variables an old client sends that lxcprov
// does not use become Request::notes.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "deploy/catalog.hpp"
#include "request/deploy_input.hpp"
#include "request/request.hpp"
#include "request/validation.hpp"

namespace lxcprov::request {

/// The deploy section of the config and the catalogs, as far as the requests' rules need them.
struct DeployOptions {
  bool enabled = false;                    ///< deploy.enabled: false refuses every deployment
  std::vector<std::string> distributions;  ///< deploy.distributions
  std::vector<std::string> allowed_hosts;  ///< deploy.git.allowed_hosts
  bool allow_custom_services = false;      ///< deploy.allow_custom_services
  deploy::Catalog catalog;                 ///< runtimes.json and services.json
};

struct DialogueOptions {
  bool tty = false;                        ///< the ssh session has a TTY
  std::vector<std::string> distributions;  ///< allowed LINUX_DISTRIBUTION values
  std::string default_distribution;        ///< used when LINUX_DISTRIBUTION is empty/unset
  uint16_t default_http_port = 3000;
  std::string session_key;             ///< key the ssh session authenticated with, or ""
  std::string bound_user;              ///< identity fixed by the key's command= (no password)
  std::vector<std::string> args;       ///< words of SSH_ORIGINAL_COMMAND after the verb (job id)
  std::vector<std::string> protocols;  ///< extra-protocol catalog names (EXTRA_PROTOCOLS); empty: none offered
  KeyContentCheck key_contents_valid;  ///< PUBLIC_KEY's cryptographic check (auth/ssh_key.hpp); empty: layout only
  DeployOptions deploy;
};

struct Prompt {
  std::string field;          ///< variable name, e.g. "CONTAINER_NAME"
  std::string text;           ///< e.g. "Container name"
  bool secret = false;        ///< do not echo the answer
  std::string default_value;  ///< shown as "[3000]"; an empty answer takes it
};

struct Step {
  enum Kind { prompt, authenticate, check_name, check_repository, done, failed } kind = failed;
  // Not named `prompt`: a data member may not share its name with the enumerator Step::prompt.
  Prompt question;  ///< for Kind::prompt
  /// For Kind::failed: every broken rule. For Kind::prompt: notices to show before asking (the
  /// environment value of this field was invalid, or the name is taken).
  std::vector<FieldError> errors;
  Errc error_class = Errc::invalid_argument;  ///< for Kind::failed
};

class Dialogue {
 public:
  Dialogue(Operation op, DialogueOptions options, std::map<std::string, std::string> env);

  /// True when prompts may be shown (TTY and GH_ACTION is not y/Y).
  bool interactive() const;

  /// What the session must do next.
  Step next();

  /// Answer to the last prompt. Returns the error to show before the same prompt is asked again,
  /// or nullopt when accepted.
  std::optional<FieldError> answer(std::string value);

  /// Result of Step::authenticate. false ends the dialogue with Errc::auth_failed.
  void set_authenticated(bool ok);
  /// Result of Step::check_name (create: true = name free; others: true = container exists and
  /// the caller may act on it: update the owner only, info and app-logs the owner or an admin).
  /// false: interactive create asks for another name; otherwise the dialogue fails with
  /// Errc::conflict (create) or Errc::not_found (others).
  void set_name_available(bool ok);
  /// Result of Step::check_repository. nullopt: the repository, branch and root are fine;
  /// `resolved_branch` (the remote's default when PROJECT_BRANCH was empty) and `commit` go into
  /// request().deploy. An error names PROJECT_REPOSITORY, PROJECT_BRANCH or PROJECT_ROOT (update:
  /// also any variable a deploy::merge error names): interactive mode shows it and asks for that
  /// variable again, then comes back to this step; otherwise the dialogue fails with
  /// Errc::invalid_argument. Update with nothing stored and nothing given: call with nullopt, "", "".
  void set_repository_checked(std::optional<FieldError> error, std::string resolved_branch, std::string commit);

  const Request& request() const { return request_; }
  Request take_request() { return std::move(request_); }

 private:
  // The steps of one operation in order. Field stages are asked for (or taken from the
  // environment); authenticate and check_name are handed to the session.
  enum class Stage {
    username,
    password,
    authenticate,
    container_name,
    check_name,
    distribution,
    http_port,
    public_key,
    extra_protocols,
    // deploy (deploy_input.hpp); the order is the old system's prompt order
    deploy_on_start,
    repository,
    token,
    branch,
    root,
    check_repository,
    multi,
    require_env,
    env_vars,
    build,
    install,
    start,
    root_start,
    runtime,
    require_services,
    services,
    custom_services,
    deploy_check,  ///< the rules between the variables; not a step of the session
  };
  enum class Waiting { nothing, answer, authentication, name_check, repository_check };

  void start();
  std::optional<std::string_view> env_value(const std::string& name) const;
  std::optional<FieldError> apply(Stage stage, std::string_view text);
  Prompt make_prompt(Stage stage) const;
  void fail(Errc code, std::vector<FieldError> errors);
  /// Moves to the next stage, or back to where a re-asked stage interrupted the order.
  void advance();
  /// Asks `stage` again with `notices`, then continues at `resume` (nullopt: in order).
  void reask(Stage stage, std::vector<FieldError> notices, std::optional<Stage> resume);
  size_t index_of(Stage stage) const;
  static std::string variable_of_stage(Stage stage);

  // dialogue_deploy.cpp
  void start_deploy(std::vector<FieldError>& errors);
  bool is_deploy_stage(Stage stage) const;
  bool skipped(Stage stage) const;
  std::optional<FieldError> apply_deploy(Stage stage, std::string_view text);
  std::optional<FieldError> answer_repeated(Stage stage, std::string& value, bool& finished);
  bool repeated(Stage stage) const;
  Prompt make_deploy_prompt(Stage stage) const;
  std::optional<FieldError> missing_deploy_value(Stage stage) const;
  std::vector<FieldError> check_deploy();
  std::optional<Stage> stage_of(std::string_view field) const;
  void clear_deploy_value(Stage stage);
  void decide_deploy(bool deploy);
  std::vector<std::string> app_variables_set() const;
  std::vector<std::string> components_without_runtime() const;

  Operation op_;
  DialogueOptions options_;
  std::map<std::string, std::string> env_;     ///< minus the secrets: dropped on arrival, wiped
  Secret env_password_;                        ///< PROXMOX_PASSWORD from the environment
  Secret env_token_;                           ///< PROJECT_TOKEN (or GITHUB_PAT) from the environment
  std::string token_field_ = "PROJECT_TOKEN";  ///< the variable env_token_ came from
  Secret env_vars_;                            ///< CONTAINER_ENV_VARS from the environment
  Request request_;
  std::vector<Stage> stages_;
  size_t stage_ = 0;
  Waiting waiting_ = Waiting::nothing;
  Prompt prompt_;
  std::vector<FieldError> notices_;  ///< shown with the next prompt (bad env value, name taken)
  uint64_t env_tried_ = 0;           ///< bit per Stage: its variable was already used once
  std::string default_key_;          ///< options_.session_key if it passes the key rules, else ""
  std::optional<Step> final_;        ///< done or failed: returned by every later next()
  std::optional<size_t> resume_;     ///< where to go once the re-asked stage is answered
  std::optional<Stage> reasking_;    ///< the stage being asked again (asked even where optional)

  // Deployment (dialogue_deploy.cpp).
  std::optional<bool> deploy_;            ///< create: deploy at all (nullopt: not decided yet)
  bool forced_ = false;                   ///< decided by GH_ACTION + RUNTIME_LANGUAGE, not DEPLOY_ON_START
  std::optional<bool> require_env_;       ///< REQUIRE_ENV_VARS, or implied by CONTAINER_ENV_VARS
  std::optional<bool> require_services_;  ///< REQUIRE_SERVICES, or implied by SERVICES / CUSTOM_SERVICES
  bool token_env_ok_ = false;             ///< the environment's token was valid: never asked for
  bool token_conflict_ = false;           ///< PROJECT_TOKEN and GITHUB_PAT both set, and different
  bool from_env_ = false;                 ///< apply() is given an environment value, not an answer
  bool jumped_ = false;                   ///< apply() moved to another stage (reask): do not advance
  bool custom_asked_ = false;             ///< "C" was answered: CUSTOM_SERVICES is asked for
  bool plain_form_ = false;               ///< update: some per-component value came as plain text
  bool json_form_ = false;                ///< update: some came as a JSON object
  DeployInput input_;
};

}  // namespace lxcprov::request
