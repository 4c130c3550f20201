// Incremental nftables changes (network/nft_elements.hpp, network/nft_table_sync.hpp): for random
// sequences of states, the whole table rendered from the last state equals the first state's whole
// table with each step's element changes applied (through tests/fakes/nft_model.hpp, which refuses
// what nft would refuse); NftTableSync applies differences, and the whole table when it knows
// nothing or the difference is refused.

#include <gtest/gtest.h>

#include <random>

#include "../fakes/nft_model.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "isolation/isolation_ruleset.hpp"
#include "network/ip_pool.hpp"
#include "network/nft_table_sync.hpp"

namespace lxcprov {
namespace {

using testing::NftModel;

uint32_t ip(const char* text) { return *network::parse_ipv4(text); }

TEST(NftElements, DiffDeletesFirstThenAddsAndAChangedValueIsBoth) {
  network::NftTableElements a{"inet", "t", {{"m", {{"1", " : 10.0.0.1 . 22"}, {"2", " : 10.0.0.2 . 22"}}}}};
  network::NftTableElements b{"inet", "t", {{"m", {{"2", " : 10.0.0.3 . 22"}, {"3", " : 10.0.0.4 . 22"}}}}};
  const auto changes = network::diff_elements(a, b);
  EXPECT_EQ(network::render_element_changes("inet", "t", changes),
            "delete element inet t m { 1 }\n"
            "delete element inet t m { 2 }\n"
            "add element inet t m { 2 : 10.0.0.3 . 22 }\n"
            "add element inet t m { 3 : 10.0.0.4 . 22 }\n");
  EXPECT_TRUE(network::diff_elements(b, b).empty());
}

std::vector<forwarding::Forward> random_forwards(std::mt19937& rng) {
  std::vector<forwarding::Forward> out;
  std::set<std::pair<std::string, uint16_t>> used;
  const int n = std::uniform_int_distribution<int>(0, 12)(rng);
  for (int i = 0; i < n; ++i) {
    const std::string proto = rng() % 3 == 0 ? "udp" : "tcp";
    const auto port = static_cast<uint16_t>(2200 + rng() % 16);
    if (!used.insert({proto, port}).second) continue;  // UNIQUE (proto, public port) in the store
    out.push_back({"c" + std::to_string(rng() % 5), rng() % 2 ? "SSH" : "NTP", proto, port,
                   ip("10.47.0.10") + static_cast<uint32_t>(rng() % 6), static_cast<uint16_t>(22 + rng() % 3)});
  }
  return out;
}

TEST(NftElements, ForwardsWholeTableEqualsTheChangesAppliedForRandomSequences) {
  forwarding::NftOptions o;
  o.table = "lxcprov";
  o.subnet = ip("10.47.0.0");
  std::mt19937 rng(12);
  for (int run = 0; run < 200; ++run) {
    auto state = random_forwards(rng);
    NftModel model;
    ASSERT_TRUE(model.apply(forwarding::render_nft_ruleset(o, state)));
    auto before = forwarding::forward_elements(o.table, state);
    for (int step = 0; step < 8; ++step) {
      state = random_forwards(rng);
      const auto after = forwarding::forward_elements(o.table, state);
      const std::string changes =
          network::render_element_changes("inet", o.table, network::diff_elements(before, after));
      ASSERT_TRUE(model.apply(changes)) << changes;
      NftModel whole;
      ASSERT_TRUE(whole.apply(forwarding::render_nft_ruleset(o, state)));
      ASSERT_EQ(model, whole) << "run " << run << " step " << step << "\n" << changes << model.text() << whole.text();
      before = after;
    }
  }
}

std::vector<isolation::IsolatedContainer> random_containers(std::mt19937& rng) {
  std::vector<isolation::IsolatedContainer> out;
  for (uint32_t i = 0; i < 12; ++i) {
    if (rng() % 2) continue;
    const uint32_t a = ip("10.47.0.10") + i;
    char mac[18];
    std::snprintf(mac, sizeof mac, "00:16:3e:%02x:%02x:%02x", (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
    out.push_back({"c" + std::to_string(i), "user" + std::to_string(rng() % 4), a, mac, network::veth_name_for(a)});
  }
  return out;
}

TEST(NftElements, IsolationWholeTablesEqualTheChangesAppliedForRandomSequences) {
  isolation::IsolationOptions o;
  o.table = "lxcprov_iso";
  o.gateway = ip("10.47.0.1");
  o.subnet = ip("10.47.0.0");
  std::mt19937 rng(7);
  for (int run = 0; run < 200; ++run) {
    o.isolate_owners = run % 4 != 0;
    auto state = random_containers(rng);
    auto owners = isolation::number_owners(state, {});
    NftModel model;
    auto before = isolation::isolation_elements(o, state, owners);
    ASSERT_TRUE(model.apply(isolation::render_isolation_tables(o, before)));
    for (int step = 0; step < 8; ++step) {
      state = random_containers(rng);
      const auto previous = owners;
      owners = isolation::number_owners(state, owners);
      // An owner that stays keeps its number, so its containers' elements are not rewritten.
      for (const auto& [owner, number] : owners)
        if (previous.count(owner)) {
          ASSERT_EQ(previous.at(owner), number);
        }
      std::set<uint32_t> distinct;
      for (const auto& [owner, number] : owners) ASSERT_TRUE(distinct.insert(number).second) << "owners share a mark";
      const auto after = isolation::isolation_elements(o, state, owners);
      const std::string changes =
          network::render_element_changes("bridge", o.table, network::diff_elements(before, after));
      ASSERT_TRUE(model.apply(changes)) << changes;
      NftModel whole;
      ASSERT_TRUE(whole.apply(isolation::render_isolation_tables(o, after)));
      ASSERT_EQ(model, whole) << "run " << run << " step " << step << "\n" << changes;
      before = after;
    }
  }
}

TEST(NftElements, OwnersWithoutPreviousNumbersAreNumberedInNameOrder) {
  std::vector<isolation::IsolatedContainer> cs{
      {"a", "zed", 1, "", ""}, {"b", "amy", 2, "", ""}, {"c", "zed", 3, "", ""}};
  EXPECT_EQ(isolation::number_owners(cs, {}), (isolation::OwnerNumbers{{"amy", 1}, {"zed", 2}}));
  // amy's containers are gone, bob arrives: zed keeps 2, bob takes the lowest free number.
  cs = {{"a", "zed", 1, "", ""}, {"d", "bob", 4, "", ""}};
  EXPECT_EQ(isolation::number_owners(cs, {{"amy", 1}, {"zed", 2}}), (isolation::OwnerNumbers{{"bob", 1}, {"zed", 2}}));
}

// An applier that keeps what nft would hold and can be told to refuse.
class ModelApplier : public network::RulesetApplier {
 public:
  Status apply(const std::string& text) override {
    texts.push_back(text);
    if (refuse_next) {
      refuse_next = false;
      return make_error(refusal, "refused");
    }
    return model.apply(text);
  }
  NftModel model;
  std::vector<std::string> texts;
  bool refuse_next = false;
  Errc refusal = Errc::unavailable;
};

// The forwards table kept by an NftTableSync over the model: `fs` is the state, apply() syncs it.
struct ForwardsSync {
  forwarding::NftOptions o;
  ModelApplier nft;
  network::NftTableSync sync{nft};
  std::vector<forwarding::Forward> fs;
  Status apply() {
    const auto e = forwarding::forward_elements(o.table, fs);
    return sync.sync(e, [&] { return forwarding::render_nft_table(o, e); });
  }
};

TEST(NftTableSync, WholeFirstThenDifferencesAndNothingForNoChange) {
  ForwardsSync f;
  f.fs = {{"web", "SSH", "tcp", 2222, ip("10.47.0.10"), 22}};
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.sync.whole_applies(), 1u);
  f.fs.push_back({"api", "SSH", "tcp", 2223, ip("10.47.0.11"), 22});
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.nft.texts.back(),
            "add element inet lxcprov tcp_forwards { 2223 comment \"api SSH\" : 10.47.0.11 . 22 }\n");
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.nft.texts.size(), 2u) << "no change, no nft";
  EXPECT_EQ(f.sync.whole_applies(), 1u);
  NftModel whole;
  ASSERT_TRUE(whole.apply(forwarding::render_nft_ruleset(f.o, f.fs)));
  EXPECT_EQ(f.nft.model, whole);
}

TEST(NftTableSync, ARefusedDifferenceIsRepairedByTheWholeTable) {
  ForwardsSync f;
  f.fs = {{"web", "SSH", "tcp", 2222, ip("10.47.0.10"), 22}};
  ASSERT_TRUE(f.apply());
  // Someone removed the table behind lxcprovd's back: deleting web's element is refused.
  ASSERT_TRUE(f.nft.model.apply("add table inet lxcprov\ndelete table inet lxcprov\ntable inet lxcprov {\n}\n"));
  f.fs.clear();
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.sync.whole_applies(), 2u);
  NftModel whole;
  ASSERT_TRUE(whole.apply(forwarding::render_nft_ruleset(f.o, f.fs)));
  EXPECT_EQ(f.nft.model, whole);
}

TEST(NftTableSync, AFailedWholeApplyIsAnErrorAndTheNextSyncIsWholeAgain) {
  ForwardsSync f;
  f.nft.refuse_next = true;
  EXPECT_FALSE(f.apply());
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.sync.whole_applies(), 2u);
  // A transport error of a difference is returned as it is, and not answered with the whole table.
  f.fs.push_back({"web", "SSH", "tcp", 2222, ip("10.47.0.10"), 22});
  f.nft.refuse_next = true;
  f.nft.refusal = Errc::io;
  EXPECT_FALSE(f.apply());
  EXPECT_EQ(f.sync.whole_applies(), 2u);
  ASSERT_TRUE(f.apply());
  EXPECT_EQ(f.sync.whole_applies(), 2u) << "the refused difference changed nothing, so it is still known";
}

}  // namespace
}  // namespace lxcprov
