// Crash recovery through the real daemon: lxcprovd_faulty (tests/support/faulty_lxcprovd.cpp) is
// SIGKILLed at every step boundary of a create and of a delete (--crash-at before:STEP, after:STEP,
// and after:finish: the outcome recorded, the client not yet told), restarted without the crash
// point on the same config and database, and the host is then compared with the state database:
// containers under the lxcpath, their addresses, veths and cgroups, the nftables forwards and the
// nginx routes as installed, and every job terminal with an outcome that is true of the host.
//
// The step names are read from the job_steps of a real create and delete of this daemon, so a new
// step is crashed at without touching this file. Port forwards and HTTP routes are on (the world's
// daemon has them off): a private nginx, an nftables table named after the pid whose forwards
// match only the world bridge's gateway address (never another run's), its own slice of the
// address pool (.150-.179), of ctids and of public ports. Updates are not crashed here: an update
// needs the Debian template and a git server (deploy_test.cpp), minutes per case; their undo on
// restart is covered by the unit tests' crash-at-every-call (tests/unit/provisioner_test.cpp).

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../support/free_port.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "network/addresses.hpp"
#include "network/ip_pool.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

struct CrashWorld {
  std::string dir, config, socket, log, db, table, domain, gateway, names;
  PrivateNginx nginx;
  pid_t daemon = -1;
  bool ready = false;
  std::vector<std::string> create_steps, delete_steps;
  int cases = 0;
};

CrashWorld& cw() {
  static CrashWorld c;
  return c;
}

// --- the daemon ---------------------------------------------------------------------------------

pid_t start(const std::string& crash_at = "") {
  CrashWorld& c = cw();
  std::vector<std::string> extra;
  if (!crash_at.empty()) extra = {"--crash-at", crash_at};
  return start_daemon(c.config, c.socket, c.log, extra, /*faulty=*/true);
}

// Reaps a daemon that is expected to kill itself; true when SIGKILL ended it.
bool died_of_sigkill(pid_t pid, std::chrono::milliseconds timeout = 60s) {
  int st = 0;
  const bool gone = eventually([&] { return ::waitpid(pid, &st, WNOHANG) == pid; }, timeout);
  if (!gone) return false;
  std::error_code ec;  // the janitor must not signal a pid that may be reused
  fs::remove(world().tmp + "/" + fs::path(cw().socket).filename().string() + ".pid", ec);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

ProcResult shell(const std::string& op, const Env& env) {
  RunOptions o;
  o.env = env;
  o.unset = {"SSH_ORIGINAL_COMMAND"};
  o.timeout = 120s;
  return run({world().shell, "--socket", cw().socket, op}, o);
}

ProcResult create_on(const std::string& name) { return shell("create", create_vars("alice", name)); }

ProcResult delete_on(const std::string& name) { return shell("delete", named(name)); }

std::vector<std::string> sql(const std::string& query) {
  auto r = run_for({"sqlite3", "-readonly", cw().db, query}, 30s);
  EXPECT_EQ(r.exit_code, 0) << query << "\n" << describe(r);
  return lines_of(r.out);
}

// --- what is installed on the host -------------------------------------------------------------

struct Forward {
  std::string proto, public_port, ip, container_port, container;
  auto operator<=>(const Forward&) const = default;
};

std::set<Forward> nft_forwards() {
  auto r = run_for({"nft", "list", "table", "inet", cw().table}, 30s);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  std::set<Forward> out;
  for (const auto& f : forwarding::listed_forwards(r.out))
    out.insert({f.proto, std::to_string(f.public_port), network::format_ipv4(f.ip), std::to_string(f.container_port),
                f.container});
  return out;
}

std::set<Forward> db_forwards() {
  std::set<Forward> out;
  for (const auto& line : sql("SELECT p.proto, p.public_port, c.ip, p.container_port, p.container FROM ports p "
                              "JOIN containers c ON c.name = p.container")) {
    std::istringstream in(line);
    std::string proto, port, ip, cport, name;
    std::getline(in, proto, '|'), std::getline(in, port, '|'), std::getline(in, ip, '|');
    std::getline(in, cport, '|'), std::getline(in, name, '|');
    out.insert({proto, port, network::format_ipv4(static_cast<uint32_t>(std::stoul(ip))), cport, name});
  }
  return out;
}

std::set<std::string> nginx_routes() {
  const std::string text = read_text(cw().nginx.routes);
  // One entry of the $host map per route: "  NAME.DOMAIN IP:PORT;" (routing/nginx_routes.cpp).
  const std::regex re("\n  (\\S+)\\." + std::regex_replace(cw().domain, std::regex("\\."), "\\.") + " [0-9.]+:[0-9]+;");
  std::set<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.insert((*it)[1]);
  return out;
}

std::set<std::string> with_prefix(const std::vector<std::string>& names) {
  std::set<std::string> out;
  for (const auto& n : names)
    if (n.rfind(cw().names, 0) == 0) out.insert(n);
  return out;
}

// The lxc.payload.NAME cgroups of this suite's containers (cgroup v1 or v2).
std::set<std::string> payload_cgroups() {
  auto r = sh("find /sys/fs/cgroup -maxdepth 2 -type d -name 'lxc.payload." + cw().names + "*' -printf '%f\\n'");
  std::set<std::string> out;
  for (const auto& l : lines_of(r.out)) out.insert(l.substr(std::string("lxc.payload.").size()));
  return out;
}

// The veths of this suite's address slice that exist on the host.
std::set<std::string> slice_veths() {
  auto r = run_for({"ip", "-o", "link", "show"}, 30s);
  std::set<std::string> wanted, out;
  for (int i = 150; i <= 179; ++i)
    wanted.insert(network::veth_name_for(*network::parse_ipv4(world().net + std::to_string(i))));
  static const std::regex re(R"(^\d+: ([^:@]+)[:@])");
  for (const auto& line : lines_of(r.out)) {
    std::smatch m;
    if (std::regex_search(line, m, re) && wanted.count(m[1])) out.insert(m[1]);
  }
  return out;
}

// --- the invariants ----------------------------------------------------------------------------

// After recovery: every container of this daemon has a row and every row a running container with
// the row's address, veth and cgroup; nothing is reserved for a container that does not exist; the
// nftables forwards and the nginx routes are exactly the rows'; no job is left unfinished.
void expect_host_matches_state() {
  const World& w = world();
  std::set<std::string> rows, veths;
  for (const auto& r : db_rows(cw().config)) {
    rows.insert(r.name);
    veths.insert(network::veth_name_for(*network::parse_ipv4(r.ip)));
    EXPECT_EQ(r.state, "ready") << r.name;
    EXPECT_EQ(lxc_state(r.name), "RUNNING") << r.name;
    const std::string cfg = read_text(w.lxcpath + "/" + r.name + "/config");
    EXPECT_NE(cfg.find("lxc.net.0.ipv4.address = " + r.ip + "/"), std::string::npos)
        << r.name << " does not have its row's address " << r.ip << ":\n"
        << cfg;
  }
  EXPECT_EQ(with_prefix(lxc_names()), rows) << "containers under the lxcpath vs rows";
  std::set<std::string> dirs;
  for (const auto& e : fs::directory_iterator(w.lxcpath)) dirs.insert(e.path().filename().string());
  EXPECT_EQ(with_prefix({dirs.begin(), dirs.end()}), rows) << "lxcpath directories vs rows";
  EXPECT_EQ(payload_cgroups(), rows) << "lxc.payload cgroups vs rows";
  EXPECT_EQ(slice_veths(), veths) << "veths vs rows";
  EXPECT_EQ(sql("SELECT container FROM ports WHERE container NOT IN (SELECT name FROM containers)"),
            std::vector<std::string>{})
      << "ports reserved for no container";
  EXPECT_EQ(nft_forwards(), db_forwards()) << "nftables forwards vs reserved ports";
  std::set<std::string> forwarded;
  for (const auto& f : nft_forwards()) forwarded.insert(f.container);
  EXPECT_EQ(forwarded, rows) << "every container has its ssh forward";
  EXPECT_EQ(nginx_routes(), rows) << "nginx routes vs rows";
  EXPECT_EQ(sql("SELECT id || ' ' || op || ' ' || container || ' ' || state FROM jobs "
                "WHERE state NOT IN ('SUCCEEDED', 'FAILED', 'ROLLED_BACK')"),
            std::vector<std::string>{})
      << "unfinished jobs";
}

// Nothing of `name` anywhere: no row, container, directory, veth, cgroup, forward or route.
void expect_gone(const std::string& name, const std::string& ip) {
  EXPECT_FALSE(db_row(name, cw().config).has_value()) << name;
  EXPECT_EQ(lxc_state(name), "") << name;
  EXPECT_FALSE(container_dir_exists(name)) << name;
  EXPECT_EQ(payload_cgroups().count(name), 0u) << name;
  if (!ip.empty()) {
    EXPECT_EQ(slice_veths().count(network::veth_name_for(*network::parse_ipv4(ip))), 0u) << name;
  }
  for (const auto& f : nft_forwards()) EXPECT_NE(f.container, name);
  EXPECT_EQ(nginx_routes().count(name), 0u) << name;
}

// The container answers through its ssh forward: an HTTP server on its port 22, reached from the
// host at the gateway address and the public port the table forwards.
void expect_forward_connects(const std::string& name) {
  std::string port;
  for (const auto& f : nft_forwards())
    if (f.container == name && f.container_port == "22") port = f.public_port;
  ASSERT_FALSE(port.empty()) << name << " has no ssh forward";
  auto served = attach(name, {"/bin/sh", "-c",
                              "mkdir -p /tmp/www && echo " + name +
                                  " > /tmp/www/index.html && "
                                  "busybox httpd -p 22 -h /tmp/www"});
  ASSERT_EQ(served.exit_code, 0) << describe(served);
  ProcResult got;
  EXPECT_TRUE(eventually(
      [&] {
        got = run_for({"curl", "-s", "--max-time", "3", "http://" + cw().gateway + ":" + port + "/"}, 10s);
        return got.out == name + "\n";
      },
      15s))
      << describe(got);
}

std::string job_of(const std::string& job_id) { return job_state(job_id, cw().config); }

void report(size_t boundaries, std::chrono::steady_clock::time_point t0) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "[ figures  ] " << boundaries << " crash points, " << ms << " ms (" << ms / static_cast<long>(boundaries)
            << " ms each: start, crash, restart with recovery, checks)\n";
}

// --- the suite ---------------------------------------------------------------------------------

class CrashRecovery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    CrashWorld& c = cw();
    const int id = w.pid % 100000;
    c.dir = w.tmp + "/crash";
    c.config = c.dir + "/lxcprovd.json";
    c.socket = w.tmp + "/crash.sock";  // the janitor stops daemons by the pid files in w.tmp
    c.log = c.dir + "/lxcprovd.log";
    c.db = c.dir + "/state/state.db";
    c.table = "lxitc" + std::to_string(id);
    c.domain = "crash.test";
    c.gateway = w.net + "1";
    c.names = w.prefix + "cr-";
    if (!fs::exists("/usr/sbin/nginx") || !fs::exists("/usr/sbin/nft") || !fs::exists("/usr/bin/sqlite3"))
      GTEST_SKIP() << "needs nginx, nft and sqlite3";
    fs::create_directories(c.dir + "/state");
    fs::create_directories(c.dir + "/audit");
    auto nginx = start_private_nginx(c.dir, "crash");
    ASSERT_TRUE(nginx) << nginx.error().message;
    c.nginx = *nginx;

    nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
    cfg["socket"] = c.socket;
    cfg["database"] = c.db;
    // Its own trail: the world's is verified by other tests, and these daemons die on purpose.
    cfg["audit_log"] = c.dir + "/audit/audit.log";
    cfg["network"]["first"] = w.net + "150";
    cfg["network"]["last"] = w.net + "179";
    cfg["ctid_min"] = 12000;
    cfg["ports"] = forwards_config(c.table, c.gateway, 43000, 100);
    cfg["http"] = c.nginx.http_config(c.domain, lxcprov::testing::free_loopback_port());
    std::ofstream(c.config) << cfg.dump(2) << "\n";
    c.daemon = start();
    ASSERT_GT(c.daemon, 0) << read_text(c.log);
    auto sealed = seal_template(c.config, "tpl-busybox");  // in this daemon's own state
    ASSERT_EQ(sealed.exit_code, 0) << describe(sealed);

    // The steps a real create and delete record, in order: the boundaries to crash at.
    const std::string probe = c.names + "probe";
    auto made = create_on(probe);
    ASSERT_EQ(made.exit_code, 0) << describe(made) << read_text(c.log);
    const std::string create_job = job_id_in(made.err);
    auto gone = delete_on(probe);
    ASSERT_EQ(gone.exit_code, 0) << describe(gone);
    const std::string delete_job = job_id_in(gone.err);
    ASSERT_FALSE(create_job.empty() || delete_job.empty()) << describe(made) << describe(gone);
    c.create_steps = sql("SELECT step FROM job_steps WHERE job_id = '" + create_job + "' ORDER BY seq");
    c.delete_steps = sql("SELECT step FROM job_steps WHERE job_id = '" + delete_job + "' ORDER BY seq");
    ASSERT_GE(c.create_steps.size(), 5u);
    ASSERT_GE(c.delete_steps.size(), 3u);
    std::cout << "[ crash    ] create steps:";
    for (const auto& s : c.create_steps) std::cout << " " << s;
    std::cout << "\n[ crash    ] delete steps:";
    for (const auto& s : c.delete_steps) std::cout << " " << s;
    std::cout << "\n";
    c.ready = true;
  }

  static void TearDownTestSuite() {
    CrashWorld& c = cw();
    if (c.daemon > 0) stop_process(c.daemon);
    c.daemon = -1;
    if (c.dir.empty()) return;
    // The containers go with the world's lxcpath; the table and nginx are this suite's own.
    c.nginx.stop();
    (void)sh("nft delete table inet " + c.table + " 2>/dev/null; true");
  }

  void SetUp() override {
    if (!cw().ready) GTEST_SKIP() << "the crash daemon is not running";
  }

  // Runs `op` on a daemon that SIGKILLs itself at `crash_at`, restarts it without, and returns the
  // job id the client was given. The running daemon (no crash point) is replaced and put back.
  std::string crash_during(const std::string& crash_at, const std::function<ProcResult()>& op) {
    CrashWorld& c = cw();
    ++c.cases;
    stop_process(c.daemon);
    c.daemon = start(crash_at);
    EXPECT_GT(c.daemon, 0) << read_text(c.log);
    if (c.daemon <= 0) return "";
    auto r = op();
    EXPECT_NE(r.exit_code, 0) << "the client was told it worked: " << describe(r);
    const bool killed = died_of_sigkill(c.daemon);
    EXPECT_TRUE(killed) << "the daemon did not crash at " << crash_at;
    if (!killed) stop_process(c.daemon);
    c.daemon = start();  // recovery runs before it accepts a connection
    EXPECT_GT(c.daemon, 0) << read_text(c.log);
    return job_id_in(r.err);
  }
};

TEST_F(CrashRecovery, CreateKilledAtEveryStepBoundary) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> points;
  for (const auto& step : cw().create_steps) points.insert(points.end(), {"before:" + step, "after:" + step});
  points.push_back("after:finish");
  for (const auto& point : points) {
    SCOPED_TRACE("create, crash at " + point);
    const std::string name = cw().names + "c" + std::to_string(cw().cases);
    const std::string job = crash_during(point, [&] { return create_on(name); });
    ASSERT_GT(cw().daemon, 0);
    ASSERT_FALSE(job.empty()) << "no job id reached the client";
    expect_host_matches_state();
    const std::string outcome = job_of(job);
    if (point == "after:finish") {
      // Finished before the crash: recovery leaves it alone, and it is what the record says.
      ASSERT_EQ(outcome, "SUCCEEDED");
      auto row = db_row(name, cw().config);
      ASSERT_TRUE(row.has_value());
      expect_forward_connects(name);
      auto d = delete_on(name);
      EXPECT_EQ(d.exit_code, 0) << describe(d);
      expect_gone(name, row->ip);
    } else {
      // Interrupted: undone, and nothing of it is left.
      EXPECT_EQ(outcome, "ROLLED_BACK") << "job " << job;
      expect_gone(name, "");
    }
    expect_host_matches_state();
  }
  report(points.size(), t0);
}

TEST_F(CrashRecovery, DeleteKilledAtEveryStepBoundary) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> points;
  for (const auto& step : cw().delete_steps) points.insert(points.end(), {"before:" + step, "after:" + step});
  points.push_back("after:finish");
  for (const auto& point : points) {
    SCOPED_TRACE("delete, crash at " + point);
    const std::string name = cw().names + "d" + std::to_string(cw().cases);
    auto made = create_on(name);
    ASSERT_EQ(made.exit_code, 0) << describe(made);
    const std::string ip = ip_in(made.out);
    const std::string job = crash_during(point, [&] { return delete_on(name); });
    ASSERT_GT(cw().daemon, 0);
    ASSERT_FALSE(job.empty()) << "no job id reached the client";
    // Resumed after its last recorded step: the container is deleted, and the job says so.
    EXPECT_EQ(job_of(job), "SUCCEEDED") << "job " << job;
    expect_gone(name, ip);
    expect_host_matches_state();
  }
  report(points.size(), t0);
}

}  // namespace
}  // namespace lxcprov::it
