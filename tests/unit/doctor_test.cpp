// `lxcprovctl doctor`'s verdicts (daemon/doctor/checks.hpp): a healthy host's facts give every
// check "ok"; each broken fact, one at a time, fails exactly its own check with a line that says
// what is wrong and how to fix it.

#include <gtest/gtest.h>

#include <functional>

#include "config/config.hpp"
#include "doctor/checks.hpp"

namespace lxcprov {
namespace {

using doctor::Facts;
using doctor::Verdict;

const char* sshd_config =
    "Port 2222\n"
    "AuthenticationMethods publickey keyboard-interactive\n"
    "AuthorizedKeysFile /etc/lxcprov/authorized_keys/%u\n"
    "DisableForwarding yes\n"
    "ExposeAuthInfo yes\n"
    "\n"
    "Match User create-container\n"
    "  ForceCommand /usr/local/bin/lxcprov-shell --socket /run/lxcprov/lxcprovd.sock create\n"
    "Match User container-exists\n"
    "  ForceCommand /usr/local/bin/lxcprov-shell --socket /run/lxcprov/lxcprovd.sock exists\n"
    "Match User delete-container\n"
    "  ForceCommand /usr/local/bin/lxcprov-shell --socket /run/lxcprov/lxcprovd.sock delete\n"
    "Match User update-container\n"
    "  ForceCommand /usr/local/bin/lxcprov-shell --socket /run/lxcprov/lxcprovd.sock update\n";

const char* ports_listing =
    "table inet lxcprov {\n"
    "\tmap tcp_forwards {\n"
    "\t\ttype inet_service : ipv4_addr . inet_service\n"
    "\t\telements = { 2223 comment \"web SSH\" : 10.47.0.10 . 22 }\n"
    "\t}\n\n"
    "\tmap udp_forwards {\n"
    "\t\ttype inet_service : ipv4_addr . inet_service\n"
    "\t\telements = { 10001 comment \"web NTP\" : 10.47.0.10 . 123 }\n"
    "\t}\n\n"
    "\tchain forwards {\n"
    "\t\tmeta nfproto ipv4 dnat ip to tcp dport map @tcp_forwards\n"
    "\t}\n"
    "}\n";

config::Config defaults() { return *config::parse("{}"); }

Facts healthy() {
  Facts f;
  f.bridge = doctor::BridgeFacts{true, true, {"10.47.0.1/24", "fe80::1/64"}};
  f.nft_tables = std::set<std::string>{"inet lxcprov", "bridge lxcprov_iso", "inet lxcprov_iso", "inet other"};
  f.ports_listing = ports_listing;
  f.expected_forwards = {doctor::forward_line("tcp", 2223, "10.47.0.10", 22),
                         doctor::forward_line("udp", 10001, "10.47.0.10", 123)};
  f.nginx = doctor::NginxFacts{true, "", true, "/run/lxcprov/nginx.pid"};
  f.templates = {{"busybox", "tpl-busybox", true, true, true, ""}, {"debian", "tpl-debian", true, true, true, ""}};
  f.sshd = {"/etc/lxcprov/sshd/sshd_config", sshd_config, true,
            "lxcprov-sshd: /usr/local/sbin/lxcprov-sshd -f /etc/lxcprov/sshd/sshd_config [listener] 0 of 112-224"};
  f.subuid = "root:100000:65536\nalice:165536:65536\n";  // adjacent ranges do not overlap
  f.subgid = "root:100000:10000001\n";
  f.inotify_instances = 1024;
  f.inotify_watches = 192530;
  f.now = 1796000000;
  f.newest_recorded = 1796000000 - 10;
  return f;
}

std::vector<Verdict> failed(const std::vector<Verdict>& vs) {
  std::vector<Verdict> out;
  for (const auto& v : vs)
    if (!v.ok) out.push_back(v);
  return out;
}

TEST(Doctor, AHealthyHostPassesEveryCheck) {
  auto vs = doctor::judge(defaults(), healthy());
  ASSERT_EQ(vs.size(), 10u);  // bridge, nft ports, isolation, nginx, 2 templates, sshd, idmap, inotify, clock
  for (const auto& v : vs) EXPECT_TRUE(v.ok) << doctor::render(v);
  EXPECT_EQ(doctor::render(vs[0]), "bridge lxcprov0: ok (up with 10.47.0.1/24)");
  EXPECT_EQ(doctor::render(vs[1]), "nft inet lxcprov: ok (2 forward(s), equal to state)");
}

TEST(Doctor, EachBrokenFactFailsOnlyItsOwnCheck) {
  struct Case {
    const char* what;
    std::function<void(Facts&, config::Config&)> breaks;
    std::string check;  ///< the failing check
    std::string says;   ///< a part of its line
  };
  const std::vector<Case> cases = {
      {"no bridge", [](Facts& f, config::Config&) { f.bridge->exists = false; }, "bridge lxcprov0", "does not exist"},
      {"bridge down", [](Facts& f, config::Config&) { f.bridge->up = false; }, "bridge lxcprov0",
       "is down, so containers on it reach nothing; fix: ip link set lxcprov0 up"},
      {"bridge address", [](Facts& f, config::Config&) { f.bridge->addresses = {"10.47.1.1/24"}; }, "bridge lxcprov0",
       "lacks the gateway address 10.47.0.1/24 (has: 10.47.1.1/24)"},
      {"ip failed", [](Facts& f, config::Config&) { f.bridge.reset(); }, "bridge lxcprov0", "could not be inspected"},
      {"ports table gone", [](Facts& f, config::Config&) { f.nft_tables->erase("inet lxcprov"); }, "nft inet lxcprov",
       "is missing"},
      {"a forward missing",
       [](Facts& f, config::Config&) {
         f.expected_forwards.push_back(doctor::forward_line("tcp", 2224, "10.47.0.11", 22));
       },
       "nft inet lxcprov", "lacks 1 forward(s) the state holds (tcp dport 2224 dnat ip to 10.47.0.11:22)"},
      {"a stale forward", [](Facts& f, config::Config&) { f.expected_forwards.pop_back(); }, "nft inet lxcprov",
       "has 1 forward(s) the state does not hold (udp dport 10001 dnat ip to 10.47.0.10:123)"},
      {"isolation table gone", [](Facts& f, config::Config&) { f.nft_tables->erase("bridge lxcprov_iso"); },
       "nft isolation lxcprov_iso", "bridge lxcprov_iso missing"},
      {"nginx config broken",
       [](Facts& f, config::Config&) {
         f.nginx->test_ok = false;
         f.nginx->test_output = "unknown directive \"x\"";
       },
       "nginx", "fails (unknown directive \"x\")"},
      {"nginx stopped", [](Facts& f, config::Config&) { f.nginx->running = false; }, "nginx",
       "is not running (no live nginx in /run/lxcprov/nginx.pid)"},
      {"template missing", [](Facts& f, config::Config&) { f.templates[1].exists = false; },
       "template tpl-debian (debian)", "fix: lxcprovctl template build tpl-debian --distro debian"},
      {"template unsealed", [](Facts& f, config::Config&) { f.templates[0].sealed = false; },
       "template tpl-busybox (busybox)", "is not sealed"},
      {"template changed", [](Facts& f, config::Config&) { f.templates[0].matches = false; },
       "template tpl-busybox (busybox)", "does not match its seal"},
      {"sshd config unreadable", [](Facts& f, config::Config&) { f.sshd.config_text.reset(); },
       "sshd /etc/lxcprov/sshd/sshd_config", "cannot be read"},
      {"sshd forced command points elsewhere", [](Facts&, config::Config& c) { c.socket_path = "/run/other.sock"; },
       "sshd /etc/lxcprov/sshd/sshd_config",
       "ForceCommand of create-container is \"/usr/local/bin/lxcprov-shell --socket /run/lxcprov/lxcprovd.sock "
       "create\", not \"/usr/local/bin/lxcprov-shell --socket /run/other.sock create\""},
      {"sshd without ExposeAuthInfo",
       [](Facts& f, config::Config&) {
         auto& t = *f.sshd.config_text;
         t.replace(t.find("ExposeAuthInfo yes"), 18, "ExposeAuthInfo no");
       },
       "sshd /etc/lxcprov/sshd/sshd_config", "ExposeAuthInfo is \"no\", not \"yes\""},
      {"sshd not running", [](Facts& f, config::Config&) { f.sshd.running = false; },
       "sshd /etc/lxcprov/sshd/sshd_config", "no sshd runs with it"},
      {"sshd as plain sshd",
       [](Facts& f, config::Config&) { f.sshd.cmdline = "sshd: /usr/sbin/sshd -f /etc/lxcprov/sshd/sshd_config"; },
       "sshd /etc/lxcprov/sshd/sshd_config", "its PAM service comes from argv[0]"},
      {"sshd as lxcprov-sshd with another config",
       [](Facts& f, config::Config&) { f.sshd.cmdline = "sshd: /usr/sbin/lxcprov-sshd -D -e -f /etc/ssh/sshd_config"; },
       "sshd /etc/lxcprov/sshd/sshd_config", "its PAM service comes from argv[0]"},
      {"sshd given our config and then another (sshd reads the last -f)",
       [](Facts& f, config::Config&) {
         f.sshd.cmdline = "/usr/sbin/lxcprov-sshd -f /etc/lxcprov/sshd/sshd_config -f /etc/ssh/sshd_config";
       },
       "sshd /etc/lxcprov/sshd/sshd_config", "its PAM service comes from argv[0]"},
      {"another account's subuids overlap",
       [](Facts& f, config::Config&) { f.subuid = "root:100000:65536\n_lxd:100000:10000001\n"; }, "idmap 100000+65536",
       "overlaps _lxd:100000:10000001 in /etc/subuid, so that account's containers"},
      {"a user's subgids touch its end", [](Facts& f, config::Config&) { f.subgid = "alice:165535:65536\n"; },
       "idmap 100000+65536", "overlaps alice:165535:65536 in /etc/subgid"},
      {"subuid unreadable", [](Facts& f, config::Config&) { f.subuid.reset(); }, "idmap 100000+65536",
       "/etc/subuid cannot be read"},
      {"inotify low", [](Facts& f, config::Config&) { f.inotify_instances = 128; }, "inotify",
       "fs.inotify.max_user_instances=128 (< 1024)"},
      {"clock reset", [](Facts& f, config::Config&) { f.now = 86400; }, "clock", "before 2024"},
      {"clock backwards", [](Facts& f, config::Config&) { f.newest_recorded = f.now + 3600; }, "clock",
       "is 3600 s behind the newest time the state database recorded"},
  };
  for (const auto& c : cases) {
    Facts f = healthy();
    config::Config cfg = defaults();
    c.breaks(f, cfg);
    auto bad = failed(doctor::judge(cfg, f));
    ASSERT_EQ(bad.size(), 1u) << c.what;
    EXPECT_EQ(bad[0].check, c.check) << c.what;
    const std::string line = doctor::render(bad[0]);
    EXPECT_EQ(line.rfind(c.check + ": FAIL: ", 0), 0u) << c.what << ": " << line;
    EXPECT_NE(line.find(c.says), std::string::npos) << c.what << ": " << line;
    EXPECT_EQ(line.find('\n'), std::string::npos) << c.what;
  }
}

TEST(Doctor, SshdRunAsThePackagesLinkOrUnderSystemdPasses) {
  // run.sh's link, the package's link under its unit (-D -e), and sshd's own process title.
  for (const char* cmdline :
       {"lxcprov-sshd: /usr/local/sbin/lxcprov-sshd -f /etc/lxcprov/sshd/sshd_config [listener] 0 of 10",
        "/usr/sbin/lxcprov-sshd -D -e -f /etc/lxcprov/sshd/sshd_config",
        "/usr/sbin/lxcprov-sshd -f /etc/ssh/sshd_config -D -f/etc/lxcprov/sshd/sshd_config"}) {
    Facts f = healthy();
    f.sshd.cmdline = cmdline;
    for (const auto& v : doctor::judge(defaults(), f)) EXPECT_TRUE(v.ok) << cmdline << ": " << doctor::render(v);
  }
}

TEST(Doctor, DisabledFeaturesAreNotRequired) {
  config::Config cfg = defaults();
  cfg.ports.enabled = false;
  cfg.isolation.enabled = false;
  cfg.http.enabled = false;
  Facts f = healthy();
  f.nft_tables = std::set<std::string>{};
  f.nginx.reset();
  for (const auto& v : doctor::judge(cfg, f)) EXPECT_TRUE(v.ok) << doctor::render(v);
}

TEST(Doctor, ListedForwardsAreReadFromNftOutput) {
  EXPECT_EQ(
      doctor::listed_forwards(ports_listing),
      (std::set<std::string>{"tcp dport 2223 dnat ip to 10.47.0.10:22", "udp dport 10001 dnat ip to 10.47.0.10:123"}));
  EXPECT_TRUE(doctor::listed_forwards("table inet lxcprov {\n\tchain forwards {\n\t}\n}\n").empty());
  // Wrapped over lines, as nft prints many elements.
  EXPECT_EQ(
      doctor::listed_forwards("\tmap tcp_forwards {\n\t\ttype inet_service : ipv4_addr . inet_service\n"
                              "\t\telements = { 2223 comment \"a SSH\" : 10.47.0.10 . 22,\n"
                              "\t\t\t     2224 comment \"b SSH\" : 10.47.0.11 . 22 }\n\t}\n"),
      (std::set<std::string>{"tcp dport 2223 dnat ip to 10.47.0.10:22", "tcp dport 2224 dnat ip to 10.47.0.11:22"}));
  EXPECT_TRUE(doctor::listed_forwards("tcp dport 22 accept\n").empty());
}

TEST(Doctor, ConfigValuesAreReadAsTheirProgramsReadThem) {
  // sshd: the first value wins; a Match block's lines are not global.
  EXPECT_EQ(doctor::sshd_global("ExposeAuthInfo yes\nExposeAuthInfo no\n", "exposeauthinfo"), "yes");
  EXPECT_EQ(doctor::sshd_global("Port 1\nMatch User x\n  ExposeAuthInfo yes\n", "ExposeAuthInfo"), "");
}

}  // namespace
}  // namespace lxcprov
