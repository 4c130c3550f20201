#pragma once
// What lxcprovctl's command files share (see main.cpp for the commands). Single-threaded tool.

#include <functional>
#include <string>
#include <vector>

#include "audit/event.hpp"
#include "config/config.hpp"

namespace lxcprov::ctl {

/// Prints the usage text; returns exit code 2.
int usage();
/// Prints "lxcprovctl: MESSAGE"; returns exit code 1.
int fail(const std::string& message);
/// The last message fail() printed: the detail of a failed admin change in the audit trail.
const std::string& last_failure();
/// What a successful admin change adds to its audit entry (a key's fingerprint, a seal's digest).
std::string& audit_detail();

/// `template list|seal|verify|build|unseal ...` (template_cmd.cpp); `args` without "template".
int template_command(const config::Config& cfg, const std::vector<std::string>& args);

/// `doctor [--sshd-config FILE]` (doctor_cmd.cpp): one line per host check; exit 1 if any failed.
int doctor_command(const config::Config& cfg, const std::vector<std::string>& args);

/// `node add NAME --endpoint HOST[:PORT] --subnet CIDR [--templates D1,D2] | list | drain NAME |
/// undrain NAME | remove NAME` (node_cmd.cpp): the fleet's node registry.
int node_command(const config::Config& cfg, const std::vector<std::string>& args);

/// `audit verify [--anchor SEQ:HASH] | show [--since TIME] [--json]` (audit_cmd.cpp).
int audit_command(const config::Config& cfg, const std::vector<std::string>& args);
/// Runs an admin change `change` and records it in the audit trail as `kind` on `target`. The
/// trail is opened first: a change that could not be recorded is not made (exit 1).
int audited(const config::Config& cfg, audit::Kind kind, const std::string& target, const std::function<int()>& change);

}  // namespace lxcprov::ctl
