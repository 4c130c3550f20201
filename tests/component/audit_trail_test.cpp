// FileTrail (audit/file_trail.hpp) against a real file: appends verify, two writers (lxcprovd and
// lxcprovctl are two processes) interleave without breaking the chain, a line cut short by a crash
// is not continued, and the file is 0640. Prints the cost of an append (fdatasync included).

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "audit/chain.hpp"
#include "audit/file_trail.hpp"

namespace lxcprov::audit {
namespace {

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("lxcprov-audit-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "log" / "audit.log").string();
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<FileTrail> open_trail() {
    auto t = FileTrail::open(path_, FileTrail::Mirror::none);
    EXPECT_TRUE(t) << t.error().message;
    return t ? std::move(*t) : nullptr;
  }
  std::vector<std::string> lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  Report verified() const {
    const auto l = lines();
    return verify(std::vector<std::string_view>(l.begin(), l.end()));
  }

  std::filesystem::path dir_;
  std::string path_;
};

Event login(int i) {
  return Event{Kind::auth_password, "user" + std::to_string(i), "ssh 192.0.2.1", 1001, "", "failure", ""};
}

TEST_F(AuditTrailTest, AppendsAChainThatVerifiesInAPrivateFile) {
  auto trail = open_trail();
  ASSERT_TRUE(trail);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(trail->record(login(i)));
  const Report r = verified();
  EXPECT_TRUE(r.ok()) << r.findings.front().message;
  EXPECT_EQ(r.lines, 20u);
  EXPECT_EQ(r.head, trail->head());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((dir_ / "log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

TEST_F(AuditTrailTest, AWiderModeIsNarrowedOnOpen) {
  std::filesystem::create_directories(dir_ / "log");
  std::ofstream(path_) << "";
  ::chmod(path_.c_str(), 0666);
  ASSERT_TRUE(open_trail());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST_F(AuditTrailTest, TwoWritersInterleaveIntoOneChain) {
  // As lxcprovd and lxcprovctl do: each resumes from the other's last entry under the lock.
  auto daemon = open_trail();
  auto ctl = open_trail();
  ASSERT_TRUE(daemon && ctl);
  std::thread a([&] {
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(daemon->record(login(i)));
  });
  std::thread b([&] {
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE(ctl->record(Event{Kind::user_add, "root", "lxcprovctl", 0, "u" + std::to_string(i), "success", ""}));
  });
  a.join();
  b.join();
  const Report r = verified();
  EXPECT_TRUE(r.ok()) << r.findings.front().message;
  EXPECT_EQ(r.head.seq, 400u);
}

TEST_F(AuditTrailTest, AReopenedTrailContinuesTheChain) {
  {
    auto t = open_trail();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(t->record(login(i)));
  }
  auto t = open_trail();
  ASSERT_TRUE(t->record(login(3)));
  EXPECT_EQ(t->head().seq, 4u);
  EXPECT_TRUE(verified().ok());
}

TEST_F(AuditTrailTest, AFileMovedAsideIsLetGoAndANewChainStarts) {
  auto t = open_trail();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(t->record(login(i)));
  std::filesystem::rename(path_, path_ + ".1");
  ASSERT_TRUE(t->record(login(3)));
  EXPECT_EQ(t->head().seq, 1u);  // a new file: a new chain from the genesis value
  EXPECT_TRUE(verified().ok());
  EXPECT_EQ(lines().size(), 1u);
  std::ifstream old(path_ + ".1");
  std::vector<std::string> kept;
  for (std::string l; std::getline(old, l);) kept.push_back(l);
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_TRUE(verify(std::vector<std::string_view>(kept.begin(), kept.end())).ok());
}

TEST_F(AuditTrailTest, ALineCutShortByACrashIsReportedAndNotContinued) {
  {
    auto t = open_trail();
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(t->record(login(i)));
  }
  std::ofstream(path_, std::ios::app) << "{\"seq\":4,\"time\":\"2026";  // the crash
  auto t = open_trail();
  ASSERT_TRUE(t->record(login(4)));
  const auto l = lines();
  ASSERT_EQ(l.size(), 5u);
  EXPECT_EQ(parse_line(l[4])->seq, 4u);  // chained to entry 3, on a line of its own
  const Report r = verified();
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].kind, Finding::Kind::malformed);
  EXPECT_EQ(r.findings[0].line, 4u);
}

TEST_F(AuditTrailTest, ResumesFromTheLastEntryOfALargeFile) {
  // Entries beyond the first 64 KiB chunk read back: the resume grows its window.
  {
    auto t = open_trail();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(t->record(login(i)));
  }
  std::ofstream(path_, std::ios::app) << std::string(200 * 1024, 'x') << "\n";  // garbage after
  auto t = open_trail();
  ASSERT_TRUE(t->record(login(10)));
  EXPECT_EQ(t->head().seq, 11u);
}

TEST_F(AuditTrailTest, CostOfAnAppendAndOfVerifying) {
  auto t = open_trail();
  constexpr int n = 500;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(t->record(login(i)));
  const auto append_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
  // Verify cost on a larger trail, built in memory (no fsync) and written once.
  {
    Chain chain(t->head());
    std::ofstream out(path_, std::ios::app);
    for (int i = 0; i < 100'000 - n; ++i) out << chain.append(login(i), std::chrono::system_clock::now()) << "\n";
  }
  std::ifstream in(path_);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  const auto v0 = std::chrono::steady_clock::now();
  std::vector<std::string_view> views;
  for (std::size_t b = 0, e; b < text.size(); b = e + 1) {
    e = text.find('\n', b);
    views.push_back(std::string_view(text).substr(b, e - b));
  }
  const Report r = verify(views);
  const auto verify_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - v0).count();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.head.seq, 100'000u);
  std::cout << "[ figures  ] append with fdatasync: " << append_us << " us/entry; verify of 100000 entries ("
            << text.size() / 1024 << " KiB): " << verify_ms << " ms\n";
}

}  // namespace
}  // namespace lxcprov::audit
