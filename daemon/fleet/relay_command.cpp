// The entry's ssh command to a node (see relay_command.hpp).

#include "fleet/relay_command.hpp"

#include <charconv>

namespace lxcprov::fleet {

Result<std::vector<std::string>> relay_command(const config::Fleet::Entry& entry, const std::string& endpoint) {
  std::string host = endpoint, port = "22";
  if (auto colon = endpoint.rfind(':'); colon != std::string::npos) {
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
      return make_error(Errc::invalid_argument, "node endpoint: the port after ':' must be 1-65535");
  }
  if (host.empty() || host.front() == '-')
    return make_error(Errc::invalid_argument, "node endpoint: must be HOST or HOST:PORT");
  return std::vector<std::string>{entry.ssh,   "-F",
                                  "/dev/null", "-T",
                                  "-o",        "BatchMode=yes",
                                  "-o",        "IdentitiesOnly=yes",
                                  "-o",        "IdentityFile=" + entry.key,
                                  "-o",        "StrictHostKeyChecking=yes",
                                  "-o",        "UserKnownHostsFile=" + entry.known_hosts,
                                  "-o",        "GlobalKnownHostsFile=/dev/null",
                                  "-o",        "ForwardAgent=no",
                                  "-o",        "ForwardX11=no",
                                  "-o",        "ClearAllForwardings=yes",
                                  "-o",        "ConnectTimeout=5",
                                  "-o",        "ServerAliveInterval=15",
                                  "-o",        "ServerAliveCountMax=3",
                                  "-o",        "LogLevel=ERROR",
                                  "-p",        port,
                                  "-l",        entry.user,
                                  "--",        host};
}

}  // namespace lxcprov::fleet
