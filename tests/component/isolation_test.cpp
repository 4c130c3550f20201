// Component test of the isolation ruleset against the real nftables (kernel and nft 1.0.6): the
// rendered text is accepted, lists back with every element, applies twice to the same tables, and
// a ruleset that fails leaves the previous one in place. Also measures the apply time by size.
// A private table name and an unused subnet and bridge name per run, so no traffic of the host,
// of a real installation or of another run ever meets these rules. Needs root and nft.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <random>

#include "host/local_host.hpp"
#include "isolation/isolation_ruleset.hpp"
#include "network/ip_pool.hpp"
#include "network/nft_applier.hpp"
#include "network/nft_table_sync.hpp"

namespace lxcprov {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

class IsolationNft : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0 || !fs::exists("/usr/sbin/nft")) GTEST_SKIP() << "needs root and nft";
    nft_ = std::make_unique<network::NftApplier>("the container isolation");
    table_ = "lxct_iso_" + std::to_string(::getpid());
    options_.table = table_;
    options_.bridge = "lxct" + std::to_string(::getpid() % 100000);  // no such bridge
    options_.subnet = *network::parse_ipv4("10.249.0.0");            // a /16 no test or host uses
    options_.prefix = 16;
    options_.gateway = options_.subnet + 1;
    options_.host_ports = {{"udp", 53}, {"tcp", 636}};
    options_.deny_destinations = {{*network::parse_ipv4("169.254.0.0"), 16}};
  }
  void TearDown() override {
    if (!table_.empty()) (void)nft_->apply(isolation::render_isolation_removal(table_));
  }

  std::vector<isolation::IsolatedContainer> containers(int n) const {
    std::vector<isolation::IsolatedContainer> out;
    for (int i = 0; i < n; ++i) {
      const uint32_t a = options_.subnet + 10 + static_cast<uint32_t>(i);
      char mac[18];
      std::snprintf(mac, sizeof mac, "00:16:3e:%02x:%02x:%02x", (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
      out.push_back({"c" + std::to_string(i), "user" + std::to_string(i % 7), a, mac, network::veth_name_for(a)});
    }
    return out;
  }
  std::string list(const char* family) {
    auto r = local_.run({"/usr/sbin/nft", "list", "table", family, table_}, "", 30s);
    return r && r->exit_status == 0 ? r->output : "";
  }

  std::string table_;
  isolation::IsolationOptions options_;
  host::LocalHost local_;
  std::unique_ptr<network::NftApplier> nft_;  // made after the skip: it opens a netlink socket
};

TEST_F(IsolationNft, ApplyListReapplyAndAFailureKeepsThePrevious) {
  const std::string two = isolation::render_isolation_ruleset(options_, containers(2));
  ASSERT_TRUE(nft_->apply(two));
  const std::string bridge = list("bridge"), inet = list("inet");
  // Every element and rule as nft itself prints them back.
  for (const char* want :
       {"\"vlp0af9000a\" . 00:16:3e:f9:00:0a . 10.249.0.10", "\"vlp0af9000b\" . 00:16:3e:f9:00:0b . 10.249.0.11",
        "\"vlp0af9000a\" : 0x00000001", "\"vlp0af9000b\" : 0x00000002",
        "iifname . ether saddr . ip saddr @sources accept", "iifname . arp saddr ether . arp saddr ip @sources accept",
        "oifname . meta mark @owner_ports meta mark set 0x00000000 accept",
        "ip daddr 10.249.0.0/16 ip daddr != 10.249.0.1 drop"})
    EXPECT_NE(bridge.find(want), std::string::npos) << want << "\n" << bridge;
  for (const char* want :
       {"ip daddr 10.249.0.1 udp dport 53 accept", "ip daddr 10.249.0.1 tcp dport 636 accept",
        "reject with icmpx admin-prohibited", "ip daddr 169.254.0.0/16 reject", "ip saddr 10.249.0.0/16 oifname != "})
    EXPECT_NE(inet.find(want), std::string::npos) << want << "\n" << inet;

  // The same state again: the same tables, not a second copy of anything.
  ASSERT_TRUE(nft_->apply(two));
  EXPECT_EQ(list("bridge"), bridge);
  EXPECT_EQ(list("inet"), inet);

  // One more container, but the kernel refuses the file's last line (`create` of an element that
  // exists, a check nft cannot make before the transaction): nothing of the file is installed.
  std::string broken = isolation::render_isolation_ruleset(options_, containers(3));
  broken += "create element bridge " + table_ + " sources { \"vlp0af9000a\" . 00:16:3e:f9:00:0a . 10.249.0.10 }\n";
  EXPECT_FALSE(nft_->apply(broken));
  EXPECT_EQ(list("bridge"), bridge);
  EXPECT_EQ(list("inet"), inet);

  // Fewer containers: the removed one's elements are gone (replaced, not merged).
  ASSERT_TRUE(nft_->apply(isolation::render_isolation_ruleset(options_, containers(1))));
  EXPECT_EQ(list("bridge").find("vlp0af9000b"), std::string::npos) << list("bridge");

  // Empty sets and every option off are valid nft too.
  isolation::IsolationOptions bare = options_;
  bare.isolate_owners = false;
  bare.masquerade = false;
  bare.host_ports.clear();
  bare.deny_destinations.clear();
  ASSERT_TRUE(nft_->apply(isolation::render_isolation_ruleset(bare, {})));
  ASSERT_TRUE(nft_->apply(isolation::render_isolation_ruleset(options_, {})));

  ASSERT_TRUE(nft_->apply(isolation::render_isolation_removal(table_)));
  EXPECT_EQ(list("bridge"), "");
  EXPECT_EQ(list("inet"), "");
  EXPECT_TRUE(nft_->apply(isolation::render_isolation_removal(table_)));
}

// The element changes a create or delete sends are what nft accepts, and leave both tables as the
// whole render of the same state (with the same owner numbers) would.
TEST_F(IsolationNft, ElementChangesLeaveWhatTheWholeTablesWould) {
  network::NftTableSync sync(*nft_);
  std::mt19937 rng(5);
  const auto all = containers(12);
  std::vector<isolation::IsolatedContainer> state;
  isolation::OwnerNumbers owners;
  for (int step = 0; step < 30; ++step) {
    state.clear();
    for (const auto& c : all)
      if (rng() % 2) state.push_back(c);
    owners = isolation::number_owners(state, owners);
    const auto e = isolation::isolation_elements(options_, state, owners);
    ASSERT_TRUE(sync.sync(e, [&] { return isolation::render_isolation_tables(options_, e); })) << "step " << step;
  }
  EXPECT_EQ(sync.whole_applies(), 1u) << "nft refused a difference";
  const std::string bridge = list("bridge"), inet = list("inet");
  ASSERT_TRUE(nft_->apply(
      isolation::render_isolation_tables(options_, isolation::isolation_elements(options_, state, owners))));
  EXPECT_EQ(list("bridge"), bridge);
  EXPECT_EQ(list("inet"), inet);
}

TEST_F(IsolationNft, ApplyTimeBySize) {
  // Medians of 5 applies each (each replaces the tables, as every create and delete does).
  for (int n : {1, 50, 500}) {
    const std::string text = isolation::render_isolation_ruleset(options_, containers(n));
    std::vector<double> ms;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_TRUE(nft_->apply(text)) << n;
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << "[ measure ] isolation apply, " << n << " containers: median " << ms[2] << " ms (min " << ms.front()
              << ", max " << ms.back() << ")\n";
    EXPECT_NE(list("bridge").find(network::veth_name_for(options_.subnet + 10 + static_cast<uint32_t>(n - 1))),
              std::string::npos);
  }
}

}  // namespace
}  // namespace lxcprov
