// A fleet across hosts, reached through its entry: the entry hv-x in this machine's own network
// namespace, the node hv-y in a network namespace of its own (its daemon, bridge, lxcpath and sshd
// inside it), joined to the entry by a veth pair as two hosts are by a wire, and a client in a
// third namespace that knows only the entry's address. The node namespace has no default route:
// whatever reaches the client from a container there came back through the entry.
//   - a create through the entry, placed on hv-y: the entry has a kernel route to hv-y's subnet
//     (from the registry), its nginx route reaches the container's HTTP server and its ssh port
//     forward (and an extra protocol's: two asked at once) reaches the container from the client;
//   - a container made on hv-y directly gets its forward on the entry at once (the entry LISTENs
//     for the database's notifications; its own beat is 30 s here);
//   - deletes through the entry take the forward and the route away before they answer;
//   - the entry killed while a create it relayed runs: the job ends on hv-y, the client is told
//     which job goes on, and the entry started again serves the container.
//
// A daemon in a namespace needs a sysfs of that namespace (liblxc looks its bridge up there) and
// the cgroup tree, which `ip netns exec` hides: it is started in a mount namespace of its own
// with a new sysfs over /sys and the cgroup tree bound back over that.
// LXC's command sockets are abstract unix sockets, which belong to a network namespace, so the
// test's lxc-* calls for hv-y's containers run in hv-y's namespace (nsenter --net).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../fixtures/pg_server.hpp"
#include "../support/free_port.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

struct Side {
  std::string name, dir, lxcpath, bridge, net, config, socket, log, table;
  pid_t pid = -1;
};

struct Reach {
  std::string conninfo, dir, domain;
  WiredHost wire, client;  ///< hv-y's host, and the client's
  Side entry, node;
  std::string sshd_dir, keys_dir;
  int ssh_port = 0, http_port = 0;
  PrivateNginx nginx;
  bool ready = false;
};

Reach& reach() {
  static Reach r;
  return r;
}

std::vector<std::string> in_node_net(std::vector<std::string> argv) {
  return in_netns(reach().wire.ns, std::move(argv));
}

ProcResult ctl(const Side& s, const std::vector<std::string>& args) { return ctl_with(s.config, args); }

ProcResult shell_on(const Side& s, const std::string& op, const Env& env) { return shell_at(s.socket, op, env); }

int ssh_port_in(const std::string& text) {
  std::smatch m;
  static const std::regex re(R"(ssh -p (\d+) root@)");
  return std::regex_search(text, m, re) ? std::stoi(m[1]) : 0;
}

std::string entry_table() { return run({"nft", "list", "table", "inet", reach().entry.table}).out; }

// A forward as `nft list` shows it.
std::string forward_element(int public_port, const std::string& name, const std::string& ip) {
  return fmt::format("{} comment \"{} SSH\" : {} . 22", public_port, name, ip);
}

ProcResult curl_from_client(int port) {
  const Reach& r = reach();
  return run({"ip", "netns", "exec", r.client.ns, "curl", "-s", "--max-time", "5",
              fmt::format("http://{}:{}/", r.client.here_ip, port)});
}

ProcResult curl_route(const std::string& name) {
  const Reach& r = reach();
  const std::string host = name + "." + r.domain;
  return run({"curl", "-s", "--max-time", "5", "--resolve", fmt::format("{}:{}:127.0.0.1", host, r.http_port),
              fmt::format("http://{}:{}/", host, r.http_port)});
}

// hv-y's daemon, in its namespace; `faulty_args` start lxcprovd_faulty instead.
pid_t start_node(const std::vector<std::string>& faulty_args) {
  const Reach& r = reach();
  return start_daemon(r.node.config, r.node.socket, r.node.log, faulty_args, !faulty_args.empty(),
                      in_netns_daemon(r.wire.ns, r.node.dir + "/cgroup"));
}

// The state letter of /proc/PID/stat ('T' when stopped), or 0.
char process_state(pid_t pid) {
  const std::string stat = read_text(fmt::format("/proc/{}/stat", pid));
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() ? stat[paren + 2] : 0;
}

class FleetReach : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    Reach& r = reach();
    if (!fs::exists("/usr/sbin/nginx") || !fs::exists("/usr/sbin/nft") || !fs::exists("/usr/bin/nsenter"))
      GTEST_SKIP() << "needs nginx, nft and nsenter";
    std::string why;
    auto* pg = lxcprov::testing::PgServer::shared(why);
    ASSERT_NE(pg, nullptr) << why;
    r.conninfo = pg->create_database(why);
    ASSERT_FALSE(r.conninfo.empty()) << why;

    const int id = w.pid % 100000, octet = w.pid % 250;
    r.dir = w.tmp + "/fleet-reach";
    r.domain = "reach.test";
    fs::create_directories(r.dir);
    ::chmod(r.dir.c_str(), 0755);

    // The wire between the two hosts (hv-y gets no default route), and the client's own network,
    // which knows only the entry.
    auto wire = make_wired_host(fmt::format("lxrn{}", id), fmt::format("lxrw{}", id), fmt::format("10.203.{}.", octet));
    ASSERT_TRUE(wire) << wire.error().message;
    r.wire = *wire;
    auto client =
        make_wired_host(fmt::format("lxrc{}", id), fmt::format("lxrc{}", id), fmt::format("10.204.{}.", octet));
    ASSERT_TRUE(client) << client.error().message;
    r.client = *client;
    auto route = sh(fmt::format("ip -n {} route add default via {}", r.client.ns, r.client.here_ip));
    ASSERT_EQ(route.exit_code, 0) << describe(route);

    auto nginx = start_private_nginx(r.dir, "fleet-reach");
    ASSERT_TRUE(nginx) << nginx.error().message;
    r.nginx = *nginx;
    r.http_port = lxcprov::testing::free_loopback_port();
    ASSERT_GT(r.http_port, 0);

    const std::string entry_key = r.dir + "/entry-key";
    auto keygen = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-reach-entry", "-f", entry_key});
    ASSERT_EQ(keygen.exit_code, 0) << describe(keygen);
    const std::string known_hosts = r.dir + "/known-hosts";
    std::ofstream(known_hosts).close();

    const nlohmann::json base = nlohmann::json::parse(read_text(w.config));
    auto side = [&](Side& s, const std::string& name, const std::string& letter, int net_octet) {
      s.name = name;
      s.dir = r.dir + "/" + name;
      s.lxcpath = s.dir + "/lxc";
      s.bridge = fmt::format("lxr{}{}", letter, id);
      s.net = fmt::format("10.{}.{}.", net_octet, octet);
      s.config = s.dir + "/lxcprovd.json";
      s.socket = s.dir + "/" + name + ".sock";
      s.log = s.dir + "/lxcprovd.log";
      s.table = fmt::format("lxr{}{}", letter, id);
      fs::create_directories(s.lxcpath);
      ::chmod(s.dir.c_str(), 0755);
      nlohmann::json cfg = base;
      cfg["socket"] = s.socket;
      cfg["database"] = s.dir + "/unused.db";
      cfg["lxcpath"] = s.lxcpath;
      cfg["network"]["bridge"] = s.bridge;
      cfg["network"]["subnet"] = s.net + "0/24";
      cfg["network"]["gateway"] = s.net + "1";
      cfg["network"]["first"] = s.net + "10";
      cfg["network"]["last"] = s.net + "254";
      cfg["public_host"] = r.client.here_ip;
      // The same ports on both, so each asks the same questions; the entry serves them all.
      cfg["ports"] = forwards_config(s.table, r.client.here_ip, 43000, 200);
      cfg["fleet"] = {{"database", r.conninfo}, {"node", s.name}, {"heartbeat_s", 1}};
      return cfg;
    };
    nlohmann::json entry_cfg = side(r.entry, "hv-x", "x", 62);
    entry_cfg["http"] = r.nginx.http_config(r.domain, static_cast<uint16_t>(r.http_port));
    entry_cfg["fleet"]["entry"] = {{"key", entry_key}, {"known_hosts", known_hosts}, {"control_dir", r.dir + "/ssh"}};
    // The entry's own beat is slow: what it learns of hv-y's changes within seconds, it learns
    // from the database's notifications.
    entry_cfg["fleet"]["heartbeat_s"] = 30;
    std::ofstream(r.entry.config) << entry_cfg.dump(2) << "\n";
    const nlohmann::json node_cfg = side(r.node, "hv-y", "y", 63);
    std::ofstream(r.node.config) << node_cfg.dump(2) << "\n";

    auto host_x =
        sh(w.source_dir + "/scripts/setup-host.sh --bridge " + r.entry.bridge + " --address " + r.entry.net + "1/24");
    ASSERT_EQ(host_x.exit_code, 0) << describe(host_x);
    note_bridge(r.entry.bridge);
    auto host_y = sh("ip netns exec " + r.wire.ns + " " + w.source_dir + "/scripts/setup-host.sh --bridge " +
                     r.node.bridge + " --address " + r.node.net + "1/24");
    ASSERT_EQ(host_y.exit_code, 0) << describe(host_y);
    for (const Side* s : {&r.entry, &r.node}) {
      auto tpl = sh(w.source_dir + "/scripts/build-template.sh --lxcpath " + s->lxcpath + " --name tpl-busybox", 300s);
      ASSERT_EQ(tpl.exit_code, 0) << describe(tpl);
    }

    // hv-y's sshd, in its namespace, with the relay account for the entry's key.
    r.sshd_dir = r.node.dir + "/sshd";
    r.keys_dir = fmt::format("/run/lxcprov-fleet-reach-{}", w.pid);
    r.ssh_port = lxcprov::testing::free_loopback_port();
    ASSERT_GT(r.ssh_port, 0);
    auto sshd = sh(
        fmt::format("ip netns exec {} {}/scripts/setup-sshd.sh --dir {} --listen {} --port {} --shell {} --socket {} "
                    "--authorized-keys-dir {} --fleet-entry-key {}.pub --start",
                    r.wire.ns, w.source_dir, r.sshd_dir, r.wire.there_ip, r.ssh_port, w.shell, r.node.socket,
                    r.keys_dir, entry_key));
    ASSERT_EQ(sshd.exit_code, 0) << describe(sshd);
    ASSERT_TRUE(eventually([&] { return tcp_listening(r.wire.there_ip, r.ssh_port); }, 15s))
        << read_text(r.sshd_dir + "/sshd.log");
    {
      std::istringstream host_key(read_text(r.sshd_dir + "/ssh_host_ed25519_key.pub"));
      std::string type, blob;
      host_key >> type >> blob;
      std::ofstream(known_hosts, std::ios::app)
          << "[" << r.wire.there_ip << "]:" << r.ssh_port << " " << type << " " << blob << "\n";
    }

    auto added_x = ctl(r.entry, {"node", "add", "hv-x", "--endpoint", "127.0.0.1", "--subnet", r.entry.net + "0/24"});
    ASSERT_EQ(added_x.exit_code, 0) << describe(added_x);
    auto added_y = ctl(r.entry, {"node", "add", "hv-y", "--endpoint", fmt::format("{}:{}", r.wire.there_ip, r.ssh_port),
                                 "--subnet", r.node.net + "0/24"});
    ASSERT_EQ(added_y.exit_code, 0) << describe(added_y);
    // Every create through the entry goes to hv-y.
    ASSERT_EQ(ctl(r.entry, {"node", "drain", "hv-x"}).exit_code, 0);

    r.entry.pid = start_daemon(r.entry.config, r.entry.socket, r.entry.log);
    ASSERT_GT(r.entry.pid, 0) << read_text(r.entry.log);
    r.node.pid = start_node({});
    ASSERT_GT(r.node.pid, 0) << read_text(r.node.log);
    for (const Side* s : {&r.entry, &r.node}) {
      auto sealed = seal_template(s->config, "tpl-busybox");
      ASSERT_EQ(sealed.exit_code, 0) << describe(sealed);
    }
    r.ready = true;
  }

  static void TearDownTestSuite() {
    Reach& r = reach();
    World& w = world();
    if (r.dir.empty()) return;
    sh("pkill -TERM -f '" + r.dir + "/ssh/'; true");
    for (Side* s : {&r.entry, &r.node}) {
      auto lxc = [&](std::vector<std::string> argv) { return s == &r.node ? in_node_net(std::move(argv)) : argv; };
      for (const auto& name : lines_of(run_for(lxc({"lxc-ls", "-P", s->lxcpath, "-1"}), 30s).out))
        if (name != "tpl-busybox") run_for(lxc({"lxc-destroy", "-P", s->lxcpath, "-f", "-n", name}), 60s);
      if (s->pid > 0) stop_process(s->pid);
      s->pid = -1;
      run_for(lxc({"lxc-destroy", "-P", s->lxcpath, "-f", "-n", "tpl-busybox"}), 60s);
    }
    if (!r.sshd_dir.empty()) sh("[ -f " + r.sshd_dir + "/sshd.pid ] && kill $(cat " + r.sshd_dir + "/sshd.pid); true");
    if (!r.keys_dir.empty()) fs::remove_all(r.keys_dir);
    r.nginx.stop();
    if (!r.wire.ns.empty()) remove_wired_host(r.wire);
    if (!r.client.ns.empty()) remove_wired_host(r.client);
    sh("nft delete table inet " + r.entry.table + " 2>/dev/null; true");
    sh(w.source_dir + "/scripts/setup-host.sh --remove --bridge " + r.entry.bridge + " >/dev/null 2>&1; true");
  }

  void SetUp() override {
    if (!reach().ready) GTEST_SKIP() << "the two-host fleet did not come up";
  }
};

TEST_F(FleetReach, AContainerOnAnotherHostIsReachedThroughTheEntrysRouteAndForward) {
  Reach& r = reach();
  const World& w = world();
  const std::string name = w.prefix + "far";
  // Two extra protocols, a multi-value answer, reach hv-y as given.
  Env vars = create_vars("alice", name);
  vars["EXTRA_PROTOCOLS"] = "mysql,NTP";
  auto made = shell_on(r.entry, "create", vars);
  ASSERT_EQ(made.exit_code, 0) << describe(made) << read_text(r.node.log);
  const std::string ip = ip_in(made.out);
  const int port = ssh_port_in(made.out);
  std::smatch m;
  const int mysql_port = std::regex_search(made.out, m, std::regex(R"(MYSQL:\s+\S+:(\d+)/tcp -> container port 3306)"))
                             ? std::stoi(m[1])
                             : 0;
  ASSERT_EQ(ip.rfind(r.node.net, 0), 0u) << "placed on hv-y: " << made.out;
  ASSERT_GT(port, 0) << made.out;
  ASSERT_GT(mysql_port, 0) << made.out;
  EXPECT_TRUE(std::regex_search(made.out, std::regex(R"(NTP:\s+\S+:\d+/udp -> container port 123)"))) << made.out;

  // The entry's route to hv-y's subnet, from the registry, through hv-y's end of the wire.
  auto routes = run({"ip", "route", "show", "proto", "211"});
  EXPECT_TRUE(contains(routes.out, r.node.net + "0/24 via " + r.wire.there_ip)) << describe(routes);
  // Its forward was in the entry's table when the create answered.
  EXPECT_TRUE(contains(entry_table(), forward_element(port, name, ip))) << entry_table();

  const std::string body = "hello-from-" + name;
  auto served = run(in_node_net({"lxc-attach", "-P", r.node.lxcpath, "-n", name, "--", "/bin/sh", "-c",
                                 "mkdir -p /tmp/www && echo " + body +
                                     " > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www && "
                                     "busybox httpd -p 22 -h /tmp/www && busybox httpd -p 3306 -h /tmp/www"}));
  ASSERT_EQ(served.exit_code, 0) << describe(served);

  // HTTP through the entry's nginx, across the wire, to the server in the container.
  ProcResult got;
  EXPECT_TRUE(eventually([&] { return (got = curl_route(name)).out == body + "\n"; }, 10s)) << describe(got);
  // The client, which can reach only the entry, through the entry's forward to port 22: the reply
  // comes back only because the entry NATs what it forwards to another node.
  EXPECT_TRUE(eventually([&] { return (got = curl_from_client(port)).out == body + "\n"; }, 10s))
      << describe(got) << entry_table();
  EXPECT_EQ(curl_from_client(mysql_port).out, body + "\n") << entry_table();

  // A container made on hv-y directly is forwarded by the entry at once: the database tells it.
  const std::string direct = w.prefix + "near";
  auto near = shell_on(r.node, "create", create_vars("alice", direct));
  ASSERT_EQ(near.exit_code, 0) << describe(near);
  const int near_port = ssh_port_in(near.out);
  const std::string near_ip = ip_in(near.out);
  EXPECT_TRUE(eventually([&] { return contains(entry_table(), forward_element(near_port, direct, near_ip)); }, 5s))
      << "not within 5 s, and the entry beats every 30 s:\n"
      << entry_table();

  // Deleted through the entry: forward and route gone when it answers.
  auto gone = shell_on(r.entry, "delete", named(name));
  ASSERT_EQ(gone.exit_code, 0) << describe(gone);
  EXPECT_FALSE(contains(entry_table(), ip + " . 22")) << entry_table();
  EXPECT_FALSE(contains(read_text(r.nginx.routes), name + "." + r.domain)) << read_text(r.nginx.routes);
  EXPECT_NE(curl_from_client(port).out, body + "\n");
  auto gone_near = shell_on(r.entry, "delete", named(direct));
  EXPECT_EQ(gone_near.exit_code, 0) << describe(gone_near);
  EXPECT_FALSE(contains(entry_table(), near_ip + " . 22")) << entry_table();
}

}  // namespace
}  // namespace lxcprov::it

namespace lxcprov::it {
namespace {

// The entry killed while a create it relayed runs on hv-y: the job goes on there and ends as it
// would have, and the entry, started again, serves the container as if nothing had happened.
TEST_F(FleetReach, TheEntryKilledMidCreateLosesNothing) {
  Reach& r = reach();
  const World& w = world();
  // hv-y freezes right after the clone of the next job, so the entry can be killed meanwhile.
  stop_process(r.node.pid);
  r.node.pid = start_node({"--pause-at", "after:clone"});
  ASSERT_GT(r.node.pid, 0) << read_text(r.node.log);
  struct Restore {
    Reach& r;
    ~Restore() {
      if (process_state(r.node.pid) == 'T') ::kill(r.node.pid, SIGCONT);
      stop_process(r.node.pid);
      r.node.pid = start_node({});
      if (r.entry.pid <= 0) r.entry.pid = start_daemon(r.entry.config, r.entry.socket, r.entry.log);
    }
  } restore{r};

  const std::string name = w.prefix + "orphan";
  ProcResult made;
  std::thread client([&] { made = shell_on(r.entry, "create", create_vars("alice", name)); });
  const bool frozen = eventually([&] { return process_state(r.node.pid) == 'T'; }, 60s);
  ::kill(r.entry.pid, SIGKILL);
  int st = 0;
  ::waitpid(r.entry.pid, &st, 0);
  r.entry.pid = -1;
  ::kill(r.node.pid, SIGCONT);
  client.join();
  ASSERT_TRUE(frozen) << "hv-y never reached the pause: " << describe(made);
  EXPECT_NE(made.exit_code, 0) << "the entry died before the answer: " << describe(made);
  const auto told = lines_of(made.err);
  std::cout << "[ fleet    ] the killed entry's client: exit " << made.exit_code << ", \""
            << (told.empty() ? "" : told.back()) << "\"\n";

  // The job finished on hv-y without the entry.
  auto row = [&] { return db_row(name, r.node.config).value_or(Row{}); };
  auto ready = [&] {
    return row().state == "ready" &&
           contains(run(in_node_net({"lxc-info", "-P", r.node.lxcpath, "-n", name, "-sH"})).out, "RUNNING");
  };
  EXPECT_TRUE(eventually(ready, 60s)) << ctl(r.node, {"containers"}).out << read_text(r.node.log);
  const std::string job = job_id_in(made.err + made.out);
  ASSERT_FALSE(job.empty()) << "the client was told which job goes on: " << describe(made);
  EXPECT_TRUE(eventually([&] { return job_state(job, r.entry.config) == "SUCCEEDED"; }, 10s))
      << job_state(job, r.entry.config);

  // The entry again: its start-up convergence forwards the container, its beat routes to hv-y.
  r.entry.pid = start_daemon(r.entry.config, r.entry.socket, r.entry.log);
  ASSERT_GT(r.entry.pid, 0) << read_text(r.entry.log);
  const std::string ip = row().ip;
  ASSERT_FALSE(ip.empty()) << ctl(r.node, {"containers"}).out;
  EXPECT_TRUE(eventually([&] { return contains(entry_table(), ip + " . 22"); }, 10s)) << entry_table();
  EXPECT_TRUE(eventually(
      [&] {
        return contains(run({"ip", "route", "show", "proto", "211"}).out, r.node.net + "0/24 via ");
      },
      10s));
  auto gone = shell_on(r.entry, "delete", named(name));
  EXPECT_EQ(gone.exit_code, 0) << describe(gone);
  EXPECT_FALSE(contains(entry_table(), ip + " . 22")) << entry_table();
}

}  // namespace
}  // namespace lxcprov::it
