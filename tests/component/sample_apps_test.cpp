// The sample apps (tests/fixtures/apps) as the deploy tests will get them: cloned from the test git
// server (tests/fixtures/git_server.*) branch by branch, then built and started here on the host
// with node and python3, so that a failing deploy test points at lxcprov and not at an app. Redis
// is a stand-in speaking RESP on loopback (the real one runs in the containers). Needs root,
// nginx, fcgiwrap, git, openssl, node, python3 and curl.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "../fixtures/git_server.hpp"
#include "../support/free_port.hpp"
#include "deploy/git_remote.hpp"
#include "host/local_host.hpp"

namespace lxcprov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::GitServer;
using testing::Visibility;

host::LocalHost local;

// A process started in the background, killed (with its group) when this goes away.
struct Background {
  pid_t pid = -1;
  Background() = default;
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() { stop(); }
  void stop() {
    if (pid > 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      pid = -1;
    }
  }
  // The exit status once it has exited, -1 while it runs.
  int exited() {
    int st = 0;
    if (pid > 0 && ::waitpid(pid, &st, WNOHANG) == pid) {
      pid = -1;
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return -1;
  }
};

void start(Background& b, const std::vector<std::string>& argv, const std::string& cwd,
           const std::map<std::string, std::string>& env, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  std::vector<std::string> envs{"PATH=/usr/bin:/bin"};
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  ASSERT_EQ(::posix_spawn(&b.pid, argv[0].c_str(), &fa, &attr, args.data(), envp.data()), 0) << argv[0];
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
}

// GET http://127.0.0.1:PORT/ as JSON, retried until it answers (10 s at most).
json get(uint16_t port, Background* server = nullptr) {
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/";
  for (int i = 0; i < 200; ++i) {
    auto r = local.run({"/usr/bin/curl", "-s", "--max-time", "5", url}, "", 10s);
    if (r && r->exit_status == 0) return json::parse(r->output, nullptr, false);
    if (server != nullptr && server->exited() >= 0) return json();
    std::this_thread::sleep_for(50ms);  // polling until the app listens
  }
  return json();
}

bool port_open(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A stand-in redis: answers each command on a connection with ":N" (N counting from 1) and
// keeps the first command's bytes.
class FakeRedis {
 public:
  FakeRedis() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[512];
        const auto n = ::read(c, buf, sizeof buf);
        if (n > 0 && first.empty()) first.assign(buf, static_cast<std::size_t>(n));
        const auto reply = ":" + std::to_string(++count) + "\r\n";
        (void)!::write(c, reply.data(), reply.size());
        ::close(c);
      }
    });
  }
  ~FakeRedis() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  uint16_t port = 0;
  std::atomic<int> count{0};
  std::string first;

 private:
  int fd_ = -1;
  std::thread thread_;
};

class SampleAppsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    for (const char* tool : {"/usr/bin/node", "/usr/bin/python3", "/usr/bin/curl", "/usr/sbin/fcgiwrap"})
      if (!fs::exists(tool)) return;
    base_ = fs::temp_directory_path() / ("lxcprov-apps-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    testing::GitServerOptions o;
    o.dir = (base_ / "server").string();
    std::string why;
    server_ = GitServer::start(o, why).release();
    if (server_ == nullptr || !server_->add_sample_apps(testing::sample_apps_dir(), Visibility::private_repo, why)) {
      start_error_ = why;
      return;
    }
    ready_ = true;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    if (!base_.empty()) fs::remove_all(base_, ec);
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "needs root, node, python3, curl and the git server: " << start_error_;
  }

  // A shallow single-branch clone of the private repository, as the deploy will make it.
  std::string clone(const std::string& repo, const std::string& branch) {
    const auto dir = (base_ / (repo + "-" + branch)).string();
    fs::remove_all(dir);
    host::RunAsOptions o;
    o.timeout = 60s;
    o.env.emplace_back("GIT_CONFIG_NOSYSTEM=1");
    o.env.emplace_back("GIT_CONFIG_GLOBAL=/dev/null");
    o.env.emplace_back("GIT_TERMINAL_PROMPT=0");
    o.env.emplace_back("HOME=" + base_.string());
    o.env.emplace_back("GIT_CONFIG_COUNT=2");
    o.env.emplace_back("GIT_CONFIG_KEY_0=http.sslCAInfo");
    o.env.emplace_back("GIT_CONFIG_VALUE_0=" + server_->ca_file());
    o.env.emplace_back("GIT_CONFIG_KEY_1=http.extraHeader");
    o.env.emplace_back("GIT_CONFIG_VALUE_1=Authorization: Basic " +
                       deploy::base64_encode("x-access-token:" + server_->token()));
    auto r = local.run_as({"/usr/bin/git", "clone", "--quiet", "--depth=1", "--single-branch", "--branch", branch,
                           "--no-recurse-submodules", "--", server_->url(repo, Visibility::private_repo), dir},
                          o);
    EXPECT_TRUE(r && r->exit_status == 0) << (r ? r->output : r.error().message);
    return dir;
  }

  static int run_build(const std::string& dir) {
    auto r = local.run({"/bin/sh", dir + "/build.sh"}, "", 30s);
    return r ? r->exit_status : -1;
  }

  static inline fs::path base_;
  static inline GitServer* server_ = nullptr;
  static inline bool ready_ = false;
  static inline std::string start_error_;
};

TEST_F(SampleAppsTest, NodeHelloBuildsAndAnswersWithItsMarker) {
  const auto dir = clone("node-hello", "main");
  ASSERT_EQ(run_build(dir), 0);
  const auto port = testing::free_loopback_port();
  Background app;
  start(app, {"/usr/bin/node", "server.js"}, dir,
        {{"PORT", std::to_string(port)}, {"LXCPROV_BRANCH", "main"}, {"LXCPROV_COMMIT", "abc"}}, dir + "/../node.log");
  auto j = get(port, &app);
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j["app"], "node-hello");
  EXPECT_EQ(j["marker"], "node-hello main");
  EXPECT_EQ(j["built"], "built");
  EXPECT_EQ(j["branch"], "main");
  EXPECT_EQ(j["commit"], "abc");

  // v2 is the same app with another marker (what an update test pushes).
  const auto v2 = clone("node-hello", "v2");
  const auto port2 = testing::free_loopback_port();
  Background app2;
  start(app2, {"/usr/bin/node", "server.js"}, v2, {{"HTTP_PORT", std::to_string(port2)}}, v2 + "/../node2.log");
  EXPECT_EQ(get(port2, &app2)["marker"], "node-hello v2");
  EXPECT_TRUE(fs::exists(clone("node-hello", "in-subdir") + "/app/server.js"));
}

TEST_F(SampleAppsTest, TheFailingBranchesFailAsNamed) {
  EXPECT_EQ(run_build(clone("node-hello", "build-fails")), 1);

  const auto crashes = clone("node-hello", "start-crashes");
  Background crash;
  start(crash, {"/usr/bin/node", "server.js"}, crashes, {}, crashes + "/../crash.log");
  int status = -1;
  for (int i = 0; i < 200 && status < 0; ++i) {
    status = crash.exited();
    if (status < 0) std::this_thread::sleep_for(50ms);  // polling for the exit, 10 s at most
  }
  EXPECT_EQ(status, 3);

  const auto silent = clone("node-hello", "never-listens");
  const auto port = testing::free_loopback_port();
  Background quiet;
  start(quiet, {"/usr/bin/node", "server.js"}, silent, {{"PORT", std::to_string(port)}}, silent + "/../quiet.log");
  std::this_thread::sleep_for(1500ms);  // long enough for node to have listened, had it meant to
  EXPECT_EQ(quiet.exited(), -1) << "never-listens must keep running";
  EXPECT_FALSE(port_open(port));
}

TEST_F(SampleAppsTest, EnvCheckEchoesValuesVerbatim) {
  const auto dir = clone("node-hello", "env-check");
  const auto port = testing::free_loopback_port();
  const std::map<std::string, std::string> values{{"CHECK_DOLLAR", "$HOME and ${PATH} $(id)"},
                                                  {"CHECK_QUOTES", "it's \"quoted\" `tick`"},
                                                  {"CHECK_BACKSLASH", "a\\nb\\\\c"},
                                                  {"CHECK_SPACES", "  two  spaces  "}};
  auto env = values;
  env["PORT"] = std::to_string(port);
  Background app;
  start(app, {"/usr/bin/node", "server.js"}, dir, env, dir + "/../env.log");
  auto j = get(port, &app);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["app"], "env-check");
  for (const auto& [k, v] : values) EXPECT_EQ(j["env"][k], v) << k;
}

TEST_F(SampleAppsTest, PythonRedisCountsInRedisOverRawResp) {
  const auto dir = clone("python-redis", "main");
  FakeRedis redis;
  const auto port = testing::free_loopback_port();
  Background app;
  start(app, {"/usr/bin/python3", "app.py"}, dir,
        {{"PORT", std::to_string(port)}, {"REDIS_PORT", std::to_string(redis.port)}}, dir + "/../py.log");
  auto first = get(port, &app);
  ASSERT_TRUE(first.is_object()) << first;
  EXPECT_EQ(first["app"], "python-redis");
  EXPECT_EQ(first["count"], 1);
  EXPECT_EQ(first["marker"], "python-redis main");
  EXPECT_EQ(get(port, &app)["count"], 2);
  EXPECT_EQ(redis.first, "*2\r\n$4\r\nINCR\r\n$14\r\nlxcprov:visits\r\n");
}

TEST_F(SampleAppsTest, MultiWebReachesTheApiAndTheRootCommandRan) {
  const auto dir = clone("multi", "main");
  const auto api_port = testing::free_loopback_port();
  const auto web_port = testing::free_loopback_port();
  Background root, api, web;
  start(root, {"/bin/sh", "root-start.sh"}, dir, {}, dir + "/../root.log");
  start(api, {"/usr/bin/node", "server.js"}, dir + "/api", {{"API_PORT", std::to_string(api_port)}},
        dir + "/../api.log");
  start(web, {"/usr/bin/python3", "app.py"}, dir + "/web",
        {{"HTTP_PORT", std::to_string(web_port)}, {"API_PORT", std::to_string(api_port)}}, dir + "/../web.log");
  ASSERT_TRUE(get(api_port, &api).is_object());
  auto j = get(web_port, &web);
  ASSERT_TRUE(j.is_object()) << j;
  EXPECT_EQ(j["component"], "web");
  EXPECT_EQ(j["api"]["component"], "api");
  EXPECT_EQ(j["api"]["marker"], "multi main");
  EXPECT_EQ(j["root"], "root-start ran");
  EXPECT_EQ(root.exited(), -1) << "the root command keeps running";
}

}  // namespace
}  // namespace lxcprov
