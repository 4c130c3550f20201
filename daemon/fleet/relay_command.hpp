#pragma once
// The ssh command an entry runs to reach a node's relay account (docs/architecture.md, "Fleet").
// Pure: the argv only. Nothing a user typed is in it; the node's endpoint is validated when it is
// registered (fleet::node_from_input), and goes after "--" anyway.

#include <string>
#include <vector>

#include "common/result.hpp"
#include "config/config.hpp"

namespace lxcprov::fleet {

/// ssh with no config file but these options: batch mode, only `entry.key`, the node's host key
/// checked against `entry.known_hosts` (and nothing else), no forwarding of any kind, no tty, a
/// 5 s connect timeout and keepalives, as `entry.user` to `endpoint` ("host" or "host:port").
/// Errc::invalid_argument for an endpoint that is not host[:port].
Result<std::vector<std::string>> relay_command(const config::Fleet::Entry& entry, const std::string& endpoint);

}  // namespace lxcprov::fleet
