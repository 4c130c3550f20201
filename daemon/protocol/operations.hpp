#pragma once
// The operations a client may ask for and, for each, the environment variables lxcprov-shell
// forwards (the same names as the old sshd_config AcceptEnv lines, so existing automation keeps
// sending what it sends). Pure; part of the protocol library lxcprov-shell links.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::protocol {

enum class Operation { create, exists, destroy, status, logs, list, update, info, app_logs };

/// "create", "exists", "delete", "status", "logs", "list", "update", "info", "app-logs".
std::string_view to_string(Operation op);
/// Exact names only.
std::optional<Operation> parse_operation(std::string_view text);

/// The variables `op` reads; anything else a client sends is dropped by the shell and again by
/// the daemon.
std::vector<std::string> accepted_env(Operation op);

}  // namespace lxcprov::protocol
