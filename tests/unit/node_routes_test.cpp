// The entry's way to the other nodes' containers: routes generated from the registry
// (fleet::node_routes), read back from `ip -json route` and brought to what state says by
// difference (network/kernel_routes.hpp), and the NAT that brings the replies back through the
// entry (forwarding NftOptions::remote_subnets).

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "fleet/node_routes.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "network/kernel_routes.hpp"

namespace lxcprov {
namespace {

state::NodeRecord node(const std::string& name, const std::string& endpoint, const std::string& subnet) {
  state::NodeRecord n;
  n.name = name;
  n.endpoint = endpoint;
  n.subnet = subnet;
  return n;
}

network::Cidr cidr(const std::string& text) { return network::parse_cidr(text).value(); }

const network::Cidr kOwn = network::parse_cidr("10.47.1.0/24").value();

TEST(NodeRoutes, EachOtherNodesSubnetThroughItsEndpointsHost) {
  const std::vector<state::NodeRecord> nodes = {
      node("hv-c", "hv-c.example.net:2222", "10.47.3.0/24"),
      node("hv-a", "10.0.0.1", "10.47.1.0/24"),
      node("hv-b", "10.0.0.2:22", "10.47.2.0/24"),
  };
  const auto routes = fleet::node_routes(nodes, "hv-a", kOwn);
  const std::vector<fleet::NodeRoute> want = {{cidr("10.47.2.0/24"), "10.0.0.2"},
                                              {cidr("10.47.3.0/24"), "hv-c.example.net"}};
  EXPECT_EQ(routes.routes, want);
  EXPECT_TRUE(routes.refused.empty());
}

TEST(NodeRoutes, NodesOnThisHostAndMalformedRecordsGetNone) {
  struct Case {
    const char* why;
    state::NodeRecord record;
    bool refused;  ///< said in the log (a node on this host is not a problem)
  };
  const Case cases[] = {
      {"loopback endpoint: the node runs here", node("hv-b", "127.0.0.1:2201", "10.47.2.0/24"), false},
      {"another loopback address", node("hv-b", "127.3.0.9", "10.47.2.0/24"), false},
      {"localhost", node("hv-b", "localhost:22", "10.47.2.0/24"), false},
      {"this node itself", node("hv-a", "10.0.0.2", "10.47.2.0/24"), false},
      {"subnet with host bits", node("hv-b", "10.0.0.2", "10.47.2.1/24"), true},
      {"subnet without a prefix", node("hv-b", "10.0.0.2", "10.47.2.0"), true},
      {"no subnet", node("hv-b", "10.0.0.2", ""), true},
      {"the whole internet", node("hv-b", "10.0.0.2", "0.0.0.0/0"), true},
      {"a /7", node("hv-b", "10.0.0.2", "10.0.0.0/7"), true},
      {"a /31", node("hv-b", "10.0.0.2", "10.47.2.0/31"), true},
      {"this host's own subnet", node("hv-b", "10.0.0.2", "10.47.1.0/24"), true},
      {"a subnet holding this host's", node("hv-b", "10.0.0.2", "10.47.0.0/16"), true},
      {"a subnet inside this host's", node("hv-b", "10.0.0.2", "10.47.1.128/25"), true},
      {"an endpoint that is an option", node("hv-b", "-oProxyCommand=x", "10.47.2.0/24"), true},
      {"an endpoint with a bad port", node("hv-b", "10.0.0.2:99999", "10.47.2.0/24"), true},
  };
  for (const auto& c : cases) {
    const auto r = fleet::node_routes({c.record}, "hv-a", kOwn);
    EXPECT_TRUE(r.routes.empty()) << c.why;
    EXPECT_EQ(r.refused.size(), c.refused ? 1u : 0u) << c.why;
  }
}

TEST(NodeRoutes, OfTwoNodesWhoseSubnetsOverlapTheFirstByNameKeepsItsRoute) {
  const auto r = fleet::node_routes(
      {node("hv-c", "10.0.0.3", "10.47.2.0/23"), node("hv-b", "10.0.0.2", "10.47.2.0/24")}, "hv-a", kOwn);
  ASSERT_EQ(r.routes.size(), 1u);
  EXPECT_EQ(r.routes[0].via, "10.0.0.2");
  ASSERT_EQ(r.refused.size(), 1u);
  EXPECT_NE(r.refused[0].find("node hv-c"), std::string::npos) << r.refused[0];
}

TEST(KernelRoutes, IpJsonOutputIsReadWithHostRoutesAndWithoutGatewaylessOnes) {
  const auto routes = network::parse_ip_routes(R"([
    {"dst":"10.47.2.0/24","gateway":"10.0.0.2","dev":"eth1","protocol":"211","flags":[]},
    {"dst":"10.9.9.9","gateway":"10.0.0.3","dev":"eth1","flags":[]},
    {"dst":"10.47.4.0/24","dev":"lxcbr0","flags":[]},
    {"dst":"default","gateway":"10.0.0.254","dev":"eth1","flags":[]},
    {"dst":"not-an-address/8","gateway":"10.0.0.2"}
  ])");
  ASSERT_TRUE(routes.has_value()) << routes.error().message;
  const std::vector<network::KernelRoute> want = {{cidr("10.47.2.0/24"), 0x0a000002u},
                                                  {cidr("10.9.9.9/32"), 0x0a000003u}};
  EXPECT_EQ(*routes, want);
  EXPECT_TRUE(network::parse_ip_routes("[]").value().empty());
  EXPECT_FALSE(network::parse_ip_routes("Error: something").has_value());
  EXPECT_FALSE(network::parse_ip_routes("{}").has_value());
}

TEST(KernelRoutes, ChangesAreTheDifferenceOnly) {
  const network::KernelRoute b{cidr("10.47.2.0/24"), 0x0a000002u}, c{cidr("10.47.3.0/24"), 0x0a000003u},
      c_moved{cidr("10.47.3.0/24"), 0x0a000009u}, gone{cidr("10.47.9.0/24"), 0x0a000009u};
  struct Case {
    const char* why;
    std::vector<network::KernelRoute> installed, desired, replace;
    std::vector<network::Cidr> remove;
  };
  const Case cases[] = {
      {"nothing new: nothing to do", {b, c}, {c, b}, {}, {}},
      {"a node added", {b}, {b, c}, {c}, {}},
      {"a node moved to another address", {b, c}, {b, c_moved}, {c_moved}, {}},
      {"a node removed", {b, gone}, {b}, {}, {gone.dst}},
      {"from nothing", {}, {b, c}, {b, c}, {}},
      {"to nothing", {b, c}, {}, {}, {b.dst, c.dst}},
  };
  for (const auto& k : cases) {
    const auto changes = network::route_changes(k.installed, k.desired);
    EXPECT_EQ(changes.replace, k.replace) << k.why;
    EXPECT_EQ(changes.remove, k.remove) << k.why;
  }
  EXPECT_TRUE(network::route_changes({b}, {b}).empty());
  // A node whose name did not resolve this time keeps the route it has.
  EXPECT_TRUE(network::route_changes({b, c}, {b}, {c.dst}).empty());
}

TEST(KernelRoutes, CidrsParseOnlyAsNetworkAddresses) {
  EXPECT_EQ(network::parse_cidr("10.47.2.0/24"), (network::Cidr{0x0a2f0200u, 24}));
  EXPECT_EQ(network::parse_cidr("0.0.0.0/0"), (network::Cidr{0, 0}));
  EXPECT_EQ(network::parse_cidr("10.1.2.3/32"), (network::Cidr{0x0a010203u, 32}));
  for (const char* bad : {"10.47.2.1/24", "10.47.2.0", "10.47.2.0/", "10.47.2.0/33", "10.47.2.0/024", "10.47.2.0/2a",
                          "/24", "10.47.2/24", " 10.47.2.0/24"})
    EXPECT_FALSE(network::parse_cidr(bad).has_value()) << bad;
  EXPECT_EQ(network::format_cidr({0x0a2f0200u, 24}), "10.47.2.0/24");
}

TEST(FleetScope, AnEntryOrASingleHostServesEveryContainerAnotherNodeItsOwn) {
  config::Fleet single;
  EXPECT_TRUE(single.serves(""));
  config::Fleet node;
  node.database = "dbname=lxcprov";
  node.node = "hv-b";
  EXPECT_TRUE(node.serves("hv-b"));
  EXPECT_FALSE(node.serves("hv-c"));
  config::Fleet entry = node;
  entry.node = "hv-a";
  entry.entry.enabled = true;
  EXPECT_TRUE(entry.serves("hv-b"));
  EXPECT_TRUE(entry.serves("hv-a"));
}

TEST(FleetScope, ForwardsToOtherNodesLeaveWithTheEntrysAddress) {
  forwarding::NftOptions o;
  o.table = "lxcprov";
  o.subnet = 0x0a2f0100u;
  const std::string alone = forwarding::render_nft_ruleset(o, {});
  EXPECT_EQ(alone.find("ip daddr {"), std::string::npos) << "a single host NATs no other subnet:\n" << alone;
  o.remote_subnets = {cidr("10.47.2.0/24"), cidr("10.47.3.0/24")};
  const std::string entry = forwarding::render_nft_ruleset(o, {});
  EXPECT_NE(entry.find("    ip daddr { 10.47.2.0/24, 10.47.3.0/24 } ct status dnat masquerade\n"), std::string::npos)
      << entry;
  // Without the hairpin NAT, the chain is still there for the other nodes.
  o.masquerade = false;
  const std::string bare = forwarding::render_nft_ruleset(o, {});
  EXPECT_NE(bare.find("type nat hook postrouting"), std::string::npos) << bare;
  EXPECT_EQ(bare.find("ip saddr"), std::string::npos) << bare;
  EXPECT_NE(bare.find("ip daddr { 10.47.2.0/24, 10.47.3.0/24 } ct status dnat masquerade"), std::string::npos);
  EXPECT_EQ(bare.find("reject"), std::string::npos) << "isolation is off: no filter";
}

TEST(FleetScope, WithIsolationTheEntrysContainersReachOtherNodesOnlyThroughForwards) {
  forwarding::NftOptions o;
  o.table = "lxcprov";
  o.subnet = 0x0a2f0100u;
  o.remote_subnets = {cidr("10.47.2.0/24")};
  o.isolate_remote = true;
  const std::string text = forwarding::render_nft_ruleset(o, {});
  EXPECT_NE(text.find("type filter hook forward priority 0; policy accept;\n    ip saddr 10.47.1.0/24 ip daddr { "
                      "10.47.2.0/24 } ct status & dnat == 0 reject with icmpx type admin-prohibited\n"),
            std::string::npos)
      << text;
  o.remote_subnets.clear();
  EXPECT_EQ(forwarding::render_nft_ruleset(o, {}).find("reject"), std::string::npos) << "no other node: no filter";
}

}  // namespace
}  // namespace lxcprov
