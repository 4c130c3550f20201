#pragma once
// Request: one operation asked of lxcprov, filled from environment variables and/or prompts by
// Dialogue and validated by pure code. No I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/secret.hpp"
#include "deploy/merge.hpp"
#include "deploy/spec.hpp"
#include "protocol/operations.hpp"

namespace lxcprov::request {

using protocol::accepted_env;
using protocol::Operation;
using protocol::parse_operation;
using protocol::to_string;

struct Request {
  Operation op = Operation::create;
  std::string username;                      ///< PROXMOX_USERNAME (or the identity bound by the ssh key)
  Secret password;                           ///< PROXMOX_PASSWORD; empty when the identity is key-bound
  std::string container_name;                ///< CONTAINER_NAME, lowercased
  std::string distribution;                  ///< LINUX_DISTRIBUTION, one of the configured names
  uint16_t http_port = 0;                    ///< HTTP_PORT
  std::string public_key;                    ///< PUBLIC_KEY: one OpenSSH public key line, or empty
  std::vector<std::string> extra_protocols;  ///< EXTRA_PROTOCOLS: catalog names, upper case, no repeats
  std::string job_id;                        ///< for status/logs
  /// update: HTTP_PORT when given, else 0 (unchanged). info / app-logs: container_name is NAME.
  /// create / update: what to deploy. create: nullopt = a bare container. update: the given
  /// variables only (nullopt fields mean "as stored"); see deploy::merge for how they combine.
  std::optional<deploy::DeploySpec> deploy;
  /// update: what the empty values of `deploy` cannot say (PROJECT_ROOT given as ".", a
  /// MULTI_COMPONENT switch, an env object for every component); the third argument of merge.
  deploy::Given deploy_given;
  deploy::DeploySecrets deploy_secrets;  ///< env values and the git token: never stored or logged
  unsigned log_lines = 200;              ///< app-logs: LINES, how many of the newest journal lines (1-10000)
  /// Shown to the user before the job runs: variables an old client sends that lxcprov accepts
  /// and does not use (e.g. SELF_HOSTED_RUNNER), each with why.
  std::vector<std::string> notes;
  /// Set by the daemon after authentication (config access.admins / admin_groups), never from
  /// client input: may see and delete every container and job.
  bool admin = false;
};

/// One broken rule: the variable's name and a sentence naming the rule.
struct FieldError {
  std::string field;    ///< e.g. "CONTAINER_NAME"
  std::string message;  ///< e.g. "must be 1-63 characters of a-z, 0-9 and '-', starting with a letter"
  bool operator==(const FieldError&) const = default;
};

/// "CONTAINER_NAME: must be ..." — the one-line form users see.
std::string format(const FieldError& error);

}  // namespace lxcprov::request
