// Pre-authentication limits (limits/admission.*) and the rate-limited refusal log
// (limits/refusal_log.*): pure, driven step by step with a fake clock.

#include <gtest/gtest.h>

#include "limits/admission.hpp"
#include "limits/refusal_log.hpp"

namespace lxcprov {
namespace {

using namespace std::chrono_literals;
using limits::Admission;
using limits::Verdict;

TEST(AdmissionSource, TheAddressOfATrustedPeerElseTheCallersUid) {
  struct Case {
    uid_t uid;
    bool trusted;
    std::string addr, want;
  };
  const std::vector<Case> cases = {
      {998, true, "203.0.113.7", "203.0.113.7"},
      {0, true, "127.0.0.2", "127.0.0.2"},
      {998, true, "", "uid 998"},                                // a local caller without SSH_CLIENT
      {1000, false, "203.0.113.7", "uid 1000"},                  // an untrusted peer's claim is not believed
      {998, true, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},  // a host owns its /64
      {998, true, "2001:db8:1:2::9", "2001:db8:1:2::/64"},
      {998, true, "::ffff:198.51.100.1", "198.51.100.1"},  // IPv4-mapped
      {998, true, "not-an-address", "uid 998"},
      {998, true, std::string(65, '1'), "uid 998"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(limits::source_of(c.uid, c.trusted, c.addr), c.want) << c.addr << " uid " << c.uid;
}

TEST(Admission, OneSourceHoldsAtMostItsShareAndOthersStillGetIn) {
  Admission a({.max_sessions = 20, .reserved = 4, .per_source = 3});
  std::vector<Admission::Ticket> attacker;
  for (int i = 0; i < 10; ++i) {
    auto t = a.accept();
    ASSERT_NE(t, 0u);
    const Verdict v = a.unauthenticated(t, "10.0.0.66");
    if (v == Verdict::admitted)
      attacker.push_back(t);
    else {
      EXPECT_EQ(v, Verdict::source_full);
      a.release(t);  // the server closes a refused session at once
    }
  }
  EXPECT_EQ(attacker.size(), 3u);
  EXPECT_EQ(a.unauthenticated_from("10.0.0.66"), 3);
  EXPECT_EQ(a.sessions(), 3);
  auto other = a.accept();
  EXPECT_EQ(a.unauthenticated(other, "10.0.0.7"), Verdict::admitted);
  // Authenticating moves a session out of its source's count: the source may start another.
  a.authenticated(attacker[0]);
  EXPECT_EQ(a.unauthenticated_from("10.0.0.66"), 2);
  EXPECT_EQ(a.unauthenticated(a.accept(), "10.0.0.66"), Verdict::admitted);
  // Counting twice is impossible, releasing twice harmless.
  EXPECT_EQ(a.unauthenticated(other, "10.0.0.7"), Verdict::admitted);
  EXPECT_EQ(a.unauthenticated_from("10.0.0.7"), 1);
  a.release(other);
  a.release(other);
  EXPECT_EQ(a.unauthenticated_from("10.0.0.7"), 0);
  EXPECT_EQ(a.sources(), 1u);
}

TEST(Admission, TheReserveIsKeptForAuthenticatedSessions) {
  Admission a({.max_sessions = 10, .reserved = 3, .per_source = 100});
  // Many sources together fill every unreserved place...
  for (int i = 0; i < 7; ++i) EXPECT_EQ(a.unauthenticated(a.accept(), "src" + std::to_string(i)), Verdict::admitted);
  auto t = a.accept();
  EXPECT_EQ(a.unauthenticated(t, "late"), Verdict::unauthenticated_full);
  a.release(t);
  EXPECT_EQ(a.unauthenticated_total(), 7);
  // ...but a registered key (never counted as unauthenticated) gets one of the reserved three.
  std::vector<Admission::Ticket> keyed;
  for (int i = 0; i < 3; ++i) {
    auto k = a.accept();
    ASSERT_NE(k, 0u);
    a.authenticated(k);
    keyed.push_back(k);
  }
  EXPECT_EQ(a.accept(), 0u) << "every place is taken: busy";
  a.release(keyed[0]);
  EXPECT_NE(a.accept(), 0u);
}

TEST(Admission, RefusalsHaveAClearSentence) {
  for (auto v : {Verdict::busy, Verdict::source_full, Verdict::unauthenticated_full})
    EXPECT_FALSE(limits::refusal_text(v).empty());
  EXPECT_NE(limits::refusal_text(Verdict::source_full).find("your address"), std::string_view::npos);
}

TEST(RefusalLog, AFloodCostsOneLineAtOnceAndOnePerInterval) {
  limits::RefusalLog log(60s);
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  int immediate = 0;
  for (int i = 0; i < 5000; ++i)
    if (log.record("uid 65534", "not an allowed peer", t0 + std::chrono::milliseconds(i))) ++immediate;
  EXPECT_EQ(immediate, 1);
  EXPECT_TRUE(log.flush(t0 + 59s).empty()) << "the interval has not ended";
  auto lines = log.flush(t0 + 60s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "refused 4999 connections from uid 65534 in the last 60 s: not an allowed peer");
  // The flood goes on: still counted, not logged one by one.
  EXPECT_FALSE(log.record("uid 65534", "not an allowed peer", t0 + 61s));
  lines = log.flush(t0 + 120s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "refused 1 connection from uid 65534 in the last 60 s: not an allowed peer");
  // A quiet interval forgets the kind: the next refusal is news again.
  EXPECT_TRUE(log.flush(t0 + 180s).empty());
  EXPECT_EQ(log.kinds(), 0u);
  EXPECT_TRUE(log.record("uid 65534", "not an allowed peer", t0 + 200s));
}

TEST(RefusalLog, KindsAreSeparateAndBounded) {
  limits::RefusalLog log(10s, 3);
  const auto t0 = std::chrono::steady_clock::time_point{} + 5s;
  struct Case {
    std::string source, reason;
    bool logged_now;
  };
  const std::vector<Case> cases = {
      {"uid 1", "not an allowed peer", true},  {"uid 1", "not an allowed peer", false},
      {"10.0.0.1", "source full", true},       {"uid 2", "not an allowed peer", true},
      {"uid 3", "not an allowed peer", true},  // the first beyond the bound opens "other sources"
      {"uid 4", "not an allowed peer", false}, {"uid 5", "not an allowed peer", false},
  };
  for (const auto& c : cases) EXPECT_EQ(log.record(c.source, c.reason, t0).has_value(), c.logged_now) << c.source;
  EXPECT_LE(log.kinds(), 4u);
  auto lines = log.flush(t0 + 10s);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("refused 2 connections from other sources"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1], "refused 1 connection from uid 1 in the last 10 s: not an allowed peer");
}

}  // namespace
}  // namespace lxcprov
