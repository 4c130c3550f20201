#pragma once
// Config: everything lxcprovd reads from /etc/lxcprov/lxcprovd.json. Every key has an embedded
// default, so an empty object (or no file) is a working configuration. Parsing is pure; the
// caller reads the file. Errors name the key and the rule.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::config {

struct Distribution {
  std::string name;           ///< LINUX_DISTRIBUTION value, e.g. "debian"
  std::string template_name;  ///< stopped container in lxcpath to snapshot-clone, e.g. "tpl-debian"
};

struct Network {
  std::string bridge = "lxcprov0";
  std::string subnet = "10.47.0.0/24";
  std::string gateway = "10.47.0.1";
  std::string first = "10.47.0.10";
  std::string last = "10.47.0.254";
};

struct Config {
  std::string socket_path = "/run/lxcprov/lxcprovd.sock";
  /// Local accounts allowed to connect (besides root), checked with SO_PEERCRED.
  std::vector<std::string> allowed_peers = {"create-container", "container-exists", "delete-container"};
  std::string database = "/var/lib/lxcprov/state.db";
  std::string lxcpath = "/var/lib/lxcprov/lxc";
  std::string passwd_file = "/etc/lxcprov/passwd";
  int workers = 4;                  ///< jobs that run at once; more wait in line
  int max_sessions = 256;           ///< connections served at once; more are refused
  uint32_t frame_limit = 1u << 20;
  std::chrono::seconds answer_timeout{300};  ///< how long a prompt waits for its answer
  std::chrono::milliseconds start_timeout{15000};
  int64_t ctid_min = 100;
  Network network;
  std::vector<Distribution> distributions = {{"busybox", "tpl-busybox"}, {"debian", "tpl-debian"}};
  std::string default_distribution = "busybox";
  uint16_t default_http_port = 3000;
  /// Host name users reach containers through, shown in the final message.
  std::string public_host = "127.0.0.1";
  /// Extra lxc.* keys for every container (resource limits...), applied in order.
  std::vector<std::pair<std::string, std::string>> lxc_config;
  /// Test builds only: honour LXCPROV_FAIL_AT=<step> in a request to inject a failure.
  bool allow_fault_injection = false;

  network::IpPool pool;  ///< derived from `network` by parse()
  std::vector<std::string> distribution_names() const;
  const Distribution* find_distribution(std::string_view name) const;
};

/// Parses the JSON text of a config file over the embedded defaults.
Result<Config> parse(std::string_view json_text);
/// The embedded defaults (parse("{}")).
Config defaults();

}  // namespace lxcprov::config
