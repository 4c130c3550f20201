#pragma once
// ContainerRuntime: the container operations lxcprov needs. Real implementation: LiblxcRuntime
// (container/liblxc_runtime.hpp). Every method blocks; call from a worker thread. Each method is safe to
// call concurrently for different container names.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "container/first_boot.hpp"

namespace lxcprov::container {

/// What a new container gets from its template clone. All values are validated before they get
/// here; the runtime still refuses any value containing a newline or NUL (config injection).
struct CloneSpec {
  std::string name;           ///< new container name (also the hostname)
  std::string template_name;  ///< existing stopped container in the same lxcpath
  std::string bridge;         ///< e.g. "lxcbr0"
  std::string ipv4_cidr;      ///< e.g. "10.0.3.10/24"
  std::string ipv4_gateway;   ///< e.g. "10.0.3.1"
  std::string hwaddr;         ///< e.g. "00:16:3e:00:00:0a" (derived from the IP: unique)
  /// Host-side veth name (lxc.net.0.veth.pair), 1-15 of a-z 0-9, e.g. "vlp0a2f000a" (derived from
  /// the IP: the isolation rules find the container's port by it). "" = liblxc picks a random one.
  std::string veth;
  std::map<std::string, std::string> extra;  ///< more lxc.* keys (limits...), applied in order
};

/// How every container the runtime makes is confined (rendered by config/confinement.hpp). The
/// runtime writes `keys` into each clone after the template's own, clones only templates whose
/// lxc.idmap is exactly `idmap`, and never starts a container without a user namespace.
struct Confinement {
  std::vector<std::pair<std::string, std::string>> keys;  ///< lxc.* items, repeated keys in order
  std::vector<std::string> idmap;                         ///< the lxc.idmap lines, e.g. "u 0 100000 65536"
  std::string seccomp_policy_path;                        ///< the file keys' lxc.seccomp.profile names
  std::string seccomp_policy;                             ///< its content
};

struct RunResult {
  int exit_status = -1;  ///< the command's exit status (128+N when killed by signal N)
  std::string output;    ///< stdout and stderr, truncated to a bound
};

/// How run_as() runs a command inside a container.
struct RunOptions {
  std::string input;  ///< written to stdin, then stdin is closed
  std::chrono::milliseconds timeout{30000};
  uid_t uid = 0;  ///< inside the container's user namespace
  gid_t gid = 0;
  /// Added to the clean environment (PATH, HOME, TERM), "NAME=value" each. May hold secrets (a
  /// git token): the runtime never logs or echoes them.
  std::vector<std::string> env;
  std::string cwd;  ///< "" = "/"
  /// Each chunk of output as it arrives (for streaming to the user); may be empty.
  std::function<void(std::string_view)> on_output;
  std::size_t max_output = 64 * 1024;  ///< kept in RunResult::output; the rest only streamed
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  virtual bool exists(const std::string& name) = 0;
  /// "RUNNING", "STOPPED", ...; Errc::not_found when the container does not exist.
  virtual Result<std::string> state(const std::string& name) = 0;
  /// Names of all containers in the lxcpath.
  virtual Result<std::vector<std::string>> list() = 0;

  /// Overlay snapshot clone of the template, then the network, the confinement and `extra` config
  /// written. Errc::conflict when `name` already exists; Errc::unavailable when the template is
  /// not built for the confinement's id mapping; on any failure nothing is left behind.
  virtual Status clone(const CloneSpec& spec) = 0;
  /// Before the container's first start only: puts `boot` into its files without running anything
  /// in it. Errc::unavailable when that cannot be done safely here (the caller then writes the
  /// same from inside after the start, as the default here says for runtimes without it).
  virtual Status seed(const std::string& name, const FirstBoot& boot) {
    (void)name, (void)boot;
    return make_error(Errc::unavailable, "this runtime writes files only from inside a running container");
  }
  /// Starts the container (without moving the daemon into the monitor cgroup) and waits until it
  /// is RUNNING and a command can be attached, within `timeout`. Errc::permission_denied for a
  /// privileged container (no user namespace): root in it would be root on the host.
  virtual Status start(const std::string& name, std::chrono::milliseconds timeout) = 0;
  /// Runs argv inside the container as root with a clean environment (only PATH, HOME, TERM
  /// set), `input` on stdin, only fds 0-2 open. Blocks until it exits or `timeout` passes.
  virtual Result<RunResult> run(const std::string& name, const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout) = 0;
  /// Like run(), with the user, extra environment, working directory and output streaming of
  /// `options`. The command's whole process group is killed at the timeout.
  virtual Result<RunResult> run_as(const std::string& name, const std::vector<std::string>& argv,
                                   const RunOptions& options) = 0;
  /// Stops (kills) the container if running. Not an error when already stopped or absent.
  virtual Status stop(const std::string& name) = 0;
  /// Stops if needed, then destroys the container and its overlay. Not an error when absent.
  virtual Status destroy(const std::string& name) = 0;
};

}  // namespace lxcprov::container
