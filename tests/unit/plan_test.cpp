#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "../fakes/memory_store.hpp"
#include "jobs/plan.hpp"

namespace lxcprov::jobs {
namespace {

class RecordingReporter : public Reporter {
 public:
  void step_started(std::string_view s) override { events.push_back("start " + std::string(s)); }
  void step_finished(std::string_view s, std::chrono::microseconds) override {
    events.push_back("done " + std::string(s));
  }
  void step_failed(std::string_view s, const Error&) override { events.push_back("failed " + std::string(s)); }
  void undo_failed(std::string_view s, const Error&) override { events.push_back("undo-failed " + std::string(s)); }
  void info(std::string_view) override {}
  std::vector<std::string> events;
};

// A plan of steps a..d whose run/undo append to `trace`; `failing` fails when run.
std::vector<Step> make_plan(std::vector<std::string>& trace, const std::string& failing = "",
                            const std::string& failing_undo = "") {
  std::vector<Step> plan;
  for (std::string name : {"a", "b", "c", "d"}) {
    plan.push_back({name,
                    [&trace, name, failing] {
                      if (name == failing) return Status(make_error(Errc::internal, "boom"));
                      trace.push_back("run " + name);
                      return Status();
                    },
                    [&trace, name, failing_undo] {
                      trace.push_back("undo " + name);
                      if (name == failing_undo) return Status(make_error(Errc::internal, "stuck"));
                      return Status();
                    }});
  }
  plan[2].undo = {};  // a step with nothing to undo
  return plan;
}

// b and c as one group: both run before either is recorded, and the plan goes on after both.
std::vector<Step> grouped(std::vector<std::string>& trace, const std::string& failing = "") {
  auto plan = make_plan(trace, failing);
  plan[1].group = plan[2].group = "bc";
  return plan;
}

TEST(Plan, AGroupRunsThroughConcurrentlyAndIsRecordedInPlanOrder) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  std::vector<size_t> batches;
  auto counting = [&](const std::vector<std::function<void()>>& tasks) {
    batches.push_back(tasks.size());
    sequentially(tasks);
  };
  ASSERT_TRUE(run_plan(grouped(trace), store, rep, "j1", {}, counting));
  EXPECT_EQ(batches, (std::vector<size_t>{2}));  // single steps do not go through it
  EXPECT_EQ(store.steps["j1"], (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(rep.events, (std::vector<std::string>{"start a", "done a", "start b", "start c", "done b", "done c",
                                                  "start d", "done d"}));
}

TEST(Plan, AFailedMemberLetsTheOthersFinishThenUndoesThemWithTheRest) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  auto s = run_plan(grouped(trace, "b"), store, rep, "j1");
  ASSERT_FALSE(s);
  // c ran beside the failing b and is undone (it has no undo here: plan[2]); a is undone; b is not.
  EXPECT_EQ(trace, (std::vector<std::string>{"run a", "run c", "undo a"}));
  EXPECT_EQ(store.steps["j1"], (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(store.jobs["j1"].state, state::JobState::rolled_back);
  EXPECT_EQ(store.jobs["j1"].step, "b");
}

TEST(Plan, ACrashInsideAGroupUndoesEveryUnrecordedMember) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  auto plan = make_plan(trace);
  plan[0].group = plan[1].group = "ab";  // a and b together, c alone
  (void)store.record_step("j1", "a");
  // The job row names the group's first member; b may have done work it never recorded.
  ASSERT_TRUE(undo_recorded(plan, store, rep, "j1", "a"));
  EXPECT_EQ(trace, (std::vector<std::string>{"undo b", "undo a"}));
}

TEST(Plan, AnExceptionOnAGroupThreadReachesTheCaller) {
  // As from a step run on the caller's thread (a simulated crash in the fakes is one): never
  // std::terminate from a thread of the group.
  for (const std::string thrower : {"a", "b", "c"}) {  // alone, and either member of the group
    testing::MemoryStore store;
    RecordingReporter rep;
    std::vector<std::string> trace;
    auto plan = grouped(trace);
    for (auto& step : plan)
      if (step.name == thrower) step.run = []() -> Status { throw std::runtime_error("out of luck"); };
    EXPECT_THROW((void)run_plan(plan, store, rep, "j1"), std::runtime_error) << thrower;
  }
}

TEST(Plan, OnThreadsRunsTheTasksAtTheSameTime) {
  // Each task waits (bounded) for the other: both see the other only if they really run at once;
  // run one after the other, the first gives up after 5 s and the test fails instead of hanging.
  std::atomic<int> arrived{0}, met{0};
  auto task = [&] {
    ++arrived;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (arrived < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    if (arrived == 2) ++met;
  };
  on_threads({task, task});
  EXPECT_EQ(met, 2);
}

TEST(Plan, RunsEveryStepAndRecordsEach) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  ASSERT_TRUE(run_plan(make_plan(trace), store, rep, "j1"));
  EXPECT_EQ(trace, (std::vector<std::string>{"run a", "run b", "run c", "run d"}));
  EXPECT_EQ(store.steps["j1"], (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(store.jobs["j1"].state, state::JobState::running);  // the caller sets the final state
}

TEST(Plan, AFailureUndoesTheDoneStepsInReverseButNotTheFailedOne) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  auto s = run_plan(make_plan(trace, "d"), store, rep, "j1");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "boom");
  EXPECT_EQ(trace, (std::vector<std::string>{"run a", "run b", "run c", "undo b", "undo a"}));
  EXPECT_EQ(store.jobs["j1"].state, state::JobState::rolled_back);
  EXPECT_EQ(store.jobs["j1"].step, "d");
}

TEST(Plan, AFailureAtAnyStepUndoesEverythingThatRan) {
  for (std::string at : {"a", "b", "c", "d"}) {
    testing::MemoryStore store;
    RecordingReporter rep;
    std::vector<std::string> trace;
    ASSERT_FALSE(run_plan(make_plan(trace, at), store, rep, "j1"));
    EXPECT_EQ(std::count(trace.begin(), trace.end(), "run " + at), 0) << at;
    // Everything that ran was undone (c has no undo).
    for (const auto& t : trace) {
      if (t.rfind("run ", 0) == 0 && t != "run c") {
        EXPECT_NE(std::find(trace.begin(), trace.end(), "undo " + t.substr(4)), trace.end()) << at;
      }
    }
    EXPECT_EQ(store.jobs["j1"].state, state::JobState::rolled_back);
  }
}

TEST(Plan, AResumedPlanRunsOnlyWhatWasNotDone) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  store.steps["j1"] = {"a", "b"};
  ASSERT_TRUE(run_plan(make_plan(trace), store, rep, "j1", store.steps["j1"]));
  EXPECT_EQ(trace, (std::vector<std::string>{"run c", "run d"}));
  EXPECT_EQ(store.steps["j1"], (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(Plan, AFailedUndoLeavesTheJobFailedAndStillUndoesTheRest) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  ASSERT_FALSE(run_plan(make_plan(trace, "d", "b"), store, rep, "j1"));
  EXPECT_EQ(trace, (std::vector<std::string>{"run a", "run b", "run c", "undo b", "undo a"}));
  EXPECT_EQ(store.jobs["j1"].state, state::JobState::failed);
  EXPECT_NE(std::find(rep.events.begin(), rep.events.end(), "undo-failed b"), rep.events.end());
}

TEST(Plan, AStepThatRanButCouldNotBeRecordedIsStillUndone) {
  testing::MemoryStore store;
  store.fail_record_of = "b";
  RecordingReporter rep;
  std::vector<std::string> trace;
  ASSERT_FALSE(run_plan(make_plan(trace), store, rep, "j1"));
  EXPECT_EQ(trace, (std::vector<std::string>{"run a", "run b", "undo b", "undo a"}));
}

TEST(Plan, UndoRecordedReplaysWhatACrashLeft) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  store.steps["j1"] = {"a", "b"};
  ASSERT_TRUE(undo_recorded(make_plan(trace), store, rep, "j1"));
  EXPECT_EQ(trace, (std::vector<std::string>{"undo b", "undo a"}));
}

TEST(Plan, UndoRecordedAlsoUndoesTheStepACrashInterrupted) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  store.steps["j1"] = {"a"};
  ASSERT_TRUE(undo_recorded(make_plan(trace), store, rep, "j1", "b"));
  EXPECT_EQ(trace, (std::vector<std::string>{"undo b", "undo a"}));
}

TEST(Plan, AnInterruptedStepThatWasRecordedIsUndoneOnce) {
  testing::MemoryStore store;
  RecordingReporter rep;
  std::vector<std::string> trace;
  store.steps["j1"] = {"a", "b"};
  ASSERT_TRUE(undo_recorded(make_plan(trace), store, rep, "j1", "b"));
  EXPECT_EQ(trace, (std::vector<std::string>{"undo b", "undo a"}));
}

}  // namespace
}  // namespace lxcprov::jobs
