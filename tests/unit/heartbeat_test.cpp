// fleet::parse_meminfo and fleet::registration_mismatch: what a node's heartbeat reports and the
// warning a misregistered node gets.

#include "fleet/heartbeat.hpp"

#include <gtest/gtest.h>

namespace lxcprov::fleet {
namespace {

TEST(Heartbeat, MemoryComesFromMemTotalAndMemAvailable) {
  const char* meminfo =
      "MemTotal:       24567892 kB\nMemFree:         1234567 kB\nMemAvailable:   20123456 kB\nBuffers: 1 kB\n";
  auto m = parse_meminfo(meminfo);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->total_kb, 24567892);
  EXPECT_EQ(m->available_kb, 20123456);
  for (const char* bad : {"", "MemTotal: 5 kB\n", "MemAvailable: 5 kB\n", "MemTotal: x kB\nMemAvailable: 5 kB\n",
                          "MemTotalX: 5 kB\nMemAvailable: 5 kB\n"})
    EXPECT_FALSE(parse_meminfo(bad).has_value()) << bad;
}

TEST(Heartbeat, ANodeRegisteredWithAnotherSubnetIsSaid) {
  state::NodeRecord n;
  n.name = "hv1";
  n.subnet = "10.47.1.0/24";
  EXPECT_EQ(registration_mismatch(n, "10.47.1.0/24"), "");
  EXPECT_EQ(registration_mismatch(n, "10.47.2.0/24"),
            "node hv1 is registered with subnet 10.47.1.0/24 but this lxcprovd's bridge subnet is 10.47.2.0/24");
}

}  // namespace
}  // namespace lxcprov::fleet
