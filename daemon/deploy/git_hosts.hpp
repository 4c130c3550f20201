#pragma once
// The hosts a repository may be fetched from (config deploy.git.allowed_hosts): "host" or
// "host:port", host a lower-case DNS name or an IPv4 address. A repository URL's authority is
// matched against them: "host" allows only https's own port 443, "host:port" only that port. Pure.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::deploy {

struct GitHost {
  std::string host;  ///< lower case
  uint16_t port = 443;
  bool operator==(const GitHost&) const = default;
};

/// "github.com", "git.example.org:8443", "10.0.0.5:3000": nullopt unless the host is a lower-case
/// DNS name (labels of a-z 0-9 '-', at most 253 characters) or a dotted-quad IPv4 address, and
/// the port (when given) is decimal 1-65535 without leading zeros.
std::optional<GitHost> parse_git_host(std::string_view text);

/// Whether `authority` (a URL's host[:port], already lower-cased) is one of `allowed` (entries as
/// in the config; an entry that does not parse matches nothing).
bool git_host_allowed(const GitHost& authority, const std::vector<std::string>& allowed);

}  // namespace lxcprov::deploy
