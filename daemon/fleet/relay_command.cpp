// The entry's ssh command to a node (see relay_command.hpp).

#include "fleet/relay_command.hpp"

#include "fleet/node_input.hpp"

namespace lxcprov::fleet {

Result<std::vector<std::string>> relay_command(const config::Fleet::Entry& entry, const std::string& endpoint) {
  // Checked again here, not only at registration: the registry is a table anyone with the
  // database can write.
  auto where = parse_endpoint(endpoint);
  if (!where) return make_error(Errc::invalid_argument, "node endpoint: " + where.error().message);
  const std::string port = std::to_string(where->port), host = where->host;
  const bool shared = entry.persist.count() > 0;
  std::vector<std::string> argv = {entry.ssh, "-F", "/dev/null", "-T"};
  for (const std::string& option : {
           std::string("BatchMode=yes"),
           std::string("IdentitiesOnly=yes"),
           "IdentityFile=" + entry.key,
           std::string("StrictHostKeyChecking=yes"),
           "UserKnownHostsFile=" + entry.known_hosts,
           std::string("GlobalKnownHostsFile=/dev/null"),
           std::string("ForwardAgent=no"),
           std::string("ForwardX11=no"),
           std::string("ClearAllForwardings=yes"),
           std::string(shared ? "ControlMaster=auto" : "ControlMaster=no"),
           "ControlPath=" + (shared ? entry.control_dir + "/%C" : std::string("none")),
           "ControlPersist=" + std::to_string(entry.persist.count()),
           std::string("ConnectTimeout=5"),
           std::string("ServerAliveInterval=15"),
           std::string("ServerAliveCountMax=3"),
           std::string("LogLevel=ERROR"),
       }) {
    argv.push_back("-o");
    argv.push_back(option);
  }
  for (const std::string& word : {std::string("-p"), port, std::string("-l"), entry.user, std::string("--"), host})
    argv.push_back(word);
  return argv;
}

}  // namespace lxcprov::fleet
