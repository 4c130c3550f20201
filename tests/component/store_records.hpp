#pragma once
// The records the store tests reserve and create (sqlite_store_test, store_contract_test,
// pg_store_test): one pool, one container, one job, each with the values the tests assert on.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "network/ip_pool.hpp"
#include "state/store.hpp"

namespace lxcprov::state::test_records {

/// 10.0.3.0/24 (gateway .1), handing out `first`..`last`.
inline network::IpPool make_pool(const char* first = "10.0.3.10", const char* last = "10.0.3.254") {
  auto r = network::IpPool::parse("10.0.3.0/24", "10.0.3.1", first, last);
  EXPECT_TRUE(r.has_value());
  return r.value();
}

inline NewContainer new_container(const std::string& name, const std::string& owner = "alice") {
  return NewContainer{name, owner, "debian", 8080, "00000000000000aa", {}, 0};
}

inline JobRecord new_job(const std::string& id, JobState state = JobState::pending, int64_t created_at = 0) {
  JobRecord j;
  j.id = id;
  j.kind = JobKind::create;
  j.container = "web";
  j.user = "alice";
  j.state = state;
  j.created_at = created_at;
  return j;
}

}  // namespace lxcprov::state::test_records
