#include <gtest/gtest.h>

#include <set>

#include "../fakes/memory_store.hpp"
#include "jobs/provisioner.hpp"

namespace lxcprov::jobs {
namespace {

// Containers that "exist"; records what was destroyed.
class FakeRuntime : public lxc::ContainerRuntime {
 public:
  bool exists(const std::string& name) override { return names.count(name) > 0; }
  Result<std::string> state(const std::string& name) override {
    if (!exists(name)) return make_error(Errc::not_found, "no such container");
    return std::string("RUNNING");
  }
  Result<std::vector<std::string>> list() override { return std::vector<std::string>(names.begin(), names.end()); }
  Status clone(const lxc::CloneSpec& spec) override {
    names.insert(spec.name);
    return {};
  }
  Status start(const std::string&, std::chrono::milliseconds) override { return {}; }
  Result<lxc::RunResult> run(const std::string&, const std::vector<std::string>&, const std::string&,
                             std::chrono::milliseconds) override {
    return lxc::RunResult{0, ""};
  }
  Status stop(const std::string&) override { return {}; }
  Status destroy(const std::string& name) override {
    names.erase(name);
    destroyed.push_back(name);
    return {};
  }
  std::set<std::string> names;
  std::vector<std::string> destroyed;
};

class SilentReporter : public Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view, std::chrono::microseconds) override {}
  void step_failed(std::string_view, const Error&) override {}
  void undo_failed(std::string_view, const Error&) override {}
  void info(std::string_view) override {}
};

class RecoveryTest : public ::testing::Test {
 protected:
  // A create job that the daemon was running `step` of when it died, nothing recorded yet.
  void crashed_create(const std::string& job, const std::string& name, const std::string& step) {
    ASSERT_TRUE(store_.create_job({job, "create", name, "alice", "RUNNING", step, 0, "", 1, 1}));
  }
  void reserve(const std::string& job, const std::string& name) {
    ASSERT_TRUE(store_.reserve_container({name, "alice", "busybox", 3000, job, {}}, config_.pool, 100));
  }

  config::Config config_ = config::defaults();
  testing::MemoryStore store_;
  FakeRuntime runtime_;
  SilentReporter reporter_;
};

TEST_F(RecoveryTest, AReservationMadeButNotRecordedIsReleased) {
  crashed_create("j1", "web", "reserve");
  reserve("j1", "web");
  Provisioner(config_, store_, runtime_).recover(reporter_);
  EXPECT_FALSE(store_.containers.count("web"));
  EXPECT_EQ(store_.jobs["j1"].state, "ROLLED_BACK");
}

TEST_F(RecoveryTest, AnotherJobsRowIsNeverReleased) {
  reserve("winner", "web");  // the job that won the name; it finished
  crashed_create("loser", "web", "reserve");
  Provisioner(config_, store_, runtime_).recover(reporter_);
  ASSERT_TRUE(store_.containers.count("web"));
  EXPECT_EQ(store_.containers["web"].job_id, "winner");
}

TEST_F(RecoveryTest, ACloneMadeButNotRecordedIsDestroyedAndTheRowReleased) {
  crashed_create("j1", "web", "clone");
  reserve("j1", "web");
  ASSERT_TRUE(store_.record_step("j1", "reserve"));
  runtime_.names.insert("web");
  Provisioner(config_, store_, runtime_).recover(reporter_);
  EXPECT_FALSE(runtime_.exists("web"));
  EXPECT_FALSE(store_.containers.count("web"));
  EXPECT_EQ(store_.jobs["j1"].state, "ROLLED_BACK");
}

}  // namespace
}  // namespace lxcprov::jobs
