#include "protocol/operations.hpp"

#include <array>
#include <utility>

namespace lxcprov::protocol {

namespace {

// "delete" maps to Operation::destroy because `delete` is a C++ keyword; the wire name is the one
// users type after `ssh`, so it stays "delete".
constexpr std::array<std::pair<Operation, std::string_view>, 9> operation_names{{
    {Operation::create, "create"},
    {Operation::exists, "exists"},
    {Operation::destroy, "delete"},
    {Operation::status, "status"},
    {Operation::logs, "logs"},
    {Operation::list, "list"},
    {Operation::update, "update"},
    {Operation::info, "info"},
    {Operation::app_logs, "app-logs"},
}};

}  // namespace

std::string_view to_string(Operation op) {
  for (const auto& [value, name] : operation_names) {
    if (value == op) return name;
  }
  return "unknown";
}

std::optional<Operation> parse_operation(std::string_view text) {
  // Exact match only: the verb comes from SSH_ORIGINAL_COMMAND, and accepting variants
  // ("Create", " create") would widen what an attacker can smuggle through that channel.
  for (const auto& [value, name] : operation_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::vector<std::string> accepted_env(Operation op) {
  // Same names as the old sshd_config AcceptEnv lines (mie-inventory.md section 1), so existing
  // workflows keep sending what they send; GH_ACTION is added for the non-interactive switch.
  switch (op) {
    case Operation::create:
      return {"SSH_KEY_FP",         "PUBLIC_KEY",       "PROXMOX_USERNAME",   "PROXMOX_PASSWORD",   "CONTAINER_NAME",
              "CONTAINER_PASSWORD", "HTTP_PORT",        "DEPLOY_ON_START",    "PROJECT_REPOSITORY", "PROJECT_BRANCH",
              "PROJECT_ROOT",       "REQUIRE_ENV_VARS", "CONTAINER_ENV_VARS", "INSTALL_COMMAND",    "BUILD_COMMAND",
              "START_COMMAND",      "RUNTIME_LANGUAGE", "SERVICES",           "REQUIRE_SERVICES",   "CUSTOM_SERVICES",
              "LINUX_DISTRIBUTION", "MULTI_COMPONENT",  "ROOT_START_COMMAND", "GH_ACTION",          "GITHUB_PAT",
              "SELF_HOSTED_RUNNER", "VERSIONS_DICT",    "EXTRA_PROTOCOLS",    "PROJECT_TOKEN"};
    case Operation::exists:
      return {"PROXMOX_PASSWORD",   "PROXMOX_USERNAME", "CONTAINER_NAME",
              "PROJECT_REPOSITORY", "DEPLOY_ON_START",  "GH_ACTION"};
    case Operation::destroy:
      return {"PROXMOX_PASSWORD",   "PROXMOX_USERNAME", "CONTAINER_NAME",
              "PROJECT_REPOSITORY", "GITHUB_PAT",       "GH_ACTION"};
    case Operation::update:
      // The old update-container AcceptEnv list, plus the token (the old one never took it, so
      // private repositories could not be updated) and its clearer new name.
      return {"CONTAINER_NAME",     "PROXMOX_USERNAME",   "PROXMOX_PASSWORD", "PROJECT_BRANCH", "PROJECT_ROOT",
              "PROJECT_REPOSITORY", "INSTALL_COMMAND",    "BUILD_COMMAND",    "START_COMMAND",  "RUNTIME_LANGUAGE",
              "MULTI_COMPONENT",    "ROOT_START_COMMAND", "DEPLOY_ON_START",  "SERVICES",       "CUSTOM_SERVICES",
              "REQUIRE_SERVICES",   "LINUX_DISTRIBUTION", "GH_ACTION",        "HTTP_PORT",      "CONTAINER_ENV_VARS",
              "REQUIRE_ENV_VARS",   "GITHUB_PAT",         "PROJECT_TOKEN"};
    case Operation::status:
    case Operation::logs:
    case Operation::list:
    case Operation::info:
    case Operation::app_logs:
      return {"PROXMOX_USERNAME", "PROXMOX_PASSWORD", "GH_ACTION"};
  }
  return {};
}

}  // namespace lxcprov::protocol
