// The isolation rules in the create and delete plans: a container is in the rules before it
// starts, its veth name is the one the rules expect, and a failed create or a delete takes it out.

#include <gtest/gtest.h>

#include <set>

#include "../fakes/memory_store.hpp"
#include "jobs/provisioner.hpp"

namespace lxcprov::jobs {
namespace {

// Every ruleset applied, in order.
class RecordingApplier : public network::RulesetApplier {
 public:
  Status apply(const std::string& ruleset) override {
    applied.push_back(ruleset);
    return {};
  }
  std::vector<std::string> applied;
};

// Records the clone spec and what the isolation rules held when the container was started.
class Runtime : public lxc::ContainerRuntime {
 public:
  explicit Runtime(RecordingApplier& rules) : rules_(rules) {}
  bool exists(const std::string& name) override { return names.count(name) > 0 || name == "tpl-busybox"; }
  Result<std::string> state(const std::string&) override { return std::string("RUNNING"); }
  Result<std::vector<std::string>> list() override { return std::vector<std::string>(names.begin(), names.end()); }
  Status clone(const lxc::CloneSpec& spec) override {
    names.insert(spec.name);
    veth = spec.veth;
    return {};
  }
  Status start(const std::string&, std::chrono::milliseconds) override {
    rules_at_start = rules_.applied.empty() ? "" : rules_.applied.back();
    return {};
  }
  Result<lxc::RunResult> run(const std::string&, const std::vector<std::string>&, const std::string&,
                             std::chrono::milliseconds) override {
    return lxc::RunResult{0, ""};
  }
  Status stop(const std::string&) override { return {}; }
  Status destroy(const std::string& name) override {
    names.erase(name);
    return {};
  }
  std::set<std::string> names;
  std::string veth, rules_at_start;

 private:
  RecordingApplier& rules_;
};

class Steps : public Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view step, std::chrono::microseconds) override { done.emplace_back(step); }
  void step_failed(std::string_view, const Error&) override {}
  void undo_failed(std::string_view, const Error&) override {}
  void info(std::string_view) override {}
  std::vector<std::string> done;
};

class IsolationPlan : public ::testing::Test {
 protected:
  IsolationPlan() {
    config_.ports.enabled = false;
    config_.http.enabled = false;
    provisioner_.set_isolation(&rules_);
  }
  request::Request request(const std::string& name) {
    request::Request r;
    r.username = "alice";
    r.container_name = name;
    r.distribution = "busybox";
    r.http_port = 3000;
    return r;
  }
  std::string last_rules() const { return rules_.applied.empty() ? "" : rules_.applied.back(); }

  config::Config config_ = config::defaults();
  testing::MemoryStore store_;
  RecordingApplier rules_;
  Runtime runtime_{rules_};
  Provisioner provisioner_{config_, store_, runtime_};
  Steps steps_;
};

TEST_F(IsolationPlan, TheContainerIsFilteredBeforeItStarts) {
  auto o = provisioner_.create(request("web"), "j1", steps_);
  ASSERT_EQ(o.exit_code, 0) << (o.lines.empty() ? "" : o.lines[0]);
  EXPECT_EQ(steps_.done, (std::vector<std::string>{"reserve", "clone", "isolate", "start", "configure", "ready"}));
  EXPECT_EQ(runtime_.veth, "vlp0a2f000a");  // the first pool address, 10.47.0.10
  EXPECT_NE(runtime_.rules_at_start.find("\"vlp0a2f000a\" . 00:16:3e:2f:00:0a . 10.47.0.10"), std::string::npos)
      << runtime_.rules_at_start;
}

TEST_F(IsolationPlan, AFailedCreateLeavesNoEntry) {
  auto o = provisioner_.create(request("web"), "j1", steps_, "configure");
  ASSERT_NE(o.exit_code, 0);
  EXPECT_NE(runtime_.rules_at_start.find("vlp0a2f000a"), std::string::npos) << "it was in before the start";
  EXPECT_EQ(last_rules().find("vlp0a2f000a"), std::string::npos) << last_rules();
  EXPECT_NE(last_rules().find("table bridge lxcprov_iso {"), std::string::npos) << "the tables stay";
}

TEST_F(IsolationPlan, DeleteTakesTheEntryOutAndLeavesTheOthers) {
  ASSERT_EQ(provisioner_.create(request("web"), "j1", steps_).exit_code, 0);
  ASSERT_EQ(provisioner_.create(request("api"), "j2", steps_).exit_code, 0);
  EXPECT_NE(last_rules().find("vlp0a2f000b"), std::string::npos);
  steps_.done.clear();
  auto d = provisioner_.destroy(request("web"), "j3", steps_);
  ASSERT_EQ(d.exit_code, 0) << (d.lines.empty() ? "" : d.lines[0]);
  EXPECT_EQ(steps_.done, (std::vector<std::string>{"mark", "destroy", "release", "unisolate"}));
  EXPECT_EQ(last_rules().find("vlp0a2f000a"), std::string::npos) << last_rules();
  EXPECT_NE(last_rules().find("\"vlp0a2f000b\" . 00:16:3e:2f:00:0b . 10.47.0.11"), std::string::npos);
}

TEST_F(IsolationPlan, OffMeansNoStepAndNoVethName) {
  config::Config config = config::defaults();
  RecordingApplier unused;
  Runtime runtime{unused};
  Provisioner p{config, store_, runtime};
  Steps steps;
  ASSERT_EQ(p.create(request("web"), "j1", steps).exit_code, 0);
  EXPECT_EQ(std::count(steps.done.begin(), steps.done.end(), "isolate"), 0);
  EXPECT_EQ(runtime.veth, "vlp0a2f000a") << "named the same way, so turning isolation on later finds the port";
  EXPECT_TRUE(unused.applied.empty());
}

}  // namespace
}  // namespace lxcprov::jobs
