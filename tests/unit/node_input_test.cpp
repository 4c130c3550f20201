// fleet::node_from_input: what `lxcprovctl node add` accepts, as tables. Every refusal names the
// field and the rule.

#include "fleet/node_input.hpp"

#include <gtest/gtest.h>

namespace lxcprov::fleet {
namespace {

const std::vector<std::string> kDistributions = {"busybox", "debian"};

NodeInput input(std::string name = "hv1", std::string endpoint = "10.99.0.2", std::string subnet = "10.47.1.0/24") {
  return NodeInput{std::move(name), std::move(endpoint), std::move(subnet), {}};
}

TEST(NodeInput, NameRules) {
  for (const char* ok : {"hv1", "a", "node-2", "0abc", "abcdefghijklmnopqrstuvwxyz012345"})
    EXPECT_TRUE(valid_node_name(ok)) << ok;
  for (const char* bad :
       {"", "-hv", "HV1", "hv_1", "hv 1", "hv.example", "abcdefghijklmnopqrstuvwxyz0123456", "hv/1", "hv;rm", "hv\n"})
    EXPECT_FALSE(valid_node_name(bad)) << bad;
}

TEST(NodeInput, AGoodRegistrationComesBackCanonical) {
  auto in = input();
  in.templates = {"debian", "busybox", "debian"};
  auto n = node_from_input(in, kDistributions);
  ASSERT_TRUE(n.has_value()) << n.error().message;
  EXPECT_EQ(n->name, "hv1");
  EXPECT_EQ(n->endpoint, "10.99.0.2");
  EXPECT_EQ(n->subnet, "10.47.1.0/24");
  EXPECT_EQ(n->templates, (std::vector<std::string>{"busybox", "debian"}));
  EXPECT_FALSE(n->draining);
  auto all = node_from_input(input("hv2", "hv2.example.org:2222", "10.47.2.0/24"), kDistributions);
  ASSERT_TRUE(all.has_value()) << all.error().message;
  EXPECT_EQ(all->templates, kDistributions) << "no --templates: every configured distribution";
}

TEST(NodeInput, EachRefusalNamesTheFieldAndTheRule) {
  struct Row {
    NodeInput in;
    std::string message;
  };
  auto with_templates = input();
  with_templates.templates = {"alpine"};
  const Row rows[] = {
      {input("HV1"), "node name: must be 1-32 of a-z, 0-9 and '-', not starting with '-'"},
      {input("hv1", ""), "--endpoint: must be HOST or HOST:PORT, HOST an IPv4 address or a DNS name"},
      {input("hv1", "-oProxyCommand=x"), "--endpoint: must be HOST or HOST:PORT, HOST an IPv4 address or a DNS name"},
      {input("hv1", "hv1 example"), "--endpoint: must be HOST or HOST:PORT, HOST an IPv4 address or a DNS name"},
      {input("hv1", "10.0.0.1:0"), "--endpoint: the port after ':' must be 1-65535"},
      {input("hv1", "10.0.0.1:70000"), "--endpoint: the port after ':' must be 1-65535"},
      {input("hv1", "10.0.0.1:22x"), "--endpoint: the port after ':' must be 1-65535"},
      {input("hv1", "10.0.0.1", "10.47.1.0"), "--subnet: must be an IPv4 subnet in CIDR form, e.g. 10.47.1.0/24"},
      {input("hv1", "10.0.0.1", "10.47.1.0/31"),
       "--subnet: must be an IPv4 subnet in CIDR form with a prefix of 8-30, e.g. 10.47.1.0/24"},
      {input("hv1", "10.0.0.1", "10.47.1.0/x"),
       "--subnet: must be an IPv4 subnet in CIDR form with a prefix of 8-30, e.g. 10.47.1.0/24"},
      {input("hv1", "10.0.0.1", "10.47.1.300/24"),
       "--subnet: must be an IPv4 subnet in CIDR form with a prefix of 8-30, e.g. 10.47.1.0/24"},
      {input("hv1", "10.0.0.1", "10.47.1.5/24"), "--subnet: has host bits set: the subnet is 10.47.1.0/24"},
      {with_templates, "--templates: alpine is not a configured distribution"},
  };
  for (const auto& r : rows) {
    auto n = node_from_input(r.in, kDistributions);
    ASSERT_FALSE(n.has_value()) << r.in.name << " " << r.in.endpoint << " " << r.in.subnet;
    EXPECT_EQ(n.error().code, Errc::invalid_argument);
    EXPECT_EQ(n.error().message, r.message);
  }
}

}  // namespace
}  // namespace lxcprov::fleet
