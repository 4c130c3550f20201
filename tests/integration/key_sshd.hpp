#pragma once
// A daemon and an sshd of one test suite's own, for key-bound identities (access_test,
// multiplex_test): the daemon runs from the world's config with its own socket, state, key registry
// and address slice; its authorized_keys live in a root-owned directory under /run (sshd's
// StrictModes refuses key files under /tmp, where the world lives); alice and bob each get an
// ed25519 key registered with lxcprovctl; the sshd is rendered by scripts/setup-sshd.sh on a free
// loopback port and reached as ssh host `name` through `ssh_config`.

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.hpp"

namespace lxcprov::it {

struct KeySshd {
  struct Options {
    std::string name;                             ///< files and the ssh Host are named after it ("access", "mux")
    std::string first, last;                      ///< the daemon's address slice: last octets on the world's /24
    std::function<void(nlohmann::json&)> config;  ///< more daemon config
    std::string ssh_options;                      ///< more lines of its ssh_config Host block
  };

  std::string name, run_dir, keys_dir, sshd_dir, ssh_config, ctl_config, socket;
  std::string alice_key, bob_key;  ///< private key paths
  int port = 0;
  pid_t daemon_pid = -1;
  bool ready = false;  ///< set when everything above is up

  /// Starts all of it, or records gtest failures (call from SetUpTestSuite; `ready` says which).
  void start(const Options& options);
  void stop();
  /// lxcprovctl on this daemon's config.
  ProcResult ctl(const std::vector<std::string>& args, const std::string& input = "") const;
  /// The owner recorded for container `name`, or "".
  std::string owner_of(const std::string& container) const;
};

}  // namespace lxcprov::it
