// Port forwards, HTTP routes and resource limits, end to end: a second lxcprovd of this run with
// both features on (the world's daemon has them off) against real nftables, a private nginx and
// real containers. A user creates a container through lxcprov-shell, an HTTP server inside it
// answers through nginx at NAME.<domain>, and a client in a network namespace of its own (a veth
// pair to the host, its own /30) reaches the container's port 22 and an extra protocol's port
// through the forwards. Delete removes the forwards and the route; a daemon killed with SIGKILL
// puts a wiped table back from its state when it starts again.
//
// Isolation from other runs and from a real installation: the nftables table, the netns, the
// veth pair and the nginx instance are named after the pid; the forwards match only this run's
// veth address (ports.public_address), so two runs using the same public port never meet. The
// daemon shares the world's bridge, lxcpath and template, with its own slice of the address pool
// (.240-.254) so the two daemons never hand out one address.

#include <gtest/gtest.h>
#include <unistd.h>
#include "../support/free_port.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

struct Net {
  std::string dir, config, socket, log, table, ns, veth_host, veth_ns, host_ip, ns_ip, domain;
  PrivateNginx nginx;
  int http_port = 0;
  pid_t daemon = -1;
  bool ready = false;
};

Net& net() {
  static Net n;
  return n;
}

std::string nft_table() { return run({"nft", "list", "table", "inet", net().table}).out; }
// A forward as `nft list` shows it: an element of the DNAT map of its protocol.
std::string forward_element(int public_port, const std::string& name, const std::string& service, const std::string& ip,
                            int port) {
  return std::to_string(public_port) + " comment \"" + name + " " + service + "\" : " + ip + " . " +
         std::to_string(port);
}

using lxcprov::testing::free_loopback_port;

ProcResult shell(const std::string& op, Env env) {
  RunOptions o;
  o.env = std::move(env);
  o.unset = {"SSH_ORIGINAL_COMMAND"};
  o.timeout = 120s;
  return run({world().shell, "--socket", net().socket, op}, o);
}

ProcResult curl_route(const std::string& name) {
  const Net& n = net();
  const std::string host = name + "." + n.domain;
  return run({"curl", "-s", "--max-time", "5", "--resolve", host + ":" + std::to_string(n.http_port) + ":127.0.0.1",
              "http://" + host + ":" + std::to_string(n.http_port) + "/"});
}

ProcResult curl_from_ns(int port) {
  const Net& n = net();
  return run({"ip", "netns", "exec", n.ns, "curl", "-s", "--max-time", "5",
              "http://" + n.host_ip + ":" + std::to_string(port) + "/"});
}

// An HTTP server inside the container on each of `ports`, answering `body`.
void serve(const std::string& name, const std::string& body, const std::vector<int>& ports) {
  std::string script = "mkdir -p /tmp/www && echo " + body + " > /tmp/www/index.html";
  for (int p : ports) script += " && busybox httpd -p " + std::to_string(p) + " -h /tmp/www";
  auto r = attach(name, {"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
}

int port_after(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return 0;
  return std::stoi(m[1]);
}

class Reachability : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    Net& n = net();
    const int id = w.pid % 100000;
    n.dir = w.tmp + "/net";
    n.config = n.dir + "/lxcprovd.json";
    n.socket = w.tmp + "/net.sock";  // the janitor stops daemons by the pid files in w.tmp
    n.log = n.dir + "/lxcprovd.log";
    n.table = "lxitn" + std::to_string(id);
    n.ns = "lxitns" + std::to_string(id);
    n.veth_host = "lxvh" + std::to_string(id);
    n.veth_ns = "lxvn" + std::to_string(id);
    const std::string sub = "10.200." + std::to_string(w.pid % 250) + ".";
    n.host_ip = sub + "1";
    n.ns_ip = sub + "2";
    n.domain = "it.test";
    n.http_port = free_loopback_port();
    ASSERT_GT(n.http_port, 0);
    if (!fs::exists("/usr/sbin/nginx") || !fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "needs nginx and nft";
    fs::create_directories(n.dir + "/state");
    auto nginx = start_private_nginx(n.dir, "reach");
    ASSERT_TRUE(nginx) << nginx.error().message;
    n.nginx = *nginx;

    auto ns =
        sh("set -e; ip netns add " + n.ns + "; ip link add " + n.veth_host + " type veth peer name " + n.veth_ns +
           "; ip link set " + n.veth_ns + " netns " + n.ns + "; ip addr add " + n.host_ip + "/30 dev " + n.veth_host +
           "; ip link set " + n.veth_host + " up; ip -n " + n.ns + " addr add " + n.ns_ip + "/30 dev " + n.veth_ns +
           "; ip -n " + n.ns + " link set " + n.veth_ns + " up; ip -n " + n.ns + " link set lo up");
    ASSERT_EQ(ns.exit_code, 0) << ns.err;

    nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
    cfg["socket"] = n.socket;
    cfg["database"] = n.dir + "/state/state.db";
    cfg["network"]["first"] = w.net + "240";
    cfg["network"]["last"] = w.net + "254";
    cfg["ctid_min"] = 5000;
    cfg["ports"] = forwards_config(n.table, n.host_ip, 42000, 200);
    cfg["http"] = n.nginx.http_config(n.domain, static_cast<uint16_t>(n.http_port));
    cfg["limits"] = {{"memory", "256M"}, {"cpus", "0.5"}, {"pids", 300}};
    // tpl-debian exists once a test has installed it (install_debian_template).
    cfg["distributions"] = {{"busybox", {{"template", "tpl-busybox"}}}, {"debian", {{"template", "tpl-debian"}}}};
    std::ofstream(n.config) << cfg.dump(2) << "\n";
    n.daemon = start_daemon(n.config, n.socket, n.log);
    ASSERT_GT(n.daemon, 0) << read_text(n.log);
    auto sealed = seal_template(n.config, "tpl-busybox");  // in this daemon's own state
    ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;
    n.ready = true;
  }

  static void TearDownTestSuite() {
    Net& n = net();
    if (n.daemon > 0) stop_process(n.daemon);
    n.daemon = -1;
    if (n.dir.empty()) return;
    n.nginx.stop();
    (void)sh("ip netns del " + n.ns + " 2>/dev/null; ip link del " + n.veth_host +
             " 2>/dev/null; "
             "nft delete table inet " +
             n.table + " 2>/dev/null; true");
  }

  void SetUp() override {
    if (!net().ready) GTEST_SKIP() << "the reachability daemon is not running";
  }

  Env vars(const std::string& name, Env extra = {}) {
    Env e = create_vars("alice", name);
    e.erase("PUBLIC_KEY");
    for (auto& [k, v] : extra) e[k] = v;
    return e;
  }
};

TEST_F(Reachability, HttpRouteSshForwardExtraProtocolLimitsAndDelete) {
  const World& w = world();
  const Net& n = net();
  const std::string name = w.prefix + "reach";
  auto c = shell("create", vars(name, {{"EXTRA_PROTOCOLS", "mysql,NTP"}}));
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err << read_text(n.log);
  const int ssh_port = port_after(c.out, R"(ssh -p (\d+) root@)");
  const int mysql_port = port_after(c.out, R"(MYSQL:\s+\S+:(\d+)/tcp -> container port 3306)");
  const int ntp_port = port_after(c.out, R"(NTP:\s+\S+:(\d+)/udp -> container port 123)");
  ASSERT_GE(ssh_port, 42000) << c.out;
  ASSERT_LE(ssh_port, 42099) << c.out;
  ASSERT_GE(mysql_port, 42100) << c.out;
  ASSERT_GE(ntp_port, 42100) << c.out;
  EXPECT_NE(c.out.find("http://" + name + "." + n.domain + ":" + std::to_string(n.http_port) + "/"), std::string::npos)
      << c.out;
  const std::string ip = ip_in(c.out);
  ASSERT_FALSE(ip.empty()) << c.out;

  // The table holds exactly this state; nginx's include routes the name.
  const std::string table = nft_table();
  EXPECT_NE(table.find(forward_element(ssh_port, name, "SSH", ip, 22)), std::string::npos) << table;
  EXPECT_NE(table.find(forward_element(mysql_port, name, "MYSQL", ip, 3306)), std::string::npos) << table;
  EXPECT_NE(table.find(forward_element(ntp_port, name, "NTP", ip, 123)), std::string::npos) << table;
  EXPECT_NE(read_text(n.nginx.routes).find("  " + name + "." + n.domain + " " + ip + ":"), std::string::npos);

  // HTTP through nginx to the server inside the container.
  serve(name, "hello-from-" + name, {8080, 22, 3306});
  ProcResult got;
  EXPECT_TRUE(eventually([&] { return (got = curl_route(name)).out == "hello-from-" + name + "\n"; }, 10s))
      << got.out << got.err;

  // From another network (the namespace) to the host's address: port 22 and 3306 of the container.
  EXPECT_TRUE(eventually([&] { return (got = curl_from_ns(ssh_port)).out == "hello-from-" + name + "\n"; }, 10s))
      << got.out << got.err;
  EXPECT_EQ(curl_from_ns(mysql_port).out, "hello-from-" + name + "\n");

  // Resource limits, seen in the container's own cgroups (v1 hybrid here, v2 elsewhere).
  const bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers");
  auto cg = [&](const std::string& key) {
    auto r = run({"lxc-cgroup", "-P", w.lxcpath, "-n", name, key});
    if (r.exit_code != 0) return "error: " + r.err;
    return lines_of(r.out).empty() ? std::string() : lines_of(r.out).front() + "\n";
  };
  if (v2) {
    EXPECT_EQ(cg("memory.max"), "268435456\n");
    EXPECT_EQ(cg("pids.max"), "300\n");
    EXPECT_EQ(cg("cpu.max"), "50000 100000\n");
  } else {
    EXPECT_EQ(cg("memory.limit_in_bytes"), "268435456\n");
    EXPECT_EQ(cg("pids.max"), "300\n");
    EXPECT_EQ(cg("cpu.cfs_quota_us"), "50000\n");
  }

  // Delete undoes it all: no rule for the container in the table, no route, no answer.
  auto d = shell("delete", named(name));
  ASSERT_EQ(d.exit_code, 0) << d.out << d.err;
  const std::string after = nft_table();
  EXPECT_EQ(after.find(ip), std::string::npos) << after;
  EXPECT_NE(after.find("chain forwards"), std::string::npos) << "the table itself stays";
  EXPECT_EQ(read_text(n.nginx.routes).find(name), std::string::npos) << read_text(n.nginx.routes);
  EXPECT_NE(curl_from_ns(ssh_port).out, "hello-from-" + name + "\n");
}

// What users get by default, unprivileged and confined, still does its job: systemd reaches
// "running", the owner's key logs in through the port forward, apt-get installs from the Debian
// mirror (through the host's NAT, with the name servers lxcprovd wrote), and an HTTP server
// installed that way answers through the nginx route.
TEST_F(Reachability, DebianBootsTakesItsOwnersKeyInstallsAPackageAndServes) {
  const World& w = world();
  const Net& n = net();
  bool offline = false;
  const std::string why = install_debian_template(offline);
  if (offline) GTEST_SKIP() << "the Debian mirror cannot be reached, no debian template: " << why;
  ASSERT_EQ(why, "") << "building the debian template failed";
  auto sealed = seal_template(n.config, "tpl-debian");  // in this daemon's own state
  ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;
  auto key = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "debian-owner", "-f", n.dir + "/owner"});
  ASSERT_EQ(key.exit_code, 0) << key.err;

  const std::string name = w.prefix + "deb";
  auto c = shell("create", vars(name, {{"LINUX_DISTRIBUTION", "debian"},
                                       {"HTTP_PORT", "8080"},
                                       {"PUBLIC_KEY", read_text(n.dir + "/owner.pub")}}));
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err << read_text(n.log);
  const int ssh_port = port_after(c.out, R"(ssh -p (\d+) root@)");
  ASSERT_GE(ssh_port, 42000) << c.out;

  auto in = [&](const std::string& script, std::chrono::milliseconds timeout = 60s) {
    return run_for({"lxc-attach", "-P", w.lxcpath, "-n", name, "--clear-env", "--", "/bin/sh", "-c", script}, timeout);
  };
  EXPECT_EQ(boot_state(name), "running\n") << in("systemctl --failed --no-pager").out;
  auto uid = in("cat /proc/1/uid_map");
  EXPECT_NE(uid.out.find("100000"), std::string::npos) << uid.out;

  // The owner's key, from another network through the forward, to root in the container.
  ProcResult login;
  EXPECT_TRUE(eventually(
      [&] {
        login = run({"ip", "netns", "exec", n.ns, "ssh", "-i", n.dir + "/owner", "-p", std::to_string(ssh_port), "-o",
                     "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o",
                     "ConnectTimeout=5", "root@" + n.host_ip, "hostname"});
        return login.exit_code == 0;
      },
      30s))
      << login.out << login.err;
  EXPECT_EQ(login.out, name + "\n");

  auto apt =
      in("apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox >/dev/null "
         "&& busybox true",
         300s);
  ASSERT_EQ(apt.exit_code, 0) << apt.out << apt.err << in("cat /etc/resolv.conf").out;

  auto httpd =
      in("mkdir -p /srv/www && echo debian-" + name + " > /srv/www/index.html && busybox httpd -p 8080 -h /srv/www");
  ASSERT_EQ(httpd.exit_code, 0) << httpd.out << httpd.err;
  ProcResult got;
  EXPECT_TRUE(eventually([&] { return (got = curl_route(name)).out == "debian-" + name + "\n"; }, 10s))
      << got.out << got.err;

  auto d = shell("delete", named(name));
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
}

TEST_F(Reachability, UnknownOrRepeatedProtocolIsRefusedBeforeAnythingIsReserved) {
  const std::string name = world().prefix + "badproto";
  for (const char* value : {"GOPHER", "MYSQL,mysql", "SSH"}) {
    auto c = shell("create", vars(name, {{"EXTRA_PROTOCOLS", value}}));
    EXPECT_EQ(c.exit_code, 2) << value << c.out << c.err;
    EXPECT_NE(c.err.find("EXTRA_PROTOCOLS: "), std::string::npos) << c.err;
  }
  EXPECT_EQ(nft_table().find("\"" + name + " "), std::string::npos);
}

TEST_F(Reachability, RestartAfterSigkillPutsAWipedTableBackFromState) {
  const World& w = world();
  Net& n = net();
  const std::string name = w.prefix + "survive";
  auto c = shell("create", vars(name));
  ASSERT_EQ(c.exit_code, 0) << c.out << c.err;
  const int ssh_port = port_after(c.out, R"(ssh -p (\d+) root@)");
  const std::string ip = ip_in(c.out);

  ::kill(n.daemon, SIGKILL);
  stop_process(n.daemon, 1s);  // reaps it
  // Someone (a reboot, `nft flush ruleset`) wiped the table and nginx lost the route.
  ASSERT_EQ(run({"nft", "delete", "table", "inet", n.table}).exit_code, 0);
  std::ofstream(n.nginx.routes) << "";
  n.daemon = start_daemon(n.config, n.socket, n.log);
  ASSERT_GT(n.daemon, 0) << read_text(n.log);
  EXPECT_NE(nft_table().find(forward_element(ssh_port, name, "SSH", ip, 22)), std::string::npos) << read_text(n.log);
  EXPECT_NE(read_text(n.nginx.routes).find("  " + name + "." + n.domain + " " + ip + ":"), std::string::npos);

  serve(name, "still-" + name, {8080});
  ProcResult got;
  EXPECT_TRUE(eventually([&] { return (got = curl_route(name)).out == "still-" + name + "\n"; }, 10s)) << got.out;
  auto d = shell("delete", named(name));
  EXPECT_EQ(d.exit_code, 0) << d.err;
}

}  // namespace
}  // namespace lxcprov::it
