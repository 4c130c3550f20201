#pragma once
// Dialogue: the state machine that turns environment variables and answers into a validated
// Request. Pure: it never reads a terminal, a socket or a clock. The session drives it:
//
//   Dialogue d(op, options, env);
//   for (auto s = d.next(); ; s = d.next()) switch (s.kind) {
//     case Step::prompt:       send s.question; d.answer(reply) -> maybe an error to show, then loop
//     case Step::authenticate: check d.request().username/password; d.set_authenticated(ok)
//     case Step::check_name:   look d.request().container_name up; d.set_name_available(ok)
//     case Step::done:         use d.request()
//     case Step::failed:       report s.errors (one line each), exit with s.error_class
//   }
//
// Interactive mode (a TTY and GH_ACTION not y/Y) prompts for every field that is unset, and after
// an invalid answer says which rule was broken and asks again. A field set in the environment is
// not asked for when valid; when invalid, the error is shown and the field is asked for.
// Non-interactive mode never prompts: it validates everything it was given, and fails with one
// FieldError per missing or invalid field (all of them, not just the first).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "request/request.hpp"
#include "request/validation.hpp"

namespace lxcprov::request {

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
};

struct Prompt {
  std::string field;          ///< variable name, e.g. "CONTAINER_NAME"
  std::string text;           ///< e.g. "Container name"
  bool secret = false;        ///< do not echo the answer
  std::string default_value;  ///< shown as "[3000]"; an empty answer takes it
};

struct Step {
  enum Kind { prompt, authenticate, check_name, done, failed } kind = failed;
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
  /// the caller may act on it). false: interactive create asks for another name; otherwise the
  /// dialogue fails with Errc::conflict (create) or Errc::not_found (others).
  void set_name_available(bool ok);

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
    extra_protocols
  };
  enum class Waiting { nothing, answer, authentication, name_check };

  void start();
  std::optional<std::string_view> env_value(const std::string& name) const;
  std::optional<FieldError> apply(Stage stage, std::string_view text);
  Prompt make_prompt(Stage stage) const;
  void fail(Errc code, std::vector<FieldError> errors);

  Operation op_;
  DialogueOptions options_;
  std::map<std::string, std::string> env_;  ///< minus the secrets: dropped on arrival, wiped
  Secret env_password_;                     ///< PROXMOX_PASSWORD from the environment
  Request request_;
  std::vector<Stage> stages_;
  size_t stage_ = 0;
  Waiting waiting_ = Waiting::nothing;
  Prompt prompt_;
  std::vector<FieldError> notices_;  ///< shown with the next prompt (bad env value, name taken)
  unsigned env_tried_ = 0;           ///< bit per Stage: its variable was already used once
  std::string default_key_;          ///< options_.session_key if it passes the key rules, else ""
  std::optional<Step> final_;        ///< done or failed: returned by every later next()
};

}  // namespace lxcprov::request
