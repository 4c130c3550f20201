// The Store contract, run against both backends: SQLite files in a private temp directory, and
// a database of its own per test on a throwaway PostgreSQL (tests/fixtures/pg_server.hpp) started
// once for the binary. Reservations, jobs, job logs and steps, deployments and seals, and
// concurrent reservations from many connections: the same guarantees from either backend.
// Backend-specific behaviour (files, pragmas, migrations, nodes) is in sqlite_store_test.cpp and
// pg_store_test.cpp.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../fixtures/pg_server.hpp"
#include "state/pg_store.hpp"
#include "state/sqlite_store.hpp"
#include "store_records.hpp"

namespace lxcprov::state {
namespace {

namespace fs = std::filesystem;

using test_records::make_pool;
using test_records::new_container;
using test_records::new_job;

enum class Backend { sqlite, postgres };

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::sqlite) {
      char tmpl[] = "/tmp/lxcprov-store-test-XXXXXX";
      ASSERT_NE(::mkdtemp(tmpl), nullptr) << errno;
      dir_ = tmpl;
      path_ = dir_ + "/state.db";
      return;
    }
    std::string why;
    pg_ = lxcprov::testing::PgServer::shared(why);
    ASSERT_NE(pg_, nullptr) << why;
    conninfo_ = pg_->create_database(why);
    ASSERT_FALSE(conninfo_.empty()) << why;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  // A store on its own connection, as another thread or process of the daemon would have.
  Result<std::unique_ptr<Store>> open_new() {
    if (GetParam() == Backend::sqlite) {
      auto r = SqliteStore::open(path_);
      if (!r) return r.error();
      return std::unique_ptr<Store>(std::move(*r));
    }
    auto r = PgStore::open(conninfo_, "node-a");
    if (!r) return r.error();
    return std::unique_ptr<Store>(std::move(*r));
  }

  std::unique_ptr<Store> open_store() {
    auto r = open_new();
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? std::move(r).value() : nullptr;
  }

  // Deletes every job behind the store's back, as an operator's SQL would.
  void delete_jobs_directly() {
    if (GetParam() == Backend::postgres) {
      const std::string db = conninfo_.substr(conninfo_.rfind("dbname=") + 7);
      ASSERT_EQ(pg_->exec(db, "DELETE FROM jobs"), "");
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    const int rc = sqlite3_exec(db, "PRAGMA foreign_keys = ON; DELETE FROM jobs;", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
  }

  std::string dir_, path_;
  lxcprov::testing::PgServer* pg_ = nullptr;
  std::string conninfo_;
};

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract, ::testing::Values(Backend::sqlite, Backend::postgres),
                         [](const ::testing::TestParamInfo<Backend>& p) {
                           return std::string(p.param == Backend::sqlite ? "Sqlite" : "Postgres");
                         });

TEST_P(StoreContract, ReserveAssignsLowestCtidAndIp) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto pool = make_pool();
  auto a = store->reserve_container(new_container("alpha"), pool, 100);
  ASSERT_TRUE(a.has_value()) << a.error().message;
  EXPECT_EQ(a->name, "alpha");
  EXPECT_EQ(a->ctid, 100);
  EXPECT_EQ(a->ip, "10.0.3.10");
  EXPECT_EQ(a->state, ContainerState::creating);
  EXPECT_EQ(a->owner, "alice");
  EXPECT_EQ(a->distribution, "debian");
  EXPECT_EQ(a->http_port, 8080);
  EXPECT_EQ(a->job_id, "00000000000000aa");
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(a->created_at, now);
  EXPECT_GE(a->created_at, now - 5);

  auto b = store->reserve_container(new_container("beta"), pool, 100);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->ctid, 101);
  EXPECT_EQ(b->ip, "10.0.3.11");

  // A higher ctid_min is honoured; lower free CTIDs below it are not used.
  auto c = store->reserve_container(new_container("gamma"), pool, 500);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->ctid, 500);
  EXPECT_EQ(c->ip, "10.0.3.12");

  auto found = store->find_container("beta");
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->ctid, 101);
  EXPECT_EQ((*found)->ip, "10.0.3.11");
  EXPECT_EQ((*found)->created_at, b->created_at);
  EXPECT_EQ((*found)->http_port, 8080);
}

TEST_P(StoreContract, FindIsCaseInsensitiveAndAbsentIsEmpty) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  auto upper = store->find_container("WEB");
  ASSERT_TRUE(upper.has_value() && upper->has_value());
  EXPECT_EQ((*upper)->name, "web");
  auto none = store->find_container("nope");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreContract, NameConflictIsCaseInsensitive) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto pool = make_pool();
  ASSERT_TRUE(store->reserve_container(new_container("web"), pool, 100).has_value());
  for (const char* name : {"web", "WEB", "Web"}) {
    auto r = store->reserve_container(new_container(name, "bob"), pool, 100);
    ASSERT_FALSE(r.has_value()) << name;
    EXPECT_EQ(r.error().code, Errc::conflict);
    EXPECT_EQ(r.error().message, "CONTAINER_NAME: is already taken");
  }
  // The failed attempts consumed nothing.
  auto next = store->reserve_container(new_container("other"), pool, 100);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->ctid, 101);
  EXPECT_EQ(next->ip, "10.0.3.11");
}

TEST_P(StoreContract, ListOrdersByNameAndFiltersByOwner) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto pool = make_pool();
  for (auto [name, owner] : {std::pair{"zeta", "alice"}, {"alpha", "bob"}, {"mid", "alice"}}) {
    ASSERT_TRUE(store->reserve_container(new_container(name, owner), pool, 100).has_value());
  }
  auto all = store->list_containers("");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "alpha");
  EXPECT_EQ((*all)[1].name, "mid");
  EXPECT_EQ((*all)[2].name, "zeta");
  auto alice = store->list_containers("alice");
  ASSERT_TRUE(alice.has_value());
  ASSERT_EQ(alice->size(), 2u);
  EXPECT_EQ((*alice)[0].name, "mid");
  EXPECT_EQ((*alice)[1].name, "zeta");
  auto nobody = store->list_containers("carol");
  ASSERT_TRUE(nobody.has_value());
  EXPECT_TRUE(nobody->empty());
}

TEST_P(StoreContract, SetStateUpdatesStateAndJob) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  ASSERT_TRUE(store->set_container_state("web", ContainerState::ready, "00000000000000bb").has_value());
  auto c = store->find_container("web");
  ASSERT_TRUE(c.has_value() && c->has_value());
  EXPECT_EQ((*c)->state, ContainerState::ready);
  EXPECT_EQ((*c)->job_id, "00000000000000bb");
  auto missing = store->set_container_state("nope", ContainerState::ready, "x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(StoreContract, TransitionChangesOnlyFromTheExpectedState) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  // Still creating: an update's lock is refused, naming the state.
  auto early = store->transition_container("web", ContainerState::ready, ContainerState::updating, "u1");
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, Errc::conflict);
  EXPECT_NE(early.error().message.find("creating"), std::string::npos) << early.error().message;
  ASSERT_TRUE(store->set_container_state("web", ContainerState::ready, "c1").has_value());
  ASSERT_TRUE(store->transition_container("web", ContainerState::ready, ContainerState::updating, "u1").has_value());
  auto c = store->find_container("web");
  ASSERT_TRUE(c.has_value() && c->has_value());
  EXPECT_EQ((*c)->state, ContainerState::updating);
  EXPECT_EQ((*c)->job_id, "u1");
  // A second lock while the first holds: conflict, and the row still names the first job.
  auto second = store->transition_container("web", ContainerState::ready, ContainerState::updating, "u2");
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, Errc::conflict);
  EXPECT_EQ((*store->find_container("web"))->job_id, "u1");
  ASSERT_TRUE(store->transition_container("web", ContainerState::updating, ContainerState::ready, "u1").has_value());
  EXPECT_EQ((*store->find_container("web"))->state, ContainerState::ready);
  auto missing = store->transition_container("nope", ContainerState::ready, ContainerState::updating, "x");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(StoreContract, TwentyConnectionsRaceForOneUpdateLockExactlyOneWins) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
    ASSERT_TRUE(store->set_container_state("web", ContainerState::ready, "c1").has_value());
  }
  constexpr int n = 20;
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < n; ++i) stores.push_back(open_store());
  std::atomic<int> won{0}, conflicts{0};
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = stores[static_cast<std::size_t>(i)]->transition_container("web", ContainerState::ready,
                                                                         ContainerState::updating, std::to_string(i));
      if (r)
        ++won;
      else if (r.error().code == Errc::conflict)
        ++conflicts;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), n - 1);
}

// ---- the quota, decided in the reservation's transaction ----------------------------------

TEST_P(StoreContract, QuotaIsCheckedInsideTheReservation) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto a = new_container("a");
  a.quota = 2;
  ASSERT_TRUE(store->reserve_container(a, make_pool(), 100).has_value());
  auto b = new_container("b");
  b.quota = 2;
  ASSERT_TRUE(store->reserve_container(b, make_pool(), 100).has_value());
  auto c = new_container("c");
  c.quota = 2;
  auto r = store->reserve_container(c, make_pool(), 100);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::permission_denied);
  EXPECT_NE(r.error().message.find("the limit is 2"), std::string::npos) << r.error().message;
  EXPECT_FALSE(store->find_container("c")->has_value()) << "nothing reserved for a refusal";
  // Another owner, and no quota (an admin), are not limited by alice's rows.
  auto d = new_container("d", "bob");
  d.quota = 2;
  EXPECT_TRUE(store->reserve_container(d, make_pool(), 100).has_value());
  EXPECT_TRUE(store->reserve_container(new_container("e"), make_pool(), 100).has_value());
}

TEST_P(StoreContract, TwoCreatesRacingAtTheQuotaExactlyOneWins) {
  // alice owns one container, her quota is two: of two creates at once (separate connections,
  // real threads, one file) exactly one may pass. Repeated, so an interleaving that lets both
  // through would show.
  constexpr int rounds = 30;
  {
    auto store = open_store();
    ASSERT_TRUE(store);
  }
  auto one = open_store(), two = open_store();
  ASSERT_TRUE(one && two);
  for (int round = 0; round < rounds; ++round) {
    const std::string base = "r" + std::to_string(round) + "-";
    ASSERT_TRUE(one->reserve_container(new_container(base + "held"), make_pool(), 100).has_value());
    std::atomic<int> won{0}, quota_refused{0};
    std::latch start(2);
    auto race = [&](Store& store, const std::string& name) {
      auto nc = new_container(name);
      nc.quota = 2;
      start.arrive_and_wait();
      auto r = store.reserve_container(nc, make_pool(), 100);
      if (r)
        ++won;
      else if (r.error().code == Errc::permission_denied)
        ++quota_refused;
    };
    std::thread a(race, std::ref(*one), base + "a"), b(race, std::ref(*two), base + "b");
    a.join();
    b.join();
    ASSERT_EQ(won.load(), 1) << "round " << round;
    ASSERT_EQ(quota_refused.load(), 1) << "round " << round;
    ASSERT_EQ(one->list_containers("alice")->size(), 2u);
    // Back to one held container for the next round.
    auto owned = one->list_containers("alice");
    ASSERT_TRUE(owned.has_value());
    for (const auto& r : *owned) ASSERT_TRUE(one->release_container(r.name).has_value());
  }
}

DeploymentRecord deployment(const std::string& release, uint16_t port) {
  DeploymentRecord d;
  d.container = "web";
  d.spec = R"({"version":1})";
  d.release = release;
  d.commit = std::string(40, 'a');
  d.http_port = port;
  d.updated_at = 1700000000;
  return d;
}

TEST_P(StoreContract, DeploymentIsPutReplacedAndSetsTheHttpPort) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  auto none = store->find_deployment("web");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());

  auto first = deployment("r1", 8080);
  ASSERT_TRUE(store->put_deployment(first).has_value());
  auto got = store->find_deployment("WEB");  // the container's name is case-insensitive here too
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ(**got, first);

  auto second = deployment("r2", 9090);
  second.commit = std::string(40, 'b');
  second.previous_spec = first.spec;
  second.previous_release = "r1";
  second.previous_commit = first.commit;
  second.previous_http_port = 8080;
  second.updated_at = 0;  // now
  ASSERT_TRUE(store->put_deployment(second).has_value());
  got = store->find_deployment("web");
  ASSERT_TRUE(got.has_value() && got->has_value());
  EXPECT_EQ((*got)->release, "r2");
  EXPECT_EQ((*got)->previous_release, "r1");
  EXPECT_EQ((*got)->previous_http_port, 8080);
  EXPECT_GT((*got)->updated_at, 1700000000);
  // The container's HTTP_PORT follows the deployment in the same transaction.
  EXPECT_EQ((*store->find_container("web"))->http_port, 9090);
}

TEST_P(StoreContract, DeploymentNeedsItsContainerAndGoesWithIt) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto orphan = store->put_deployment(deployment("r1", 8080));
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code, Errc::not_found);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  ASSERT_TRUE(store->put_deployment(deployment("r1", 8080)).has_value());
  ASSERT_TRUE(store->release_container("web").has_value());
  auto gone = store->find_deployment("web");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  // A new container of the name starts without the old one's deployment.
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  EXPECT_FALSE(store->find_deployment("web")->has_value());
}

TEST_P(StoreContract, RemovingADeploymentGivesTheContainerItsPortBack) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  ASSERT_TRUE(store->put_deployment(deployment("r1", 9090)).has_value());
  EXPECT_EQ((*store->find_container("web"))->http_port, 9090);
  ASSERT_TRUE(store->remove_deployment("web", 8080).has_value());
  EXPECT_FALSE(store->find_deployment("web")->has_value());
  EXPECT_EQ((*store->find_container("web"))->http_port, 8080);
  EXPECT_TRUE(store->remove_deployment("web", 8080).has_value()) << "absent is not an error";
  auto missing = store->remove_deployment("nope", 8080);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST_P(StoreContract, ReleaseFreesNameIpAndCtidForReuse) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto pool = make_pool();
  ASSERT_TRUE(store->reserve_container(new_container("a"), pool, 100).has_value());
  ASSERT_TRUE(store->reserve_container(new_container("b"), pool, 100).has_value());
  ASSERT_TRUE(store->reserve_container(new_container("c"), pool, 100).has_value());

  ASSERT_TRUE(store->release_container("B").has_value());  // case-insensitive too
  auto gone = store->find_container("b");
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->has_value());
  EXPECT_TRUE(store->release_container("b").has_value()) << "absent is not an error";

  auto again = store->reserve_container(new_container("b"), pool, 100);
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(again->ctid, 101);
  EXPECT_EQ(again->ip, "10.0.3.11");

  auto d = store->reserve_container(new_container("d"), pool, 100);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->ctid, 103);
  EXPECT_EQ(d->ip, "10.0.3.13");
}

TEST_P(StoreContract, PoolExhaustion) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto pool = make_pool("10.0.3.10", "10.0.3.12");
  for (const char* name : {"a", "b", "c"})
    ASSERT_TRUE(store->reserve_container(new_container(name), pool, 100).has_value());
  auto r = store->reserve_container(new_container("d"), pool, 100);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::unavailable);
  EXPECT_EQ(r.error().message, "no free IP address in the configured pool");
  // A taken name still reports the conflict, which is what the user can act on.
  auto taken = store->reserve_container(new_container("A"), pool, 100);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code, Errc::conflict);
  // Nothing was inserted by the failures; freeing one address makes room again.
  ASSERT_TRUE(store->release_container("b").has_value());
  auto d = store->reserve_container(new_container("d"), pool, 100);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->ip, "10.0.3.11");
  EXPECT_EQ(d->ctid, 101);
}

TEST_P(StoreContract, ValuesAreBoundNotInterpolated) {
  auto store = open_store();
  ASSERT_TRUE(store);
  std::string name = "x'); DROP TABLE containers; --";
  auto r = store->reserve_container(new_container(name, "o'brien"), make_pool(), 100);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  auto found = store->find_container(name);
  ASSERT_TRUE(found.has_value() && found->has_value());
  EXPECT_EQ((*found)->owner, "o'brien");
  auto list = store->list_containers("o'brien");
  ASSERT_TRUE(list.has_value());
  EXPECT_EQ(list->size(), 1u);
}

// ---- jobs ------------------------------------------------------------------------------------

TEST_P(StoreContract, JobCreateFindUpdate) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_job(new_job("0123456789abcdef")).has_value());
  auto j = store->find_job("0123456789abcdef");
  ASSERT_TRUE(j.has_value() && j->has_value());
  EXPECT_EQ((*j)->kind, JobKind::create);
  EXPECT_EQ((*j)->container, "web");
  EXPECT_EQ((*j)->user, "alice");
  EXPECT_EQ((*j)->state, JobState::pending);
  EXPECT_EQ((*j)->exit_code, 0);
  int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  EXPECT_LE((*j)->created_at, now_ms);
  EXPECT_GE((*j)->created_at, now_ms - 5000) << "milliseconds, not seconds";
  EXPECT_EQ((*j)->updated_at, (*j)->created_at);

  ASSERT_TRUE(store->update_job("0123456789abcdef", JobState::failed, "clone", 6, "no free IP").has_value());
  j = store->find_job("0123456789abcdef");
  ASSERT_TRUE(j.has_value() && j->has_value());
  EXPECT_EQ((*j)->state, JobState::failed);
  EXPECT_EQ((*j)->step, "clone");
  EXPECT_EQ((*j)->exit_code, 6);
  EXPECT_EQ((*j)->message, "no free IP");
  EXPECT_GE((*j)->updated_at, (*j)->created_at);

  auto dup = store->create_job(new_job("0123456789abcdef"));
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, Errc::conflict);

  auto missing = store->update_job("ffffffffffffffff", JobState::failed, "", 1, "");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
  auto none = store->find_job("ffffffffffffffff");
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(none->has_value());
}

TEST_P(StoreContract, ExplicitJobTimestampsAreKept) {
  auto store = open_store();
  ASSERT_TRUE(store);
  JobRecord j = new_job("0000000000000001", JobState::running, 1700000000123);
  j.updated_at = 1700000000456;
  ASSERT_TRUE(store->create_job(j).has_value());
  auto f = store->find_job(j.id);
  ASSERT_TRUE(f.has_value() && f->has_value());
  EXPECT_EQ((*f)->created_at, 1700000000123);
  EXPECT_EQ((*f)->updated_at, 1700000000456);
}

TEST_P(StoreContract, UnfinishedJobsArePendingAndRunningOnly) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_job(new_job("0000000000000003", JobState::running, 3000)).has_value());
  ASSERT_TRUE(store->create_job(new_job("0000000000000001", JobState::pending, 1000)).has_value());
  ASSERT_TRUE(store->create_job(new_job("0000000000000002", JobState::succeeded, 2000)).has_value());
  ASSERT_TRUE(store->create_job(new_job("0000000000000004", JobState::failed, 4000)).has_value());
  ASSERT_TRUE(store->create_job(new_job("0000000000000005", JobState::rolled_back, 5000)).has_value());
  auto u = store->unfinished_jobs();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->size(), 2u);
  EXPECT_EQ((*u)[0].id, "0000000000000001");
  EXPECT_EQ((*u)[1].id, "0000000000000003");

  ASSERT_TRUE(store->update_job("0000000000000001", JobState::succeeded, "done", 0, "ok").has_value());
  u = store->unfinished_jobs();
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(u->size(), 1u);
  EXPECT_EQ((*u)[0].id, "0000000000000003");
}

TEST_P(StoreContract, JobLogKeepsOrderPerJob) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_job(new_job("000000000000000a")).has_value());
  ASSERT_TRUE(store->create_job(new_job("000000000000000b")).has_value());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        store->append_job_log("000000000000000a", i % 2 ? "warn" : "info", "a" + std::to_string(i)).has_value());
    if (i % 5 == 0) {
      ASSERT_TRUE(store->append_job_log("000000000000000b", "error", "b" + std::to_string(i)).has_value());
    }
  }
  auto a = store->job_log("000000000000000a");
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->size(), 50u);
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_EQ((*a)[i].text, "a" + std::to_string(i));
    EXPECT_EQ((*a)[i].level, i % 2 ? "warn" : "info");
    if (i > 0) {
      EXPECT_GE((*a)[i].at, (*a)[i - 1].at);
    }
  }
  EXPECT_GT((*a)[0].at, int64_t{1'000'000'000'000}) << "milliseconds";
  auto b = store->job_log("000000000000000b");
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->size(), 10u);
  EXPECT_EQ((*b)[9].text, "b45");
  auto none = store->job_log("000000000000000c");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto orphan = store->append_job_log("000000000000000c", "info", "x");
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code, Errc::not_found);
}

TEST_P(StoreContract, ConcurrentLogAppendsFromTwoConnectionsGetDistinctSeqs) {
  auto s1 = open_store();
  auto s2 = open_store();
  ASSERT_TRUE(s1 && s2);
  ASSERT_TRUE(s1->create_job(new_job("000000000000000a")).has_value());
  std::latch start(2);
  auto writer = [&](Store* s, const char* tag) {
    start.arrive_and_wait();
    for (int i = 0; i < 100; ++i) {
      auto r = s->append_job_log("000000000000000a", "info", tag + std::to_string(i));
      if (!r.has_value()) ADD_FAILURE() << r.error().message;
    }
  };
  std::thread t1(writer, s1.get(), "x");
  std::thread t2(writer, s2.get(), "y");
  t1.join();
  t2.join();
  auto log = s1->job_log("000000000000000a");
  ASSERT_TRUE(log.has_value());
  ASSERT_EQ(log->size(), 200u);
  // Each writer's own lines stay in its order.
  int next_x = 0, next_y = 0;
  for (const auto& line : *log) {
    if (line.text[0] == 'x')
      EXPECT_EQ(line.text, "x" + std::to_string(next_x++));
    else
      EXPECT_EQ(line.text, "y" + std::to_string(next_y++));
  }
  EXPECT_EQ(next_x, 100);
  EXPECT_EQ(next_y, 100);
}

TEST_P(StoreContract, RecordedStepsKeepOrder) {
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->create_job(new_job("000000000000000a")).has_value());
  ASSERT_TRUE(store->create_job(new_job("000000000000000b")).has_value());
  const std::vector<std::string> steps = {"reserve", "clone", "configure", "start", "configure"};
  for (const auto& s : steps) {
    ASSERT_TRUE(store->record_step("000000000000000a", s).has_value());
    ASSERT_TRUE(store->record_step("000000000000000b", "other-" + s).has_value());
  }
  auto a = store->recorded_steps("000000000000000a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(*a, steps);
  auto b = store->recorded_steps("000000000000000b");
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->size(), steps.size());
  EXPECT_EQ((*b)[0], "other-reserve");
  auto none = store->recorded_steps("000000000000000c");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  auto orphan = store->record_step("000000000000000c", "x");
  ASSERT_FALSE(orphan.has_value());
  EXPECT_EQ(orphan.error().code, Errc::not_found);
}

TEST_P(StoreContract, StepsAndLogAreDeletedWithTheirJob) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->create_job(new_job("000000000000000a")).has_value());
    ASSERT_TRUE(store->record_step("000000000000000a", "clone").has_value());
    ASSERT_TRUE(store->append_job_log("000000000000000a", "info", "x").has_value());
  }
  delete_jobs_directly();
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->recorded_steps("000000000000000a")->empty());
  EXPECT_TRUE(store->job_log("000000000000000a")->empty());
}

// ---- concurrency -----------------------------------------------------------------------------

TEST_P(StoreContract, TwentyConnectionsRaceForOneNameExactlyOneWins) {
  ASSERT_TRUE(open_store());  // create + migrate once, so the race is about the name only
  constexpr int kThreads = 20;
  auto pool = make_pool();
  std::latch start(kThreads);
  std::atomic<int> wins{0}, conflicts{0}, others{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto store = open_new();  // its own connection, like its own process
      if (!store.has_value()) {
        ADD_FAILURE() << store.error().message;
        start.count_down();
        return;
      }
      start.arrive_and_wait();
      // Vary the case: the constraint, not the caller, must catch the collision.
      auto r = store.value()->reserve_container(new_container(i % 2 ? "Shared" : "shared", "u" + std::to_string(i)),
                                                pool, 100);
      if (r.has_value())
        ++wins;
      else if (r.error().code == Errc::conflict)
        ++conflicts;
      else {
        ++others;
        ADD_FAILURE() << r.error().message;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(conflicts.load(), kThreads - 1);
  EXPECT_EQ(others.load(), 0);
  auto store = open_store();
  auto all = store->list_containers("");
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), 1u);
}

TEST_P(StoreContract, TwentyConnectionsReserveDistinctNamesGetDistinctIpsAndCtids) {
  constexpr int kThreads = 20;
  auto pool = make_pool();
  std::latch start(kThreads);
  std::mutex m;
  std::vector<ContainerRecord> got;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      // Opening concurrently as well: on a fresh file this also races the migration.
      auto store = open_new();
      if (!store.has_value()) {
        ADD_FAILURE() << store.error().message;
        start.count_down();
        return;
      }
      start.arrive_and_wait();
      auto r = store.value()->reserve_container(new_container("c" + std::to_string(i)), pool, 100);
      if (!r.has_value()) {
        ADD_FAILURE() << r.error().message;
        return;
      }
      std::lock_guard lock(m);
      got.push_back(r.value());
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(kThreads));
  std::set<std::string> ips;
  std::set<int64_t> ctids;
  for (const auto& r : got) {
    ips.insert(r.ip);
    ctids.insert(r.ctid);
  }
  EXPECT_EQ(ips.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(ctids.size(), static_cast<std::size_t>(kThreads));
  // Lowest-free allocation leaves no holes: exactly 100..119 and .10...29.
  EXPECT_EQ(*ctids.begin(), 100);
  EXPECT_EQ(*ctids.rbegin(), 119);
  EXPECT_EQ(ips.count("10.0.3.10"), 1u);
  EXPECT_EQ(ips.count("10.0.3.29"), 1u);
}

TEST_P(StoreContract, OneStoreSharedByManyThreads) {
  auto store = open_store();
  ASSERT_TRUE(store);
  constexpr int kThreads = 16;
  auto pool = make_pool();
  std::latch start(kThreads);
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (store->reserve_container(new_container("t" + std::to_string(i)), pool, 100).has_value()) ++wins;
      (void)store->list_containers("");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), kThreads);
}

}  // namespace
}  // namespace lxcprov::state
