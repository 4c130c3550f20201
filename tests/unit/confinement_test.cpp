#include <gtest/gtest.h>

#include <algorithm>

#include "container/confinement.hpp"

namespace lxcprov::container {
namespace {

using config::Confinement;
using config::parse;

std::vector<std::string> values_of(const ConfigItems& items, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& [k, v] : items)
    if (k == key) out.push_back(v);
  return out;
}

TEST(Confinement, DefaultsMapContainerRootTo100000AndNeverToHostRoot) {
  auto c = parse("{}");
  ASSERT_TRUE(c);
  EXPECT_EQ(idmap_lines(c->confinement), (std::vector<std::string>{"u 0 100000 65536", "g 0 100000 65536"}));
  auto items = confinement_keys(c->confinement, CgroupVersion::v1, "/var/lib/lxcprov/lxc/lxcprov.seccomp");
  EXPECT_EQ(values_of(items, "lxc.idmap"), idmap_lines(c->confinement));
}

TEST(Confinement, KeysForCgroupV1) {
  Confinement conf;
  auto items = confinement_keys(conf, CgroupVersion::v1, "/p/seccomp");
  const ConfigItems expected = {
      {"lxc.idmap", "u 0 100000 65536"},
      {"lxc.idmap", "g 0 100000 65536"},
      {"lxc.cap.drop", "mac_admin mac_override sys_time sys_module sys_rawio syslog"},
      {"lxc.seccomp.profile", "/p/seccomp"},
      {"lxc.seccomp.allow_nesting", "0"},
      {"lxc.apparmor.profile", "generated"},
      {"lxc.apparmor.allow_nesting", "0"},
      {"lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed"},
      {"lxc.autodev", "1"},
      {"lxc.cgroup.devices.deny", "a"},
      {"lxc.cgroup.devices.allow", "c *:* m"},
      {"lxc.cgroup.devices.allow", "b *:* m"},
      {"lxc.cgroup.devices.allow", "c 1:3 rwm"},
      {"lxc.cgroup.devices.allow", "c 1:5 rwm"},
      {"lxc.cgroup.devices.allow", "c 1:7 rwm"},
      {"lxc.cgroup.devices.allow", "c 5:0 rwm"},
      {"lxc.cgroup.devices.allow", "c 5:1 rwm"},
      {"lxc.cgroup.devices.allow", "c 5:2 rwm"},
      {"lxc.cgroup.devices.allow", "c 1:8 rwm"},
      {"lxc.cgroup.devices.allow", "c 1:9 rwm"},
      {"lxc.cgroup.devices.allow", "c 136:* rwm"},
      {"lxc.cgroup.devices.allow", "c 10:229 rwm"},
  };
  EXPECT_EQ(items, expected);
}

TEST(Confinement, CgroupV2UsesTheUnifiedDeviceKeys) {
  auto items = confinement_keys(Confinement{}, CgroupVersion::v2, "/p");
  EXPECT_EQ(values_of(items, "lxc.cgroup2.devices.deny"), std::vector<std::string>{"a"});
  EXPECT_EQ(values_of(items, "lxc.cgroup2.devices.allow").size(), 12u);
  EXPECT_TRUE(values_of(items, "lxc.cgroup.devices.allow").empty());
}

TEST(Confinement, SeccompPolicyDeniesWhatTheIssueNamesAndTheOperatorsExtras) {
  Confinement conf;
  conf.denied_syscalls = {"ptrace"};
  const std::string p = seccomp_policy(conf);
  EXPECT_EQ(p.rfind("2\ndenylist\n", 0), 0u) << p;
  for (const char* line :
       {"reject_force_umount\n", "[all]\n", "open_by_handle_at errno 1\n", "kexec_load errno 1\n",
        "kexec_file_load errno 1\n", "init_module errno 1\n", "finit_module errno 1\n", "delete_module errno 1\n",
        "keyctl errno 38\n", "add_key errno 38\n", "request_key errno 38\n", "bpf errno 1\n", "ptrace errno 1\n"})
    EXPECT_NE(p.find(line), std::string::npos) << line;
}

TEST(Confinement, RangesThatReachHostIdsAreRefused) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {R"({"confinement": {"idmap": {"host_first": 0}}})", "confinement.idmap.host_first"},
      {R"({"confinement": {"idmap": {"host_first": 1000}}})", "confinement.idmap.host_first"},
      {R"({"confinement": {"idmap": {"host_first": -5}}})", "confinement.idmap.host_first"},
      {R"({"confinement": {"idmap": {"count": 100}}})", "confinement.idmap.count"},
      {R"({"confinement": {"idmap": {"host_first": 4294967000, "count": 65536}}})", "confinement.idmap"},
      {R"({"confinement": {"idmap": 5}})", "confinement.idmap"},
      {R"({"confinement": {"denied_syscalls": ["ptrace; id"]}})", "confinement.denied_syscalls"},
      {R"({"confinement": {"apparmor_profile": "unconfined"}})", "confinement.apparmor_profile"},
      {R"({"confinement": []})", "confinement"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
  auto ok = parse(R"({"confinement": {"idmap": {"host_first": 200000, "count": 65536}}})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(idmap_lines(ok->confinement)[0], "u 0 200000 65536");
}

TEST(Confinement, OperatorKeysCannotUndoIt) {
  for (const char* key :
       {"lxc.idmap", "lxc.seccomp.profile", "lxc.cap.keep", "lxc.cap.drop", "lxc.apparmor.profile", "lxc.mount.entry",
        "lxc.mount.auto", "lxc.cgroup.devices.allow", "lxc.cgroup2.devices.allow", "lxc.autodev", "lxc.namespace.keep",
        "lxc.rootfs.path", "lxc.include", "lxc.hook.pre-start", "lxc.net.0.link", "lxc.environment"}) {
    EXPECT_TRUE(confinement_key(key)) << key;
    auto r = parse(std::string(R"({"lxc_config": {")") + key + R"(": "x"}})");
    ASSERT_FALSE(r) << key;
    EXPECT_NE(r.error().message.find(std::string("lxc_config.") + key), std::string::npos) << r.error().message;
  }
  for (const char* key : {"lxc.cgroup.memory.limit_in_bytes", "lxc.cgroup2.pids.max", "lxc.prlimit.nofile"})
    EXPECT_FALSE(confinement_key(key)) << key;
}

}  // namespace
}  // namespace lxcprov::container
