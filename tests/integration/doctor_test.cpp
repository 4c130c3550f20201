// `lxcprovctl doctor` against the real host: it passes on the world (its bridge, sealed busybox
// template, sshd, the host's sysctls and clock) and fails with one named line when one thing is
// broken. The bridge that is broken is one of the test's own, in a network namespace of its own;
// /etc/subuid and /etc/subgid are the test's own files bind-mounted in a mount namespace of its
// own (`unshare -m`), because the host running the tests may hold entries that the doctor rightly
// flags (Debian's lxd package delegates 100000-10100000 to _lxd, over lxcprov's default range).

#include <fstream>

#include <gtest/gtest.h>

#include "world.hpp"

namespace lxcprov::it {
namespace {

class Doctor : public ::testing::Test {
 protected:
  void SetUp() override {
    World& w = world();
    if (w.tmp.empty() || w.daemon_pid <= 0) GTEST_FAIL() << "the world did not start";
    ns_ = "lxdoc" + std::to_string(w.pid);
    clean_ = w.tmp + "/doctor-subid";
    std::ofstream(clean_) << "root:100000:65536\n";
  }
  void TearDown() override { sh("ip netns del " + ns_ + " 2>/dev/null"); }

  // The world's config, as doctor should see it. The world's sshd reads keys from the default
  // directory (setup-sshd.sh without --authorized-keys-dir) while its daemon renders them into its
  // tmp dir; the doctor would rightly call that a mismatch, so this config names the sshd's.
  std::string config(const std::function<void(nlohmann::json&)>& change = {}) {
    auto cfg = nlohmann::json::parse(read_text(world().config));
    cfg["authorized_keys_dir"] = "/etc/lxcprov/authorized_keys";
    if (change) change(cfg);
    const std::string path = world().tmp + "/doctor-" + std::to_string(++configs_) + ".json";
    std::ofstream(path) << cfg.dump(2);
    return path;
  }

  // doctor with `subid` as /etc/subuid and /etc/subgid, in network namespace `netns` ("" = the host's).
  ProcResult doctor(const std::string& cfg, const std::string& subid, const std::string& netns = "") {
    const World& w = world();
    std::string cmd = "mount --bind " + subid + " /etc/subuid && mount --bind " + subid + " /etc/subgid && exec " +
                      (netns.empty() ? "" : "ip netns exec " + netns + " ") + w.build_dir +
                      "/helpers/lxcprovctl --config " + cfg + " doctor --sshd-config " + w.tmp + "/sshd/sshd_config";
    return run({"unshare", "-m", "--propagation", "private", "sh", "-c", cmd});
  }

  std::string ns_, clean_;
  int configs_ = 0;
};

TEST_F(Doctor, PassesOnTheWorld) {
  auto r = doctor(config(), clean_);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 9u) << r.out;  // bridge, nft x2, nginx, tpl-busybox, sshd, idmap, inotify, clock
  for (const auto& line : lines) EXPECT_TRUE(contains(line, ": ok (")) << line;
  EXPECT_EQ(lines[0], "bridge " + world().bridge + ": ok (up with " + world().net + "1/24)");
  EXPECT_TRUE(contains(r.out, "template tpl-busybox (busybox): ok (sealed, seal verified)")) << r.out;
  EXPECT_TRUE(contains(r.out, "sshd " + world().tmp + "/sshd/sshd_config: ok (running, config matches)")) << r.out;
}

TEST_F(Doctor, ABridgeThatIsDownIsNamedAndTheRestStillPass) {
  const std::string br = "lxdoc0";
  ASSERT_EQ(sh("ip netns add " + ns_ + " && ip -n " + ns_ + " link add " + br + " type bridge && ip -n " + ns_ +
               " addr add " + world().net + "1/24 dev " + br + " && ip -n " + ns_ + " link set " + br + " up")
                .exit_code,
            0);
  const std::string cfg = config([&](nlohmann::json& c) { c["network"]["bridge"] = br; });
  auto up = doctor(cfg, clean_, ns_);
  ASSERT_EQ(up.exit_code, 0) << describe(up);

  ASSERT_EQ(sh("ip -n " + ns_ + " link set " + br + " down").exit_code, 0);
  auto down = doctor(cfg, clean_, ns_);
  EXPECT_EQ(down.exit_code, 1) << describe(down);
  auto lines = lines_of(down.out);
  ASSERT_EQ(lines.size(), 10u) << down.out;
  EXPECT_EQ(lines[0], "bridge lxdoc0: FAIL: is down, so containers on it reach nothing; fix: ip link set lxdoc0 up");
  for (size_t i = 1; i + 1 < lines.size(); ++i) EXPECT_TRUE(contains(lines[i], ": ok (")) << lines[i];
  EXPECT_EQ(lines.back(), "1 check(s) failed");
}

TEST_F(Doctor, AMissingTemplateAndAnOverlappingSubuidAreNamed) {
  const std::string cfg = config([](nlohmann::json& c) { c["distributions"]["ghost"] = {{"template", "tpl-ghost"}}; });
  const std::string dirty = world().tmp + "/doctor-subid-lxd";
  std::ofstream(dirty) << "_lxd:100000:10000001\nroot:100000:10000001\n";
  auto r = doctor(cfg, dirty);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(contains(r.out,
                       "template tpl-ghost (ghost): FAIL: does not exist, so ghost creates fail; fix: "
                       "lxcprovctl template build tpl-ghost --distro ghost\n"))
      << r.out;
  EXPECT_TRUE(contains(r.out, "idmap 100000+65536: FAIL: overlaps _lxd:100000:10000001 in /etc/subuid")) << r.out;
  EXPECT_TRUE(contains(r.out, "2 check(s) failed")) << r.out;
}

}  // namespace
}  // namespace lxcprov::it
