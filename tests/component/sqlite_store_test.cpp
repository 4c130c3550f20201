// Component tests of what is SQLite's own in state::SqliteStore, against real files in a private
// temp directory: schema migrations, pragmas, file mode, and reservations from many processes on
// one file. The Store contract both backends keep is tested in store_contract_test.cpp.

#include "state/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "state/schema.hpp"
#include "store_records.hpp"

namespace lxcprov::state {
namespace {

namespace fs = std::filesystem;

using test_records::make_pool;
using test_records::new_container;
using test_records::new_job;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lxcprov-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << errno;
    dir_ = tmpl;
    path_ = dir_ + "/state.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<SqliteStore> open_store() {
    auto r = SqliteStore::open(path_);
    EXPECT_TRUE(r.has_value()) << r.error().message;
    return r.has_value() ? std::move(r).value() : nullptr;
  }

  // user_version read through a separate raw connection, independent of the store's view.
  int raw_user_version() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }

  void raw_exec(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string dir_;
  std::string path_;
};

// ---- open, migrations, file --------------------------------------------------------------

TEST_F(SqliteStoreTest, FreshFileIsMigratedToLatestVersion) {
  auto store = open_store();
  ASSERT_TRUE(store);
  auto v = store->schema_version();
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, schema::latest_version());
  EXPECT_GE(schema::latest_version(), 1);
  EXPECT_EQ(raw_user_version(), schema::latest_version());
}

TEST_F(SqliteStoreTest, ReopenKeepsVersionAndData) {
  {
    auto store = open_store();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
    ASSERT_TRUE(store->create_job(new_job("0000000000000001")).has_value());
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->schema_version(), schema::latest_version());
  auto c = store->find_container("web");
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->ip, "10.0.3.10");
  auto j = store->find_job("0000000000000001");
  ASSERT_TRUE(j.has_value() && j->has_value());
}

TEST_F(SqliteStoreTest, EmptyExistingDatabaseIsMigrated) {
  raw_exec("CREATE TABLE unrelated (x INTEGER)");
  ASSERT_EQ(raw_user_version(), 0);
  auto store = open_store();
  ASSERT_TRUE(store);
  EXPECT_EQ(raw_user_version(), schema::latest_version());
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  raw_exec(("PRAGMA user_version = " + std::to_string(schema::latest_version() + 1)).c_str());
  auto r = SqliteStore::open(path_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("schema version"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find(dir_), std::string::npos) << "no host paths in messages";
}

TEST_F(SqliteStoreTest, PragmasAreApplied) {
  auto store = open_store();
  ASSERT_TRUE(store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, FileModeIs0600) {
  ::umask(022);
  auto store = open_store();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->reserve_container(new_container("web"), make_pool(), 100).has_value());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // SQLite copies the database file's mode to its WAL and shared-memory files.
  for (const char* suffix : {"-wal", "-shm"}) {
    std::string p = path_ + suffix;
    if (::stat(p.c_str(), &st) == 0) {
      EXPECT_EQ(st.st_mode & 07777, 0600u) << suffix;
    }
  }
}

TEST_F(SqliteStoreTest, LooseModeOfExistingFileIsTightened) {
  raw_exec("SELECT 1");
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto store = open_store();
  ASSERT_TRUE(store);
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(SqliteStoreTest, MissingParentDirectoryIsAnIoError) {
  auto r = SqliteStore::open(dir_ + "/missing/state.db");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_FALSE(fs::exists(dir_ + "/missing"));
}

TEST_F(SqliteStoreTest, SymlinkIsRefused) {
  std::string target = dir_ + "/real.db";
  fs::create_symlink(target, path_);
  auto r = SqliteStore::open(path_);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::io);
}

TEST_F(SqliteStoreTest, ConcurrentOpensOfAFreshFileAllSucceed) {
  constexpr int kThreads = 20;
  std::latch start(kThreads);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      start.arrive_and_wait();
      auto r = SqliteStore::open(path_);
      if (r.has_value() && *r.value()->schema_version() == schema::latest_version())
        ++ok;
      else if (!r.has_value())
        ADD_FAILURE() << r.error().message;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
}

// ---- containers ------------------------------------------------------------------------------

// ---- many processes on one file ------------------------------------------------------------

TEST_F(SqliteStoreTest, TenProcessesReserveDistinctNames) {
  ASSERT_TRUE(open_store());  // migrate before forking; no connection is open across fork()
  constexpr int kChildren = 10;
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::vector<pid_t> pids;
  for (int i = 0; i < kChildren; ++i) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(go[1]);
      // Each child opens first, then waits for the parent to close the pipe so the
      // reservations start together.
      auto store = SqliteStore::open(path_);
      char c;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      if (!store.has_value()) ::_exit(10);
      auto pool = make_pool();
      auto r = store.value()->reserve_container(new_container("proc" + std::to_string(i)), pool, 100);
      ::_exit(r.has_value() ? 0 : 11);
    }
    pids.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);  // release every child at once
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  }
  auto store = open_store();
  ASSERT_TRUE(store);
  auto all = store->list_containers("");
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), static_cast<std::size_t>(kChildren));
  std::set<std::string> ips;
  std::set<int64_t> ctids;
  for (const auto& r : *all) {
    ips.insert(r.ip);
    ctids.insert(r.ctid);
  }
  EXPECT_EQ(ips.size(), static_cast<std::size_t>(kChildren));
  EXPECT_EQ(ctids.size(), static_cast<std::size_t>(kChildren));
}

}  // namespace
}  // namespace lxcprov::state
