#include <gtest/gtest.h>

#include "config/config.hpp"

namespace lxcprov::config {
namespace {

TEST(Config, EmptyObjectGivesTheEmbeddedDefaults) {
  auto c = parse("{}");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->socket_path, "/run/lxcprov/lxcprovd.sock");
  EXPECT_EQ(c->network.bridge, "lxcprov0");
  EXPECT_EQ(c->default_distribution, "debian");
  ASSERT_NE(c->find_distribution("debian"), nullptr);
  EXPECT_EQ(c->find_distribution("debian")->template_name, "tpl-debian");
  EXPECT_EQ(c->pool.cidr(c->pool.first()), "10.47.0.10/24");
}

TEST(Config, OverridesApply) {
  auto c = parse(R"({"workers": 8, "network": {"bridge": "br9", "subnet": "10.9.0.0/16", "gateway": "10.9.0.1",
                    "first": "10.9.1.1", "last": "10.9.1.9"}, "distributions": {"alpine": {"template": "tpl-a"}},
                    "lxc_config": {"lxc.cgroup2.memory.max": "512M"}, "allow_fault_injection": true})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workers, 8);
  EXPECT_EQ(c->network.bridge, "br9");
  EXPECT_EQ(c->default_distribution, "alpine");
  EXPECT_EQ(c->distribution_names(), std::vector<std::string>{"alpine"});
  ASSERT_EQ(c->lxc_config.size(), 1u);
  EXPECT_TRUE(c->allow_fault_injection);
}

TEST(Config, ErrorsNameTheKeyAndTheRule) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {"[]", "config file"},
      {"{\"workers\": 0}", "workers"},
      {"{\"workers\": \"4\"}", "workers"},
      {"{\"socket\": \"\"}", "socket"},
      {"{\"network\": {\"subnet\": \"10.0.0.0/33\"}}", "network.subnet"},
      {"{\"network\": {\"bridge\": \"a-very-long-bridge-name\"}}", "network.bridge"},
      {"{\"distributions\": {}}", "distributions"},
      {"{\"default_distribution\": \"arch\"}", "default_distribution"},
      {"{\"lxc_config\": {\"lxc.include\": \"/etc/x\"}}", "lxc_config.lxc.include"},
      {"{\"lxc_config\": {\"lxc.hook.pre-start\": \"/bin/x\"}}", "lxc_config.lxc.hook.pre-start"},
      {"{\"lxc_config\": {\"lxc.x\": \"a\\nlxc.include = /etc\"}}", "lxc_config.lxc.x"},
      {"{\"allowed_peers\": [1]}", "allowed_peers"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace lxcprov::config

namespace lxcprov::config {
namespace {

TEST(Config, NameServersComeFromTheHostUnlessConfigured) {
  auto c = parse("{}");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->network.dns_from_host);
  auto set = parse(R"({"network": {"dns": ["192.0.2.53", "198.51.100.1"]}})");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_FALSE(set->network.dns_from_host);
  EXPECT_EQ(set->network.dns, (std::vector<std::string>{"192.0.2.53", "198.51.100.1"}));
  auto none = parse(R"({"network": {"dns": []}})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->network.dns_from_host);
  EXPECT_TRUE(none->network.dns.empty());
  for (const char* bad : {R"({"network": {"dns": ["8.8.8.8; id"]}})", R"({"network": {"dns": ["::1"]}})",
                          R"({"network": {"dns": "8.8.8.8"}})"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("network.dns"), std::string::npos) << r.error().message;
  }
}

TEST(Config, UsableNameServersSkipLoopbackAndIpv6) {
  EXPECT_EQ(usable_name_servers("# comment\nnameserver 10.255.255.53\nsearch example.org\n"
                                "nameserver 127.0.0.53\nnameserver ::1\nnameserver\t192.0.2.1 \r\n"
                                "nameservers 1.2.3.4\noptions edns0\n"),
            (std::vector<std::string>{"10.255.255.53", "192.0.2.1"}));
  EXPECT_TRUE(usable_name_servers("").empty());
}

}  // namespace
}  // namespace lxcprov::config
