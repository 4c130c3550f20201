// Unit tests of network::IpPool and the IPv4 helpers: strict parsing, config validation with
// key-naming errors, and lowest-free-address selection.

#include "network/ip_pool.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lxcprov::network {
namespace {

constexpr uint32_t ip(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return (a << 24) | (b << 16) | (c << 8) | d; }

// ---- parse_ipv4 / format_ipv4 ---------------------------------------------------------------

TEST(IpPoolParseIpv4, AcceptsValidDottedQuads) {
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xFFFFFFFFu);
  EXPECT_EQ(parse_ipv4("10.0.3.7"), ip(10, 0, 3, 7));
  EXPECT_EQ(parse_ipv4("192.168.100.200"), ip(192, 168, 100, 200));
  EXPECT_EQ(parse_ipv4("1.22.133.0"), ip(1, 22, 133, 0));
}

TEST(IpPoolParseIpv4, EveryOctetValueRoundTrips) {
  for (uint32_t v = 0; v <= 255; ++v) {
    std::string s = std::to_string(v);
    for (int pos = 0; pos < 4; ++pos) {
      std::string text;
      uint32_t expected = 0;
      for (int i = 0; i < 4; ++i) {
        uint32_t o = i == pos ? v : 1;
        text += (i ? "." : "") + std::to_string(o);
        expected = (expected << 8) | o;
      }
      ASSERT_EQ(parse_ipv4(text), expected) << text;
      ASSERT_EQ(format_ipv4(expected), text);
    }
  }
}

TEST(IpPoolParseIpv4, RejectsMalformed) {
  const char* bad[] = {
      "",
      ".",
      "...",
      "1.2.3",
      "1.2.3.4.5",
      "1.2.3.",
      ".1.2.3",
      "1..2.3",
      "1.2.3.4.",
      "256.0.0.0",
      "0.256.0.0",
      "0.0.256.0",
      "0.0.0.256",
      "999.1.1.1",
      "1000.1.1.1",
      "1.2.3.1000",
      "01.2.3.4",
      "1.02.3.4",
      "1.2.003.4",
      "1.2.3.00",
      "00.0.0.0",
      "0x1.2.3.4",
      "1.2.3.0x4",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1. 2.3.4",
      "1.2 .3.4",
      "1.2.3.4\n",
      "+1.2.3.4",
      "-1.2.3.4",
      "1.2.3.-4",
      "1.2.3.4/24",
      "a.b.c.d",
      "1.2.3.4a",
      "1,2,3,4",
      "1.2.3",
      "16909060",
      "4294967296.0.0.0",
      "99999999999999999999.1.1.1",
  };
  for (const char* text : bad) EXPECT_FALSE(parse_ipv4(text).has_value()) << '"' << text << '"';
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2.3.4\0", 8)).has_value());
  EXPECT_FALSE(parse_ipv4(std::string_view("1.2\0.3.4", 8)).has_value());
}

TEST(IpPoolFormatIpv4, FormatsExtremes) {
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
  EXPECT_EQ(format_ipv4(0xFFFFFFFFu), "255.255.255.255");
  EXPECT_EQ(format_ipv4(ip(10, 0, 3, 10)), "10.0.3.10");
  EXPECT_EQ(format_ipv4(ip(172, 16, 0, 1)), "172.16.0.1");
}

// ---- IpPool::parse ---------------------------------------------------------------------------

void expect_error(const Result<IpPool>& r, std::string_view key, std::string_view rule_fragment) {
  ASSERT_FALSE(r.has_value()) << "expected an error naming " << key;
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_EQ(r.error().message.rfind(std::string(key) + ": ", 0), 0u) << r.error().message;
  EXPECT_NE(r.error().message.find(rule_fragment), std::string::npos) << r.error().message;
}

TEST(IpPoolParse, AcceptsTypicalConfig) {
  auto r = IpPool::parse("10.0.3.0/24", "10.0.3.1", "10.0.3.10", "10.0.3.254");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->prefix_length(), 24);
  EXPECT_EQ(r->gateway(), ip(10, 0, 3, 1));
  EXPECT_EQ(r->first(), ip(10, 0, 3, 10));
  EXPECT_EQ(r->last(), ip(10, 0, 3, 254));
  EXPECT_EQ(r->cidr(r->first()), "10.0.3.10/24");
}

TEST(IpPoolParse, AcceptsPrefixBounds) {
  auto r8 = IpPool::parse("10.0.0.0/8", "10.0.0.1", "10.0.0.2", "10.255.255.254");
  ASSERT_TRUE(r8.has_value()) << r8.error().message;
  EXPECT_EQ(r8->prefix_length(), 8);
  EXPECT_EQ(r8->cidr(ip(10, 1, 2, 3)), "10.1.2.3/8");

  auto r30 = IpPool::parse("192.168.1.4/30", "192.168.1.5", "192.168.1.6", "192.168.1.6");
  ASSERT_TRUE(r30.has_value()) << r30.error().message;
  EXPECT_EQ(r30->prefix_length(), 30);
}

TEST(IpPoolParse, AcceptsEveryPrefixFrom8To30) {
  for (int p = 8; p <= 30; ++p) {
    uint32_t size = uint32_t{1} << (32 - p);
    uint32_t net = ip(10, 0, 0, 0);
    auto r = IpPool::parse("10.0.0.0/" + std::to_string(p), format_ipv4(net + 1), format_ipv4(net + 1),
                           format_ipv4(net + size - 2));
    ASSERT_TRUE(r.has_value()) << p << ": " << r.error().message;
    EXPECT_EQ(r->prefix_length(), p);
  }
}

TEST(IpPoolParse, GatewayMayLieInsideTheRange) {
  auto r = IpPool::parse("10.0.3.0/24", "10.0.3.100", "10.0.3.2", "10.0.3.254");
  ASSERT_TRUE(r.has_value()) << r.error().message;
}

TEST(IpPoolParse, SubnetSyntaxErrors) {
  const char* bad[] = {
      "10.0.3.0",     "10.0.3.0/",    "/24",          "10.0.3/24",    "10.0.3.0/24/", "10.0.3.0/x", "10.0.3.0/024",
      "10.0.3.0/+24", "10.0.3.0/ 24", "10.0.3.0 /24", "10.0.3.00/24", "10.0.3.0/24 ", "",           "10.0.3.0/100"};
  for (const char* s : bad) {
    SCOPED_TRACE(s);
    expect_error(IpPool::parse(s, "10.0.3.1", "10.0.3.10", "10.0.3.254"), "network.subnet", "");
  }
}

TEST(IpPoolParse, PrefixOutOfRange) {
  for (const char* s : {"10.0.0.0/0", "10.0.0.0/7", "10.0.3.0/31", "10.0.3.0/32", "10.0.3.0/33"}) {
    SCOPED_TRACE(s);
    expect_error(IpPool::parse(s, "10.0.3.1", "10.0.3.1", "10.0.3.1"), "network.subnet", "8 to 30");
  }
}

TEST(IpPoolParse, HostBitsMustBeZero) {
  expect_error(IpPool::parse("10.0.3.1/24", "10.0.3.1", "10.0.3.10", "10.0.3.254"), "network.subnet", "host bits");
  expect_error(IpPool::parse("10.0.3.4/29", "10.0.3.1", "10.0.3.2", "10.0.3.3"), "network.subnet", "host bits");
  expect_error(IpPool::parse("10.1.0.0/8", "10.0.0.1", "10.0.0.2", "10.0.0.3"), "network.subnet", "host bits");
}

TEST(IpPoolParse, GatewayRules) {
  auto parse = [](const char* g) { return IpPool::parse("10.0.3.0/24", g, "10.0.3.10", "10.0.3.254"); };
  expect_error(parse("10.0.3"), "network.gateway", "dotted-quad");
  expect_error(parse("10.0.3.01"), "network.gateway", "dotted-quad");
  expect_error(parse(""), "network.gateway", "dotted-quad");
  expect_error(parse("10.0.4.1"), "network.gateway", "inside");
  expect_error(parse("10.0.2.255"), "network.gateway", "inside");
  expect_error(parse("10.0.3.0"), "network.gateway", "network address");
  expect_error(parse("10.0.3.255"), "network.gateway", "broadcast");
}

TEST(IpPoolParse, FirstRules) {
  auto parse = [](const char* f) { return IpPool::parse("10.0.3.0/24", "10.0.3.1", f, "10.0.3.254"); };
  expect_error(parse("x"), "network.first", "dotted-quad");
  expect_error(parse("10.0.4.10"), "network.first", "inside");
  expect_error(parse("10.0.3.0"), "network.first", "network address");
  expect_error(parse("10.0.3.255"), "network.first", "broadcast");
}

TEST(IpPoolParse, LastRules) {
  auto parse = [](const char* l) { return IpPool::parse("10.0.3.0/24", "10.0.3.1", "10.0.3.10", l); };
  expect_error(parse("10.0.3.256"), "network.last", "dotted-quad");
  expect_error(parse("11.0.3.254"), "network.last", "inside");
  expect_error(parse("10.0.3.0"), "network.last", "network address");
  expect_error(parse("10.0.3.255"), "network.last", "broadcast");
  expect_error(parse("10.0.3.9"), "network.last", "network.first");
  EXPECT_TRUE(parse("10.0.3.10").has_value());
}

TEST(IpPoolParse, FirstErrorIsReportedInKeyOrder) {
  // Every field is wrong: the subnet is reported first, then gateway, first, last.
  expect_error(IpPool::parse("x", "x", "x", "x"), "network.subnet", "");
  expect_error(IpPool::parse("10.0.3.0/24", "x", "x", "x"), "network.gateway", "");
  expect_error(IpPool::parse("10.0.3.0/24", "10.0.3.1", "x", "x"), "network.first", "");
  expect_error(IpPool::parse("10.0.3.0/24", "10.0.3.1", "10.0.3.2", "x"), "network.last", "");
}

// ---- pick / cidr -----------------------------------------------------------------------------

IpPool pool(const char* subnet, const char* gw, const char* first, const char* last) {
  auto r = IpPool::parse(subnet, gw, first, last);
  EXPECT_TRUE(r.has_value()) << r.error().message;
  return r.value();
}

TEST(IpPoolPick, LowestFreeAddress) {
  IpPool p = pool("10.0.3.0/24", "10.0.3.1", "10.0.3.10", "10.0.3.254");
  EXPECT_EQ(p.pick({}), ip(10, 0, 3, 10));
  EXPECT_EQ(p.pick({ip(10, 0, 3, 10)}), ip(10, 0, 3, 11));
  EXPECT_EQ(p.pick({ip(10, 0, 3, 10), ip(10, 0, 3, 11), ip(10, 0, 3, 13)}), ip(10, 0, 3, 12));
  // A freed hole below used addresses is reused first.
  EXPECT_EQ(p.pick({ip(10, 0, 3, 11), ip(10, 0, 3, 12)}), ip(10, 0, 3, 10));
}

TEST(IpPoolPick, IgnoresUsedAddressesOutsideTheRange) {
  IpPool p = pool("10.0.3.0/24", "10.0.3.1", "10.0.3.10", "10.0.3.12");
  EXPECT_EQ(p.pick({ip(10, 0, 3, 2), ip(10, 0, 3, 9), ip(10, 0, 3, 200), ip(192, 168, 0, 1)}), ip(10, 0, 3, 10));
}

TEST(IpPoolPick, SkipsGateway) {
  IpPool p = pool("10.0.3.0/24", "10.0.3.11", "10.0.3.10", "10.0.3.12");
  EXPECT_EQ(p.pick({}), ip(10, 0, 3, 10));
  EXPECT_EQ(p.pick({ip(10, 0, 3, 10)}), ip(10, 0, 3, 12));
  EXPECT_EQ(p.pick({ip(10, 0, 3, 10), ip(10, 0, 3, 12)}), std::nullopt);
}

TEST(IpPoolPick, GatewayAsFirstOrLast) {
  IpPool a = pool("10.0.3.0/24", "10.0.3.10", "10.0.3.10", "10.0.3.11");
  EXPECT_EQ(a.pick({}), ip(10, 0, 3, 11));
  EXPECT_EQ(a.pick({ip(10, 0, 3, 11)}), std::nullopt);
  IpPool b = pool("10.0.3.0/24", "10.0.3.11", "10.0.3.10", "10.0.3.11");
  EXPECT_EQ(b.pick({ip(10, 0, 3, 10)}), std::nullopt);
  IpPool only_gw = pool("10.0.3.0/24", "10.0.3.10", "10.0.3.10", "10.0.3.10");
  EXPECT_EQ(only_gw.pick({}), std::nullopt);
}

TEST(IpPoolPick, ExhaustsAfterEveryAddressIsUsed) {
  IpPool p = pool("10.0.3.0/24", "10.0.3.1", "10.0.3.2", "10.0.3.254");
  std::set<uint32_t> used;
  for (uint32_t expected = ip(10, 0, 3, 2); expected <= ip(10, 0, 3, 254); ++expected) {
    auto a = p.pick(used);
    ASSERT_EQ(a, expected);
    used.insert(*a);
  }
  EXPECT_EQ(used.size(), 253u);
  EXPECT_EQ(p.pick(used), std::nullopt);
}

TEST(IpPoolPick, Slash30HasOneHostBesidesTheGateway) {
  IpPool p = pool("192.168.1.4/30", "192.168.1.5", "192.168.1.5", "192.168.1.6");
  EXPECT_EQ(p.pick({}), ip(192, 168, 1, 6));
  EXPECT_EQ(p.pick({ip(192, 168, 1, 6)}), std::nullopt);
}

TEST(IpPoolPick, TopOfLargestRangeDoesNotOverflow) {
  IpPool p = pool("255.0.0.0/8", "255.0.0.1", "255.255.255.253", "255.255.255.254");
  EXPECT_EQ(p.pick({}), ip(255, 255, 255, 253));
  EXPECT_EQ(p.pick({ip(255, 255, 255, 253)}), ip(255, 255, 255, 254));
  EXPECT_EQ(p.pick({ip(255, 255, 255, 253), ip(255, 255, 255, 254)}), std::nullopt);
}

TEST(IpPoolCidr, UsesThePrefixOfTheSubnet) {
  EXPECT_EQ(pool("10.0.3.0/24", "10.0.3.1", "10.0.3.10", "10.0.3.254").cidr(ip(10, 0, 3, 10)), "10.0.3.10/24");
  EXPECT_EQ(pool("172.16.0.0/12", "172.16.0.1", "172.16.0.10", "172.31.255.254").cidr(ip(172, 20, 1, 2)),
            "172.20.1.2/12");
}

}  // namespace
}  // namespace lxcprov::network
