// Isolation on the bridge, end to end: a lxcprovd of this run with isolation on, its own bridge and
// subnet, and real busybox containers of alice (A, C) and bob (D, E) created through lxcprov-shell.
// Root inside A (who has CAP_NET_ADMIN in its own network namespace) tries what the rules must
// stop: another's address, another's MAC, ARP spoofing, another owner's container (directly and
// routed through the gateway), the hypervisor's services (a listener on every address, an sshd on
// the gateway address) and a denied destination. The controls show each path works where it
// should: same-owner traffic, the outside through the NAT, an allowed host port; and the last test
// removes the tables, sees every attack succeed with the very same commands, then restarts the
// daemon and sees the tables back (converge) and the attacks fail again.
//
// "The outside" is a network namespace of this run behind a veth pair with its own /30 and no
// route back to the containers, so an answer from it proves the masquerade. Every name (bridge,
// tables, netns, veths) carries the pid, and the subnet (10.201.<pid%250>.0/24) and its veth
// prefix belong to this run only, so other runs and a real installation never meet these rules.

#include <gtest/gtest.h>
#include <unistd.h>
#include "../support/free_port.hpp"

#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

struct Iso {
  std::string dir, config, socket, log, table, bridge, sub, gateway, ns, veth_host, veth_ns, out_host, out_ns,
      denied_host, denied_ns, www;
  int closed_port = 0, allowed_port = 0, sshd_port = 0;
  pid_t daemon = -1;
  bool ready = false;
  // name, owner, ip, mac, veth of each container
  struct C {
    std::string name, owner, ip, mac, veth;
  } a, c, d, e;
};

Iso& iso() {
  static Iso i;
  return i;
}

ProcResult iso_shell(const std::string& op, Env env) {
  RunOptions o;
  o.env = std::move(env);
  o.unset = {"SSH_ORIGINAL_COMMAND"};
  o.timeout = 120s;
  return run({world().shell, "--socket", iso().socket, op}, o);
}

// Runs `script` as root inside a container (busybox sh).
ProcResult in(const std::string& name, const std::string& script) { return attach(name, {"/bin/sh", "-c", script}); }

// The body of http://HOST:PORT/ fetched from inside `from`, or "" after 2 s (busybox 1.35 wget
// -T crashes, so the bound is timeout(1)).
std::string fetch(const std::string& from, const std::string& host, int port) {
  auto r = in(from, "timeout 2 wget -q -O - http://" + host + ":" + std::to_string(port) + "/ 2>/dev/null");
  return r.exit_code == 0 ? r.out : "";
}

// What a TCP server at HOST:PORT says first (an sshd's banner), read from inside `from`.
std::string banner(const std::string& from, const std::string& host, int port) {
  return in(from, "sleep 1 | timeout 2 nc " + host + " " + std::to_string(port) + " 2>/dev/null").out;
}

std::string mac_of(const std::string& name) {
  auto r = in(name, "cat /sys/class/net/eth0/address");
  return r.out.substr(0, r.out.find('\n'));
}

// Puts the container's eth0 back to what lxcprov gave it (the spoofing tests change it).
void restore(const Iso::C& x) {
  const Iso& s = iso();
  auto r = in(x.name, "ip link set eth0 down; ip link set eth0 address " + x.mac + "; ip addr flush dev eth0; " +
                          "ip neigh flush dev eth0; ip link set eth0 up; ip addr add " + x.ip +
                          "/24 dev eth0; ip route replace default via " + s.gateway + "; true");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// Whether `who` holds an ARP entry mapping `ip` to `mac` (/proc/net/arp: IP type flags MAC ...).
bool arp_maps(const std::string& who, const std::string& ip, const std::string& mac) {
  auto r = in(who, "cat /proc/net/arp");
  for (const auto& line : lines_of(r.out))
    if (line.rfind(ip + " ", 0) == 0 && line.find(mac) != std::string::npos) return true;
  return false;
}

// A host process that outlives the shell that starts it; its pid file sits in the run's tmp dir
// so the janitor stops it if this process dies.
void start_host_server(const std::string& command, const std::string& pid_name) {
  auto r = sh("setsid " + command + " >/dev/null 2>&1 </dev/null & echo $! > " + world().tmp + "/" + pid_name);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

void stop_host_server(const std::string& pid_name) {
  (void)sh("f=" + world().tmp + "/" + pid_name + "; [ -f $f ] && kill $(cat $f) 2>/dev/null; rm -f $f; true");
}

bool tables_present() {
  const Iso& s = iso();
  return run({"nft", "list", "table", "bridge", s.table}).exit_code == 0 &&
         run({"nft", "list", "table", "inet", s.table}).exit_code == 0;
}

class Isolation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    Iso& s = iso();
    const std::string id = std::to_string(w.pid % 100000), octet = std::to_string(w.pid % 250);
    s.dir = w.tmp + "/iso";
    s.config = s.dir + "/lxcprovd.json";
    s.socket = w.tmp + "/iso.sock";  // the janitor stops daemons by the pid files in w.tmp
    s.log = s.dir + "/lxcprovd.log";
    s.table = "lxitiso" + id;
    s.bridge = "lxis" + id;
    s.sub = "10.201." + octet + ".";
    s.gateway = s.sub + "1";
    s.ns = "lxisns" + id;
    s.veth_host = "lxiso" + id;
    s.veth_ns = "lxisi" + id;
    s.out_host = "10.202." + octet + ".1";
    s.out_ns = "10.202." + octet + ".2";
    s.denied_host = "10.203." + octet + ".1";
    s.denied_ns = "10.203." + octet + ".2";
    s.www = s.dir + "/www";
    s.closed_port = lxcprov::testing::free_loopback_port();
    s.allowed_port = lxcprov::testing::free_loopback_port();
    s.sshd_port = lxcprov::testing::free_loopback_port();
    if (!fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "needs nft";
    fs::create_directories(s.dir + "/state");
    fs::create_directories(s.www);
    std::ofstream(s.www + "/index.html") << "host-or-outside\n";

    auto host = sh(w.source_dir + "/scripts/setup-host.sh --bridge " + s.bridge + " --address " + s.gateway + "/24");
    ASSERT_EQ(host.exit_code, 0) << host.out << host.err;
    auto ns = sh("set -e; ip netns add " + s.ns + "; ip link add " + s.veth_host + " type veth peer name " + s.veth_ns +
                 "; ip link set " + s.veth_ns + " netns " + s.ns + "; ip addr add " + s.out_host + "/30 dev " +
                 s.veth_host + "; ip addr add " + s.denied_host + "/30 dev " + s.veth_host + "; ip link set " +
                 s.veth_host + " up; ip -n " + s.ns + " addr add " + s.out_ns + "/30 dev " + s.veth_ns + "; ip -n " +
                 s.ns + " addr add " + s.denied_ns + "/30 dev " + s.veth_ns + "; ip -n " + s.ns + " link set " +
                 s.veth_ns + " up; ip -n " + s.ns + " link set lo up");
    ASSERT_EQ(ns.exit_code, 0) << ns.err;

    // The outside's web server, one listener on every address of the host that is not in
    // host_ports, one that is, and an sshd of lxcprov's configuration on the gateway address.
    start_host_server("ip netns exec " + s.ns + " busybox httpd -f -p 8080 -h " + s.www, "iso-outside.pid");
    start_host_server("busybox httpd -f -p 0.0.0.0:" + std::to_string(s.closed_port) + " -h " + s.www,
                      "iso-closed.pid");
    start_host_server("busybox httpd -f -p 0.0.0.0:" + std::to_string(s.allowed_port) + " -h " + s.www,
                      "iso-allowed.pid");
    auto sshd =
        sh(w.source_dir + "/scripts/setup-sshd.sh --dir " + s.dir + "/sshd --port " + std::to_string(s.sshd_port) +
           " --listen " + s.gateway + " --shell " + w.shell + " --socket " + s.socket + " --start");
    ASSERT_EQ(sshd.exit_code, 0) << sshd.out << sshd.err;
    ASSERT_TRUE(eventually([&] { return fs::exists(s.dir + "/sshd/sshd.pid"); }, 10s));
    fs::copy_file(s.dir + "/sshd/sshd.pid", w.tmp + "/iso-sshd.pid", fs::copy_options::overwrite_existing);

    nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
    cfg["socket"] = s.socket;
    cfg["database"] = s.dir + "/state/state.db";
    cfg["network"] = {{"bridge", s.bridge},
                      {"subnet", s.sub + "0/24"},
                      {"gateway", s.gateway},
                      {"first", s.sub + "10"},
                      {"last", s.sub + "60"}};
    cfg["ctid_min"] = 7000;
    cfg["isolation"] = {{"enabled", true},
                        {"table", s.table},
                        {"host_ports", {"tcp/" + std::to_string(s.allowed_port)}},
                        {"deny_destinations", {"169.254.0.0/16", "10.203." + std::to_string(w.pid % 250) + ".0/30"}}};
    std::ofstream(s.config) << cfg.dump(2) << "\n";
    // The test-only daemon: one test makes a create fail after its isolate step.
    s.daemon = start_daemon(s.config, s.socket, s.log, {}, /*faulty=*/true);
    ASSERT_GT(s.daemon, 0) << read_text(s.log);
    auto sealed = seal_template(s.config, "tpl-busybox");  // in this daemon's own state
    ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;
    ASSERT_TRUE(tables_present()) << "converge at start-up installs the tables: " << read_text(s.log);

    const std::string p = w.prefix;
    s.a = {p + "iso-a", "alice", "", "", ""};
    s.c = {p + "iso-c", "alice", "", "", ""};
    s.d = {p + "iso-d", "bob", "", "", ""};
    s.e = {p + "iso-e", "bob", "", "", ""};
    for (Iso::C* x : {&s.a, &s.c, &s.d, &s.e}) {
      Env vars = create_vars(x->owner, x->name);
      vars.erase("PUBLIC_KEY");
      auto r = iso_shell("create", vars);
      ASSERT_EQ(r.exit_code, 0) << x->name << r.out << r.err << read_text(s.log);
      x->ip = ip_in(r.out);
      ASSERT_FALSE(x->ip.empty()) << r.out;
      x->mac = mac_of(x->name);
      const uint32_t a = *network_address(x->ip);
      char veth[16];
      std::snprintf(veth, sizeof veth, "vlp%08x", a);
      x->veth = veth;
    }
    // Web servers in C, D and A (A's answers the routed and spoofed attempts in the other direction).
    for (const Iso::C* web : {&s.a, &s.c, &s.d}) {
      auto r = in(web->name, "mkdir -p /tmp/www && echo hello-" + web->name +
                                 " > /tmp/www/index.html && "
                                 "busybox httpd -p 8080 -h /tmp/www");
      ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    }
    s.ready = true;
  }

  static std::optional<uint32_t> network_address(const std::string& text) {
    unsigned a, b, c, d;
    if (std::sscanf(text.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) return std::nullopt;
    return (a << 24) | (b << 16) | (c << 8) | d;
  }

  static void TearDownTestSuite() {
    Iso& s = iso();
    if (s.dir.empty()) return;
    if (s.daemon > 0) {
      for (const Iso::C* x : {&s.a, &s.c, &s.d, &s.e}) {
        if (x->name.empty()) continue;
        Env vars = credentials(x->owner);
        vars["CONTAINER_NAME"] = x->name;
        (void)iso_shell("delete", vars);
      }
      stop_process(s.daemon);
    }
    s.daemon = -1;
    for (const char* f : {"iso-outside.pid", "iso-closed.pid", "iso-allowed.pid", "iso-sshd.pid"}) stop_host_server(f);
    (void)sh("ip netns del " + s.ns + " 2>/dev/null; ip link del " + s.veth_host +
             " 2>/dev/null; nft delete table bridge " + s.table + " 2>/dev/null; nft delete table inet " + s.table +
             " 2>/dev/null; " + world().source_dir + "/scripts/setup-host.sh --remove --bridge " + s.bridge +
             " >/dev/null 2>&1; true");
  }

  void SetUp() override {
    if (!iso().ready) GTEST_SKIP() << "the isolation daemon or its containers are not up";
  }
  void TearDown() override { restore(iso().a); }

  std::string hello(const Iso::C& x) const { return "hello-" + x.name + "\n"; }
};

TEST_F(Isolation, TheTablesHoldEveryContainerAndItsPortIsNamedAfterItsAddress) {
  const Iso& s = iso();
  const std::string bridge = run({"nft", "list", "table", "bridge", s.table}).out;
  for (const Iso::C* x : {&s.a, &s.c, &s.d, &s.e}) {
    EXPECT_NE(bridge.find("\"" + x->veth + "\" . " + x->mac + " . " + x->ip), std::string::npos) << x->name << bridge;
    // The host side of the container's veth has the derived name and sits on the run's bridge.
    auto link = run({"ip", "-o", "link", "show", "dev", x->veth});
    EXPECT_NE(link.out.find("master " + s.bridge), std::string::npos) << x->veth << link.out << link.err;
  }
}

TEST_F(Isolation, ACreateThatFailsAfterIsolateLeavesNoEntry) {
  const Iso& s = iso();
  // Fails at start: after reserve, clone and isolate (tests/fakes/faulty_edges.hpp).
  Env vars = create_vars("alice", world().prefix + "iso-fail-start");
  vars.erase("PUBLIC_KEY");
  auto r = iso_shell("create", vars);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("isolate    done"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("undoing isolate"), std::string::npos) << r.err;
  // It had the next free address, .14: the isolate step put its port in, the undo took it out.
  const std::string bridge = run({"nft", "list", "table", "bridge", s.table}).out;
  char veth[16];
  std::snprintf(veth, sizeof veth, "vlp%08x", *network_address(s.sub + "14"));
  EXPECT_EQ(bridge.find(veth), std::string::npos) << bridge;
  EXPECT_NE(bridge.find(s.a.veth), std::string::npos) << "the others stay: " << bridge;
}

TEST_F(Isolation, ControlsSameOwnerOutsideThroughTheNatAndAnAllowedHostPortWork) {
  const Iso& s = iso();
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), hello(s.c)) << "alice's A reaches alice's C";
  EXPECT_EQ(fetch(s.e.name, s.d.ip, 8080), hello(s.d)) << "bob's E reaches bob's D";
  // The outside has no route to the containers: an answer proves the masquerade.
  EXPECT_EQ(fetch(s.a.name, s.out_ns, 8080), "host-or-outside\n");
  EXPECT_EQ(fetch(s.a.name, s.gateway, s.allowed_port), "host-or-outside\n") << "host_ports";
  EXPECT_EQ(in(s.a.name, "ping -c 1 -W 2 " + s.gateway).exit_code, 0) << "ping to the gateway";
}

TEST_F(Isolation, AnotherOwnersContainerIsUnreachableDirectlyAndThroughTheGateway) {
  const Iso& s = iso();
  // Control: the same command from bob's own container gets D's page.
  ASSERT_EQ(fetch(s.e.name, s.d.ip, 8080), hello(s.d));
  EXPECT_EQ(fetch(s.a.name, s.d.ip, 8080), "") << "alice's A must not reach bob's D";
  EXPECT_EQ(fetch(s.d.name, s.a.ip, 8080), "") << "nor D reach A";
  // Routed: A sends to the gateway's MAC for D's address; the host would forward it back.
  ASSERT_EQ(in(s.a.name, "ip route add " + s.d.ip + "/32 via " + s.gateway + " && ip route add " + s.c.ip + "/32 via " +
                             s.gateway)
                .exit_code,
            0);
  EXPECT_EQ(fetch(s.a.name, s.d.ip, 8080), "") << "routed through the gateway";
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), "") << "routed hairpin is refused for the same owner too";
  restore(s.a);
  EXPECT_EQ(fetch(s.c.name, s.a.ip, 8080), hello(s.a)) << "without those routes, C reaches A directly again";
}

TEST_F(Isolation, AnotherAddressCannotBeUsed) {
  const Iso& s = iso();
  ASSERT_EQ(fetch(s.a.name, s.c.ip, 8080), hello(s.c)) << "control: before the change";
  for (const std::string& taken : {s.d.ip, s.sub + "200"}) {  // bob's D's address, and a free one
    auto r =
        in(s.a.name, "ip addr flush dev eth0; ip addr add " + taken + "/24 dev eth0; ip route replace default via " +
                         s.gateway + "; arp -i eth0 -s " + s.c.ip + " " + s.c.mac);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // C's MAC is given statically (busybox arp -s), so it is the IPv4 check that stops A, not
    // only the ARP one.
    EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), "") << "A as " << taken;
    EXPECT_EQ(fetch(s.a.name, s.out_ns, 8080), "") << "A as " << taken << " to the outside";
    restore(s.a);
  }
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), hello(s.c)) << "A's own address works again";
}

TEST_F(Isolation, AnotherMacCannotBeUsed) {
  const Iso& s = iso();
  ASSERT_EQ(fetch(s.a.name, s.c.ip, 8080), hello(s.c)) << "control: before the change";
  (void)in(s.c.name, "ip neigh flush dev eth0");  // as in the control of the last test
  auto r = in(s.a.name, "ip link set eth0 down; ip link set eth0 address " + s.d.mac +
                            "; ip link set eth0 up; ip route replace default via " + s.gateway);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(mac_of(s.a.name), s.d.mac);
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), "") << "A with D's MAC";
  // D's MAC and D's address together, from A's port: still not D.
  ASSERT_EQ(in(s.a.name, "ip addr flush dev eth0; ip addr add " + s.d.ip + "/24 dev eth0").exit_code, 0);
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), "") << "A with D's MAC and address";
  EXPECT_EQ(fetch(s.e.name, s.d.ip, 8080), hello(s.d)) << "the real D is unharmed";
}

TEST_F(Isolation, ArpSpoofingNeverReachesAnotherContainer) {
  const Iso& s = iso();
  // A claims D's address to C: an ARP request "who has C? tell D's address at A's MAC", which C
  // would take into its cache (it creates an entry for the sender of a request addressed to it).
  (void)in(s.c.name, "ip neigh flush dev eth0");
  ASSERT_EQ(in(s.a.name, "ip addr add " + s.d.ip + "/32 dev eth0").exit_code, 0);
  auto r = in(s.a.name, "arping -U -c 3 -w 3 -I eth0 -s " + s.d.ip + " " + s.c.ip);
  EXPECT_FALSE(r.timed_out) << r.out << r.err;
  EXPECT_FALSE(arp_maps(s.c.name, s.d.ip, s.a.mac)) << in(s.c.name, "cat /proc/net/arp").out;
  // A's honest ARP still works (the rule checks the pair, not ARP as such).
  ASSERT_EQ(in(s.a.name, "ip addr del " + s.d.ip + "/32 dev eth0").exit_code, 0);
  EXPECT_EQ(in(s.a.name, "arping -c 1 -w 2 -I eth0 -s " + s.a.ip + " " + s.c.ip).exit_code, 0);
  EXPECT_TRUE(arp_maps(s.c.name, s.a.ip, s.a.mac)) << in(s.c.name, "cat /proc/net/arp").out;
}

TEST_F(Isolation, TheHypervisorsServicesAreClosedToContainers) {
  const Iso& s = iso();
  const std::string closed = std::to_string(s.closed_port);
  // Controls: the host itself reaches the listener on every address, and the sshd on the gateway.
  auto local = run({"busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:" + closed + "/"});
  ASSERT_EQ(local.out, "host-or-outside\n") << local.err;
  auto gw = run({"busybox", "wget", "-q", "-O", "-", "http://" + s.gateway + ":" + closed + "/"});
  ASSERT_EQ(gw.out, "host-or-outside\n") << gw.err;
  auto ssh = sh("sleep 1 | timeout 3 busybox nc " + s.gateway + " " + std::to_string(s.sshd_port));
  ASSERT_EQ(ssh.out.rfind("SSH-2.0-", 0), 0u) << ssh.out << ssh.err;

  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(fetch(s.a.name, s.gateway, s.closed_port), "") << "a host listener not in host_ports";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << "rejected, not left to time out";
  EXPECT_EQ(fetch(s.a.name, s.out_host, s.closed_port), "") << "the host's other addresses too";
  EXPECT_EQ(banner(s.a.name, s.gateway, s.sshd_port), "") << "lxcprov's sshd on the gateway address";
}

TEST_F(Isolation, DeniedDestinationsAreRefusedEvenThroughTheNat) {
  const Iso& s = iso();
  // Control: the same server on its other address answers through the NAT.
  ASSERT_EQ(fetch(s.a.name, s.out_ns, 8080), "host-or-outside\n");
  auto host = run({"busybox", "wget", "-q", "-O", "-", "http://" + s.denied_ns + ":8080/"});
  ASSERT_EQ(host.out, "host-or-outside\n") << "the host itself reaches it: " << host.err;
  EXPECT_EQ(fetch(s.a.name, s.denied_ns, 8080), "");
}

// Last: it removes the tables and restarts the daemon.
TEST_F(Isolation, WithoutTheTablesEveryAttackWorksAndARestartPutsThemBack) {
  Iso& s = iso();
  // Everything the tests above refused, with the tables gone. The outside gets a route back to the
  // containers, since the masquerade went with the tables.
  ASSERT_EQ(run({"nft", "delete", "table", "bridge", s.table}).exit_code, 0);
  ASSERT_EQ(run({"nft", "delete", "table", "inet", s.table}).exit_code, 0);
  ASSERT_EQ(run({"ip", "-n", s.ns, "route", "add", s.sub + "0/24", "via", s.out_host}).exit_code, 0);
  auto attacks = [&](bool expect_success) {
    auto check = [&](const std::string& got, const std::string& want, const char* what) {
      if (expect_success)
        EXPECT_EQ(got, want) << "without the tables: " << what;
      else
        EXPECT_EQ(got, "") << "with the tables back: " << what;
    };
    check(fetch(s.a.name, s.d.ip, 8080), hello(s.d), "A reaches bob's D");
    check(fetch(s.a.name, s.gateway, s.closed_port), "host-or-outside\n", "A reaches a host listener");
    check(banner(s.a.name, s.gateway, s.sshd_port).substr(0, 8), expect_success ? "SSH-2.0-" : "",
          "A reaches the sshd on the gateway");
    check(fetch(s.a.name, s.denied_ns, 8080), "host-or-outside\n", "A reaches a denied destination");
    EXPECT_EQ(in(s.a.name, "ip route add " + s.d.ip + "/32 via " + s.gateway).exit_code, 0);
    check(fetch(s.a.name, s.d.ip, 8080), hello(s.d), "A reaches D routed through the gateway");
    restore(s.a);
    // Only the free address here: with D's own address in use, D answers C's ARP and resets the
    // connection, so that attempt fails with or without rules and proves nothing either way.
    for (const std::string& taken :
         expect_success ? std::vector<std::string>{s.sub + "200"} : std::vector<std::string>{s.d.ip, s.sub + "200"}) {
      EXPECT_EQ(
          in(s.a.name, "ip addr flush dev eth0; ip addr add " + taken + "/24 dev eth0; ip route replace default via " +
                           s.gateway + "; arp -i eth0 -s " + s.c.ip + " " + s.c.mac)
              .exit_code,
          0);
      check(fetch(s.a.name, s.c.ip, 8080), hello(s.c), taken == s.d.ip ? "A as D's address" : "A as a free address");
      restore(s.a);
    }
    // C asks for A's address afresh, so it learns the MAC A now uses.
    (void)in(s.c.name, "ip neigh flush dev eth0");
    EXPECT_EQ(in(s.a.name, "ip link set eth0 down; ip link set eth0 address " + s.d.mac +
                               "; ip link set eth0 up; ip route replace default via " + s.gateway)
                  .exit_code,
              0);
    check(fetch(s.a.name, s.c.ip, 8080), hello(s.c), "A with D's MAC");
    restore(s.a);
    EXPECT_EQ(in(s.a.name, "ip addr add " + s.d.ip + "/32 dev eth0; arping -U -c 3 -w 3 -I eth0 -s " + s.d.ip + " " +
                               s.c.ip + " >/dev/null 2>&1; ip addr del " + s.d.ip + "/32 dev eth0")
                  .exit_code,
              0);
    check(arp_maps(s.c.name, s.d.ip, s.a.mac) ? "spoofed" : "", "spoofed", "C maps D's address to A's MAC");
    (void)in(s.c.name, "ip neigh flush dev eth0");
  };
  attacks(true);

  // A restart converges: the tables come back from the state, and the same attacks fail.
  stop_process(s.daemon);
  s.daemon = start_daemon(s.config, s.socket, s.log, {}, /*faulty=*/true);
  ASSERT_GT(s.daemon, 0) << read_text(s.log);
  ASSERT_TRUE(tables_present()) << read_text(s.log);
  (void)run({"ip", "-n", s.ns, "route", "del", s.sub + "0/24"});
  attacks(false);
  EXPECT_EQ(fetch(s.a.name, s.c.ip, 8080), hello(s.c)) << "and the controls work again";
  EXPECT_EQ(fetch(s.a.name, s.out_ns, 8080), "host-or-outside\n");
}

}  // namespace
}  // namespace lxcprov::it
