// The throttle's state in the real state database (state/sqlite_throttle_records.*): what one
// daemon learned about failed passwords is there for the next one after a restart.

#include "state/sqlite_throttle_records.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "auth/throttle.hpp"
#include "state/sqlite_store.hpp"

namespace lxcprov::state {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ThrottleRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lxcprov-throttle-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.db";
    auto store = SqliteStore::open(path_);  // creates and migrates the file
    ASSERT_TRUE(store.has_value()) << store.error().message;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<SqliteThrottleRecords> open() {
    auto r = SqliteThrottleRecords::open(path_);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? std::move(*r) : nullptr;
  }
  std::string dir_, path_;
};

config::Throttle policy() {
  config::Throttle p;
  p.free_failures = 1;
  p.lockout_failures = 3;
  p.base_delay = 100ms;
  p.max_delay = 1000ms;
  p.lockout = 900s;
  p.window = 900s;
  return p;
}

TEST_F(ThrottleRecordsTest, SaveLoadForgetPrune) {
  auto records = open();
  ASSERT_TRUE(records);
  const std::vector<auth::ThrottleEntry> entries = {
      {"src:10.0.0.1", 2, 1'000'000, 0}, {"user:alice", 3, 1'000'500, 1'900'500}, {"user:old", 1, 10, 0}};
  ASSERT_TRUE(records->save(entries).has_value());
  auto loaded = records->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, entries);
  // Saving a key again replaces it.
  ASSERT_TRUE(records->save({{"src:10.0.0.1", 4, 1'000'900, 0}}).has_value());
  ASSERT_TRUE(records->forget("user:alice").has_value());
  ASSERT_TRUE(records->prune(/*before_ms=*/500, /*now_ms=*/1'001'000).has_value());
  loaded = records->load();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(*loaded, (std::vector<auth::ThrottleEntry>{{"src:10.0.0.1", 4, 1'000'900, 0}}));
}

TEST_F(ThrottleRecordsTest, ALockoutSurvivesARestart) {
  const auto p = policy();
  const std::vector<std::string> keys{"user:alice", "src:203.0.113.9"};
  int64_t wall = 1'700'000'000'000;
  {
    // The first daemon: three failures lock alice and the address out; each is saved.
    auto records = open();
    ASSERT_TRUE(records);
    auth::Throttle throttle(p);
    auto t = std::chrono::steady_clock::time_point{} + 5000s;
    for (int i = 0; i < 3; ++i) {
      throttle.record_failure(keys, t);
      ASSERT_TRUE(records->save(throttle.entries_of(keys, t, wall)).has_value());
    }
    ASSERT_EQ(throttle.locked_for(keys, t), 900s);
  }
  // The second daemon, 100 s later, on another steady clock (a reboot resets it).
  wall += 100'000;
  auto records = open();
  ASSERT_TRUE(records);
  auto loaded = records->load();
  ASSERT_TRUE(loaded.has_value());
  auth::Throttle throttle(p);
  const auto t = std::chrono::steady_clock::time_point{} + 7s;
  EXPECT_EQ(throttle.restore(*loaded, t, wall), 2u);
  EXPECT_EQ(throttle.locked_for({"user:alice"}, t), 800s);
  EXPECT_EQ(throttle.locked_for({"src:203.0.113.9"}, t), 800s);
  EXPECT_EQ(throttle.locked_for({"user:bob"}, t), 0s);
  // Its failures still count: one more is past free_failures and is delayed.
  EXPECT_GT(throttle.record_failure({"user:alice"}, t + 1s).count(), 0);
}

}  // namespace
}  // namespace lxcprov::state
