// fleet::place and its rules, as tables: which nodes can take a container, which of them wins,
// and what the refusal says when none can.

#include "fleet/placement.hpp"

#include <gtest/gtest.h>

namespace lxcprov::fleet {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr int64_t kDownAfter = 30;

state::NodeRecord node(std::string name, int64_t containers = 0, int64_t available_kb = 8'000'000) {
  state::NodeRecord n;
  n.name = std::move(name);
  n.templates = {"busybox", "debian"};
  n.containers = containers;
  n.memory_available_kb = available_kb;
  n.seen_at = kNow - 5;
  return n;
}

TEST(Placement, WhyANodeCannotTakeAContainer) {
  struct Row {
    const char* what;
    state::NodeRecord node;
    const char* distribution;
    std::string expected;
  };
  auto draining = node("hv");
  draining.draining = true;
  auto never = node("hv");
  never.seen_at = 0;
  auto stale = node("hv");
  stale.seen_at = kNow - kDownAfter - 1;
  auto just_alive = node("hv");
  just_alive.seen_at = kNow - kDownAfter;
  auto no_debian = node("hv");
  no_debian.templates = {"busybox"};
  const Row rows[] = {
      {"fit", node("hv"), "debian", ""},
      {"draining", draining, "debian", "draining"},
      {"never seen", never, "debian", "never seen"},
      {"stale heartbeat", stale, "debian", "down (last seen 31 s ago)"},
      {"heartbeat at the limit", just_alive, "debian", ""},
      {"no template", no_debian, "debian", "has no debian template"},
      {"other template there", no_debian, "busybox", ""},
  };
  for (const auto& r : rows) EXPECT_EQ(unavailability(r.node, r.distribution, kNow, kDownAfter), r.expected) << r.what;
}

TEST(Placement, TheLeastLoadedNodeWins) {
  struct Row {
    const char* what;
    std::vector<state::NodeRecord> nodes;
    std::string expected;
  };
  const Row rows[] = {
      {"fewest containers", {node("hv1", 5), node("hv2", 2), node("hv3", 3)}, "hv2"},
      {"equal count: most memory available",
       {node("hv1", 2, 1'000), node("hv2", 2, 9'000), node("hv3", 2, 5'000)},
       "hv2"},
      {"count before memory", {node("hv1", 1, 1'000), node("hv2", 2, 9'000'000)}, "hv1"},
      {"all equal: the first name", {node("hv3"), node("hv1"), node("hv2")}, "hv1"},
      {"a single node", {node("solo", 400, 10)}, "solo"},
  };
  for (const auto& r : rows) {
    auto got = place(r.nodes, "debian", kNow, kDownAfter);
    ASSERT_TRUE(got.has_value()) << r.what << ": " << got.error().message;
    EXPECT_EQ(*got, r.expected) << r.what;
  }
}

TEST(Placement, NodesThatCannotTakeItArePassedOverHoweverLightTheyAre) {
  auto empty_but_draining = node("hv1", 0);
  empty_but_draining.draining = true;
  auto empty_but_down = node("hv2", 0);
  empty_but_down.seen_at = kNow - 600;
  auto got = place({empty_but_draining, empty_but_down, node("hv3", 50)}, "debian", kNow, kDownAfter);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, "hv3");
}

TEST(Placement, WhenNoNodeCanTakeItTheErrorNamesEachAndWhy) {
  auto draining = node("hv1");
  draining.draining = true;
  auto down = node("hv2");
  down.seen_at = kNow - 95;
  auto no_template = node("hv3");
  no_template.templates = {"busybox"};
  auto got = place({draining, down, no_template}, "debian", kNow, kDownAfter);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().code, Errc::unavailable);
  EXPECT_EQ(got.error().message,
            "no node can take a debian container: hv1 draining; hv2 down (last seen 95 s ago); hv3 has no debian "
            "template");
  auto none = place({}, "debian", kNow, kDownAfter);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().message, "no node is in the fleet: add one with lxcprovctl node add");
}

TEST(Placement, ANodeAskedDirectlyTakesAContainerOnlyWhenRegisteredWithItsSubnetAndNotDraining) {
  auto self = node("hv1");
  self.subnet = "10.47.1.0/24";
  EXPECT_TRUE(may_take_here({node("hv0"), self}, "hv1", "10.47.1.0/24").has_value());
  struct Row {
    const char* what;
    std::vector<state::NodeRecord> nodes;
    std::string message;
  };
  auto draining = self;
  draining.draining = true;
  const Row rows[] = {
      {"unregistered",
       {node("hv0")},
       "node hv1 is not in the fleet's registry: an admin adds it with lxcprovctl node add hv1"},
      {"draining", {draining}, "node hv1 is draining: it takes no new containers; ask another node"},
  };
  for (const auto& r : rows) {
    auto s = may_take_here(r.nodes, "hv1", "10.47.1.0/24");
    ASSERT_FALSE(s.has_value()) << r.what;
    EXPECT_EQ(s.error().code, Errc::unavailable) << r.what;
    EXPECT_EQ(s.error().message, r.message) << r.what;
  }
  auto other = may_take_here({self}, "hv1", "10.47.9.0/24");
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().message,
            "node hv1 is registered with subnet 10.47.1.0/24 but its bridge subnet is 10.47.9.0/24: an admin fixes "
            "the registration or the config");
}

}  // namespace
}  // namespace lxcprov::fleet
