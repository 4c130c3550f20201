#include "world.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "protocol/frame.hpp"
#include "protocol/messages.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Every variable the shell forwards: none may leak from the test's own environment into a call.
const std::vector<std::string> protocol_variables = {"PROXMOX_USERNAME",   "PROXMOX_PASSWORD", "CONTAINER_NAME",
                                                     "LINUX_DISTRIBUTION", "HTTP_PORT",        "PUBLIC_KEY",
                                                     "GH_ACTION",          "SSH_AUTH_SOCK",    "DEPLOY_ON_START"};

int janitor_fd = -1;  // write end of the janitor's pipe; closing it without 'd' means "clean up"

std::string cleanup_script(const World& w) {
  // Runs from the janitor (after an abrupt death) and from TearDown. Daemons get SIGTERM first:
  // lxcprovd finishes running jobs before it exits, so containers are not destroyed under it.
  std::ostringstream s;
  s << "T='" << w.tmp << "'; P=\"$T/lxc\"; B='" << w.bridge << "'; S='" << w.source_dir << "'\n"
    << R"sh(
pids() { find "$T" -name '*.pid' -type f 2>/dev/null | while read -r f; do cat "$f"; done; }
for p in $(pids); do kill -TERM "$p" 2>/dev/null; done
i=0
while [ $i -lt 150 ]; do
  alive=0; for p in $(pids); do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 0.2; i=$((i+1))
done
for p in $(pids); do kill -KILL "$p" 2>/dev/null; done
# ssh master connections (ControlPath under $T), and with them their sessions on the nodes' sshds.
pkill -KILL -f "$T/" 2>/dev/null
if [ -d "$P" ]; then
  # Clones first: a template with snapshot clones cannot be destroyed.
  for n in $(lxc-ls -P "$P" -1 2>/dev/null | grep -v '^tpl-'); do lxc-destroy -f -P "$P" -n "$n" >/dev/null 2>&1; done
  for n in $(lxc-ls -P "$P" -1 2>/dev/null); do lxc-destroy -f -P "$P" -n "$n" >/dev/null 2>&1; done
fi
"$S/scripts/setup-host.sh" --remove --bridge "$B" >/dev/null 2>&1 || ip link delete "$B" >/dev/null 2>&1
if [ -f "$T/journald.created" ]; then while read -r d; do [ -n "$d" ] && rm -rf -- "$d"; done < "$T/journald.created"; fi
# More bridges of this run (note_bridge), and wired hosts (make_wired_host): their namespaces,
# with their bridges, and the veths here.
if [ -f "$T/bridges.created" ]; then while read -r b; do ip link delete "$b" 2>/dev/null; done < "$T/bridges.created"; fi
if [ -f "$T/netns.created" ]; then
  while read -r ns veth; do ip netns del "$ns" 2>/dev/null; ip link del "$veth" 2>/dev/null; done < "$T/netns.created"
fi
rm -rf -- "$T"
)sh";
  return s.str();
}

// A process that outlives this one and cleans up if this one dies without saying it is done
// (SIGKILL, abort, a crash). Double-forked so it is nobody's child here, and in its own session,
// so neither a Ctrl-C on the terminal nor ctest's kill of the test's process tree reaches it.
void start_janitor(const World& w) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return;
  const std::string script = cleanup_script(w);
  pid_t mid = ::fork();
  if (mid == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    ::close(p[1]);
    // Stdio to /dev/null: a closed terminal must not kill the cleanup with SIGPIPE/EIO.
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0), ::dup2(null_fd, 1), ::dup2(null_fd, 2);
    char c = 0;
    ssize_t n;
    while ((n = ::read(p[0], &c, 1)) < 0 && errno == EINTR) {
    }
    if (n == 1 && c == 'd') ::_exit(0);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(p[0]);
  if (mid > 0) ::waitpid(mid, nullptr, 0);
  janitor_fd = p[1];
}

void dismiss_janitor() {
  if (janitor_fd < 0) return;
  (void)!::write(janitor_fd, "d", 1);
  ::close(janitor_fd);
  janitor_fd = -1;
}

void on_fatal_signal(int sig) {
  // The janitor sees the pipe close and removes containers, daemons, bridge and files.
  ::_exit(128 + sig);
}

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool tcp_accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

bool unix_accepts(const std::string& path) {
  SocketClient c(path);
  return c.connected();
}

void write_file(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

}  // namespace

World& world() {
  static World w;
  return w;
}

void install_signal_handlers() {
  ::signal(SIGINT, on_fatal_signal);
  ::signal(SIGTERM, on_fatal_signal);
  ::signal(SIGHUP, on_fatal_signal);
  ::signal(SIGPIPE, SIG_IGN);  // a daemon that closes a socket on us is a test outcome, not a crash
}

void WorldEnvironment::SetUp() {
  World& w = world();
  const auto t0 = Clock::now();
  w.pid = static_cast<int>(::getpid());
  w.source_dir = LXCPROV_SOURCE_DIR;
  w.build_dir = std::getenv("LXCPROV_BUILD_DIR") ? std::getenv("LXCPROV_BUILD_DIR") : LXCPROV_BUILD_DIR;
  w.tmp = "/tmp/lxcprov-it-" + std::to_string(w.pid);
  w.bridge = "lxit" + std::to_string(w.pid % 100000);
  w.net = "10.48." + std::to_string(w.pid % 250) + ".";
  w.prefix = "t" + std::to_string(w.pid) + "-";
  w.lxcpath = w.tmp + "/lxc";
  w.config = w.tmp + "/lxcprovd.json";
  w.socket = w.tmp + "/lxcprovd.sock";
  // The daemon makes the database's directory 0700: it must not be the world-readable tmp dir.
  w.database = w.tmp + "/state/state.db";
  w.passwd_file = w.tmp + "/passwd";
  w.audit_log = w.tmp + "/audit/audit.log";
  w.daemon_log = w.tmp + "/lxcprovd.log";
  w.shell = w.tmp + "/lxcprov-shell";
  w.ssh_config = w.tmp + "/ssh_config";
  w.alice_password = "Al1ce-pw-" + std::to_string(w.pid) + "-qZ7";
  w.bob_password = "B0b-pw-" + std::to_string(w.pid) + "-kX3";

  for (const char* bin : {"/daemon/lxcprovd", "/helpers/lxcprov-shell", "/helpers/lxcprovctl"})
    ASSERT_TRUE(fs::exists(w.build_dir + bin)) << w.build_dir + bin << " is not built";

  std::error_code ec;
  fs::remove_all(w.tmp, ec);  // a leftover of an earlier run with the same pid
  ASSERT_TRUE(fs::create_directory(w.tmp, ec)) << ec.message();
  // 0755: sshd's account users run the shell from here and connect to the socket in it.
  ::chmod(w.tmp.c_str(), 0755);
  start_janitor(w);
  ASSERT_GE(janitor_fd, 0) << "could not start the janitor";

  // The build dir may be under /root, which the ssh account users cannot traverse.
  fs::copy_file(w.build_dir + "/helpers/lxcprov-shell", w.shell, ec);
  ASSERT_FALSE(ec) << ec.message();
  ::chmod(w.shell.c_str(), 0755);

  auto host = sh(w.source_dir + "/scripts/setup-host.sh --bridge " + w.bridge + " --address " + w.net + "1/24");
  ASSERT_EQ(host.exit_code, 0) << host.out << host.err;

  nlohmann::json cfg = {
      {"socket", w.socket},
      {"database", w.database},
      {"lxcpath", w.lxcpath},
      {"passwd_file", w.passwd_file},
      {"audit_log", w.audit_log},
      {"network",
       {{"bridge", w.bridge},
        {"subnet", w.net + "0/24"},
        {"gateway", w.net + "1"},
        {"first", w.net + "10"},
        {"last", w.net + "254"}}},
      {"distributions", {{"busybox", {{"template", "tpl-busybox"}}}}},
      {"workers", 8},
      {"public_host", "127.0.0.1"},
      // Port forwards (one nftables table) and HTTP routes (nginx) are host-wide: a test run must
      // not rewrite the table or the nginx include of a real installation, or of another run. They
      // are off here, and every path they would use points into the run's own directory anyway.
      {"ports", {{"enabled", false}, {"table", w.bridge}, {"catalog", w.tmp + "/protocols.json"}}},
      // Isolation is host-wide too (tables matched by veth name prefix): its own suite turns it on
      // for a daemon of its own (isolation_test.cpp).
      {"isolation", {{"enabled", false}, {"table", w.bridge + "_iso"}}},
      {"http",
       {{"enabled", false},
        {"include_file", w.tmp + "/nginx/routes.conf"},
        {"nginx_conf", w.tmp + "/nginx/nginx.conf"}}},
      // Deploying is on by default when the host has the catalogs (/etc/lxcprov/runtimes.json,
      // services.json: run.sh installs them), which would add a prompt to every create here; the
      // Deploy suite runs a daemon of its own with it on.
      {"deploy", {{"enabled", false}}},
      {"keys_file", w.tmp + "/keys"},
      {"authorized_keys_dir", w.tmp + "/authorized_keys"},
      {"shell_path", w.shell},
  };
  write_file(w.config, cfg.dump(2) + "\n");

  auto tpl = sh(w.source_dir + "/scripts/build-template.sh --lxcpath " + w.lxcpath + " --name tpl-busybox", 300s);
  ASSERT_EQ(tpl.exit_code, 0) << tpl.out << tpl.err;

  for (auto [user, password] : {std::pair{"alice", w.alice_password}, {"bob", w.bob_password}}) {
    RunOptions o;
    o.input = password + "\n";
    auto r =
        run({w.build_dir + "/helpers/lxcprovctl", "--config", w.config, "user", "add", user, "--password-stdin"}, o);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  auto key = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "it-key", "-f", w.tmp + "/userkey"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  w.public_key = trim(read_text(w.tmp + "/userkey.pub"));

  w.daemon_pid = start_daemon(w.config, w.socket, w.daemon_log);
  ASSERT_GT(w.daemon_pid, 0) << "lxcprovd did not start: " << read_text(w.daemon_log);
  // After the daemon: it makes the state database's directory. Creates check this seal.
  auto sealed = seal_template(w.config, "tpl-busybox");
  ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;

  w.ssh_port = free_tcp_port();
  ASSERT_GT(w.ssh_port, 0);
  auto sshd = sh(w.source_dir + "/scripts/setup-sshd.sh --dir " + w.tmp + "/sshd --port " + std::to_string(w.ssh_port) +
                 " --shell " + w.shell + " --socket " + w.socket + " --start");
  ASSERT_EQ(sshd.exit_code, 0) << sshd.out << sshd.err;
  ASSERT_TRUE(eventually([&] { return tcp_accepts(w.ssh_port); }, 10s)) << read_text(w.tmp + "/sshd/sshd.log");

  std::ostringstream ssh;
  ssh << "Host it\n"
      << "  HostName 127.0.0.1\n"
      << "  Port " << w.ssh_port << "\n"
      << "  StrictHostKeyChecking no\n"
      << "  UserKnownHostsFile /dev/null\n"
      << "  GlobalKnownHostsFile /dev/null\n"
      << "  LogLevel ERROR\n"
      // The accounts log in by keyboard-interactive (no prompt); root's own keys and agent play no part.
      << "  PubkeyAuthentication no\n"
      << "  IdentityAgent none\n"
      << "  ControlMaster no\n"
      << "  ControlPath none\n"
      << "  ConnectTimeout 20\n";
  write_file(w.ssh_config, ssh.str());

  std::cout << "[ world    ] " << w.tmp << " bridge " << w.bridge << " net " << w.net << "0/24 ssh port " << w.ssh_port
            << ", set up in " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
            << " ms\n";
}

void WorldEnvironment::TearDown() {
  World& w = world();
  if (w.tmp.empty()) return;
  if (w.daemon_pid > 0) {
    stop_process(w.daemon_pid);
    w.daemon_pid = -1;
  }
  // Keep the daemon's log of a failed run where a person can read it.
  if (::testing::UnitTest::GetInstance()->Failed()) {
    std::error_code ec;
    fs::copy_file(w.daemon_log, "/tmp/lxcprov-it-" + std::to_string(w.pid) + "-lxcprovd.log",
                  fs::copy_options::overwrite_existing, ec);
    if (!ec) std::cout << "[ world    ] daemon log kept in /tmp/lxcprov-it-" << w.pid << "-lxcprovd.log\n";
  }
  auto r = sh(cleanup_script(w), 300s);
  if (r.exit_code != 0) std::cerr << "cleanup: " << r.out << r.err << "\n";
  dismiss_janitor();
}

std::string install_debian_template(bool& offline) {
  // Once per run: containers of several tests are clones of it.
  static std::mutex mutex;
  static std::optional<std::pair<std::string, bool>> done;
  std::lock_guard lock(mutex);
  if (done) {
    offline = done->second;
    return done->first;
  }
  const World& w = world();
  // Built once per host and version of build-template.sh under /var/cache/lxcprov-test (the
  // script's own debootstrap cache makes a rebuild take seconds), copied into the world's lxcpath
  // (removed at teardown): clones are made from the copy, so the cache is only read.
  auto r = sh("set -eu\nS='" + w.source_dir + "'; W='" + w.lxcpath + "'\n" + R"sh(
C=/var/cache/lxcprov-test
mkdir -p "$C"; chmod 700 "$C"
key=$(sha256sum "$S/scripts/build-template.sh" | cut -c1-16)
# Runs of this suite on the same host build it once, one after the other.
exec 9>"$C/.lock"
flock -w 900 9
P="$C/debian-$key"
for old in "$C"/debian-*; do [ "$old" = "$P" ] || rm -rf -- "$old"; done
"$S/scripts/build-template.sh" --lxcpath "$P" --name tpl-debian --distro debian
rm -rf -- "$W/tpl-debian"
cp -a "$P/tpl-debian" "$W/tpl-debian"
sed -i "s|^lxc.rootfs.path = .*|lxc.rootfs.path = dir:$W/tpl-debian/rootfs|" "$W/tpl-debian/config"
)sh",
              1200s);
  std::string why;
  if (r.exit_code != 0) {
    why = r.out + r.err;
    for (const char* sign : {"Failed getting release file", "Couldn't download", "Temporary failure resolving",
                             "Could not resolve", "Connection timed out", "Network is unreachable"})
      if (why.find(sign) != std::string::npos) offline = true;
  }
  done = {why, offline};
  return why;
}

pid_t start_daemon(const std::string& config, const std::string& socket, const std::string& log,
                   const std::vector<std::string>& extra_args, bool faulty, const std::vector<std::string>& wrapper) {
  const World& w = world();
  std::vector<std::string> argv = wrapper;
  for (const std::string& a :
       {w.build_dir + (faulty ? "/tests/lxcprovd_faulty" : "/daemon/lxcprovd"), std::string("--config"), config})
    argv.push_back(a);
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // a Ctrl-C on the terminal is for the tests; the janitor stops daemons
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(log_fd, 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) return -1;
  // For the janitor: it stops whatever pid file it finds in the tmp dir.
  write_file(w.tmp + "/" + fs::path(socket).filename().string() + ".pid", std::to_string(pid) + "\n");
  bool dead = false;
  bool up = eventually(
      [&] {
        int st;
        if (::waitpid(pid, &st, WNOHANG) == pid) dead = true;
        return dead || unix_accepts(socket);
      },
      15s);
  if (dead || !up) {
    if (!dead) stop_process(pid, 1s);
    return -1;
  }
  return pid;
}

void stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  int st = 0;
  bool gone = eventually([&] { return ::waitpid(pid, &st, WNOHANG) != 0; }, grace);
  if (!gone) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &st, 0);
  }
  // The pid may be reused from now on: the janitor must no longer signal it.
  const World& w = world();
  for (const auto& e : fs::directory_iterator(w.tmp)) {
    if (e.path().extension() == ".pid" && trim(read_text(e.path())) == std::to_string(pid)) {
      std::error_code ec;
      fs::remove(e.path(), ec);
    }
  }
}

Env credentials(const std::string& user, const std::string& password) {
  const World& w = world();
  std::string pw = password;
  if (pw.empty()) pw = user == "alice" ? w.alice_password : user == "bob" ? w.bob_password : "unknown-pw";
  return {{"PROXMOX_USERNAME", user}, {"PROXMOX_PASSWORD", pw}};
}

Env create_vars(const std::string& user, const std::string& name) {
  Env e = credentials(user);
  e["CONTAINER_NAME"] = name;
  e["LINUX_DISTRIBUTION"] = "busybox";
  e["HTTP_PORT"] = "8080";
  e["PUBLIC_KEY"] = world().public_key;
  return e;
}

ProcResult ssh_call(const std::string& account, const Env& vars, const std::vector<std::string>& command,
                    std::chrono::milliseconds timeout) {
  World& w = world();
  // Not BatchMode=yes: OpenSSH's client turns keyboard-interactive off under it, and without a
  // registered key that is how the accounts are reached (sshd asks nothing: PAM lxcprov-sshd).
  // No password method, so nothing can ever prompt.
  std::vector<std::string> argv = {"ssh", "-F", w.ssh_config, "-T", "-o", "PasswordAuthentication=no"};
  for (const auto& [name, value] : vars) {
    argv.push_back("-o");
    argv.push_back("SendEnv=" + name);
  }
  argv.push_back(account + "@it");
  argv.insert(argv.end(), command.begin(), command.end());
  RunOptions o;
  o.env = vars;
  o.unset = protocol_variables;
  o.timeout = timeout;
  auto r = run(argv, o);
  if (auto job = job_id_in(r.err); !job.empty()) {
    std::lock_guard lock(w.jobs_mutex);
    w.job_ids.insert(job);
  }
  return r;
}

ProcResult create(const std::string& user, const std::string& name, Env extra, bool timed) {
  Env vars = create_vars(user, name);
  for (auto& [k, v] : extra) vars[k] = v;
  auto r = ssh_call("create-container", vars);
  if (timed && r.exit_code == 0) {
    std::lock_guard lock(world().jobs_mutex);
    world().create_ms.push_back(static_cast<double>(r.took.count()));
  }
  return r;
}

ProcResult destroy(const std::string& user, const std::string& name) {
  Env vars = credentials(user);
  vars["CONTAINER_NAME"] = name;
  return ssh_call("delete-container", vars);
}

ProcResult exists(const std::string& user, const std::string& name) {
  Env vars = credentials(user);
  vars["CONTAINER_NAME"] = name;
  return ssh_call("container-exists", vars);
}

std::vector<std::string> interactive_ssh_argv() {
  return {"ssh", "-F", world().ssh_config, "-tt", "create-container@it"};
}

std::string job_id_in(const std::string& text) {
  static const std::regex re("job ([0-9a-f]{16}) accepted");
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : "";
}

std::string ip_in(const std::string& text) {
  static const std::regex re(R"(ip:\s+([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+))");
  std::smatch m;
  return std::regex_search(text, m, re) ? m[1].str() : "";
}

ProcResult seal_template(const std::string& config, const std::string& name) {
  return run_for({world().build_dir + "/helpers/lxcprovctl", "--config", config, "template", "seal", name}, 120s);
}

std::vector<Row> db_rows(const std::string& config) {
  const World& w = world();
  auto r = run({w.build_dir + "/helpers/lxcprovctl", "--config", config.empty() ? w.config : config, "containers"});
  std::vector<Row> rows;
  if (r.exit_code != 0) {
    ADD_FAILURE() << "lxcprovctl containers failed: " << r.err;
    return rows;
  }
  auto lines = lines_of(r.out);
  for (size_t i = 1; i < lines.size(); ++i) {  // line 0 is the header
    std::istringstream in(lines[i]);
    Row row;
    std::string ctid;
    in >> row.name >> row.owner >> row.state >> row.ip >> ctid >> row.job;
    rows.push_back(row);
  }
  return rows;
}

std::optional<Row> db_row(const std::string& name, const std::string& config) {
  for (auto& r : db_rows(config))
    if (r.name == name) return r;
  return std::nullopt;
}

std::string job_state(const std::string& job_id, const std::string& config) {
  const World& w = world();
  auto r = run({w.build_dir + "/helpers/lxcprovctl", "--config", config.empty() ? w.config : config, "job", job_id});
  static const std::regex re(R"(state:\s+([A-Z_]+))");
  std::smatch m;
  return std::regex_search(r.out, m, re) ? m[1].str() : "";
}

std::string lxc_state(const std::string& name) {
  const World& w = world();
  auto r = run_for({"lxc-info", "-P", w.lxcpath, "-n", name, "-sH"}, 30s);
  return r.exit_code == 0 ? trim(r.out) : "";
}

std::vector<std::string> lxc_names() {
  const World& w = world();
  auto r = run_for({"lxc-ls", "-P", w.lxcpath, "-1"}, 30s);
  return lines_of(r.out);
}

ProcResult attach(const std::string& name, const std::vector<std::string>& argv) {
  const World& w = world();
  std::vector<std::string> full = {"lxc-attach", "-P", w.lxcpath, "-n", name, "--clear-env", "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_for(full, 30s);
}

std::string boot_state(const std::string& name, std::chrono::seconds bound) {
  const auto deadline = Clock::now() + bound;
  ProcResult r;
  // Without --wait first: it answers at once, whatever the boot's state, once PID 1 listens;
  // "offline" until PID 1 has made /run/systemd/system, which --wait would not wait out either.
  auto answered = [&] {
    r = attach(name, {"systemctl", "is-system-running"});
    return !r.out.empty() && r.out != "offline\n";
  };
  if (!eventually(answered, bound)) return r.out;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count();
  const long seconds = std::max<long>(left, 1);
  const World& w = world();
  r = run_for({"lxc-attach", "-P", w.lxcpath, "-n", name, "--clear-env", "--", "timeout", std::to_string(seconds),
               "systemctl", "is-system-running", "--wait"},
              std::chrono::seconds(seconds + 10));
  return r.out;
}

bool container_dir_exists(const std::string& name) { return fs::exists(world().lxcpath + "/" + name); }

std::string lowest_free_ip(const std::string& config, int first) {
  std::set<std::string> used;
  for (const auto& r : db_rows(config)) used.insert(r.ip);
  for (int i = first; i <= 254; ++i) {
    std::string ip = world().net + std::to_string(i);
    if (!used.count(ip)) return ip;
  }
  return "";
}

int socket_operation(const std::string& socket, const std::string& op, const Env& env, std::string* lines,
                     std::chrono::seconds timeout) {
  SocketClient c(socket);
  if (!c.connected()) return -1;
  protocol::Hello hello;
  hello.op = op;
  hello.tty = false;
  hello.env = env;
  if (!c.send(protocol::to_json(hello))) return -1;
  for (;;) {
    auto msg = c.read(timeout);
    if (!msg) return -1;
    if (lines) *lines += msg->dump() + "\n";
    if (msg->value("type", "") == "final") {
      auto f = protocol::final_from_json(*msg);
      return f ? f->exit_code : -1;
    }
  }
}

SocketClient::SocketClient(const std::string& path) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

SocketClient::~SocketClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool SocketClient::send_raw(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool SocketClient::send(const nlohmann::json& message) { return send_raw(protocol::encode_frame(message)); }

bool SocketClient::read_exact(char* buf, size_t len, Clock::time_point deadline) {
  size_t off = 0;
  while (off < len) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd_, buf + off, len - off, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::optional<nlohmann::json> SocketClient::read(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  uint32_t len_be = 0;
  if (!read_exact(reinterpret_cast<char*>(&len_be), 4, deadline)) return std::nullopt;
  const uint32_t len = ntohl(len_be);
  if (len == 0 || len > (1u << 20)) return std::nullopt;
  std::string body(len, '\0');
  if (!read_exact(body.data(), len, deadline)) return std::nullopt;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

bool SocketClient::closed_by_peer(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

Env named(const std::string& name) {
  Env e = credentials("alice");
  e["CONTAINER_NAME"] = name;
  return e;
}

ProcResult shell_at(const std::string& socket, const std::string& op, const Env& env,
                    std::chrono::milliseconds timeout) {
  RunOptions o;
  o.env = env;
  o.unset = {"SSH_ORIGINAL_COMMAND"};
  o.timeout = timeout;
  return run({world().shell, "--socket", socket, op}, o);
}

ProcResult ctl_with(const std::string& config, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {world().build_dir + "/helpers/lxcprovctl", "--config", config};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

bool tcp_listening(const std::string& ip, int port) {
  return run({"bash", "-c", fmt::format("exec 3<>/dev/tcp/{}/{}", ip, port)}).exit_code == 0;
}

void note_bridge(const std::string& bridge) {
  std::ofstream(world().tmp + "/bridges.created", std::ios::app) << bridge << "\n";
}

Result<WiredHost> make_wired_host(const std::string& ns, const std::string& veth, const std::string& net30) {
  WiredHost h{ns, veth + "a", veth + "b", net30 + "1", net30 + "2"};
  auto made =
      sh(fmt::format("set -e; ip netns add {ns}; ip link add {a} type veth peer name {b}; ip link set {b} netns {ns}; "
                     "ip addr add {here}/30 dev {a}; ip link set {a} up; ip -n {ns} addr add {there}/30 dev {b}; "
                     "ip -n {ns} link set {b} up; ip -n {ns} link set lo up",
                     fmt::arg("ns", h.ns), fmt::arg("a", h.veth_here), fmt::arg("b", h.veth_there),
                     fmt::arg("here", h.here_ip), fmt::arg("there", h.there_ip)));
  // For the janitor, should this run die before its teardown.
  std::ofstream(world().tmp + "/netns.created", std::ios::app) << h.ns << " " << h.veth_here << "\n";
  if (made.exit_code != 0) {
    remove_wired_host(h);
    return make_error(Errc::io, "wired host " + ns + ": " + made.out + made.err);
  }
  return h;
}

void remove_wired_host(const WiredHost& h) {
  (void)sh(fmt::format("ip netns del {} 2>/dev/null; ip link del {} 2>/dev/null; true", h.ns, h.veth_here));
}

std::vector<std::string> in_netns_daemon(const std::string& ns, const std::string& scratch) {
  fs::create_directories(scratch);
  const std::string own_sysfs = fmt::format(
      "mount --rbind /sys/fs/cgroup {0} && mount -t sysfs sysfs /sys && mount --rbind {0} /sys/fs/cgroup && "
      "exec \"$@\"",
      scratch);
  return {"/usr/bin/nsenter", "--net=/run/netns/" + ns,
          "/usr/bin/unshare", "-m",
          "--propagation",    "private",
          "/bin/sh",          "-c",
          own_sysfs,          "sh"};
}

std::vector<std::string> in_netns(const std::string& ns, std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + ns});
  return argv;
}

Result<PrivateNginx> start_private_nginx(const std::string& dir, const std::string& tag) {
  const World& w = world();
  PrivateNginx n{dir + "/nginx", dir + "/nginx/nginx.conf", dir + "/nginx/routes.conf"};
  fs::create_directories(n.prefix + "/logs");
  std::ofstream(n.conf) << "pid " << w.tmp << "/nginx-" << tag << ".pid;\n"
                        << "error_log " << n.prefix << "/logs/error.log;\n"
                        << "worker_processes 1;\nevents {}\nhttp {\n  access_log off;\n"
                        << "  include " << n.routes << ";\n}\n";
  std::ofstream(n.routes) << "";
  auto r = run({"/usr/sbin/nginx", "-p", n.prefix, "-c", n.conf});
  if (r.exit_code != 0) return make_error(Errc::unavailable, describe(r));
  return n;
}

nlohmann::json PrivateNginx::http_config(const std::string& domain, uint16_t port) const {
  return {{"enabled", true},        {"domain", domain},   {"listen_address", "127.0.0.1"}, {"listen_port", port},
          {"include_file", routes}, {"nginx_conf", conf}, {"nginx_prefix", prefix}};
}

nlohmann::json forwards_config(const std::string& table, const std::string& public_address, int first_port, int count) {
  return {{"enabled", true},
          {"table", table},
          {"public_address", public_address},
          {"ssh_pool", {first_port, first_port + count / 2 - 1}},
          {"extra_pool", {first_port + count / 2, first_port + count - 1}},
          {"catalog", world().source_dir + "/config/protocols.json"}};
}

void PrivateNginx::stop() const {
  if (!conf.empty()) (void)run({"/usr/sbin/nginx", "-p", prefix, "-c", conf, "-s", "stop"});
}

}  // namespace lxcprov::it
