// Component tests of what is PostgreSQL's own in state::PgStore and its record sets, against a
// throwaway server (tests/fixtures/pg_server.hpp): migrations (daemons starting together migrate
// once), the node registry, jobs recovered per node, reconnecting after the server restarts, and
// errors that never carry the connection string. The Store contract is store_contract_test.cpp.

#include "state/pg_store.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "../fixtures/pg_server.hpp"
#include "state/pg_listener.hpp"
#include "state/pg_records.hpp"
#include "state/pg_schema.hpp"
#include "store_records.hpp"

namespace lxcprov::state {
namespace {

using test_records::make_pool;

using test_records::new_container;

NodeRecord node(const std::string& name, const std::string& subnet) {
  NodeRecord n;
  n.name = name;
  n.endpoint = name + ".example:22";
  n.subnet = subnet;
  n.templates = {"busybox", "debian"};
  return n;
}

bool eventually_claims(PgStore& s) {
  for (int i = 0; i < 100; ++i) {
    if (s.claim_node()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    pg_ = lxcprov::testing::PgServer::shared(why);
    ASSERT_NE(pg_, nullptr) << why;
    conninfo_ = pg_->create_database(why);
    ASSERT_FALSE(conninfo_.empty()) << why;
    db_ = conninfo_.substr(conninfo_.rfind("dbname=") + 7);
  }

  std::unique_ptr<PgStore> open_store(const std::string& node_name = "node-a") {
    auto r = PgStore::open(conninfo_, node_name);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? std::move(r).value() : nullptr;
  }

  lxcprov::testing::PgServer* pg_ = nullptr;
  std::string conninfo_, db_;
};

TEST_F(PgStoreTest, AFreshDatabaseIsMigratedOnceByDaemonsStartingTogether) {
  constexpr int n = 12;
  std::latch start(n);
  std::atomic<int> opened{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = PgStore::open(conninfo_, "node-a");
      if (r)
        ++opened;
      else
        ADD_FAILURE() << r.error().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), n);
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version().value_or(-1), pg_schema::latest_version());
  // One version row, not one per opener.
  EXPECT_EQ(
      pg_->exec(db_, "DO $$ BEGIN IF (SELECT COUNT(*) FROM lxcprov_schema) <> 1 THEN RAISE 'rows'; END IF; END $$"),
      "");
}

TEST_F(PgStoreTest, ANewerSchemaIsRefused) {
  ASSERT_TRUE(open_store());
  ASSERT_EQ(pg_->exec(db_, "UPDATE lxcprov_schema SET version = " + std::to_string(pg_schema::latest_version() + 1)),
            "");
  auto r = PgStore::open(conninfo_, "node-a");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("is not supported by this lxcprovd"), std::string::npos) << r.error().message;
}

TEST_F(PgStoreTest, AFailedConnectionSaysWhyButNeverTheConnectionString) {
  const std::string secret = "hunter2-secret";
  auto r = PgStore::open("host=" + pg_->dir() + " port=1 user=postgres password=" + secret + " dbname=nope", "node-a");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("state database: cannot connect"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(secret), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
  // libpq's own parse errors quote the string: never shown.
  for (const std::string& bad : {"host=x password='" + secret, "postgresql://u:" + secret + "%zz@h/db"}) {
    auto p = PgStore::open(bad, "node-a");
    ASSERT_FALSE(p.has_value()) << bad;
    EXPECT_EQ(p.error().message.find(secret), std::string::npos) << p.error().message;
  }
}

TEST_F(PgStoreTest, ContainersAndJobsAreRecordedAsTheirNodesAndEachNodeRecoversOnlyItsOwnJobs) {
  auto a = open_store("node-a");
  auto b = open_store("node-b");
  ASSERT_TRUE(a && b);
  auto on_a = a->reserve_container(new_container("web"), make_pool(), 100);
  ASSERT_TRUE(on_a.has_value()) << on_a.error().message;
  EXPECT_EQ(on_a->node, "node-a");
  auto on_b = b->reserve_container(new_container("db"), make_pool(), 100);
  ASSERT_TRUE(on_b.has_value());
  EXPECT_EQ(on_b->node, "node-b");
  EXPECT_EQ((*b->find_container("web"))->node, "node-a") << "every node sees every container";

  JobRecord j;
  j.id = "00000000000000a1";
  j.container = "web";
  j.user = "alice";
  ASSERT_TRUE(a->create_job(j).has_value());
  j.id = "00000000000000b1";
  j.container = "db";
  ASSERT_TRUE(b->create_job(j).has_value());
  auto mine = a->unfinished_jobs();
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, "00000000000000a1");
  EXPECT_EQ((*mine)[0].node, "node-a");
  EXPECT_EQ((*b->unfinished_jobs())[0].id, "00000000000000b1");
  // A job is readable from any node (status and logs through the entry).
  EXPECT_EQ((*b->find_job("00000000000000a1"))->node, "node-a");
}

TEST_F(PgStoreTest, TwoNodesNeverHoldTheSameNameOrAddress) {
  // Two daemons on two nodes, each with its own connection, racing for names and addresses of
  // one pool: the constraints, not the callers, keep one owner of each.
  auto a = open_store("node-a");
  auto b = open_store("node-b");
  ASSERT_TRUE(a && b);
  constexpr int rounds = 40;
  std::atomic<int> conflicts{0};
  std::latch start(2);
  auto run = [&](PgStore& s) {
    start.arrive_and_wait();
    for (int i = 0; i < rounds; ++i) {
      auto r = s.reserve_container(new_container("c" + std::to_string(i)), make_pool(), 100);
      if (!r && r.error().code == Errc::conflict)
        ++conflicts;
      else if (!r)
        ADD_FAILURE() << r.error().message;
    }
  };
  std::thread ta(run, std::ref(*a)), tb(run, std::ref(*b));
  ta.join();
  tb.join();
  EXPECT_EQ(conflicts.load(), rounds);
  auto all = a->list_containers("");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<size_t>(rounds));
  std::set<std::string> ips;
  std::set<int64_t> ctids;
  for (const auto& c : *all) {
    ips.insert(c.ip);
    ctids.insert(c.ctid);
  }
  EXPECT_EQ(ips.size(), static_cast<size_t>(rounds));
  EXPECT_EQ(ctids.size(), static_cast<size_t>(rounds));
}

TEST_F(PgStoreTest, NodesAreAddedListedWithTheirContainersDrainedAndRemovedWhenEmpty) {
  auto s = open_store("hv1");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->add_node(node("hv2", "10.0.4.0/24")).has_value());
  ASSERT_TRUE(s->add_node(node("hv1", "10.0.3.0/24")).has_value());
  auto same_name = s->add_node(node("hv1", "10.0.9.0/24"));
  ASSERT_FALSE(same_name.has_value());
  EXPECT_EQ(same_name.error().code, Errc::conflict);
  auto same_subnet = s->add_node(node("hv3", "10.0.4.0/24"));
  ASSERT_FALSE(same_subnet.has_value());
  EXPECT_EQ(same_subnet.error().code, Errc::conflict);

  ASSERT_TRUE(s->reserve_container(new_container("web"), make_pool(), 100).has_value());
  auto nodes = s->list_nodes();
  ASSERT_TRUE(nodes.has_value());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].name, "hv1");
  EXPECT_EQ((*nodes)[0].containers, 1);
  EXPECT_EQ((*nodes)[0].templates, (std::vector<std::string>{"busybox", "debian"}));
  EXPECT_EQ((*nodes)[0].seen_at, 0) << "never seen until its daemon reports";
  EXPECT_GT((*nodes)[0].added_at, 0);
  EXPECT_EQ((*nodes)[1].name, "hv2");
  EXPECT_EQ((*nodes)[1].containers, 0);

  ASSERT_TRUE(s->set_node_draining("hv2", true).has_value());
  EXPECT_TRUE((*s->list_nodes())[1].draining);
  ASSERT_TRUE(s->set_node_draining("hv2", false).has_value());
  EXPECT_FALSE((*s->list_nodes())[1].draining);
  EXPECT_EQ(s->set_node_draining("hv9", true).error().code, Errc::not_found);

  ASSERT_TRUE(s->node_seen("hv1", 16'000'000, 12'000'000).has_value());
  const auto seen = (*s->list_nodes())[0];
  EXPECT_EQ(seen.memory_total_kb, 16'000'000);
  EXPECT_EQ(seen.memory_available_kb, 12'000'000);
  EXPECT_GT(seen.seen_at, 0);
  EXPECT_EQ(s->node_seen("hv9", 1, 1).error().code, Errc::not_found);

  auto busy = s->remove_node("hv1");
  ASSERT_FALSE(busy.has_value());
  EXPECT_EQ(busy.error().code, Errc::conflict);
  EXPECT_NE(busy.error().message.find("still has 1 container"), std::string::npos) << busy.error().message;
  ASSERT_TRUE(s->remove_node("hv2").has_value());
  EXPECT_EQ(s->remove_node("hv2").error().code, Errc::not_found);
  EXPECT_EQ(s->list_nodes()->size(), 1u);
}

TEST_F(PgStoreTest, TheStoreReconnectsAfterTheServerRestarts) {
  // Its own server: restarting the shared one would cut the other tests' databases.
  std::string why;
  auto own = lxcprov::testing::PgServer::start(why);
  ASSERT_TRUE(own) << why;
  ASSERT_EQ(own->exec("postgres", "CREATE DATABASE r"), "");
  auto r = PgStore::open(own->conninfo("r"), "node-a");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto& store = **r;
  ASSERT_TRUE(store.reserve_container(new_container("before"), make_pool(), 100).has_value());
  ASSERT_TRUE(own->restart(why)) << why;
  // The first call after the restart finds the connection cut and reconnects before it runs.
  auto found = store.find_container("before");
  ASSERT_TRUE(found.has_value()) << found.error().message;
  ASSERT_TRUE(found->has_value());
  auto after = store.reserve_container(new_container("after"), make_pool(), 100);
  ASSERT_TRUE(after.has_value()) << after.error().message;
  EXPECT_EQ(after->ip, "10.0.3.11");
}

TEST_F(PgStoreTest, OnceNodesAreRegisteredOnlyARegisteredNodeReservesAndOneDaemonServesEachNode) {
  auto a = open_store("node-a");
  auto ghost = open_store("ghost");
  ASSERT_TRUE(a && ghost);
  // No registry yet (PostgreSQL as one host's state): any node reserves.
  ASSERT_TRUE(ghost->reserve_container(new_container("early"), make_pool(), 100).has_value());
  ASSERT_TRUE(a->add_node(node("node-a", "10.0.3.0/24")).has_value());
  auto refused = ghost->reserve_container(new_container("late"), make_pool(), 100);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::unavailable);
  EXPECT_NE(refused.error().message.find("node ghost is not in the fleet's registry"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(a->reserve_container(new_container("late"), make_pool(), 100).has_value());

  // Two daemons configured as the same node would undo each other's jobs at start-up.
  ASSERT_TRUE(a->claim_node().has_value());
  auto twin = open_store("node-a");
  ASSERT_TRUE(twin);
  auto second = twin->claim_node();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_NE(second.error().message.find("another lxcprovd already serves node node-a"), std::string::npos)
      << second.error().message;
  a.reset();  // its connection, and so its claim, ends
  EXPECT_TRUE(eventually_claims(*twin)) << "the claim ends with the daemon that held it";
}

TEST_F(PgStoreTest, EachNodeSealsItsOwnCopyOfATemplate) {
  auto a = open_store("node-a");
  auto b = open_store("node-b");
  ASSERT_TRUE(a && b);
  TemplateSealRecord seal;
  seal.name = "tpl-busybox";
  seal.content_sha256 = std::string(64, 'a');
  seal.fingerprint_sha256 = std::string(64, 'b');
  seal.config_sha256 = std::string(64, 'c');
  seal.entries = 10;
  ASSERT_TRUE(a->put_template_seal(seal, std::string("\0manifest\xff", 10)).has_value());
  EXPECT_FALSE(b->find_template_seal("tpl-busybox")->has_value()) << "node-b's copy is not sealed by node-a's seal";
  seal.fingerprint_sha256 = std::string(64, 'd');
  ASSERT_TRUE(b->put_template_seal(seal, "other").has_value());
  EXPECT_EQ((*a->find_template_seal("tpl-busybox"))->fingerprint_sha256, std::string(64, 'b'));
  EXPECT_EQ((*b->find_template_seal("tpl-busybox"))->fingerprint_sha256, std::string(64, 'd'));
  EXPECT_EQ(**a->template_seal_manifest("tpl-busybox"), std::string("\0manifest\xff", 10)) << "bytes, not text";
  ASSERT_TRUE(a->remove_template_seal("tpl-busybox").has_value());
  EXPECT_TRUE(a->list_template_seals()->empty());
  EXPECT_EQ(b->list_template_seals()->size(), 1u);
}

TEST_F(PgStoreTest, AgentAndThrottleRecordsKeepTheirSqliteContracts) {
  auto s = open_store();
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->reserve_container(new_container("web"), make_pool(), 100).has_value());
  auto agents = PgAgentRecords::open(conninfo_, "node-a");
  ASSERT_TRUE(agents.has_value()) << agents.error().message;
  auto& A = **agents;
  ASSERT_TRUE(A.put({"web", "", "pending", 1}).has_value());
  ASSERT_EQ(A.pending()->size(), 1u);
  auto elsewhere = PgAgentRecords::open(conninfo_, "node-b");
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_TRUE((*elsewhere)->pending()->empty()) << "node-b never retries node-a's enrollments";
  ASSERT_TRUE(A.put({"web", "007", "enrolled", 0}).has_value());
  EXPECT_TRUE(A.pending()->empty());
  EXPECT_EQ((*A.find("web"))->agent_id, "007");
  EXPECT_FALSE(A.put({"ghost", "", "pending", 0}).has_value()) << "a record needs its container";
  ASSERT_TRUE(s->release_container("web").has_value());
  EXPECT_FALSE(A.find("web")->has_value()) << "gone with its container";

  auto throttle = PgThrottleRecords::open(conninfo_);
  ASSERT_TRUE(throttle.has_value()) << throttle.error().message;
  auto& T = **throttle;
  ASSERT_TRUE(T.save({{"user:bob", 3, 1000, 0}, {"src:10.0.0.1", 9, 2000, 9000}}).has_value());
  ASSERT_TRUE(T.save({{"user:bob", 4, 1500, 0}}).has_value());
  auto loaded = T.load();
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->size(), 2u);
  EXPECT_EQ((*loaded)[1], (auth::ThrottleEntry{"user:bob", 4, 1500, 0}));
  ASSERT_TRUE(T.prune(1600, 5000).has_value());  // bob's is old and not locked; the source is locked
  loaded = T.load();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].key, "src:10.0.0.1");
  ASSERT_TRUE(T.forget("src:10.0.0.1").has_value());
  EXPECT_TRUE(T.load()->empty());
}

}  // namespace
}  // namespace lxcprov::state

namespace lxcprov::state {
namespace {

using test_records::make_pool;
using test_records::new_container;

// What a fleet's entry waits on between beats: every change of containers, ports or a node's
// address wakes it once its transaction commits; a heartbeat, a read or a drain does not.
TEST(PgListenerTest, ChangesOfContainersPortsAndNodesWakeTheListenerAndNothingElseDoes) {
  std::string why;
  auto own = lxcprov::testing::PgServer::start(why);  // restarted below: not the shared one
  ASSERT_TRUE(own) << why;
  ASSERT_EQ(own->exec("postgres", "CREATE DATABASE l"), "");
  auto opened = PgStore::open(own->conninfo("l"), "node-a");
  ASSERT_TRUE(opened.has_value()) << opened.error().message;
  auto& store = **opened;
  auto listening = PgListener::open(own->conninfo("l"));
  ASSERT_TRUE(listening.has_value()) << listening.error().message;
  auto& listener = **listening;
  using std::chrono::milliseconds;
  const milliseconds soon(3000), quiet(300);

  EXPECT_FALSE(listener.wait(quiet)) << "nothing changed yet";
  ASSERT_TRUE(store.reserve_container(new_container("web"), make_pool(), 100).has_value());
  EXPECT_TRUE(listener.wait(soon)) << "a reservation";
  EXPECT_FALSE(listener.wait(quiet)) << "one reservation wakes the listener once";
  ASSERT_TRUE(static_cast<bool>(store.set_container_state("web", ContainerState::ready, "job-1")));
  EXPECT_TRUE(listener.wait(soon)) << "a state change";

  // Reads and the node's own bookkeeping change nothing the entry serves.
  ASSERT_TRUE(static_cast<bool>(store.add_node(NodeRecord{"node-a", "10.0.0.1", "10.0.3.0/24", {"busybox"}})));
  EXPECT_TRUE(listener.wait(soon)) << "a node added (its route)";
  ASSERT_TRUE(store.find_container("web").has_value());
  ASSERT_TRUE(static_cast<bool>(store.node_seen("node-a", 1000, 500)));
  ASSERT_TRUE(static_cast<bool>(store.set_node_draining("node-a", true)));
  EXPECT_FALSE(listener.wait(quiet)) << "a read, a heartbeat or a drain";

  // A server restart is survived, and said as a change (what
  // changed while the listener was away is unknown).
  ASSERT_TRUE(own->restart(why)) << why;
  EXPECT_TRUE(listener.wait(soon)) << "reconnected: whatever happened meanwhile counts as a change";
  ASSERT_TRUE(static_cast<bool>(store.release_container("web")));
  EXPECT_TRUE(listener.wait(soon)) << "a release, after the restart";
  EXPECT_FALSE(listener.wait(quiet));
}

}  // namespace
}  // namespace lxcprov::state
