// The rules around sealing (container/template_policy.hpp) and the create plan's seal gate: a create
// checks its template before the clone, and a refusal leaves nothing (no row, no clone, no address).

#include <gtest/gtest.h>

#include <set>

#include "../fakes/fake_template_seals.hpp"
#include "../fakes/memory_store.hpp"
#include "common/exit_codes.hpp"
#include "container/template_policy.hpp"
#include "jobs/provisioner.hpp"

namespace lxcprov {
namespace {

TEST(SealPolicy, TemplateNamesAreContainerNamesNeverPaths) {
  for (const char* ok : {"tpl-busybox", "tpl_debian.12", "A1"}) EXPECT_TRUE(container::valid_template_name(ok)) << ok;
  for (const char* bad : {"", ".hidden", "-x", "a/b", "..", "a..b", "tpl debian", "tpl\n", "../etc"})
    EXPECT_FALSE(container::valid_template_name(bad)) << bad;
  EXPECT_FALSE(container::valid_template_name(std::string(129, 'a')));
}

TEST(SealPolicy, RootfsPathComesFromTheLastConfigLine) {
  struct Case {
    std::string config;
    std::string path;  // "" = refused
  } cases[] = {
      {"lxc.rootfs.path = dir:/var/lib/lxc/t/rootfs\n", "/var/lib/lxc/t/rootfs"},
      {"lxc.rootfs.path=/srv/t/rootfs", "/srv/t/rootfs"},
      {"# lxc.rootfs.path = dir:/nope\n  lxc.rootfs.path =  dir:/a/rootfs  \r\n", "/a/rootfs"},
      {"lxc.rootfs.path = dir:/a\nlxc.rootfs.path = dir:/b\n", "/b"},
      {"lxc.rootfs.path = btrfs:/pool/t/rootfs\n", "/pool/t/rootfs"},
      {"lxc.uts.name = t\n", ""},
      {"lxc.rootfs.path =\n", ""},
      {"lxc.rootfs.path = overlay:/var/lib/lxc/tpl/rootfs:/var/lib/lxc/c/delta0\n", ""},
      {"lxc.rootfs.path = lvm:/dev/vg/t\n", ""},
      {"lxc.rootfs.path = dir:relative/rootfs\n", ""},
  };
  for (const auto& c : cases) {
    auto p = container::rootfs_path(c.config);
    if (c.path.empty()) {
      EXPECT_FALSE(p) << c.config;
    } else {
      ASSERT_TRUE(p) << c.config << ": " << p.error().message;
      EXPECT_EQ(*p, c.path);
    }
  }
  auto overlay = container::rootfs_path("lxc.rootfs.path = overlay:/a:/b\n");
  ASSERT_FALSE(overlay);
  EXPECT_NE(overlay.error().message.find("snapshot clone"), std::string::npos) << overlay.error().message;
}

// What the seed reads from a clone's saved config: the value as written, with its type.
TEST(SealPolicy, RootfsValueIsTheLastOneAsWritten) {
  EXPECT_EQ(container::rootfs_value("lxc.uts.name = web\nlxc.rootfs.path = overlay:/t/rootfs:/c/overlay/delta\n"),
            "overlay:/t/rootfs:/c/overlay/delta");
  EXPECT_EQ(container::rootfs_value("lxc.rootfs.path = dir:/a\n# lxc.rootfs.path = /x\n  lxc.rootfs.path=/b \n"), "/b");
  EXPECT_EQ(container::rootfs_value("lxc.rootfs.options = userxattr\n"), std::nullopt);
  EXPECT_EQ(container::rootfs_value(""), std::nullopt);
}

TEST(SealPolicy, SnapshotClonesAreTheSecondLineOfEachPair) {
  EXPECT_TRUE(container::parse_snapshot_clones("").empty());
  EXPECT_EQ(container::parse_snapshot_clones("/var/lib/lxcprov/lxc\nweb-1\n/var/lib/lxcprov/lxc\nweb-2\n"),
            (std::vector<std::string>{"web-1", "web-2"}));
  EXPECT_EQ(container::parse_snapshot_clones("/p\nc1"), (std::vector<std::string>{"c1"}));  // no final newline
  EXPECT_TRUE(container::parse_snapshot_clones("/p\n").empty());                            // half a pair
}

TEST(SealPolicy, NewContentIsSealedOnlyWithoutClonesOrWithForce) {
  const std::string a(64, 'a'), b(64, 'b');
  const std::vector<std::string> none, two = {"web-1", "web-2"};
  EXPECT_TRUE(container::may_seal("t", std::nullopt, a, two, false));  // first seal
  EXPECT_TRUE(container::may_seal("t", a, a, two, false));             // same content: refresh the fingerprint
  EXPECT_TRUE(container::may_seal("t", a, b, none, false));            // rebuilt, nobody depends on it
  EXPECT_TRUE(container::may_seal("t", a, b, two, true));              // the admin says it is safe
  auto refused = container::may_seal("t", a, b, two, false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::conflict);
  EXPECT_NE(refused.error().message.find("2 snapshot clones (web-1, web-2)"), std::string::npos)
      << refused.error().message;
}

TEST(SealPolicy, RefusalsNameTheTemplateAndTheCommandAndNoPath) {
  EXPECT_EQ(container::not_sealed("tpl-debian").message,
            "template tpl-debian is not sealed; an admin must run: lxcprovctl template seal tpl-debian");
  EXPECT_EQ(container::mismatch("tpl-debian").message,
            "template tpl-debian does not match its seal (changed since it was sealed); nothing was created — an "
            "admin can run: lxcprovctl template verify tpl-debian");
  for (const Error& e : {container::not_sealed("t"), container::mismatch("t"), container::unreadable("t")}) {
    EXPECT_EQ(e.code, Errc::unavailable);
    EXPECT_EQ(exit_code_for(e.code), exit_code::unavailable);
    EXPECT_EQ(e.message.find('/'), std::string::npos) << e.message;
  }
}

TEST(SealConfig, SealsAreRequiredByDefaultAndTheBuildScriptIsConfigurable) {
  auto d = config::parse("{}");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->templates.require_seal);
  EXPECT_EQ(d->templates.build_script, "/usr/local/share/lxcprov/build-template.sh");
  auto c = config::parse(R"({"templates": {"require_seal": false, "build_script": "/opt/lxcprov/build.sh"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->templates.require_seal);
  EXPECT_EQ(c->templates.build_script, "/opt/lxcprov/build.sh");
  for (const char* bad : {R"({"templates": []})", R"({"templates": {"require_seal": "no"}})",
                          R"({"templates": {"build_script": "build.sh"}})", R"({"templates": {"build_script": ""}})"}) {
    auto r = config::parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("templates"), std::string::npos) << r.error().message;
  }
}

// --- the gate in the create plan -----------------------------------------------------------------

// Records every call, in order, into the same list as the seal fake.
class RecordingRuntime : public container::ContainerRuntime {
 public:
  explicit RecordingRuntime(std::vector<std::string>& events) : events_(events) {}
  bool exists(const std::string& name) override { return names.count(name) > 0; }
  Result<std::string> state(const std::string& name) override {
    if (!exists(name)) return make_error(Errc::not_found, "no such container");
    return std::string("RUNNING");
  }
  Result<std::vector<std::string>> list() override { return std::vector<std::string>(names.begin(), names.end()); }
  Status clone(const container::CloneSpec& spec) override {
    events_.push_back("clone " + spec.template_name);
    names.insert(spec.name);
    return {};
  }
  Status start(const std::string&, std::chrono::milliseconds) override { return {}; }
  Result<container::RunResult> run(const std::string&, const std::vector<std::string>&, const std::string&,
                                   std::chrono::milliseconds) override {
    return container::RunResult{0, ""};
  }
  Result<container::RunResult> run_as(const std::string&, const std::vector<std::string>&,
                                      const container::RunOptions&) override {
    return container::RunResult{0, ""};
  }
  Status stop(const std::string&) override { return {}; }
  Status destroy(const std::string& name) override {
    names.erase(name);
    return {};
  }
  std::set<std::string> names = {"tpl-busybox", "tpl-debian"};

 private:
  std::vector<std::string>& events_;
};

class SilentReporter : public jobs::Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view, std::chrono::microseconds) override {}
  void step_failed(std::string_view, const Error&) override {}
  void undo_failed(std::string_view, const Error&) override {}
  void info(std::string_view) override {}
};

class SealGate : public ::testing::Test {
 protected:
  SealGate() { seals_.events = &events_; }

  jobs::Outcome create(const std::string& name, const std::string& distribution = "debian") {
    jobs::Provisioner p(config_, store_, runtime_, seals_, container::CgroupVersion::v1, {});
    request::Request req;
    req.container_name = name;
    req.username = "alice";
    req.distribution = distribution;
    req.http_port = 3000;
    return p.create(req, "job-" + name, reporter_);
  }

  // Nothing of a refused create remains: no row (so no name, CTID or address held), no clone.
  void expect_nothing_left(const std::string& name) {
    EXPECT_EQ(store_.containers.count(name), 0u);
    EXPECT_EQ(runtime_.names.count(name), 0u);
    EXPECT_EQ(std::count_if(events_.begin(), events_.end(), [](const auto& e) { return e.rfind("clone", 0) == 0; }), 0);
    EXPECT_EQ(store_.jobs["job-" + name].state, state::JobState::rolled_back);
  }

  config::Config config_ = config::defaults();
  testing::MemoryStore store_;
  std::vector<std::string> events_;
  RecordingRuntime runtime_{events_};
  testing::FakeTemplateSeals seals_;
  SilentReporter reporter_;
};

TEST_F(SealGate, ASealedTemplateIsCheckedJustBeforeItIsCloned) {
  auto o = create("web");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_EQ(events_, (std::vector<std::string>{"seal-check tpl-debian", "clone tpl-debian"}));
  EXPECT_EQ(store_.containers.at("web").state, state::ContainerState::ready);
}

TEST_F(SealGate, AMismatchIsRefusedWithExit6AndLeavesNothing) {
  seals_.verdicts["tpl-debian"] = container::mismatch("tpl-debian");
  const auto ip_before = store_.containers.size();
  auto o = create("web");
  EXPECT_EQ(o.exit_code, exit_code::unavailable);
  ASSERT_FALSE(o.lines.empty());
  EXPECT_EQ(o.lines[0], "create failed: " + container::mismatch("tpl-debian").message);
  EXPECT_EQ(seals_.checked, std::vector<std::string>{"tpl-debian"});
  expect_nothing_left("web");
  EXPECT_EQ(store_.containers.size(), ip_before);
  // The address the refused create had reserved is the next create's again.
  seals_.verdicts.clear();
  auto again = create("web2");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(store_.containers.at("web2").ip, "10.47.0.10");
}

TEST_F(SealGate, AnUnsealedTemplateIsRefused) {
  seals_.verdicts["tpl-busybox"] = container::not_sealed("tpl-busybox");
  auto o = create("web", "busybox");
  EXPECT_EQ(o.exit_code, exit_code::unavailable);
  ASSERT_FALSE(o.lines.empty());
  EXPECT_NE(o.lines[0].find("lxcprovctl template seal tpl-busybox"), std::string::npos) << o.lines[0];
  expect_nothing_left("web");
}

TEST_F(SealGate, RequireSealOffSkipsTheCheck) {
  config_.templates.require_seal = false;
  seals_.verdicts["tpl-debian"] = container::mismatch("tpl-debian");
  auto o = create("web");
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(seals_.checked.empty());
  EXPECT_EQ(events_, std::vector<std::string>{"clone tpl-debian"});
}

}  // namespace
}  // namespace lxcprov
