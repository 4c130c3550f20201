// Identity and access, the pure parts: LDAP escaping, the brute-force throttle (with a fake clock), the authorization
// policy and its config keys.

#include <gtest/gtest.h>

#include "auth/access_policy.hpp"
#include "auth/ldap_escape.hpp"
#include "auth/throttle.hpp"
#include "config/config.hpp"

namespace lxcprov {
namespace {

using namespace std::chrono_literals;

TEST(LdapEscape, FilterValuesCannotWidenASearch) {
  EXPECT_EQ(auth::escape_ldap_filter("alice"), "alice");
  EXPECT_EQ(auth::escape_ldap_filter("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(auth::escape_ldap_filter("a\\b"), "a\\5cb");
  EXPECT_EQ(auth::escape_ldap_filter(std::string("a\0b", 3)), "a\\00b");
  EXPECT_EQ(auth::escape_ldap_filter("\xc3\xa9"), "\\c3\\a9");
}

TEST(LdapEscape, DnValuesCannotAddComponents) {
  EXPECT_EQ(auth::escape_ldap_dn("alice"), "alice");
  EXPECT_EQ(auth::escape_ldap_dn("x,ou=admins"), "x\\,ou\\=admins");
  EXPECT_EQ(auth::escape_ldap_dn("a+b\"<>;"), "a\\+b\\\"\\<\\>\\;");
  EXPECT_EQ(auth::escape_ldap_dn("#lead"), "\\#lead");
  EXPECT_EQ(auth::escape_ldap_dn(" both "), "\\ both\\ ");
  EXPECT_EQ(auth::escape_ldap_dn(std::string("n\0", 2)), "n\\00");
}

TEST(LdapEscape, FillsPatterns) {
  EXPECT_EQ(auth::fill_ldap_pattern("uid=%u,ou=people,dc=x", "bob"), "uid=bob,ou=people,dc=x");
  EXPECT_EQ(auth::fill_ldap_pattern("(|(memberUid=%u)(member=%d))", "bob", "uid=bob,dc=x"),
            "(|(memberUid=bob)(member=uid=bob,dc=x))");
  EXPECT_EQ(auth::fill_ldap_pattern("100%", "bob"), "100%");
}

config::Throttle policy() {
  config::Throttle t;
  t.free_failures = 2;
  t.base_delay = 100ms;
  t.max_delay = 1000ms;
  t.lockout_failures = 8;
  t.lockout = 60s;
  t.window = 300s;
  return t;
}

TEST(Throttle, StateRoundTripsThroughWallClockTimes) {
  // entries_of/restore are what the state database keeps across a restart (unix ms).
  auth::Throttle before(policy());
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  const int64_t wall0 = 1'700'000'000'000;
  const std::vector<std::string> keys{"user:alice", "src:10.0.0.1"};
  for (int i = 0; i < 8; ++i) before.record_failure(keys, t0);
  auto saved = before.entries_of({"user:alice", "user:nobody"}, t0 + 10s, wall0 + 10'000);
  ASSERT_EQ(saved.size(), 1u) << "only tracked keys";
  EXPECT_EQ(saved[0], (auth::ThrottleEntry{"user:alice", 8, wall0, wall0 + 60'000}));

  struct Case {
    std::string what;
    auth::ThrottleEntry stored;
    int64_t wall_now;
    bool taken;
    long locked_s;
  };
  const std::vector<Case> cases = {
      {"locked, 10 s later", {"user:a", 8, wall0, wall0 + 60'000}, wall0 + 10'000, true, 50},
      {"lock over, failures in the window", {"user:b", 3, wall0, wall0 + 60'000}, wall0 + 70'000, true, 0},
      {"lock over, window over", {"user:c", 8, wall0, wall0 + 60'000}, wall0 + 400'000, false, 0},
      {"a stored lock beyond the policy is cut", {"user:d", 8, wall0, wall0 + 9'000'000}, wall0, true, 60},
      {"no failures", {"user:e", 0, wall0, 0}, wall0, false, 0},
  };
  for (const auto& c : cases) {
    auth::Throttle after(policy());
    const auto t = std::chrono::steady_clock::time_point{} + 5s;  // another boot, another steady clock
    EXPECT_EQ(after.restore({c.stored}, t, c.wall_now), c.taken ? 1u : 0u) << c.what;
    EXPECT_EQ(after.locked_for({c.stored.key}, t).count(), c.locked_s) << c.what;
  }
}

TEST(Throttle, DelaysExponentiallyThenLocksOut) {
  auth::Throttle th(policy());
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  const std::vector<std::string> keys{"user:alice", "src:10.0.0.1"};
  std::vector<long> delays;
  for (int i = 0; i < 7; ++i) delays.push_back(th.record_failure(keys, t0 + std::chrono::seconds(i)).count());
  EXPECT_EQ(delays, (std::vector<long>{0, 0, 100, 200, 400, 800, 1000}));
  EXPECT_EQ(th.locked_for(keys, t0 + 7s).count(), 0);
  th.record_failure(keys, t0 + 7s);  // the 8th
  EXPECT_EQ(th.locked_for(keys, t0 + 7s).count(), 60);
  EXPECT_EQ(th.locked_for({"user:alice"}, t0 + 30s).count(), 37);
  EXPECT_EQ(th.locked_for({"src:10.0.0.1"}, t0 + 30s).count(), 37) << "the source is locked too";
  EXPECT_EQ(th.locked_for({"user:bob"}, t0 + 30s).count(), 0) << "other users are not";
  // The right password does not lift a lockout.
  th.record_success("user:alice", t0 + 30s);
  EXPECT_GT(th.locked_for({"user:alice"}, t0 + 30s).count(), 0);
  EXPECT_EQ(th.locked_for(keys, t0 + 68s).count(), 0) << "the lockout ends";
}

TEST(Throttle, SuccessForgetsTheUserButNotTheSource) {
  auth::Throttle th(policy());
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  for (int i = 0; i < 4; ++i) th.record_failure({"user:alice", "src:a"}, t0);
  th.record_success("user:alice", t0);
  EXPECT_EQ(th.record_failure({"user:alice"}, t0).count(), 0) << "a fresh start for alice";
  EXPECT_EQ(th.record_failure({"src:a"}, t0).count(), 400) << "the source still counts";
}

TEST(Throttle, OldFailuresAreForgottenAndUnknownUsersCountAlike) {
  auth::Throttle th(policy());
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  for (int i = 0; i < 5; ++i) th.record_failure({"user:nobody-such"}, t0);
  EXPECT_EQ(th.record_failure({"user:nobody-such"}, t0 + 301s).count(), 0);
}

TEST(Throttle, ManyDistinctKeysStayBounded) {
  auth::Throttle th(policy());
  const auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  for (size_t i = 0; i < auth::Throttle::max_entries + 500; ++i) th.record_failure({"src:" + std::to_string(i)}, t0);
  EXPECT_LE(th.tracked(), auth::Throttle::max_entries);
  // Once the window has passed, idle entries make room again.
  th.record_failure({"user:late"}, t0 + 400s);
  EXPECT_LE(th.tracked(), 2u);
}

TEST(Policy, AdminsByNameOrGroup) {
  config::Access a;
  a.admins = {"root-alice"};
  a.admin_groups = {"ops"};
  a.groups = {{"ops", {"carol"}}, {"devs", {"dave", "carol"}}};
  EXPECT_TRUE(auth::is_admin(a, "root-alice", {}));
  EXPECT_TRUE(auth::is_admin(a, "carol", auth::groups_of(a, "carol", {})));
  EXPECT_TRUE(auth::is_admin(a, "erin", auth::groups_of(a, "erin", {"ops"}))) << "directory group";
  EXPECT_FALSE(auth::is_admin(a, "dave", auth::groups_of(a, "dave", {})));
  EXPECT_EQ(auth::groups_of(a, "carol", {"devs", "x"}), (std::vector<std::string>{"devs", "ops", "x"}));
}

TEST(Policy, QuotaAndDistributions) {
  config::Access a;
  a.quota_per_user = 2;
  a.group_distributions = {{"students", {"busybox"}}, {"staff", {"debian", "busybox"}}};
  EXPECT_TRUE(auth::may_create(a, "u", {}, false, 1, "debian"));
  auto q = auth::may_create(a, "u", {}, false, 2, "debian");
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().code, Errc::permission_denied);
  EXPECT_EQ(q.error().message, "quota: you already own 2 containers and the limit is 2; delete one first");
  EXPECT_TRUE(auth::may_create(a, "root", {}, true, 50, "debian")) << "admins are exempt";
  auto d = auth::may_create(a, "s", {"students"}, false, 0, "debian");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "LINUX_DISTRIBUTION: debian is not allowed for your groups; allowed: busybox");
  EXPECT_TRUE(auth::may_create(a, "s", {"students", "staff"}, false, 0, "debian")) << "union of groups";
  EXPECT_TRUE(auth::may_create(a, "x", {"other"}, false, 0, "debian")) << "unlisted groups are not limited";
}

TEST(AccessConfig, ParsesAndChecksTheNewKeys) {
  auto c = config::parse(R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldaps://ldap.example:636",
      "bind_dn_template": "uid=%u,ou=people,dc=example,dc=org", "ca_file": "/etc/ssl/ca.pem",
      "network_timeout_ms": 1500, "operation_timeout_ms": 2500}},
    "access": {"admins": ["ann"], "admin_groups": ["ops"], "quota_per_user": 3,
               "group_distributions": {"students": ["busybox"]}, "groups": {"ops": ["bo"]}},
    "throttle": {"free_failures": 1, "lockout_failures": 5, "lockout_s": 60}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->auth.backend, "ldap");
  EXPECT_TRUE(c->auth.ldap.verify_certificate) << "verification is on unless turned off";
  EXPECT_EQ(c->auth.ldap.network_timeout, 1500ms);
  EXPECT_EQ(c->access.quota_per_user, 3);
  EXPECT_EQ(c->access.groups.at("ops"), std::vector<std::string>{"bo"});
  EXPECT_EQ(c->throttle.lockout, 60s);
  EXPECT_EQ(config::defaults().auth.backend, "file");

  for (const char* bad : {
           R"({"auth": {"backend": "kerberos"}})",
           R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldap://x", "bind_dn_template": "uid=%u"}}})",
           R"({"auth": {"backend": "ldap", "ldap": {"uri": "http://x", "bind_dn_template": "uid=%u"}}})",
           R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldaps://x"}}})",
           R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldaps://x", "bind_dn_template": "uid=bob"}}})",
           R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldaps://x", "base_dn": "dc=x", "bind_dn": "cn=s"}}})",
           R"({"access": {"group_distributions": {"g": ["gentoo"]}}})",
           R"({"access": {"quota_per_user": -1}})",
           R"({"access": {"admins": "ann"}})",
           R"({"shell_path": "/usr/bin/lxcprov-shell\" --x"})",
       })
    EXPECT_FALSE(config::parse(bad)) << bad;
}

}  // namespace
}  // namespace lxcprov
