// lxcprovd and its service manager, for real but without systemd as PID 1: the built lxcprovd runs
// with NOTIFY_SOCKET pointing at a datagram socket this test owns (READY=1, WATCHDOG=1 at half of
// WATCHDOG_USEC, STOPPING=1 on SIGTERM), and with a listening socket passed the way systemd's
// socket activation passes it (fd 3, LISTEN_FDS=1, LISTEN_PID=its pid).
// Every feature with host-wide state (nft tables, nginx) is off; the daemon's files live in a
// directory of the test's own.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/frame.hpp"
#include "protocol/messages.hpp"

namespace lxcprov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  return a;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class ServiceManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = "/tmp/lxcprov-sm-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    socket_ = dir_ + "/lxcprovd.sock";
    log_ = dir_ + "/lxcprovd.log";
    nlohmann::json cfg = {
        {"socket", socket_},
        {"database", dir_ + "/state/state.db"},
        {"lxcpath", dir_ + "/lxc"},
        {"passwd_file", dir_ + "/passwd"},
        {"audit_log", dir_ + "/audit/audit.log"},
        {"keys_file", dir_ + "/keys"},
        {"authorized_keys_dir", dir_ + "/authorized_keys"},
        {"distributions", {{"busybox", {{"template", "tpl-busybox"}}}}},
        {"ports", {{"enabled", false}}},
        {"isolation", {{"enabled", false}}},
        {"http", {{"enabled", false}}},
    };
    std::ofstream(dir_ + "/lxcprovd.json") << cfg.dump(2) << "\n";

    // The service manager's end: a datagram socket, as systemd's NOTIFY_SOCKET is.
    notify_path_ = dir_ + "/notify.sock";
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(notify_fd_, 0);
    sockaddr_un a = unix_address(notify_path_);
    ASSERT_EQ(::bind(notify_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (notify_fd_ >= 0) ::close(notify_fd_);
    if (::testing::Test::HasFailure()) std::cerr << "lxcprovd log:\n" << read_text(log_);
    fs::remove_all(dir_);
  }

  /// Starts lxcprovd; `listen_fd` >= 0 is passed as fd 3 with LISTEN_FDS/LISTEN_PID.
  void start(std::optional<int> watchdog_usec, int listen_fd = -1) {
    const std::string bin = std::string(LXCPROV_BUILD_DIR) + "/daemon/lxcprovd";
    ASSERT_TRUE(fs::exists(bin)) << bin << " is not built";
    const std::string config = dir_ + "/lxcprovd.json";
    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      if (listen_fd >= 0) {
        ::dup2(listen_fd, 3);  // dup2 clears FD_CLOEXEC on the copy
        ::setenv("LISTEN_FDS", "1", 1);
        ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
      }
      ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
      // Under scripts/test.sh's ASan build the daemon is instrumented too: its exit status is
      // what these tests read, and a leak report at exit would replace it.
      ::setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
      if (watchdog_usec) {
        ::setenv("WATCHDOG_USEC", std::to_string(*watchdog_usec).c_str(), 1);
        ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
      }
      ::execl(bin.c_str(), bin.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(log_fd);
    ASSERT_GT(pid_, 0);
  }

  /// The next notification's text, or nullopt when none came within `timeout`.
  std::optional<std::string> next_notice(std::chrono::milliseconds timeout) {
    pollfd p{notify_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::recv(notify_fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }

  /// Waits for a notification holding `line` (a whole line, e.g. "READY=1"); the others seen on
  /// the way are appended to `seen`.
  bool wait_for(const std::string& line, std::chrono::milliseconds timeout, std::vector<std::string>* seen = nullptr) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto notice = next_notice(left);
      if (!notice) return false;
      std::istringstream lines(*notice);
      for (std::string l; std::getline(lines, l);)
        if (l == line) return true;
      if (seen) seen->push_back(*notice);
    }
    return false;
  }

  int stop_and_wait() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + 30s;
    while (::waitpid(pid_, &status, WNOHANG) == 0 && Clock::now() < deadline) ::usleep(20'000);
    if (Clock::now() >= deadline) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  std::string dir_, socket_, log_, notify_path_;
  int notify_fd_ = -1;
  pid_t pid_ = -1;
};

/// A listening unix socket at `path`, as systemd's ListenStream= makes it.
int listening_socket(const std::string& path, mode_t mode) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = unix_address(path);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 16) != 0) return -1;
  ::chmod(path.c_str(), mode);
  return fd;
}

/// Connects to `path`, sends a hello for `exists` without credentials and returns the first frame
/// the daemon answers with (a prompt or a final), or nullopt.
std::optional<nlohmann::json> first_answer(const std::string& path, std::chrono::milliseconds timeout = 10s) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a = unix_address(path);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return std::nullopt;
  protocol::Hello hello;
  hello.op = "exists";
  const std::string frame = protocol::encode_frame(protocol::to_json(hello));
  std::optional<nlohmann::json> answer;
  if (::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size())) {
    std::string got;
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(timeout.count())) > 0) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      if (got.size() < 4) continue;
      uint32_t len_be = 0;
      std::memcpy(&len_be, got.data(), 4);
      const uint32_t len = ntohl(len_be);
      if (got.size() < 4 + len) continue;
      auto j = nlohmann::json::parse(got.substr(4, len), nullptr, false);
      if (!j.is_discarded()) answer = j;
      break;
    }
  }
  ::close(fd);
  return answer;
}

TEST_F(ServiceManagerTest, ReadyThenWatchdogPingsThenStoppingOnSigterm) {
  // 400 ms: pings every 200 ms, so several arrive within a couple of seconds.
  start(400'000);
  std::vector<std::string> before;
  ASSERT_TRUE(wait_for("READY=1", 60s, &before)) << "no READY=1 from lxcprovd";
  // READY=1 comes once the socket accepts: a client connecting now is served.
  EXPECT_TRUE(first_answer(socket_).has_value());
  int pings = 0;
  for (int i = 0; i < 5; ++i)
    if (wait_for("WATCHDOG=1", 5s)) ++pings;
  EXPECT_EQ(pings, 5) << "WATCHDOG=1 did not keep arriving";
  ASSERT_EQ(stop_and_wait(), 0);
  std::vector<std::string> after;
  bool stopping = false;
  // The pings sent before SIGTERM are still queued: STOPPING=1 comes after them.
  while (auto notice = next_notice(1s)) {
    if (notice->find("STOPPING=1") != std::string::npos) stopping = true;
    after.push_back(*notice);
  }
  EXPECT_TRUE(stopping) << "no STOPPING=1 after SIGTERM";
}

TEST_F(ServiceManagerTest, NoWatchdogPingsWithoutWatchdogUsec) {
  start(std::nullopt);
  ASSERT_TRUE(wait_for("READY=1", 60s)) << "no READY=1 from lxcprovd";
  EXPECT_FALSE(wait_for("WATCHDOG=1", 1500ms)) << "WATCHDOG=1 sent though no watchdog was asked for";
  EXPECT_EQ(stop_and_wait(), 0);
}

TEST_F(ServiceManagerTest, ServesOnThePassedSocketAndLeavesItAsItIs) {
  // 0600: the mode the daemon would never set itself (it makes 0660 or 0666), so a socket the
  // daemon replaced would show.
  const int fd = listening_socket(socket_, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  struct stat before {};
  ASSERT_EQ(::stat(socket_.c_str(), &before), 0);
  start(std::nullopt, fd);
  ::close(fd);
  ASSERT_TRUE(wait_for("READY=1", 60s)) << "no READY=1 from lxcprovd";
  auto answer = first_answer(socket_);
  ASSERT_TRUE(answer.has_value()) << "no answer on the passed socket";
  EXPECT_TRUE(answer->contains("type")) << answer->dump();
  struct stat after {};
  ASSERT_EQ(::stat(socket_.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "lxcprovd replaced the passed socket";
  EXPECT_EQ(after.st_mode & 07777, 0600u) << "lxcprovd changed the passed socket's mode";
  EXPECT_NE(read_text(log_).find("socket from systemd"), std::string::npos);
  EXPECT_EQ(stop_and_wait(), 0);
}

TEST_F(ServiceManagerTest, SystemdSocketActivateStartsItOnTheFirstConnection) {
  // systemd's own tool: it listens, and on the first connection execs lxcprovd with the socket
  // (LISTEN_FDS, LISTEN_PID). The client connected before lxcprovd existed and is still served.
  const std::string tool = "/usr/bin/systemd-socket-activate";
  if (!fs::exists(tool)) GTEST_SKIP() << tool << " is not installed (Debian's systemd package)";
  const std::string bin = std::string(LXCPROV_BUILD_DIR) + "/daemon/lxcprovd";
  const std::string config = dir_ + "/lxcprovd.json";
  const std::string notify = "NOTIFY_SOCKET=" + notify_path_;
  const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::execl(tool.c_str(), tool.c_str(), "-l", socket_.c_str(), "-E", notify.c_str(), "-E",
            "ASAN_OPTIONS=detect_leaks=0", bin.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(log_fd);
  ASSERT_GT(pid_, 0);
  const auto deadline = Clock::now() + 10s;
  while (!fs::exists(socket_) && Clock::now() < deadline) ::usleep(20'000);
  ASSERT_TRUE(fs::exists(socket_)) << "systemd-socket-activate did not listen";
  // Given half a second, an lxcprovd started eagerly would have said READY=1 (it did within ~0.1 s in
  // the other tests here); one started by the connection cannot have.
  EXPECT_FALSE(next_notice(500ms).has_value()) << "lxcprovd ran before the first connection";
  // lxcprovd starts (recovery included) while this client waits.
  auto answer = first_answer(socket_, 60s);
  ASSERT_TRUE(answer.has_value()) << "the first connection was not served";
  EXPECT_TRUE(answer->contains("type")) << answer->dump();
  EXPECT_TRUE(wait_for("READY=1", 10s)) << "no READY=1 from the activated lxcprovd";
  EXPECT_NE(read_text(log_).find("socket from systemd"), std::string::npos);
  EXPECT_EQ(stop_and_wait(), 0);
}

TEST_F(ServiceManagerTest, RefusesAPassedSocketBoundElsewhere) {
  const int fd = listening_socket(dir_ + "/other.sock", 0660);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  start(std::nullopt, fd);
  ::close(fd);
  int status = 0;
  const auto deadline = Clock::now() + 60s;
  while (::waitpid(pid_, &status, WNOHANG) == 0 && Clock::now() < deadline) ::usleep(20'000);
  ASSERT_LT(Clock::now(), deadline) << "lxcprovd kept running on a socket it would not be reached on";
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  const std::string log = read_text(log_);
  EXPECT_NE(log.find("socket: must be the path lxcprovd.socket listens on"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(socket_)) << "lxcprovd bound the configured path itself";
}

}  // namespace
}  // namespace lxcprov
