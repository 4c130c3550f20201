#pragma once
// The messages of the lxcprov-shell <-> lxcprovd protocol (docs/protocol.md) and their JSON forms.
// Pure. Decoding checks every member's type and size, so the daemon treats a frame forged by hand
// on the socket exactly like one from lxcprov-shell.

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace lxcprov::protocol {

inline constexpr int version = 1;

// shell -> daemon ----------------------------------------------------------------------------

/// First message of every session.
struct Hello {
  std::string op;                          ///< "create", "exists", "delete", "status", "logs", "list"
  bool tty = false;                        ///< stdin and stdout are a terminal
  std::map<std::string, std::string> env;  ///< the allow-listed variables that were set
  std::vector<std::string> args;           ///< words after the verb (e.g. a job id)
  std::string session_key;                 ///< the key the ssh session logged in with, or ""
  /// The fingerprint in the authorized_keys command= (--key-id), or "". Only a cross-check: the
  /// identity comes from session_key and the daemon's key registry.
  std::string key_id;
  /// The ssh client's address from SSH_CLIENT, or "". Advisory (brute-force accounting only).
  std::string client_addr;
  /// Set only by a fleet entry relaying a session it authenticated (docs/protocol.md, "Relayed
  /// sessions"): the user it proved. Believed only from the node's relay account; from any other
  /// peer it fails the session.
  std::string relay_user = "";
  /// With relay_user: how many answers the entry's dialogue kept, which the node's must match.
  int relay_answers = 0;
};

/// Reply to a Prompt.
struct Answer {
  std::string value;
};

// daemon -> shell ----------------------------------------------------------------------------

struct PromptMsg {
  std::string field;
  std::string text;
  bool secret = false;
  std::string default_value;
};

/// A line to show on stderr (a broken rule before a re-prompt, a warning).
struct Notice {
  std::string text;
};

/// A step of the job started or finished.
struct Progress {
  std::string job;
  std::string step;
  std::string text;
};

/// Lines a command of the job wrote (install, build output), already escaped by the daemon.
struct Output {
  std::string job;
  std::string step;
  std::vector<std::string> lines;
};

/// Last message: the exit code and the lines to print (stdout on success, stderr otherwise).
struct Final {
  int exit_code = 0;
  std::vector<std::string> lines;
};

nlohmann::json to_json(const Hello& m);
nlohmann::json to_json(const Answer& m);
nlohmann::json to_json(const PromptMsg& m);
nlohmann::json to_json(const Notice& m);
nlohmann::json to_json(const Progress& m);
nlohmann::json to_json(const Output& m);
nlohmann::json to_json(const Final& m);

/// Limits on what a Hello may carry (sshd itself passes at most ~129 variables).
inline constexpr size_t max_env_vars = 128;
inline constexpr size_t max_value_bytes = 64 * 1024;
inline constexpr size_t max_args = 8;

Result<Hello> hello_from_json(const nlohmann::json& j);
Result<Answer> answer_from_json(const nlohmann::json& j);
Result<PromptMsg> prompt_from_json(const nlohmann::json& j);
Result<Notice> notice_from_json(const nlohmann::json& j);
Result<Progress> progress_from_json(const nlohmann::json& j);
Result<Output> output_from_json(const nlohmann::json& j);
Result<Final> final_from_json(const nlohmann::json& j);

}  // namespace lxcprov::protocol
