// A fleet on one machine: three nodes, each its own lxcprovd with its own bridge, subnet and
// lxcpath, sharing one PostgreSQL started by the test (tests/fixtures/pg_server.hpp). hv-a is also
// the entry: it places creates and relays sessions to hv-b and hv-c through each node's own sshd
// (scripts/setup-sshd.sh --fleet-entry-key: the relay account, `lxcprov-shell --relay`). hv-b and
// hv-c run in network namespaces of their own, each wired to the entry's by a veth pair (daemon,
// bridge, containers and sshd inside), so the entry reaches them as other hosts, through the
// routes it generates from the registry.
//   - 60 creates through the entry at once spread over the three nodes, with no address or CTID
//     given twice, and are deleted through it again;
//   - the same 60 names asked of two places at once: each name gets one owner, on one node;
//   - a delete asked of a node directly that does not hold the container is refused (exit 6);
//   - a node that is down is passed over, and the entry says its containers are unavailable;
//   - a node killed mid-create: another node's restart leaves its job alone; its own restart rolls
//     it back;
//   - the registry: heartbeats make nodes "up", a drained node is passed over.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "../fixtures/pg_server.hpp"
#include "../support/free_port.hpp"
#include "protocol/frame.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

struct Node {
  std::string name, dir, lxcpath, bridge, net, config, socket, log;
  std::string sshd_dir, keys_dir;  ///< its sshd (hv-b, hv-c: the entry relays through it)
  int ssh_port = 0;
  WiredHost wire;  ///< hv-b, hv-c: the network namespace they run in, wired to the entry's
  pid_t pid = -1;
};

struct Fleet {
  std::unique_ptr<lxcprov::testing::PgServer> pg;
  std::string conninfo;
  std::vector<Node> nodes;
  bool ready = false;
};

Fleet& fleet() {
  static Fleet f;
  return f;
}

ProcResult ctl(const Node& n, const std::vector<std::string>& args) { return ctl_with(n.config, args); }

ProcResult shell_on(const Node& n, const std::string& op, const Env& env) { return shell_at(n.socket, op, env); }

// lxc-* for a node's containers, in the node's network namespace (their command sockets are
// there).
std::vector<std::string> on_node(const Node& n, std::vector<std::string> argv) {
  return n.wire.ns.empty() ? argv : in_netns(n.wire.ns, std::move(argv));
}

pid_t start_node(const Node& n, const std::vector<std::string>& faulty_args = {}) {
  return start_daemon(n.config, n.socket, n.log, faulty_args, !faulty_args.empty(),
                      n.wire.ns.empty() ? std::vector<std::string>{} : in_netns_daemon(n.wire.ns, n.dir + "/cgroup"));
}

std::string lxc_state_in(const Node& n, const std::string& name) {
  auto r = run_for(on_node(n, {"lxc-info", "-P", n.lxcpath, "-n", name, "-sH"}), 30s);
  if (r.exit_code != 0) return "";
  std::string s = r.out;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct FleetRow {
  std::string name, owner, state, ip, ctid, node, job;
};

// `lxcprovctl containers` of the fleet (any node's config: the state is shared).
std::map<std::string, FleetRow> rows() {
  auto r = ctl(fleet().nodes[0], {"containers"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  std::map<std::string, FleetRow> out;
  auto lines = lines_of(r.out);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::istringstream in(lines[i]);
    FleetRow row;
    in >> row.name >> row.owner >> row.state >> row.ip >> row.ctid >> row.node >> row.job;
    out[row.name] = row;
  }
  return out;
}

const Node* node_named(const std::string& name) {
  for (const auto& n : fleet().nodes)
    if (n.name == name) return &n;
  return nullptr;
}

class FleetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Fleet& f = fleet();
    World& w = world();
    std::string why;
    f.pg = lxcprov::testing::PgServer::start(why);
    ASSERT_TRUE(f.pg) << why;
    ASSERT_EQ(f.pg->exec("postgres", "CREATE DATABASE fleet"), "");
    f.conninfo = f.pg->conninfo("fleet");
    const nlohmann::json base = nlohmann::json::parse(read_text(w.config));
    // The entry's key: the relay accounts of hv-b and hv-c let it in, and nothing else.
    const std::string entry_key = w.tmp + "/fleet-entry-key";
    auto keygen = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fleet-entry", "-f", entry_key});
    ASSERT_EQ(keygen.exit_code, 0) << describe(keygen);
    const std::string known_hosts = w.tmp + "/fleet-known-hosts";
    std::ofstream(known_hosts).close();
    const char* letters = "abc";
    for (int k = 0; k < 3; ++k) {
      Node n;
      n.name = std::string("hv-") + letters[k];
      n.dir = w.tmp + "/fleet-" + n.name;
      n.lxcpath = n.dir + "/lxc";
      n.bridge = fmt::format("lxf{}{}", letters[k], w.pid % 100000);
      n.net = fmt::format("10.{}.{}.", 50 + k, w.pid % 250);
      n.config = n.dir + "/lxcprovd.json";
      n.socket = n.dir + "/fleet-" + n.name + ".sock";
      n.log = n.dir + "/lxcprovd.log";
      fs::create_directories(n.lxcpath);
      ::chmod(n.dir.c_str(), 0755);
      if (k > 0) {
        // hv-b and hv-c are other hosts: each in a network namespace wired to the entry's.
        auto wire = make_wired_host(fmt::format("lxfn{}{}", letters[k], w.pid % 100000),
                                    fmt::format("lxfw{}{}", letters[k], w.pid % 100000),
                                    fmt::format("10.{}.{}.", 205 + k, w.pid % 250));
        ASSERT_TRUE(wire) << wire.error().message;
        n.wire = *wire;
      }
      const std::string in_ns = n.wire.ns.empty() ? "" : "ip netns exec " + n.wire.ns + " ";
      auto host =
          sh(in_ns + w.source_dir + "/scripts/setup-host.sh --bridge " + n.bridge + " --address " + n.net + "1/24");
      ASSERT_EQ(host.exit_code, 0) << describe(host);
      if (n.wire.ns.empty()) note_bridge(n.bridge);
      nlohmann::json cfg = base;
      cfg["socket"] = n.socket;
      cfg["database"] = n.dir + "/unused.db";
      cfg["lxcpath"] = n.lxcpath;
      cfg["network"]["bridge"] = n.bridge;
      cfg["network"]["subnet"] = n.net + "0/24";
      cfg["network"]["gateway"] = n.net + "1";
      cfg["network"]["first"] = n.net + "10";
      cfg["network"]["last"] = n.net + "254";
      // Heartbeats every 2 s: a stopped node is down after 6 s, not 30, and a beat held up a
      // second or two on a loaded machine does not make a node look down.
      cfg["fleet"] = {{"database", f.conninfo}, {"node", n.name}, {"heartbeat_s", 2}};
      if (k == 0)
        cfg["fleet"]["entry"] = {{"key", entry_key}, {"known_hosts", known_hosts}, {"control_dir", n.dir + "/ssh"}};
      std::ofstream(n.config) << cfg.dump(2) << "\n";
      auto tpl = sh(w.source_dir + "/scripts/build-template.sh --lxcpath " + n.lxcpath + " --name tpl-busybox", 300s);
      ASSERT_EQ(tpl.exit_code, 0) << describe(tpl);
      if (k > 0) {
        // Its own sshd with the relay account; its authorized_keys under /run (StrictModes).
        n.sshd_dir = n.dir + "/sshd";
        n.keys_dir = fmt::format("/run/lxcprov-fleet-{}-{}", n.name, w.pid);
        n.ssh_port = lxcprov::testing::free_loopback_port();
        ASSERT_GT(n.ssh_port, 0);
        auto sshd = sh(fmt::format(
            "{}{}/scripts/setup-sshd.sh --dir {} --listen {} --port {} --shell {} --socket {} "
            "--authorized-keys-dir {} --fleet-entry-key {}.pub --start",
            in_ns, w.source_dir, n.sshd_dir, n.wire.there_ip, n.ssh_port, w.shell, n.socket, n.keys_dir, entry_key));
        ASSERT_EQ(sshd.exit_code, 0) << describe(sshd);
        ASSERT_TRUE(eventually([&] { return tcp_listening(n.wire.there_ip, n.ssh_port); }, 15s))
            << read_text(n.sshd_dir + "/sshd.log");
        std::istringstream host_key(read_text(n.sshd_dir + "/ssh_host_ed25519_key.pub"));
        std::string type, blob;
        host_key >> type >> blob;
        std::ofstream(known_hosts, std::ios::app)
            << "[" << n.wire.there_ip << "]:" << n.ssh_port << " " << type << " " << blob << "\n";
      }
      f.nodes.push_back(n);
    }
    for (auto& n : f.nodes) {
      const std::string endpoint = n.ssh_port > 0 ? fmt::format("{}:{}", n.wire.there_ip, n.ssh_port) : "127.0.0.1";
      auto added = ctl(n, {"node", "add", n.name, "--endpoint", endpoint, "--subnet", n.net + "0/24"});
      ASSERT_EQ(added.exit_code, 0) << describe(added);
      n.pid = start_node(n);
      ASSERT_GT(n.pid, 0) << read_text(n.log);
      // Sealed by each node for its own copy (the seal is per node in a fleet).
      auto sealed = seal_template(n.config, "tpl-busybox");
      ASSERT_EQ(sealed.exit_code, 0) << describe(sealed);
    }
    f.ready = true;
  }

  static void TearDownTestSuite() {
    Fleet& f = fleet();
    World& w = world();
    // The entry's kept ssh connections first (their sshd sessions outlive the listener).
    if (!f.nodes.empty()) sh("pkill -TERM -f '" + f.nodes[0].dir + "/ssh/'; true");
    for (auto& n : f.nodes) {
      for (const auto& name : lines_of(run_for(on_node(n, {"lxc-ls", "-P", n.lxcpath, "-1"}), 30s).out))
        if (name != "tpl-busybox") run_for(on_node(n, {"lxc-destroy", "-P", n.lxcpath, "-f", "-n", name}), 60s);
      if (n.pid > 0) stop_process(n.pid);
      if (!n.sshd_dir.empty())
        sh("[ -f " + n.sshd_dir + "/sshd.pid ] && kill $(cat " + n.sshd_dir + "/sshd.pid); true");
      if (!n.keys_dir.empty()) fs::remove_all(n.keys_dir);
      run_for(on_node(n, {"lxc-destroy", "-P", n.lxcpath, "-f", "-n", "tpl-busybox"}), 60s);
      if (!n.wire.ns.empty()) {
        remove_wired_host(n.wire);  // its bridge goes with its namespace
        continue;
      }
      sh(w.source_dir + "/scripts/setup-host.sh --remove --bridge " + n.bridge + " >/dev/null 2>&1 || ip link delete " +
         n.bridge + " >/dev/null 2>&1; true");
    }
    f.pg.reset();
  }

  void SetUp() override {
    if (!fleet().ready) GTEST_SKIP() << "the fleet did not come up";
  }
};

TEST_F(FleetTest, SixtyCreatesThroughTheEntrySpreadOverTheNodesAndAreDeletedThroughIt) {
  Fleet& f = fleet();
  const Node& entry = f.nodes[0];
  constexpr int kCreates = 60;
  const std::string prefix = world().prefix + "e";
  std::atomic<int> next{0}, made{0};
  std::mutex m;
  std::string failures;
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < 20; ++t)
    threads.emplace_back([&] {
      for (int i; (i = next++) < kCreates;) {
        auto r = shell_on(entry, "create", create_vars("alice", prefix + std::to_string(i)));
        if (r.exit_code == 0) {
          ++made;
        } else {
          std::lock_guard lock(m);
          failures += describe(r) + "\n";
        }
      }
    });
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(made.load(), kCreates) << failures;
  auto recorded = rows();
  std::set<std::string> ips, ctids;
  std::map<std::string, int> per_node;
  for (int i = 0; i < kCreates; ++i) {
    const std::string name = prefix + std::to_string(i);
    ASSERT_TRUE(recorded.count(name)) << name;
    const auto& row = recorded[name];
    ips.insert(row.ip);
    ctids.insert(row.ctid);
    ++per_node[row.node];
    for (const auto& n : f.nodes)
      EXPECT_EQ(lxc_state_in(n, name), n.name == row.node ? "RUNNING" : "") << name << " on " << n.name;
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kCreates));
  EXPECT_EQ(ctids.size(), static_cast<size_t>(kCreates));
  std::cout << fmt::format("[ fleet    ] {} creates through the entry in {:.1f} s:", kCreates, seconds);
  for (const auto& [node, count] : per_node) std::cout << " " << node << "=" << count;
  std::cout << "\n";
  // Placement counts what it has sent and not seen end: no node is left out of a burst.
  for (const auto& n : f.nodes) EXPECT_GE(per_node[n.name], kCreates / 6) << n.name << " got too few";

  // Reads of the shared state answer from the entry; a change goes to the container's node.
  const std::string on_c = [&] {
    for (const auto& [name, row] : recorded)
      if (row.node == "hv-c" && name.rfind(prefix, 0) == 0) return name;
    return std::string();
  }();
  ASSERT_FALSE(on_c.empty());
  auto exists = shell_on(entry, "exists", named(on_c));
  EXPECT_EQ(exists.exit_code, 2) << describe(exists);
  EXPECT_TRUE(contains(exists.err, "state: RUNNING")) << "asked of hv-c, where it runs: " << describe(exists);

  next = 0;
  std::atomic<int> deleted{0};
  std::string failed;
  threads.clear();
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&] {
      for (int i; (i = next++) < kCreates;) {
        const std::string name = prefix + std::to_string(i);
        auto r = shell_on(entry, "delete", named(name));
        if (r.exit_code == 0) {
          ++deleted;
        } else {
          std::lock_guard lock(m);
          failed += name + ": " + describe(r) + "\n";
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(deleted.load(), kCreates) << failed;
  recorded = rows();
  for (int i = 0; i < kCreates; ++i) {
    const std::string name = prefix + std::to_string(i);
    EXPECT_FALSE(recorded.count(name)) << name;
    for (const auto& n : f.nodes) EXPECT_EQ(lxc_state_in(n, name), "") << name << " on " << n.name;
  }
}

TEST_F(FleetTest, ANodeThatIsDownIsPassedOverAndTheEntrySaysItsContainersAreUnavailable) {
  Fleet& f = fleet();
  const Node& entry = f.nodes[0];
  Node& c = f.nodes[2];
  const std::string held = world().prefix + "dheld";
  auto made = shell_on(c, "create", create_vars("alice", held));  // directly: made on hv-c
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  stop_process(c.pid);
  c.pid = -1;
  // Three missed heartbeats (2 s each) and hv-c is down.
  ASSERT_TRUE(eventually([&] { return contains(ctl(entry, {"node", "list"}).out, "down (last seen"); }, 15s));
  for (int i = 0; i < 6; ++i) {
    const std::string name = world().prefix + "dnew" + std::to_string(i);
    auto r = shell_on(entry, "create", create_vars("alice", name));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(rows()[name].node, "hv-c") << name;
    EXPECT_EQ(shell_on(entry, "delete", named(name)).exit_code, 0);
  }
  auto gone = shell_on(entry, "delete", named(held));
  EXPECT_EQ(gone.exit_code, 6) << describe(gone);
  EXPECT_TRUE(contains(gone.err, "node hv-c, which holds container " + held + ", is unavailable (down"))
      << describe(gone);
  EXPECT_TRUE(rows().count(held)) << "nothing was released while its node was away";

  c.pid = start_node(c);
  ASSERT_GT(c.pid, 0) << read_text(c.log);
  ASSERT_TRUE(eventually([&] { return !contains(ctl(entry, {"node", "list"}).out, "down (last seen"); }, 15s));
  auto back = shell_on(entry, "delete", named(held));
  EXPECT_EQ(back.exit_code, 0) << describe(back);
  EXPECT_FALSE(rows().count(held));
  EXPECT_EQ(lxc_state_in(c, held), "");
}

TEST_F(FleetTest, AnInteractiveCreateThroughTheEntryIsReplayedOnTheNodeAsAnswered) {
  Fleet& f = fleet();
  const World& w = world();
  // Only hv-b takes containers: the entry relays, and the node asks what the entry asked.
  for (const char* n : {"hv-a", "hv-c"}) ASSERT_EQ(ctl(f.nodes[0], {"node", "drain", n}).exit_code, 0);
  struct Undrain {
    const Node& entry;
    ~Undrain() {
      for (const char* n : {"hv-a", "hv-c"}) (void)ctl(entry, {"node", "undrain", n});
    }
  } undrain{f.nodes[0]};
  const std::string name = w.prefix + "ftty";
  // A clean environment: nothing of this process's may answer a question for the user.
  PtySession s(
      {"/usr/bin/env", "-i", "PATH=/usr/bin:/bin", "TERM=xterm", w.shell, "--socket", f.nodes[0].socket, "create"});
  ASSERT_TRUE(s.expect("Username: ")) << s.output();
  s.send_line("alice");
  ASSERT_TRUE(s.expect("Password: ")) << s.output();
  s.send_line(w.alice_password);
  ASSERT_TRUE(s.expect("Container name: ")) << s.output();
  s.send_line("9-starts-with-a-digit");  // refused, asked again: the node replays both answers
  ASSERT_TRUE(s.expect("Container name: ")) << s.rest();
  s.send_line(name);
  ASSERT_TRUE(s.expect("[busybox]: ")) << s.rest();
  s.send_line("");  // the default
  ASSERT_TRUE(s.expect("HTTP port")) << s.rest();
  ASSERT_TRUE(s.expect(": ")) << s.rest();
  s.send_line("8081");
  ASSERT_TRUE(s.expect("Public key")) << s.rest();
  ASSERT_TRUE(s.expect(": ")) << s.rest();
  s.send_line(w.public_key);
  ASSERT_TRUE(s.expect("Container " + name + " is running.", 120s)) << s.rest();
  EXPECT_EQ(s.wait_exit(30s), 0) << s.output();

  const std::string& out = s.output();
  EXPECT_EQ(out.find(w.alice_password), std::string::npos) << "the password was echoed";
  size_t said = 0;
  for (size_t at = out.find("CONTAINER_NAME:"); at != std::string::npos; at = out.find("CONTAINER_NAME:", at + 1))
    ++said;
  EXPECT_EQ(said, 1u) << "the refusal is said once, by the entry, not again by the node:\n" << out;
  auto row = rows()[name];
  EXPECT_EQ(row.node, "hv-b");
  auto keys = run_for(on_node(f.nodes[1], {"lxc-attach", "-P", f.nodes[1].lxcpath, "-n", name, "--", "cat",
                                           "/root/.ssh/authorized_keys"}),
                      30s);
  EXPECT_TRUE(contains(keys.out, w.public_key)) << describe(keys);
  // The user's own list, from the entry, names the node.
  auto list = shell_on(f.nodes[0], "list", credentials("alice"));
  EXPECT_EQ(list.exit_code, 0) << describe(list);
  EXPECT_TRUE(contains(list.out, name + " alice ready " + row.ip + " hv-b")) << describe(list);
  auto gone = shell_on(f.nodes[0], "delete", named(name));
  EXPECT_EQ(gone.exit_code, 0) << describe(gone);
}

TEST_F(FleetTest, OnlyTheRelayAccountMayAssertAnIdentityAndALostNodeSaysWhy) {
  Fleet& f = fleet();
  // Root (any peer but the relay account) naming a user is refused before anything else.
  SocketClient client(f.nodes[1].socket);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send({{"type", "hello"},
                           {"version", 1},
                           {"op", "list"},
                           {"tty", false},
                           {"env", nlohmann::json::object()},
                           {"relay_user", "alice"}}));
  auto final = client.read();
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ((*final)["type"], "final");
  EXPECT_EQ((*final)["exit_code"], 3) << final->dump();

  // Through the relay account itself (the entry's key), a session whose answers do not add up to
  // what it claims the entry kept is refused before anything is made.
  nlohmann::json hello = {{"type", "hello"},
                          {"version", 1},
                          {"op", "create"},
                          {"tty", false},
                          {"env", create_vars("alice", world().prefix + "fcount")},
                          {"relay_user", "alice"},
                          {"relay_answers", 3}};
  hello["env"].erase("PROXMOX_PASSWORD");
  RunOptions through;
  through.input = protocol::encode_frame(hello);
  auto relayed =
      run({"ssh", "-F", "/dev/null", "-T", "-i", world().tmp + "/fleet-entry-key", "-o", "BatchMode=yes", "-o",
           "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + world().tmp + "/fleet-known-hosts", "-p",
           std::to_string(f.nodes[1].ssh_port), "lxcprov-fleet@" + f.nodes[1].wire.there_ip},
          through);
  EXPECT_TRUE(contains(relayed.out, "their configurations differ; nothing was made")) << describe(relayed);
  EXPECT_FALSE(rows().count(world().prefix + "fcount"));

  // A node whose daemon is up (heartbeats) but whose sshd refuses: the entry says why, exit 6.
  const std::string name = world().prefix + "lost";
  auto made = shell_on(f.nodes[1], "create", create_vars("alice", name));
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  const std::string pid_file = f.nodes[1].sshd_dir + "/sshd.pid";
  ASSERT_EQ(sh("kill $(cat " + pid_file + ")").exit_code, 0);
  // And the entry's kept connections to it (ssh masters, fleet.entry.persist_s) end with it.
  sh("pkill -TERM -f '" + f.nodes[0].dir + "/ssh/' ; sleep 0.3; true");
  auto lost = shell_on(f.nodes[0], "delete", named(name));
  EXPECT_EQ(lost.exit_code, 6) << describe(lost);
  EXPECT_TRUE(contains(lost.err, "node hv-b is unavailable: ")) << describe(lost);
  EXPECT_TRUE(contains(lost.err, "Connection refused")) << "ssh's reason: " << describe(lost);
  EXPECT_EQ(lxc_state_in(f.nodes[1], name), "RUNNING");
  auto sshd = sh("ip netns exec " + f.nodes[1].wire.ns + " /usr/local/sbin/lxcprov-sshd -f " + f.nodes[1].sshd_dir +
                 "/sshd_config -E " + f.nodes[1].sshd_dir + "/sshd.log");
  ASSERT_EQ(sshd.exit_code, 0) << describe(sshd);
  ASSERT_TRUE(eventually([&] { return tcp_listening(f.nodes[1].wire.there_ip, f.nodes[1].ssh_port); }, 15s));
  auto back = shell_on(f.nodes[0], "delete", named(name));
  EXPECT_EQ(back.exit_code, 0) << describe(back);
  EXPECT_EQ(lxc_state_in(f.nodes[1], name), "");
}

TEST_F(FleetTest, TheSameNamesAskedOfTwoNodesAtOnceGetOneOwnerEachAndNoAddressTwice) {
  Fleet& f = fleet();
  constexpr int kNames = 60;
  const std::string prefix = world().prefix + "f";
  struct Ask {
    std::string name;
    int node;
  };
  std::vector<Ask> asks;
  for (int i = 0; i < kNames; ++i) {
    const std::string name = prefix + std::to_string(i);
    asks.push_back({name, i % 3});
    asks.push_back({name, (i + 1) % 3});
  }
  std::atomic<size_t> next{0};
  std::mutex m;
  std::map<std::string, std::vector<std::string>> winners;  // name -> nodes that said created
  int refused_taken = 0, other = 0;
  std::string others;
  std::vector<std::thread> threads;
  for (int t = 0; t < 24; ++t)
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < asks.size();) {
        const Node& n = f.nodes[static_cast<size_t>(asks[i].node)];
        auto r = shell_on(n, "create", create_vars("alice", asks[i].name));
        std::lock_guard lock(m);
        if (r.exit_code == 0)
          winners[asks[i].name].push_back(n.name);
        else if (contains(r.err + r.out, "taken"))
          ++refused_taken;
        else {
          ++other;
          others += asks[i].name + " on " + n.name + ": " + describe(r) + "\n";
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(other, 0) << others;
  EXPECT_EQ(refused_taken, kNames);
  ASSERT_EQ(winners.size(), static_cast<size_t>(kNames));
  for (const auto& [name, nodes] : winners) EXPECT_EQ(nodes.size(), 1u) << name << " created twice";

  auto recorded = rows();
  std::set<std::string> ips, ctids;
  std::map<std::string, int> per_node;
  for (const auto& [name, nodes] : winners) {
    ASSERT_TRUE(recorded.count(name)) << name;
    const auto& row = recorded[name];
    // Asked of hv-b or hv-c directly, it is made there; through the entry, where it was placed.
    if (nodes[0] != "hv-a") {
      EXPECT_EQ(row.node, nodes[0]) << name;
    }
    EXPECT_EQ(row.state, "ready") << name;
    ips.insert(row.ip);
    ctids.insert(row.ctid);
    ++per_node[row.node];
    const Node* owner = node_named(row.node);
    ASSERT_NE(owner, nullptr);
    EXPECT_EQ(row.ip.rfind(owner->net, 0), 0u)
        << name << " has " << row.ip << ", outside " << owner->name << "'s subnet";
    // Running where it is recorded, and nowhere else.
    for (const auto& n : f.nodes)
      EXPECT_EQ(lxc_state_in(n, name), n.name == row.node ? "RUNNING" : "") << name << " on " << n.name;
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(kNames)) << "an address given twice";
  EXPECT_EQ(ctids.size(), static_cast<size_t>(kNames)) << "a CTID given twice";
  std::cout << "[ fleet    ] created per node:";
  for (const auto& [node, count] : per_node) std::cout << " " << node << "=" << count;
  std::cout << "\n";

  // A delete asked of a node that does not hold the container: refused, naming the owner. The
  // holder is the recorded node (a create asked of the entry is made where it was placed, maybe
  // hv-b or hv-c); the stranger is asked directly, and is not the entry, which would relay it.
  const std::string& some = winners.begin()->first;
  const Node* holder = node_named(recorded[some].node);
  ASSERT_NE(holder, nullptr) << some;
  const Node& stranger = holder == &f.nodes[1] ? f.nodes[2] : f.nodes[1];
  auto wrong = shell_on(stranger, "delete", named(some));
  EXPECT_EQ(wrong.exit_code, 6) << describe(wrong);
  EXPECT_TRUE(contains(wrong.err, "is on node " + holder->name)) << describe(wrong);
  EXPECT_EQ(lxc_state_in(*holder, some), "RUNNING");
  EXPECT_TRUE(rows().count(some));

  // Each deleted on its own node.
  next = 0;
  std::vector<std::string> names;
  for (const auto& [name, nodes] : winners) names.push_back(name);
  std::atomic<int> deleted{0};
  std::string failed;
  threads.clear();
  for (int t = 0; t < 12; ++t)
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < names.size();) {
        auto r = shell_on(*node_named(winners[names[i]][0]), "delete", named(names[i]));
        if (r.exit_code == 0) {
          ++deleted;
        } else {
          std::lock_guard lock(m);
          failed += names[i] + ": " + describe(r) + "\n";
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(deleted.load(), kNames) << failed;
  recorded = rows();
  for (const auto& name : names) EXPECT_FALSE(recorded.count(name)) << name;
}

TEST_F(FleetTest, ANodeKilledMidCreateIsRecoveredByItsOwnRestartAndByNoOtherNode) {
  Fleet& f = fleet();
  Node& c = f.nodes[2];
  Node& a = f.nodes[0];
  stop_process(c.pid);
  c.pid = start_node(c, {"--crash-at", "after:clone"});
  ASSERT_GT(c.pid, 0) << read_text(c.log);
  const std::string name = world().prefix + "fcrash";
  auto r = shell_on(c, "create", create_vars("alice", name));
  EXPECT_NE(r.exit_code, 0);
  const std::string job = job_id_in(r.err + r.out);
  ASSERT_FALSE(job.empty()) << describe(r);
  int st = 0;
  ASSERT_TRUE(eventually([&] { return ::waitpid(c.pid, &st, WNOHANG) == c.pid; }, 60s)) << "the node did not die";
  c.pid = -1;
  EXPECT_EQ(job_state(job, a.config), "RUNNING");
  EXPECT_TRUE(fs::exists(c.lxcpath + "/" + name)) << "cloned before the crash";

  // Another node restarting recovers its own jobs only.
  stop_process(a.pid);
  a.pid = start_daemon(a.config, a.socket, a.log);
  ASSERT_GT(a.pid, 0) << read_text(a.log);
  EXPECT_EQ(job_state(job, a.config), "RUNNING") << "hv-a must not touch hv-c's job";
  EXPECT_TRUE(fs::exists(c.lxcpath + "/" + name));

  // The node itself, when it returns, rolls it back: no container, no row.
  c.pid = start_node(c);
  ASSERT_GT(c.pid, 0) << read_text(c.log);
  EXPECT_TRUE(eventually([&] { return job_state(job, a.config) == "ROLLED_BACK"; }, 60s)) << job_state(job, a.config);
  EXPECT_FALSE(fs::exists(c.lxcpath + "/" + name));
  EXPECT_FALSE(rows().count(name));
}

TEST_F(FleetTest, TheRegistryShowsEachNodeUpWithItsContainersAndADrainedNodeIsPassedOver) {
  Fleet& f = fleet();
  const std::string name = world().prefix + "freg";
  auto made = shell_on(f.nodes[1], "create", create_vars("alice", name));
  ASSERT_EQ(made.exit_code, 0) << describe(made);
  auto list = ctl(f.nodes[0], {"node", "list"});
  ASSERT_EQ(list.exit_code, 0) << describe(list);
  for (const auto& n : f.nodes) {
    bool seen = false;
    for (const auto& line : lines_of(list.out)) {
      std::istringstream in(line);
      std::string node, endpoint, subnet, containers, memory, state;
      in >> node >> endpoint >> subnet >> containers >> memory >> state;
      if (node != n.name) continue;
      seen = true;
      EXPECT_EQ(state, "up") << line;
      EXPECT_EQ(subnet, n.net + "0/24") << line;
      EXPECT_EQ(containers, n.name == "hv-b" ? "1" : "0") << line;
      EXPECT_NE(memory, "-") << "the heartbeat reports memory: " << line;
    }
    EXPECT_TRUE(seen) << n.name << "\n" << list.out;
  }
  EXPECT_EQ(rows()[name].node, "hv-b");

  // Drained: passed over while the others can take containers; undrained: back.
  for (const char* n : {"hv-a", "hv-c"}) ASSERT_EQ(ctl(f.nodes[0], {"node", "drain", n}).exit_code, 0);
  auto only_b = ctl(f.nodes[0], {"node", "list"});
  EXPECT_TRUE(contains(only_b.out, "next busybox: hv-b")) << only_b.out;
  ASSERT_EQ(ctl(f.nodes[0], {"node", "drain", "hv-b"}).exit_code, 0);
  auto none = ctl(f.nodes[0], {"node", "list"});
  EXPECT_TRUE(contains(none.out,
                       "next busybox: no node can take a busybox container: hv-a draining; hv-b draining; "
                       "hv-c draining"))
      << none.out;
  // A create asked of a drained node directly is refused before anything is made; the entry has
  // nowhere to place it.
  auto drained = shell_on(f.nodes[2], "create", create_vars("alice", name + "d"));
  EXPECT_EQ(drained.exit_code, 6) << describe(drained);
  EXPECT_TRUE(contains(drained.err, "node hv-c is draining")) << describe(drained);
  auto nowhere = shell_on(f.nodes[0], "create", create_vars("alice", name + "d"));
  EXPECT_EQ(nowhere.exit_code, 6) << describe(nowhere);
  EXPECT_TRUE(contains(nowhere.err, "no node can take a busybox container")) << describe(nowhere);
  EXPECT_FALSE(rows().count(name + "d"));
  for (const char* n : {"hv-a", "hv-b", "hv-c"}) ASSERT_EQ(ctl(f.nodes[0], {"node", "undrain", n}).exit_code, 0);
  auto back = ctl(f.nodes[0], {"node", "list"});
  EXPECT_FALSE(contains(back.out, "next busybox: hv-b")) << "hv-b holds one container, the others none\n" << back.out;

  auto busy = ctl(f.nodes[0], {"node", "remove", "hv-b"});
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_TRUE(contains(busy.err, "still has 1 container")) << describe(busy);
  auto gone = shell_on(f.nodes[1], "delete", named(name));
  EXPECT_EQ(gone.exit_code, 0) << describe(gone);
}

// Figures, not a test (tests/bench/fleet_bench.sh sets LXCPROV_FLEET_BENCH=1): the create a user
// waits for through the entry against the single-host daemon of the same run, and creates per
// second through the entry with one, two and three nodes taking them.
TEST_F(FleetTest, BenchCreateLatencyAndThroughput) {
  if (std::getenv("LXCPROV_FLEET_BENCH") == nullptr) GTEST_SKIP() << "a benchmark: tests/bench/fleet_bench.sh";
  Fleet& f = fleet();
  const Node& entry = f.nodes[0];
  const int rounds =
      std::getenv("LXCPROV_FLEET_BENCH_ROUNDS") ? std::atoi(std::getenv("LXCPROV_FLEET_BENCH_ROUNDS")) : 9;
  auto drain_all_but = [&](const std::vector<std::string>& open) {
    for (const auto& n : f.nodes) {
      const bool keep = std::find(open.begin(), open.end(), n.name) != open.end();
      ASSERT_EQ(ctl(entry, {"node", keep ? "undrain" : "drain", n.name}).exit_code, 0);
    }
  };
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  // One create at a time (then its delete, untimed), `rounds` times; the median create, in ms.
  auto latency = [&](const std::string& tag, const std::function<ProcResult(const std::string&)>& create,
                     const std::function<ProcResult(const std::string&)>& destroy) {
    std::vector<double> ms;
    for (int i = 0; i < rounds; ++i) {
      const std::string name = world().prefix + "b" + tag + std::to_string(i);
      const auto t0 = std::chrono::steady_clock::now();
      auto r = create(name);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      EXPECT_EQ(r.exit_code, 0) << describe(r);
      EXPECT_EQ(destroy(name).exit_code, 0);
    }
    return median(ms);
  };
  RunOptions o;
  o.unset = {"SSH_ORIGINAL_COMMAND"};
  auto single_create = [&](const std::string& name) {
    o.env = create_vars("alice", name);
    return run({world().shell, "--socket", world().socket, "create"}, o);
  };
  auto single_delete = [&](const std::string& name) {
    o.env = named(name);
    return run({world().shell, "--socket", world().socket, "delete"}, o);
  };
  auto entry_create = [&](const std::string& name) { return shell_on(entry, "create", create_vars("alice", name)); };
  auto entry_delete = [&](const std::string& name) { return shell_on(entry, "delete", named(name)); };
  auto b_create = [&](const std::string& name) { return shell_on(f.nodes[1], "create", create_vars("alice", name)); };
  auto b_delete = [&](const std::string& name) { return shell_on(f.nodes[1], "delete", named(name)); };

  // Interleaved, so drift in the machine's load falls on every column alike.
  std::vector<double> single, direct, local, relayed;
  for (int pass = 0; pass < 3; ++pass) {
    single.push_back(latency("s" + std::to_string(pass), single_create, single_delete));
    direct.push_back(latency("d" + std::to_string(pass), b_create, b_delete));
    drain_all_but({"hv-a"});
    local.push_back(latency("l" + std::to_string(pass), entry_create, entry_delete));
    drain_all_but({"hv-b"});
    relayed.push_back(latency("r" + std::to_string(pass), entry_create, entry_delete));
    drain_all_but({"hv-a", "hv-b", "hv-c"});
  }
  const double base = median(single);
  std::cout << fmt::format(
      "[ bench    ] create, one at a time, median of {} x 3 passes (ms; ratio to the single host):\n"
      "[ bench    ]   single host, SQLite               {:7.1f}  1.00\n"
      "[ bench    ]   fleet node asked directly (PG)    {:7.1f}  {:.2f}\n"
      "[ bench    ]   through the entry, placed on it   {:7.1f}  {:.2f}\n"
      "[ bench    ]   through the entry, relayed (ssh)  {:7.1f}  {:.2f}\n",
      rounds, base, median(direct), median(direct) / base, median(local), median(local) / base, median(relayed),
      median(relayed) / base);

  // Throughput: 30 creates at once through the entry, placed on the first k nodes.
  constexpr int kBurst = 30;
  std::vector<double> rate;
  for (size_t k = 1; k <= 3; ++k) {
    std::vector<std::string> open;
    for (size_t i = 0; i < k; ++i) open.push_back(f.nodes[i].name);
    drain_all_but(open);
    std::atomic<int> next{0}, made{0};
    std::vector<std::thread> threads;
    const std::string prefix = world().prefix + "t" + std::to_string(k) + "-";
    const auto t0 = std::chrono::steady_clock::now();
    for (int t = 0; t < 15; ++t)
      threads.emplace_back([&] {
        for (int i; (i = next++) < kBurst;)
          if (entry_create(prefix + std::to_string(i)).exit_code == 0) ++made;
      });
    for (auto& t : threads) t.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(made.load(), kBurst);
    rate.push_back(made.load() / s);
    next = 0;
    threads.clear();
    for (int t = 0; t < 10; ++t)
      threads.emplace_back([&] {
        for (int i; (i = next++) < kBurst;) (void)entry_delete(prefix + std::to_string(i));
      });
    for (auto& t : threads) t.join();
  }
  drain_all_but({"hv-a", "hv-b", "hv-c"});
  std::cout << fmt::format(
      "[ bench    ] {} creates at once through the entry (creates/s; ratio to one node): 1 node {:.1f}  2 nodes "
      "{:.1f} ({:.2f})  3 nodes {:.1f} ({:.2f})\n",
      kBurst, rate[0], rate[1], rate[1] / rate[0], rate[2], rate[2] / rate[0]);
}

}  // namespace
}  // namespace lxcprov::it
