// NginxInstaller over SshHost against the real things: a private sshd on 127.0.0.1 (its own host key,
// config and authorized_keys in a temp dir) and a private nginx (own prefix, config, pid file and
// loopback ports) on this machine, playing the remote host. The installer reaches nginx only
// through sshd, exactly as it would a remote one. Needs root, sshd, nginx, ssh-keygen, openssl and curl;
// skipped when those are missing.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../support/free_port.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "host/local_host.hpp"
#include "host/ssh_host.hpp"
#include "network/ip_pool.hpp"
#include "routing/nginx_installer.hpp"
#include "routing/nginx_routes.hpp"

extern char** environ;

namespace lxcprov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using lxcprov::testing::free_loopback_port;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

host::LocalHost local;

host::ProcessResult must_run(const std::vector<std::string>& argv) {
  auto r = local.run(argv, "", 30s);
  EXPECT_TRUE(r) << argv[0];
  return r ? *r : host::ProcessResult{};
}

// The remote installer as lxcprovd wires it: an SshHost and the one NginxInstaller over it.
struct RemoteRouter {
  RemoteRouter(const host::SshHostSettings& ssh, const routing::NginxInstallerSettings& nginx)
      : host(ssh), installer(host, nginx) {}
  Status install(const std::string& routes) { return installer.install(routes); }
  host::SshHost host;
  routing::NginxInstaller installer;
};

uint32_t ip(const char* text) { return *network::parse_ipv4(text); }

bool port_open(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class RemoteNginxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool :
         {"/usr/sbin/sshd", "/usr/sbin/nginx", "/usr/bin/ssh-keygen", "/usr/bin/openssl", "/usr/bin/curl"})
      if (::geteuid() != 0 || !fs::exists(tool)) GTEST_SKIP() << "needs root and " << tool;
    dir_ = fs::temp_directory_path() / ("lxcprov-remote-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    keygen("host_key");
    keygen("client_key");
    keygen("other_key");
    std::ofstream(dir_ / "authorized_keys") << slurp(dir_ / "client_key.pub");
    // "256 SHA256:... comment (ED25519)"
    std::istringstream fp(
        must_run({"/usr/bin/ssh-keygen", "-E", "sha256", "-lf", (dir_ / "host_key.pub").string()}).output);
    std::string bits;
    fp >> bits >> pin_;
    ASSERT_EQ(pin_.rfind("SHA256:", 0), 0u) << pin_;

    ssh_port_ = free_loopback_port();
    // StrictModes off: the files live under /tmp, which is world-writable. sshd's privilege
    // separation directory is normally made by its service unit.
    std::ofstream(dir_ / "sshd_config") << "Port " << ssh_port_ << "\nListenAddress 127.0.0.1\n"
                                        << "HostKey " << (dir_ / "host_key").string() << "\n"
                                        << "PidFile " << (dir_ / "sshd.pid").string() << "\n"
                                        << "AuthorizedKeysFile " << (dir_ / "authorized_keys").string() << "\n"
                                        << "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                                        << "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                                        << "AllowUsers root\nLogLevel VERBOSE\n";
    fs::create_directories("/run/sshd");
    start_sshd();

    front_ = free_loopback_port();
    tls_port_ = free_loopback_port();
    back_ = free_loopback_port();
    std::ofstream(dir_ / "nginx.conf") << "pid " << (dir_ / "nginx.pid").string() << ";\n"
                                       << "error_log " << (dir_ / "logs/error.log").string() << ";\n"
                                       << "worker_processes 1;\nevents {}\nhttp {\n  access_log off;\n"
                                       << "  include " << (dir_ / "routes.conf").string() << ";\n"
                                       << "  server { listen 127.0.0.1:" << back_
                                       << "; location / { return 200 \"backend-ok\\n\"; } }\n}\n";
    std::ofstream(dir_ / "routes.conf") << "";
    auto r = must_run(nginx({}));
    ASSERT_EQ(r.exit_status, 0) << r.output;
    ASSERT_TRUE(lxcprov::testing::wait_until_listening(back_)) << "nginx did not come up";

    settings_.host = "127.0.0.1";
    settings_.port = ssh_port_;
    settings_.user = "root";
    settings_.private_key_file = (dir_ / "client_key").string();
    settings_.host_key_sha256 = pin_;
    settings_.timeout = 10s;
    nginx_.include_file = (dir_ / "routes.conf").string();
    nginx_.test_command = nginx({"-t", "-q"});
    nginx_.reload_command = nginx({"-s", "reload"});
  }

  void TearDown() override {
    if (dir_.empty()) return;
    stop_sshd();
    (void)local.run(nginx({"-s", "stop"}), "", 30s);
    for (int i = 0; i < 250 && fs::exists(dir_ / "nginx.pid"); ++i) std::this_thread::sleep_for(20ms);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void keygen(const std::string& name) {
    auto r =
        must_run({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", (dir_ / name).string()});
    ASSERT_EQ(r.exit_status, 0) << r.output;
  }

  void start_sshd() {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const std::string log = (dir_ / "sshd.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const std::string conf = (dir_ / "sshd_config").string();
    const char* argv[] = {"/usr/sbin/sshd", "-D", "-e", "-f", conf.c_str(), nullptr};
    ASSERT_EQ(posix_spawn(&sshd_pid_, argv[0], &fa, nullptr, const_cast<char**>(argv), environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    for (int i = 0; i < 250 && !port_open(ssh_port_); ++i) std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(port_open(ssh_port_)) << slurp(dir_ / "sshd.log");
  }

  void stop_sshd() {
    if (sshd_pid_ <= 0) return;
    ::kill(sshd_pid_, SIGTERM);
    ::waitpid(sshd_pid_, nullptr, 0);
    sshd_pid_ = -1;
  }

  std::vector<std::string> nginx(std::vector<std::string> extra) const {
    std::vector<std::string> argv{"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }

  routing::NginxOptions options() const { return {"it.test", ip("127.0.0.1"), front_, std::nullopt}; }

  std::string get(const std::string& host) {
    return must_run({"/usr/bin/curl", "-s", "--max-time", "5", "-H", "Host: " + host,
                     "http://127.0.0.1:" + std::to_string(front_) + "/"})
        .output;
  }
  bool eventually_get(const std::string& host, const std::string& want) {
    for (int i = 0; i < 100; ++i) {
      if (get(host) == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  bool no_leftovers() {
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".lxcprov-") != std::string::npos) {
        ADD_FAILURE() << "left behind: " << e.path();
        return false;
      }
    return true;
  }

  fs::path dir_;
  std::string pin_;
  pid_t sshd_pid_ = -1;
  uint16_t ssh_port_ = 0, front_ = 0, tls_port_ = 0, back_ = 0;
  host::SshHostSettings settings_;
  routing::NginxInstallerSettings nginx_;
};

TEST_F(RemoteNginxTest, GoodFileRoutesTrafficBadFileIsRefusedAndTheOldOneRestored) {
  RemoteRouter router(settings_, nginx_);
  const std::string good = routing::render_nginx_routes(options(), {{"web", ip("127.0.0.1"), back_}});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(router.install(good));
  const double first = ms_since(t0);
  EXPECT_EQ(slurp(dir_ / "routes.conf"), good);
  EXPECT_TRUE(eventually_get("web.it.test", "backend-ok\n"));
  EXPECT_TRUE(no_leftovers());

  // Latency of one remote apply (read + upload + nginx -t + reload) over the kept connection; the
  // first one also paid connect + host key + auth.
  constexpr int n = 10;
  double total = 0;
  for (int i = 0; i < n; ++i) {
    const auto t = std::chrono::steady_clock::now();
    ASSERT_TRUE(router.install(good + "# " + std::to_string(i) + "\n"));
    total += ms_since(t);
  }
  std::cout << "[ measure ] remote nginx apply: first " << first << " ms, then a mean of " << total / n << " ms\n";
  ASSERT_TRUE(router.install(good));
  // The same text again touches nothing: sshd starts no session for it.
  const auto sessions = [&] {
    const std::string log = slurp(dir_ / "sshd.log");
    size_t count = 0;
    for (size_t at = log.find("Starting session"); at != std::string::npos; at = log.find("Starting session", at + 1))
      ++count;
    return count;
  };
  const size_t before = sessions();
  ASSERT_TRUE(router.install(good));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(sessions(), before);

  // nginx -t refuses it: the error says so, the file is the previous one, traffic still flows.
  auto bad = router.install(good + "server { this is not nginx }\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::unavailable);
  EXPECT_NE(bad.error().message.find("nginx -t refused"), std::string::npos) << bad.error().message;
  EXPECT_EQ(bad.error().message.find(dir_.string()), std::string::npos) << "no host paths for users";
  EXPECT_EQ(slurp(dir_ / "routes.conf"), good);
  EXPECT_EQ(get("web.it.test"), "backend-ok\n");
  EXPECT_TRUE(no_leftovers());

  // An empty route set removes the route.
  ASSERT_TRUE(router.install(routing::render_nginx_routes(options(), {})));
  EXPECT_TRUE(eventually_get("web.it.test", ""));
}

TEST_F(RemoteNginxTest, ReloadFailureRestoresAndTheNextInstallRetries) {
  RemoteRouter router(settings_, nginx_);
  ASSERT_EQ(must_run(nginx({"-s", "stop"})).exit_status, 0);
  for (int i = 0; i < 1000 && fs::exists(dir_ / "nginx.pid"); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(fs::exists(dir_ / "nginx.pid")) << "nginx did not stop";
  const std::string good = routing::render_nginx_routes(options(), {{"web", ip("127.0.0.1"), back_}});
  auto r = router.install(good);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(slurp(dir_ / "routes.conf"), "");
  ASSERT_EQ(must_run(nginx({})).exit_status, 0);
  ASSERT_TRUE(router.install(good));
  EXPECT_TRUE(eventually_get("web.it.test", "backend-ok\n"));
}

TEST_F(RemoteNginxTest, WrongHostKeyPinIsRefusedBeforeAnythingIsSent) {
  std::ofstream(dir_ / "routes.conf") << "# the admin's\n";
  // The right format, another key's fingerprint: one of our own client keys.
  std::istringstream fp(
      must_run({"/usr/bin/ssh-keygen", "-E", "sha256", "-lf", (dir_ / "other_key.pub").string()}).output);
  std::string bits, other;
  fp >> bits >> other;
  ASSERT_NE(other, pin_);
  settings_.host_key_sha256 = other;
  RemoteRouter router(settings_, nginx_);
  auto r = router.install(routing::render_nginx_routes(options(), {{"web", ip("127.0.0.1"), back_}}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  EXPECT_EQ(slurp(dir_ / "routes.conf"), "# the admin's\n");
  EXPECT_TRUE(no_leftovers());
  // Nothing was even offered to the server: no authentication attempt reached sshd.
  std::this_thread::sleep_for(100ms);
  const std::string log = slurp(dir_ / "sshd.log");
  EXPECT_EQ(log.find("Accepted publickey"), std::string::npos) << log;
  EXPECT_EQ(log.find("Failed publickey"), std::string::npos) << log;
}

TEST_F(RemoteNginxTest, WrongOrLooseKeyIsRefused) {
  std::ofstream(dir_ / "routes.conf") << "# the admin's\n";
  const std::string routes = routing::render_nginx_routes(options(), {{"web", ip("127.0.0.1"), back_}});
  settings_.private_key_file = (dir_ / "other_key").string();
  auto r = RemoteRouter(settings_, nginx_).install(routes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  EXPECT_EQ(slurp(dir_ / "routes.conf"), "# the admin's\n");

  // The right key, readable by others: refused before connecting.
  settings_.private_key_file = (dir_ / "client_key").string();
  ::chmod(settings_.private_key_file.c_str(), 0644);
  r = RemoteRouter(settings_, nginx_).install(routes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  // A symlink to it is not followed.
  ::chmod(settings_.private_key_file.c_str(), 0600);
  fs::create_symlink(dir_ / "client_key", dir_ / "key_link");
  settings_.private_key_file = (dir_ / "key_link").string();
  EXPECT_FALSE(RemoteRouter(settings_, nginx_).install(routes));
  EXPECT_EQ(slurp(dir_ / "routes.conf"), "# the admin's\n");
  settings_.private_key_file = (dir_ / "client_key").string();
  EXPECT_TRUE(RemoteRouter(settings_, nginx_).install(routes));
}

TEST_F(RemoteNginxTest, SshdDownOrSilentFailsWithinTheTimeout) {
  const std::string routes = routing::render_nginx_routes(options(), {{"web", ip("127.0.0.1"), back_}});
  settings_.timeout = 1500ms;
  stop_sshd();
  auto t0 = std::chrono::steady_clock::now();
  auto r = RemoteRouter(settings_, nginx_).install(routes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_LT(ms_since(t0), 1500.0 + 500);

  // A port that accepts the connection (the kernel's backlog) but never says a word: the
  // deadline ends it.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  settings_.port = ntohs(a.sin_port);
  t0 = std::chrono::steady_clock::now();
  r = RemoteRouter(settings_, nginx_).install(routes);
  const double took = ms_since(t0);
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout) << r.error().message;
  EXPECT_GE(took, 1000.0);
  EXPECT_LT(took, 1500.0 + 500);
  std::cout << "[ measure ] silent nginx host, timeout 1500 ms: gave up after " << took << " ms\n";
  EXPECT_EQ(slurp(dir_ / "routes.conf"), "");
}

TEST_F(RemoteNginxTest, TlsRoutesServeHttpsWithTheWildcardCertAndRedirectHttp) {
  auto cert = must_run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=*.it.test", "-addext", "subjectAltName=DNS:*.it.test",
                        "-keyout", (dir_ / "wild.key").string(), "-out", (dir_ / "wild.pem").string()});
  ASSERT_EQ(cert.exit_status, 0) << cert.output;
  auto o = options();
  o.tls = routing::NginxTls{(dir_ / "wild.pem").string(), (dir_ / "wild.key").string(), tls_port_};
  RemoteRouter router(settings_, nginx_);
  ASSERT_TRUE(router.install(routing::render_nginx_routes(o, {{"web", ip("127.0.0.1"), back_}})));
  const std::string tls = std::to_string(tls_port_);
  // Verified against the certificate itself (it is its own CA), under the route's name.
  std::string body;
  for (int i = 0; i < 100 && body != "backend-ok\n"; ++i) {
    if (i) std::this_thread::sleep_for(50ms);
    body = must_run({"/usr/bin/curl", "-s", "--max-time", "5", "--cacert", (dir_ / "wild.pem").string(), "--resolve",
                     "web.it.test:" + tls + ":127.0.0.1", "https://web.it.test:" + tls + "/"})
               .output;
  }
  EXPECT_EQ(body, "backend-ok\n");
  auto redirect =
      must_run({"/usr/bin/curl", "-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H",
                "Host: web.it.test", "http://127.0.0.1:" + std::to_string(front_) + "/x?y=1"});
  EXPECT_EQ(redirect.output, "308 https://web.it.test:" + tls + "/x?y=1");
}

}  // namespace
}  // namespace lxcprov
