#pragma once
// The integration world: one bridge, lxcpath, busybox template (sealed), lxcprovd and sshd (with
// the real ForceCommand) for the whole test binary, set up once by WorldEnvironment and torn down after
// the last test. Names are unique per run (derived from the pid), so runs by other people on the
// same host never collide. A janitor process removes everything if this process dies abruptly.
//
// Helpers here talk to the system the way its users and admins do: `ssh` for users, lxcprovctl
// and lxc-* for the admin's view.

#include <gtest/gtest.h>

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "harness.hpp"

namespace lxcprov::it {

struct World {
  int pid = 0;
  std::string source_dir, build_dir;
  std::string tmp;     ///< /tmp/lxcprov-it-<pid>, mode 0755 (the ssh accounts reach into it)
  std::string bridge;  ///< lxit<pid%100000>
  std::string net;     ///< "10.48.<pid%250>." (prefix of every address)
  std::string lxcpath, config, socket, database, passwd_file, daemon_log, shell, ssh_config;
  std::string audit_log;   ///< every daemon of the run (they all start from `config`) appends here
  std::string public_key;  ///< an ed25519 public key line made for this run
  std::string prefix;      ///< container name prefix unique to this run: "t<pid>-"
  int ssh_port = 0;
  pid_t daemon_pid = -1;
  std::string alice_password, bob_password;

  std::mutex jobs_mutex;
  std::set<std::string> job_ids;  ///< every job id a test saw (the secrets test reads their logs)
  std::vector<double> create_ms;  ///< wall times of plain non-interactive creates
};

World& world();

/// Registers the world's set-up/tear-down with gtest and starts the janitor.
class WorldEnvironment : public ::testing::Environment {
 public:
  void SetUp() override;
  void TearDown() override;
};

/// Installs SIGINT/SIGTERM handlers that exit at once (the janitor then cleans up).
void install_signal_handlers();

// --- users' view: ssh -------------------------------------------------------------------------

/// PROXMOX_USERNAME/PASSWORD of a known user ("alice", "bob") or of anything else with `password`.
Env credentials(const std::string& user, const std::string& password = "");
/// credentials + CONTAINER_NAME, LINUX_DISTRIBUTION=busybox, HTTP_PORT=8080, PUBLIC_KEY.
Env create_vars(const std::string& user, const std::string& name);

/// `ssh -T -o PasswordAuthentication=no -o SendEnv=<each var> ACCOUNT@it [command...]` with stdin at EOF
/// and `vars` in ssh's environment. Records any job id it printed.
ProcResult ssh_call(const std::string& account, const Env& vars, const std::vector<std::string>& command = {},
                    std::chrono::milliseconds timeout = 120s);
/// Full create for `user`; records the wall time when `timed` is set.
ProcResult create(const std::string& user, const std::string& name, Env extra = {}, bool timed = false);
ProcResult destroy(const std::string& user, const std::string& name);
ProcResult exists(const std::string& user, const std::string& name);

/// argv of an interactive `ssh -tt` to the create account (for PtySession).
std::vector<std::string> interactive_ssh_argv();

/// credentials("alice") + CONTAINER_NAME: what exists and delete are asked with.
Env named(const std::string& name);

/// lxcprov-shell run directly against the daemon at `socket` (another daemon of the run: no
/// sshd in between), `op` with `env` as the user's variables.
ProcResult shell_at(const std::string& socket, const std::string& op, const Env& env,
                    std::chrono::milliseconds timeout = 180s);

/// "job <id> accepted" in a progress line, or "".
std::string job_id_in(const std::string& text);
/// "ip:    A.B.C.D" in a final block, or "".
std::string ip_in(const std::string& text);

// --- admin's view -----------------------------------------------------------------------------

struct Row {
  std::string name, owner, state, ip, job;
};
/// `lxcprovctl --config CONFIG ARGS...`.
ProcResult ctl_with(const std::string& config, const std::vector<std::string>& args);
/// `lxcprovctl --config CONFIG template seal NAME`: every template a test daemon clones must be
/// sealed in that daemon's state database (templates.require_seal is on by default).
ProcResult seal_template(const std::string& config, const std::string& name);
/// `lxcprovctl containers`, parsed. `config`: another daemon's config ("" = the world's).
std::vector<Row> db_rows(const std::string& config = "");
std::optional<Row> db_row(const std::string& name, const std::string& config = "");
/// `lxcprovctl job ID` state line ("ROLLED_BACK", ...), or "".
std::string job_state(const std::string& job_id, const std::string& config = "");
/// `lxc-info -sH`: "RUNNING", "STOPPED", or "" when absent.
std::string lxc_state(const std::string& name);
/// `lxc-ls -P LXCPATH -1`.
std::vector<std::string> lxc_names();
/// lxc-attach ... -- argv
ProcResult attach(const std::string& name, const std::vector<std::string>& argv);
/// `systemctl is-system-running --wait` in a systemd container once its PID 1 answers on the bus
/// (a create returns when an attach works, which can be before systemd listens: then systemctl
/// says only "Failed to connect to bus", or "offline"). "running", "degraded", ... with a line end;
/// "" or "offline\n" when PID 1 never answered within `bound`.
std::string boot_state(const std::string& name, std::chrono::seconds bound = std::chrono::seconds(90));
bool container_dir_exists(const std::string& name);
/// The lowest pool address (from .`first`) no DB row of that daemon holds.
std::string lowest_free_ip(const std::string& config = "", int first = 10);

// --- the socket, directly -----------------------------------------------------------------------

/// A raw connection to a daemon socket, for protocol-level tests.
class SocketClient {
 public:
  explicit SocketClient(const std::string& path);
  ~SocketClient();
  bool connected() const { return fd_ >= 0; }
  bool send_raw(const std::string& bytes);
  bool send(const nlohmann::json& message);
  /// The next frame; nullopt on close, timeout or a malformed frame.
  std::optional<nlohmann::json> read(std::chrono::milliseconds timeout = 10s);
  /// True when the daemon closed the connection (EOF) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = 10s);

 private:
  bool read_exact(char* buf, size_t len, std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
};

/// One non-interactive operation straight over a daemon socket (no ssh); returns the final exit
/// code, or -1 when no final message came. Every frame received is appended to `lines` as JSON.
int socket_operation(const std::string& socket, const std::string& op, const Env& env, std::string* lines = nullptr,
                     std::chrono::seconds timeout = std::chrono::seconds(300));

/// Puts tpl-debian (scripts/build-template.sh --distro debian) into the world's lxcpath, once per
/// run. Returns "" on success, else the reason; `offline` is set when the Debian mirror could not
/// be reached (the caller skips).
std::string install_debian_template(bool& offline);

/// Starts a daemon from the build dir on `config` with stderr appended to `log`; waits until its
/// socket accepts. Returns its pid, or -1. `faulty`: the test-only lxcprovd_faulty, whose creates
/// of a container named "...-fail-<step>" fail at that step (tests/fakes/faulty_edges.hpp).
/// `wrapper`: a command the daemon's argv is appended to (e.g. one that enters a network
/// namespace first), which must exec it, so the pid returned is the daemon's.
pid_t start_daemon(const std::string& config, const std::string& socket, const std::string& log,
                   const std::vector<std::string>& extra_args = {}, bool faulty = false,
                   const std::vector<std::string>& wrapper = {});
/// SIGTERM, then SIGKILL after `grace`; reaps it.
void stop_process(pid_t pid, std::chrono::milliseconds grace = 20s);

/// An nginx of one suite's own for its daemon's routes: prefix `dir`/nginx (logs there), a
/// nginx.conf that includes an empty routes.conf, its pid file `w.tmp`/nginx-TAG.pid (the janitor
/// stops it if the run dies).
struct PrivateNginx {
  std::string prefix, conf, routes;
  /// The daemon's "http" section: `domain` routed on 127.0.0.1:`port` through this nginx.
  nlohmann::json http_config(const std::string& domain, uint16_t port) const;
  /// nginx -s stop (nothing when it never started).
  void stop() const;
};
/// The daemon's "ports" section: forwards in nft table `table` on `public_address`, ssh ports from
/// the first half of [first_port, first_port + count), extra protocols from the second.
nlohmann::json forwards_config(const std::string& table, const std::string& public_address, int first_port, int count);

/// Starts it; the nginx output on failure.
Result<PrivateNginx> start_private_nginx(const std::string& dir, const std::string& tag);

/// Whether a TCP connection to ip:port is accepted.
bool tcp_listening(const std::string& ip, int port);

/// A bridge a test made besides the world's, for the janitor to remove should the run die.
void note_bridge(const std::string& bridge);

/// A network namespace joined to this one by a veth pair, as another host on a wire: `here_ip`/30
/// on this side, `there_ip`/30 in the namespace, which has no default route (what it sends
/// elsewhere goes nowhere).
struct WiredHost {
  std::string ns, veth_here, veth_there, here_ip, there_ip;
};
/// Makes it: namespace `ns`, veths `veth`a (here) and `veth`b (there), addresses `net30` + "1"
/// and + "2" (e.g. "10.203.7."). The `ip` output on failure.
Result<WiredHost> make_wired_host(const std::string& ns, const std::string& veth, const std::string& net30);
/// Deletes the namespace and the veth pair (nothing when absent).
void remove_wired_host(const WiredHost& host);
/// start_daemon's wrapper for a daemon in network namespace `ns`: in a mount namespace of its own,
/// with a sysfs of `ns` over /sys (liblxc looks its bridge up there) and the cgroup tree bound
/// back over it through `scratch` (an empty directory).
std::vector<std::string> in_netns_daemon(const std::string& ns, const std::string& scratch);
/// `argv` run in network namespace `ns` only: LXC's command sockets are abstract unix sockets,
/// which belong to the network namespace their container's lxc-start ran in.
std::vector<std::string> in_netns(const std::string& ns, std::vector<std::string> argv);

}  // namespace lxcprov::it
