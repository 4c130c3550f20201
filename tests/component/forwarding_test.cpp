// Component tests of the network edges against the real things: NftApplier against nftables
// (a private table name per run, so concurrent runs and the host's own rules are never touched),
// NginxInstaller (over LocalHost) against a private nginx (own prefix, config, pid file and loopback ports), and the
// port reservations of SqliteStore. Need root, nft and nginx; skipped when those are missing.

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../support/free_port.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "forwarding/nft_ruleset.hpp"
#include "host/local_host.hpp"
#include "network/nft_applier.hpp"
#include "network/nft_table_sync.hpp"
#include "network/protocols.hpp"
#include "routing/nginx_installer.hpp"
#include "routing/nginx_routes.hpp"
#include "state/sqlite_store.hpp"

namespace lxcprov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

host::LocalHost local;

host::ProcessResult must_run(const std::vector<std::string>& argv, const std::string& input = "") {
  auto r = local.run(argv, input, 30s);
  EXPECT_TRUE(r) << argv[0];
  return r ? *r : host::ProcessResult{};
}

using lxcprov::testing::free_loopback_port;

uint32_t ip(const char* text) { return *network::parse_ipv4(text); }

// --- the shipped catalog ------------------------------------------------------------------------

TEST(ProtocolCatalogFile, TheShippedCatalogParses) {
  auto c = network::parse_protocol_catalog(slurp(LXCPROV_SOURCE_DIR "/config/protocols.json"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_GE(c->size(), 30u);
  for (const char* name : {"SSH", "LDAP", "NTP", "MYSQL", "MONGO", "FTP", "FTPS", "HTTP", "HTTPS", "SMTP", "IMAP",
                           "POSTGRES", "REDIS", "RDP", "DNS"})
    EXPECT_NE(network::find_protocol(*c, name), nullptr) << name;
  EXPECT_EQ(network::find_protocol(*c, "FTP")->ports.size(), 2u);  // the old first-match grep lost port 21
  EXPECT_EQ(network::find_protocol(*c, "DNS")->ports, (std::vector<network::ProtocolPort>{{53, "tcp"}, {53, "udp"}}));
}

// --- nftables -----------------------------------------------------------------------------------

class NftApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "needs root and nft";
    nft_ = std::make_unique<network::NftApplier>();
    table_ = "lxct_" + std::to_string(::getpid());
    options_.table = table_;
    options_.subnet = ip("10.249.0.0");
    options_.prefix = 24;
  }
  void TearDown() override {
    if (!table_.empty()) (void)local.run({"/usr/sbin/nft", "-f", "-"}, forwarding::render_nft_removal(table_), 30s);
  }
  std::string listing() { return must_run({"/usr/sbin/nft", "list", "table", "inet", table_}).output; }

  std::string table_;
  forwarding::NftOptions options_;
  std::unique_ptr<network::NftApplier> nft_;  // made after the skip: it opens a netlink socket
};

TEST_F(NftApplierTest, ApplyReapplyAndFailureKeepsThePrevious) {
  const std::string before = must_run({"/usr/sbin/nft", "list", "tables"}).output;
  const std::string one = forwarding::render_nft_ruleset(
      options_,
      {{"web", "SSH", "tcp", 2222, ip("10.249.0.10"), 22}, {"web", "NTP", "udp", 10001, ip("10.249.0.10"), 123}});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(nft_->apply(one));
  const auto took = std::chrono::steady_clock::now() - t0;
  std::cout << "[ measure ] nft apply: " << std::chrono::duration<double, std::milli>(took).count() << " ms\n";
  const std::string first = listing();
  EXPECT_NE(first.find("2222 comment \"web SSH\" : 10.249.0.10 . 22"), std::string::npos) << first;
  EXPECT_NE(first.find("10001 comment \"web NTP\" : 10.249.0.10 . 123"), std::string::npos) << first;

  // Idempotent: the same state gives the same table, not a second copy of each rule.
  ASSERT_TRUE(nft_->apply(one));
  EXPECT_EQ(listing(), first);

  // A ruleset that fails on its last line changes nothing: one transaction.
  std::string broken = forwarding::render_nft_ruleset(options_, {{"api", "SSH", "tcp", 2223, ip("10.249.0.11"), 22}});
  broken += "add rule inet " + table_ + " forwards tcp dport 2224 dnat ip to 300.1.1.1:22\n";
  EXPECT_FALSE(nft_->apply(broken));
  EXPECT_EQ(listing(), first);

  // Only our table changed in the ruleset: every table that existed before is still there.
  const std::string after = must_run({"/usr/sbin/nft", "list", "tables"}).output;
  std::istringstream lines(before);
  for (std::string line; std::getline(lines, line);) EXPECT_NE(after.find(line), std::string::npos) << line;

  // Removal leaves no table, and removing again is not an error.
  ASSERT_TRUE(nft_->apply(forwarding::render_nft_removal(table_)));
  EXPECT_NE(must_run({"/usr/sbin/nft", "list", "table", "inet", table_}).exit_status, 0);
  EXPECT_TRUE(nft_->apply(forwarding::render_nft_removal(table_)));
}

// nftables opens its netlink socket without close-on-exec; root's socket in a child that drops
// privileges would let the child change the ruleset. Nor does any other stray descriptor reach a child.
TEST_F(NftApplierTest, NoChildGetsItsNetlinkSocketOrAnyOtherStrayDescriptor) {
  ASSERT_TRUE(nft_->apply(forwarding::render_nft_ruleset(options_, {})));
  std::vector<int> netlink;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(e.path().filename().string());
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_NETLINK) continue;
    netlink.push_back(fd);
    EXPECT_TRUE(::fcntl(fd, F_GETFD) & FD_CLOEXEC) << "netlink socket " << fd << " would survive an exec";
  }
  EXPECT_FALSE(netlink.empty());

  const int stray = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC, as a careless library would
  ASSERT_GE(stray, 3);
  std::vector<int> watched = netlink;
  watched.push_back(stray);
  // Only shell builtins, so the process looked at is the child itself, whatever the shell execs.
  std::string script;
  for (int fd : watched) script += fmt::format("[ -e /proc/self/fd/{0} ] && echo inherited {0}; ", fd);
  const std::string out = must_run({"/bin/sh", "-c", script + "echo checked"}).output;
  ::close(stray);
  EXPECT_EQ(out, "checked\n");
}

// The element changes NftTableSync sends are what nft accepts, and leave the table as the whole
// render of the same state would: a random sequence of states, then the whole table applied over it
// changes nothing in the listing.
TEST_F(NftApplierTest, ElementChangesLeaveWhatTheWholeTableWould) {
  network::NftTableSync sync(*nft_);
  std::mt19937 rng(3);
  std::vector<forwarding::Forward> state;
  auto apply = [&] {
    const auto e = forwarding::forward_elements(options_.table, state);
    return sync.sync(e, [&] { return forwarding::render_nft_table(options_, e); });
  };
  for (int step = 0; step < 30; ++step) {
    state.clear();
    std::set<std::pair<std::string, uint16_t>> used;
    for (int i = std::uniform_int_distribution<int>(0, 8)(rng); i > 0; --i) {
      const std::string proto = rng() % 3 ? "tcp" : "udp";
      const auto port = static_cast<uint16_t>(2300 + rng() % 12);
      if (!used.insert({proto, port}).second) continue;
      state.push_back({"c" + std::to_string(rng() % 4), "SSH", proto, port,
                       ip("10.249.0.10") + static_cast<uint32_t>(rng() % 5), static_cast<uint16_t>(22 + rng() % 2)});
    }
    ASSERT_TRUE(apply()) << "step " << step;
  }
  EXPECT_EQ(sync.whole_applies(), 1u) << "nft refused a difference";
  const std::string incremental = listing();
  ASSERT_TRUE(nft_->apply(forwarding::render_nft_ruleset(options_, state)));
  EXPECT_EQ(listing(), incremental);
}

// --- nginx --------------------------------------------------------------------------------------

class NginxInstallerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !fs::exists("/usr/sbin/nginx")) GTEST_SKIP() << "needs root and nginx";
    dir_ = fs::temp_directory_path() / ("lxcprov-nginx-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "logs");
    front_ = free_loopback_port();
    back_ = free_loopback_port();
    // The backend is a server block of the same nginx: it answers with a fixed body, so a
    // request through the route proves the proxying.
    std::ofstream(dir_ / "nginx.conf") << "pid " << (dir_ / "nginx.pid").string() << ";\n"
                                       << "error_log " << (dir_ / "logs/error.log").string() << ";\n"
                                       << "worker_processes 1;\nevents {}\nhttp {\n  access_log off;\n"
                                       << "  include " << (dir_ / "routes.conf").string() << ";\n"
                                       << "  server { listen 127.0.0.1:" << back_
                                       << "; location / { return 200 \"backend-ok\\n\"; } }\n}\n";
    std::ofstream(dir_ / "routes.conf") << "";
    auto r = must_run({"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()});
    ASSERT_EQ(r.exit_status, 0) << r.output;
    ASSERT_TRUE(lxcprov::testing::wait_until_listening(back_)) << "nginx did not come up";
    settings_ = routing::local_nginx_settings("/usr/sbin/nginx", dir_.string(), (dir_ / "nginx.conf").string(),
                                              (dir_ / "routes.conf").string(), 30s);
    settings_.pid_file = routing::nginx_pid_path(slurp(dir_ / "nginx.conf"), dir_.string());
    ASSERT_EQ(settings_.pid_file, (dir_ / "nginx.pid").string());
  }
  void TearDown() override {
    if (dir_.empty()) return;
    (void)local.run({"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string(), "-s", "stop"}, "",
                    30s);
    // nginx removes its pid file as it exits; wait so the two removals do not race.
    for (int i = 0; i < 250 && fs::exists(dir_ / "nginx.pid"); ++i) std::this_thread::sleep_for(20ms);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string get(const std::string& host) {
    return must_run({"/usr/bin/curl", "-s", "--max-time", "5", "-H", "Host: " + host,
                     "http://127.0.0.1:" + std::to_string(front_) + "/"})
        .output;
  }
  // A reload is a signal: the new workers take over a moment later.
  bool eventually_get(const std::string& host, const std::string& want) {
    for (int i = 0; i < 100; ++i) {
      if (get(host) == want) return true;
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }

  fs::path dir_;
  uint16_t front_ = 0, back_ = 0;
  routing::NginxInstallerSettings settings_;
};

TEST_F(NginxInstallerTest, GoodRoutesReloadBadRoutesRestoreThePreviousFile) {
  routing::NginxInstaller router(local, settings_);
  routing::NginxOptions o{"it.test", ip("127.0.0.1"), front_};
  const std::string good = routing::render_nginx_routes(o, {{"web", ip("127.0.0.1"), back_}});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(router.install(good));
  std::cout << "[ measure ] nginx write + test + reload: "
            << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() << " ms\n";
  EXPECT_EQ(slurp(settings_.include_file), good);
  EXPECT_TRUE(eventually_get("web.it.test", "backend-ok\n"));

  // nginx -t refuses it: the error says so, the file is the previous one, traffic still flows.
  auto bad = router.install(good + "server { this is not nginx }\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::unavailable);
  EXPECT_EQ(bad.error().message.find(dir_.string()), std::string::npos) << "no host paths for users";
  EXPECT_EQ(slurp(settings_.include_file), good);
  EXPECT_EQ(get("web.it.test"), "backend-ok\n");

  // An empty route set removes the route.
  ASSERT_TRUE(router.install(routing::render_nginx_routes(o, {})));
  EXPECT_TRUE(eventually_get("web.it.test", ""));  // nothing listens on the front port any more
  EXPECT_EQ(fs::directory_iterator(dir_) == fs::directory_iterator(), false);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".lxcprov-"), std::string::npos) << "temp file left: " << e.path();
}

// Records what the installer runs on the real host.
class RecordingHost : public host::Host {
 public:
  Result<std::string> read_file(const std::string& path) override { return local.read_file(path); }
  Status replace_file(const std::string& path, std::string_view content, const host::FileMode& mode) override {
    return local.replace_file(path, content, mode);
  }
  Result<host::ProcessResult> run(const std::vector<std::string>& argv, std::string_view input,
                                  std::chrono::milliseconds timeout) override {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    ran.push_back(line);
    return local.run(argv, input, timeout);
  }
  Result<host::ProcessResult> run_as(const std::vector<std::string>& argv, const host::RunAsOptions& o) override {
    return local.run_as(argv, o);
  }
  std::vector<std::string> ran;
};

bool has_reload_command(const std::vector<std::string>& ran) {
  return std::any_of(ran.begin(), ran.end(), [](const std::string& l) { return l.find("-s reload") != l.npos; });
}

// The local nginx is reloaded by a signal to its master: no second nginx starts for it. A pid file
// naming anything else (a stale file, a reused pid) is not signalled: the command runs instead.
TEST_F(NginxInstallerTest, TheLocalMasterIsSignalledAndAStalePidFileIsNot) {
  RecordingHost recording;
  routing::NginxInstaller router(recording, settings_);
  routing::NginxOptions o{"it.test", ip("127.0.0.1"), front_};
  ASSERT_TRUE(router.install(routing::render_nginx_routes(o, {{"web", ip("127.0.0.1"), back_}})));
  EXPECT_TRUE(eventually_get("web.it.test", "backend-ok\n"));
  ASSERT_EQ(recording.ran.size(), 1u);
  EXPECT_NE(recording.ran[0].find(" -t -q"), std::string::npos) << recording.ran[0];
  EXPECT_FALSE(has_reload_command(recording.ran));

  // The pid file now names a process that is not nginx.
  const pid_t other = ::fork();
  ASSERT_GE(other, 0);
  if (other == 0) {
    ::execl("/bin/sleep", "sleep", "30", nullptr);
    ::_exit(127);
  }
  auto stale = settings_;
  stale.pid_file = (dir_ / "stale.pid").string();
  std::ofstream(stale.pid_file) << other << "\n";
  recording.ran.clear();
  routing::NginxInstaller stale_router(recording, stale);
  ASSERT_TRUE(stale_router.install(routing::render_nginx_routes(o, {{"api", ip("127.0.0.1"), back_}})));
  EXPECT_TRUE(eventually_get("api.it.test", "backend-ok\n"));
  EXPECT_TRUE(has_reload_command(recording.ran));
  int status = 0;
  EXPECT_EQ(::waitpid(other, &status, WNOHANG), 0) << "the process the stale file named was signalled";
  ::kill(other, SIGKILL);
  ::waitpid(other, &status, 0);
}

TEST_F(NginxInstallerTest, ReloadFailureRestoresTooAndNextInstallRetries) {
  routing::NginxInstaller router(local, settings_);
  routing::NginxOptions o{"it.test", ip("127.0.0.1"), front_};
  // nginx stopped: the test passes but the reload cannot, so the file goes back.
  ASSERT_EQ(must_run({"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string(), "-s", "stop"})
                .exit_status,
            0);
  for (int i = 0; i < 1000 && fs::exists(dir_ / "nginx.pid"); ++i) std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(fs::exists(dir_ / "nginx.pid")) << "nginx did not stop";
  const std::string good = routing::render_nginx_routes(o, {{"web", ip("127.0.0.1"), back_}});
  EXPECT_FALSE(router.install(good));
  EXPECT_EQ(slurp(settings_.include_file), "");
  // nginx back: the same text installs (not skipped as "unchanged").
  ASSERT_EQ(must_run({"/usr/sbin/nginx", "-p", dir_.string(), "-c", (dir_ / "nginx.conf").string()}).exit_status, 0);
  ASSERT_TRUE(router.install(good));
  EXPECT_TRUE(eventually_get("web.it.test", "backend-ok\n"));
}

// --- port reservations --------------------------------------------------------------------------

class PortStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lxcprov-ports-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    auto s = state::SqliteStore::open((dir_ / "state.db").string());
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
    pool_ = *network::IpPool::parse("10.0.3.0/24", "10.0.3.1", "10.0.3.10", "10.0.3.254");
  }
  void TearDown() override { fs::remove_all(dir_); }
  state::NewContainer nc(const std::string& name, std::vector<state::PortRequest> ports) {
    return {name, "alice", "busybox", 3000, "00000000000000aa", std::move(ports), 0};
  }

  fs::path dir_;
  std::unique_ptr<state::SqliteStore> store_;
  network::IpPool pool_;
};

TEST_F(PortStoreTest, LowestFreePortPerProtocolReservedWithTheContainer) {
  auto a = store_->reserve_container(
      nc("a",
         {{"SSH", "tcp", 22, 2222, 2224}, {"NTP", "udp", 123, 10001, 10002}, {"MYSQL", "tcp", 3306, 10001, 10002}}),
      pool_, 100);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->ports,
            (std::vector<state::PortRecord>{
                {"a", "SSH", "tcp", 2222, 22}, {"a", "NTP", "udp", 10001, 123}, {"a", "MYSQL", "tcp", 10001, 3306}}));
  auto b = store_->reserve_container(nc("b", {{"SSH", "tcp", 22, 2222, 2224}}), pool_, 100);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->ports[0].public_port, 2223);
  // A released port is handed out again: the lowest free one.
  ASSERT_TRUE(store_->release_container("a"));
  auto c = store_->reserve_container(nc("c", {{"SSH", "tcp", 22, 2222, 2224}}), pool_, 100);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->ports[0].public_port, 2222);
  auto all = store_->list_ports();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);  // a's three went with its row
  ASSERT_TRUE(store_->release_ports("b"));
  EXPECT_EQ(store_->list_ports()->size(), 1u);
  EXPECT_TRUE(store_->find_container("b")->has_value());
}

TEST_F(PortStoreTest, ExhaustedPortPoolReservesNothing) {
  ASSERT_TRUE(store_->reserve_container(nc("a", {{"SSH", "tcp", 22, 2222, 2222}}), pool_, 100));
  auto b = store_->reserve_container(nc("b", {{"SSH", "tcp", 22, 2222, 2222}}), pool_, 100);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::unavailable);
  EXPECT_FALSE(store_->find_container("b")->has_value()) << "the container row must roll back with the ports";
  auto dup =
      store_->reserve_container(nc("d", {{"X", "tcp", 80, 10001, 10009}, {"Y", "tcp", 80, 10001, 10009}}), pool_, 100);
  ASSERT_FALSE(dup);
  EXPECT_FALSE(store_->find_container("d")->has_value());
}

TEST_F(PortStoreTest, ConcurrentReservationsFromManyConnectionsNeverShareAPort) {
  constexpr int n = 8;
  std::vector<std::unique_ptr<state::SqliteStore>> stores;
  for (int i = 0; i < n; ++i) stores.push_back(state::SqliteStore::open((dir_ / "state.db").string()).value());
  std::latch go(n);
  std::vector<std::optional<uint16_t>> got(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      auto r = stores[static_cast<size_t>(i)]->reserve_container(
          nc("c" + std::to_string(i), {{"SSH", "tcp", 22, 2222, 2227}}), pool_, 100);
      if (r) got[static_cast<size_t>(i)] = r->ports[0].public_port;
    });
  for (auto& t : threads) t.join();
  std::set<uint16_t> ports;
  int winners = 0;
  for (const auto& g : got)
    if (g) {
      ++winners;
      ports.insert(*g);
    }
  EXPECT_EQ(winners, 6);  // the pool has six ports
  EXPECT_EQ(ports.size(), 6u);
}

}  // namespace
}  // namespace lxcprov
