#pragma once
// LiblxcRuntime: the ContainerRuntime edge over liblxc (LXC 5, root-owned unprivileged containers,
// one lxcpath).
// Does I/O: liblxc calls, lxc-start spawned for start, pipes and attach for run. Every method blocks; call
// from worker threads, never from the io_context thread. Methods are safe to call concurrently
// (for different names; for the same name, clone() refuses the second caller with Errc::conflict).
//
// Process-wide effects the daemon must allow for:
// - start() and run() create child processes and reap them with waitpid() on their own pid, so
//   SIGCHLD must not be SIG_IGN and nothing may waitpid(-1) in the daemon. Do not make the
//   daemon a child subreaper either: each [lxc monitor] would then become its unreaped child.
// - The daemon's own cgroup is never changed (start() spawns lxc-start, which liblxc's daemonized
//   start moves into the monitor cgroup).
// - Descriptors the runtime creates are O_CLOEXEC; attached commands see only fds 0-2.

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "container/limits.hpp"
#include "container/runtime.hpp"

namespace lxcprov::container {

class LiblxcRuntime final : public ContainerRuntime {
 public:
  /// `lxcpath` is the directory that holds the containers and templates (lxc-* -P PATH).
  LiblxcRuntime(std::string lxcpath, Confinement confinement);

  /// The confinement of `config` for this host's cgroup layout, with the seccomp policy installed
  /// in `lxcpath`.
  static Confinement confinement_for(const config::Confinement& config, container::CgroupVersion version,
                                     const std::string& lxcpath);

  /// Installs the seccomp policy file (atomically: the previous one stays on failure). Call once
  /// before the first clone or start.
  Status prepare();
  /// Containers in the lxcpath without a user namespace (made before lxcprov confined them):
  /// start() refuses them.
  std::vector<std::string> privileged_containers();

  bool exists(const std::string& name) override;
  Result<std::string> state(const std::string& name) override;
  Result<std::vector<std::string>> list() override;
  /// Errc::invalid_argument for a value with CR/LF/NUL, a bad name or a refused extra key;
  /// Errc::not_found when the template is missing; Errc::conflict when the name is taken.
  Status clone(const CloneSpec& spec) override;
  /// Writes into the overlay's upper layer (container/overlay_seed.hpp) of a stopped container;
  /// Errc::unavailable for a running one or a rootfs that is not a two-layer overlay.
  Status seed(const std::string& name, const FirstBoot& boot) override;
  /// Errc::not_found when absent; Errc::timeout when not attachable within `timeout`.
  Status start(const std::string& name, std::chrono::milliseconds timeout) override;
  /// Output (stdout+stderr together) is capped at max_output_bytes; a truncated output ends with
  /// a marker line. Errc::timeout after killing the command's process group when it overruns.
  Result<RunResult> run(const std::string& name, const std::vector<std::string>& argv, const std::string& input,
                        std::chrono::milliseconds timeout) override;
  Result<RunResult> run_as(const std::string& name, const std::vector<std::string>& argv,
                           const RunOptions& options) override;
  Status stop(const std::string& name) override;
  Status destroy(const std::string& name) override;

  static constexpr std::size_t max_output_bytes = 1024 * 1024;

 private:
  // Releases a name reserved by reserve_name() when a clone attempt ends.
  class NameReservation;

  /// Where lxc-start's monitor logs a start's errors.
  std::string start_log(const std::string& name) const;
  /// The first lines of a failed start's log, to the daemon log.
  void log_start_failure(const std::string& name) const;
  Status reserve_name(const std::string& name);
  void release_name(const std::string& name);
  Status check_template(const std::string& template_name);
  Status write_config(const CloneSpec& spec);
  void remove_partial(const std::string& name);
  Result<RunResult> run_until(const std::string& name, const std::vector<std::string>& argv, const std::string& input,
                              std::chrono::steady_clock::time_point deadline);
  Result<RunResult> run_until(const std::string& name, const std::vector<std::string>& argv, const RunOptions& options,
                              std::chrono::steady_clock::time_point deadline);

  const std::string lxcpath_;
  const std::string lxc_start_ = "/usr/bin/lxc-start";  // Debian's lxc package
  const Confinement confinement_;
  // No per-template lock: liblxc's clone and destroy rewrite the template's lxc_snapshots under
  // its own disk lock (an OFD lock, so it excludes threads too); 10 concurrent clones and
  // destroys kept the file exact in every measured run.
  std::mutex mutex_;                // guards creating_
  std::set<std::string> creating_;  // names with a clone in progress in this process
};

}  // namespace lxcprov::container
