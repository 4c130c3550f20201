// GitCli (the pre-create repository check) against a real git server: tests/fixtures/git_server.*
// (nginx + fcgiwrap + git-http-backend over TLS with a test CA, basic auth for private
// repositories) on 127.0.0.1, with the host's git run as the check user through LocalHost.
// git is reached through a recording wrapper (run as the check user too) that logs its uid,
// capabilities and argv and copies the check's private directory after each run, so the tests
// can look for the token wherever it must not be. Needs root, nginx, fcgiwrap, git, openssl.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "../fixtures/git_server.hpp"
#include "deploy/git_cli.hpp"
#include "host/local_host.hpp"

namespace lxcprov {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using deploy::CheckField;
using deploy::CheckRequest;
using deploy::Problem;
using testing::GitServer;
using testing::Visibility;

constexpr const char* check_user = "lxcprov-git";
const std::string token = "ghp_T0kenThatMustNotLeak_4242";

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file under `dir` (a regular file's bytes, a link's target), concatenated.
std::string everything_under(const fs::path& dir) {
  std::string all;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    all += it->path().string() + "\n";
    if (it->is_symlink())
      all += fs::read_symlink(it->path(), ec).string();
    else if (it->is_regular_file())
      all += slurp(it->path());
  }
  return all;
}

CheckRequest request(std::string url, std::string branch = "", std::string root = "",
                     std::vector<std::string> components = {}, std::string with_token = "") {
  CheckRequest r;
  r.repository = std::move(url);
  r.branch = std::move(branch);
  r.root = std::move(root);
  r.components = std::move(components);
  r.token = Secret(std::move(with_token));
  return r;
}

class GitRemoteTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    for (const char* tool : {"/usr/sbin/nginx", "/usr/sbin/fcgiwrap", "/usr/bin/git", "/usr/bin/openssl",
                             "/usr/bin/setpriv", "/usr/bin/prlimit", "/usr/sbin/useradd"})
      if (!fs::exists(tool)) return;
    // scripts/setup-host.sh makes the check user on a real host; the same command here.
    if (::getpwnam(check_user) == nullptr) {
      auto r = local_.run({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                           "/usr/sbin/nologin", check_user},
                          "", 30s);
      if (!r || r->exit_status != 0) return;
    }
    const passwd* pw = ::getpwnam(check_user);
    if (pw == nullptr) return;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;

    base_ = fs::temp_directory_path() / ("lxcprov-gitcheck-" + std::to_string(::getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "bin");
    ::chmod(base_.c_str(), 0755);
    // The check user's own places: where mktemp makes the check directories, where the
    // wrapper records.
    for (const char* d : {"tmp", "record"}) {
      fs::create_directories(base_ / d);
      ::chown((base_ / d).c_str(), uid_, gid_);
      ::chmod((base_ / d).c_str(), 0700);
    }
    std::ofstream(base_ / "bin/git") << "#!/bin/sh\n"
                                     << "# Records how git was run, runs it, and copies the check's directory.\n"
                                     << "log='" << (base_ / "record/calls.log").string() << "'\n"
                                     << "{\n"
                                     << "  printf 'uid=%s gid=%s groups=%s\\n' \"$(id -u)\" \"$(id -g)\" \"$(id -G)\"\n"
                                     << "  grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status\n"
                                     << "  printf 'home=%s\\n' \"$HOME\"\n"
                                     << "  printf 'argv:'; for a in \"$@\"; do printf ' [%s]' \"$a\"; done; echo\n"
                                     << "} >> \"$log\"\n"
                                     << "/usr/bin/git \"$@\"\n"
                                     << "rc=$?\n"
                                     << "cp -a \"$HOME\" '" << (base_ / "record").string() << "/snap.'$$ 2>/dev/null\n"
                                     << "exit $rc\n";
    ::chmod((base_ / "bin/git").c_str(), 0755);

    std::string why;
    testing::GitServerOptions o;
    o.dir = (base_ / "server").string();
    o.token = token;
    server_ = GitServer::start(o, why).release();
    if (server_ == nullptr) {
      start_error_ = why;
      return;
    }
    const auto apps = testing::sample_apps_dir();
    if (!server_->add_sample_apps(apps, Visibility::public_repo, why) ||
        !server_->add_sample_apps(apps, Visibility::private_repo, why)) {
      start_error_ = why;
      return;
    }
    // A layout for the path checks, with a default branch that is not "main".
    const auto layout = base_ / "layout";
    fs::create_directories(layout / "apps/api");
    fs::create_directories(layout / "apps/web");
    std::ofstream(layout / "apps/api/server.js") << "// api\n";
    std::ofstream(layout / "apps/web/app.py") << "# web\n";
    std::ofstream(layout / "README") << "layout\n";
    fs::create_symlink("apps", layout / "link");
    testing::BranchSpec develop{"develop", {testing::TreeSource{layout.string(), ""}}};
    if (!server_->create_repo("layout", Visibility::public_repo, {develop}, why) ||
        !server_->create_repo("empty", Visibility::public_repo, {}, why)) {
      start_error_ = why;
      return;
    }
    // A tree too wide for a small file size bound: 3000 entries in one directory.
    const auto wide = base_ / "wide";
    fs::create_directories(wide / "many");
    // Distinct contents, so the tree holds 3000 distinct blob ids (which do not compress).
    for (int i = 0; i < 3000; ++i) std::ofstream(wide / "many" / ("file-" + std::to_string(i))) << i << "\n";
    testing::BranchSpec wide_main{"main", {testing::TreeSource{wide.string(), ""}}};
    if (!server_->create_repo("wide", Visibility::public_repo, {wide_main}, why)) {
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
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!ready_) GTEST_SKIP() << "needs nginx, fcgiwrap, git, openssl, setpriv, prlimit: " << start_error_;
    fs::remove(base_ / "record/calls.log");
    for (auto& e : fs::directory_iterator(base_ / "record")) fs::remove_all(e.path());
    server_->clear_requests();
  }

  deploy::GitCliSettings settings() const {
    deploy::GitCliSettings s;
    // The redirect target is allowed too: redirects are refused by git's configuration, not
    // only by the host list.
    s.allowed_hosts = {server_->host(), server_->other_host()};
    s.run.git = (base_ / "bin/git").string();
    s.run.ca_file = server_->ca_file();
    s.user = check_user;
    s.timeout = 20s;
    s.temp_parent = (base_ / "tmp").string();
    return s;
  }

  // One check; afterwards the check's directory must be gone, whatever the outcome.
  deploy::CheckResult check(const CheckRequest& r, std::optional<deploy::GitCliSettings> s = std::nullopt) {
    deploy::GitCli cli(local_, s ? *s : settings());
    auto result = cli.check(r);
    EXPECT_TRUE(fs::is_empty(base_ / "tmp")) << "a check directory was left behind";
    if (!result) {
      EXPECT_EQ(result.error().reason.find(token), std::string::npos);
      EXPECT_EQ(result.error().reason.find('\n'), std::string::npos);
    }
    return result;
  }

  static std::string calls() { return slurp(base_ / "record/calls.log"); }

  static inline host::LocalHost local_;
  static inline fs::path base_;
  static inline GitServer* server_ = nullptr;
  static inline bool ready_ = false;
  static inline std::string start_error_;
  static inline uid_t uid_ = 0;
  static inline gid_t gid_ = 0;
};

TEST_F(GitRemoteTest, ResolvesTheDefaultBranchAndItsCommit) {
  auto r = check(request(server_->url("node-hello")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->branch, "main");
  EXPECT_EQ(r->commit, server_->commit_of("node-hello", Visibility::public_repo, "main"));

  auto develop = check(request(server_->url("layout")));
  ASSERT_TRUE(develop) << develop.error().message();
  EXPECT_EQ(develop->branch, "develop");
  EXPECT_EQ(develop->commit, server_->commit_of("layout", Visibility::public_repo, "develop"));
  // Only ls-remote went to the network: no path to check, no fetch.
  EXPECT_EQ(calls().find("[fetch]"), std::string::npos) << calls();
}

TEST_F(GitRemoteTest, ResolvesANamedBranch) {
  auto r = check(request(server_->url("node-hello"), "env-check"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->branch, "env-check");
  EXPECT_EQ(r->commit, server_->commit_of("node-hello", Visibility::public_repo, "env-check"));
  EXPECT_NE(r->commit, server_->commit_of("node-hello", Visibility::public_repo, "main"));
}

TEST_F(GitRemoteTest, AnUnknownBranchIsABranchError) {
  auto r = check(request(server_->url("node-hello"), "no-such-branch"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, CheckField::branch);
  EXPECT_EQ(r.error().problem, Problem::no_such_branch);
  EXPECT_EQ(r.error().message(), "PROJECT_BRANCH: no branch 'no-such-branch' in the repository");
}

TEST_F(GitRemoteTest, ChecksTheRootAndComponentPathsAtTheCommit) {
  auto ok = check(request(server_->url("layout"), "", "apps", {"api", "web"}));
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->commit, server_->commit_of("layout", Visibility::public_repo, "develop"));
  EXPECT_NE(calls().find("[fetch]"), std::string::npos);
  EXPECT_NE(calls().find("[--filter=blob:none]"), std::string::npos);

  auto subdir = check(request(server_->url("node-hello"), "in-subdir", "app"));
  ASSERT_TRUE(subdir) << subdir.error().message();

  for (const char* root : {"nope", "README", "link", "apps/api/server.js"}) {
    auto r = check(request(server_->url("layout"), "", root));
    ASSERT_FALSE(r) << root;
    EXPECT_EQ(r.error().field, CheckField::root) << root;
    EXPECT_EQ(r.error().problem, Problem::not_a_directory) << root;
    EXPECT_EQ(r.error().variable(), "PROJECT_ROOT");
    EXPECT_NE(r.error().reason.find(std::string("'") + root + "'"), std::string::npos) << r.error().reason;
  }
  auto missing = check(request(server_->url("layout"), "", "apps", {"api", "worker"}));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().field, CheckField::component);
  EXPECT_EQ(missing.error().component, "worker");
  EXPECT_EQ(missing.error().problem, Problem::not_a_directory);

  // The root's own directory is a missing root, not a missing component.
  auto both = check(request(server_->url("node-hello"), "", "app", {""}));
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().field, CheckField::root);
}

TEST_F(GitRemoteTest, APrivateRepositoryNeedsTheRightToken) {
  auto without = check(request(server_->url("node-hello", Visibility::private_repo)));
  ASSERT_FALSE(without);
  EXPECT_EQ(without.error().field, CheckField::repository);
  EXPECT_EQ(without.error().problem, Problem::auth_required);
  EXPECT_EQ(without.error().variable(), "PROJECT_REPOSITORY");

  auto right = check(request(server_->url("node-hello", Visibility::private_repo), "", "", {}, token));
  ASSERT_TRUE(right) << right.error().message();
  EXPECT_EQ(right->commit, server_->commit_of("node-hello", Visibility::private_repo, "main"));

  // With paths: the fetch is authenticated too.
  auto fetched = check(request(server_->url("multi", Visibility::private_repo), "", "", {"api", "web"}, token));
  ASSERT_TRUE(fetched) << fetched.error().message();

  auto wrong = check(request(server_->url("node-hello", Visibility::private_repo), "", "", {}, "ghp_wrong"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().field, CheckField::token);
  EXPECT_EQ(wrong.error().problem, Problem::auth_failed);
  EXPECT_EQ(wrong.error().reason.find("ghp_wrong"), std::string::npos);
}

TEST_F(GitRemoteTest, ARedirectIsNotFollowedEvenToAnAllowedHost) {
  auto r = check(request(server_->redirecting_url("node-hello"), "", "", {}, token));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().field, CheckField::repository);
  EXPECT_EQ(r.error().problem, Problem::redirect) << r.error().reason;
  EXPECT_TRUE(server_->other_requests().empty()) << server_->other_requests().front().line;
  ASSERT_FALSE(server_->requests().empty());
  EXPECT_EQ(server_->requests().front().status, 302);
}

TEST_F(GitRemoteTest, RefusesWhatIsNotAllowedBeforeGitRuns) {
  struct Case {
    CheckRequest r;
    CheckField field;
    Problem problem;
  };
  std::vector<Case> cases;
  auto url = server_->url("node-hello");
  cases.push_back(
      {request("http://" + server_->host() + "/public/node-hello.git"), CheckField::repository, Problem::not_allowed});
  cases.push_back({request("https://github.com/lxcprov/node-hello.git"), CheckField::repository, Problem::not_allowed});
  cases.push_back(
      {request("https://127.0.0.2:" + server_->host().substr(server_->host().find(':') + 1) + "/public/node-hello.git"),
       CheckField::repository, Problem::not_allowed});
  cases.push_back({request("https://x-access-token:" + token + "@" + server_->host() + "/private/node-hello.git"),
                   CheckField::repository, Problem::invalid});
  cases.push_back({request("file:///etc"), CheckField::repository, Problem::not_allowed});
  cases.push_back({request(url, "--upload-pack=/bin/sh"), CheckField::branch, Problem::invalid});
  cases.push_back({request(url, "-b"), CheckField::branch, Problem::invalid});
  cases.push_back({request(url, "", "../etc"), CheckField::root, Problem::invalid});
  cases.push_back({request(url, "", "-x"), CheckField::root, Problem::invalid});
  cases.push_back({request(url, "", "", {"/abs"}), CheckField::component, Problem::invalid});
  for (const auto& c : cases) {
    auto r = check(c.r);
    ASSERT_FALSE(r) << c.r.repository;
    EXPECT_EQ(r.error().field, c.field) << c.r.repository << " " << r.error().message();
    EXPECT_EQ(r.error().problem, c.problem) << c.r.repository << " " << r.error().message();
  }
  EXPECT_EQ(calls(), "") << "git ran for a refused request";
  EXPECT_TRUE(server_->requests().empty());
}

TEST_F(GitRemoteTest, NamesTheRepositoryForWhatIsNotARepository) {
  auto none = check(request(server_->url("does-not-exist")));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().problem, Problem::not_found);
  auto page = check(request(server_->not_git_url("x")));
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().problem, Problem::not_a_repository);
  auto empty = check(request(server_->url("empty")));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().problem, Problem::empty);
  for (const auto* r : {&none, &page, &empty}) EXPECT_EQ(r->error().field, CheckField::repository);

  // A server whose certificate the configured CA did not sign.
  auto s = settings();
  s.run.ca_file = "";
  auto untrusted = check(request(server_->url("node-hello")), s);
  ASSERT_FALSE(untrusted);
  EXPECT_EQ(untrusted.error().problem, Problem::tls) << untrusted.error().reason;

  // Nothing listening.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto closed = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  ::close(fd);
  s = settings();
  s.allowed_hosts.push_back(closed);
  auto refused = check(request("https://" + closed + "/r.git"), s);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().problem, Problem::unreachable) << refused.error().reason;
  EXPECT_EQ(refused.error().code(), Errc::unavailable);
}

TEST_F(GitRemoteTest, AServerThatNeverAnswersTimesOutWithinTheBound) {
  // Accepts connections (the kernel does, from the backlog) and never says a word.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto silent = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto s = settings();
  s.allowed_hosts.push_back(silent);
  s.timeout = 2s;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = check(request("https://" + silent + "/r.git", "", "", {}, token), s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ::close(fd);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem, Problem::timeout);
  EXPECT_EQ(r.error().code(), Errc::timeout);
  EXPECT_EQ(r.error().field, CheckField::repository);
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 10s) << "the check outlived its bound";
  // The killed git left no process behind: nothing runs the wrapper any more.
  for (auto& p : fs::directory_iterator("/proc")) {
    const auto cmdline = slurp(p.path() / "cmdline");
    EXPECT_EQ(cmdline.find((base_ / "bin/git").string()), std::string::npos) << p.path();
  }
}

TEST_F(GitRemoteTest, ATreeOverTheSizeBoundFailsTheCheck) {
  auto s = settings();
  s.run.max_file_bytes = 16 * 1024;
  auto r = check(request(server_->url("wide"), "", "many"), s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem, Problem::too_large) << r.error().reason;
  // The same tree under the default bound passes.
  auto ok = check(request(server_->url("wide"), "", "many"));
  EXPECT_TRUE(ok) << ok.error().message();
}

TEST_F(GitRemoteTest, GitRunsAsTheCheckUserWithoutPrivileges) {
  auto r = check(request(server_->url("layout"), "", "apps", {"api"}));
  ASSERT_TRUE(r) << r.error().message();
  const auto log = calls();
  std::istringstream in(log);
  int runs = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("uid=", 0) == 0) {
      ++runs;
      EXPECT_EQ(line,
                "uid=" + std::to_string(uid_) + " gid=" + std::to_string(gid_) + " groups=" + std::to_string(gid_));
    }
    if (line.rfind("CapEff:", 0) == 0 || line.rfind("CapBnd:", 0) == 0) {
      EXPECT_NE(line.find("0000000000000000"), std::string::npos) << line;
    }
    if (line.rfind("NoNewPrivs:", 0) == 0) {
      EXPECT_NE(line.find('1'), std::string::npos) << line;
    }
    if (line.rfind("home=", 0) == 0) {
      EXPECT_EQ(line.rfind("home=" + (base_ / "tmp/lxcprov-git.").string(), 0), 0u) << line;
    }
  }
  // init, ls-remote, fetch, rev-parse and one ls-tree per path (root, component).
  EXPECT_EQ(runs, 6) << log;
}

TEST_F(GitRemoteTest, TheTokenTravelsOnlyInTheAuthorizationHeader) {
  const std::string encoded = deploy::base64_encode("x-access-token:" + token);
  const std::string encoded_alone = deploy::base64_encode(token);
  std::vector<std::string> messages;
  // The right token with a fetch, a wrong one, and the right one to a redirect.
  auto ok = check(request(server_->url("multi", Visibility::private_repo), "", "", {"api", "web"}, token));
  ASSERT_TRUE(ok) << ok.error().message();
  auto redirected = check(request(server_->redirecting_url("node-hello"), "", "", {}, token));
  ASSERT_FALSE(redirected);
  messages.push_back(redirected.error().message());
  auto unknown = check(request(server_->url("node-hello", Visibility::private_repo), "nope", "", {}, token));
  ASSERT_FALSE(unknown);
  messages.push_back(unknown.error().message());

  // It was sent, and only as the header.
  int with_header = 0;
  for (const auto& req : server_->requests()) {
    if (req.authorization == "Basic " + encoded) ++with_header;
    std::string rest = req.line;
    const auto at = rest.find(encoded);
    if (at != std::string::npos) rest.erase(at, encoded.size());
    EXPECT_EQ(rest.find(encoded), std::string::npos) << req.line;
    EXPECT_EQ(rest.find(token), std::string::npos) << req.line;
    EXPECT_EQ(req.target.find(token), std::string::npos) << req.line;
  }
  EXPECT_GE(with_header, 3);
  EXPECT_TRUE(server_->other_requests().empty());

  // Never in git's argv, in any file the checks left in their directories, or in a message.
  const auto log = calls();
  ASSERT_NE(log.find("argv:"), std::string::npos);
  std::string files;  // the copies of the check directories, not the argv log
  for (const auto& e : fs::directory_iterator(base_ / "record"))
    if (e.path().filename().string().rfind("snap.", 0) == 0) files += everything_under(e.path());
  for (const auto& needle : {token, encoded, encoded_alone}) {
    EXPECT_EQ(log.find(needle), std::string::npos) << "in argv";
    EXPECT_EQ(files.find(needle), std::string::npos) << "in a file";
    for (const auto& m : messages) EXPECT_EQ(m.find(needle), std::string::npos) << m;
  }
  // The copies are real: the fetched repository's config (which names the URL) was captured.
  EXPECT_NE(files.find("/private/multi.git"), std::string::npos);
}

TEST_F(GitRemoteTest, ConcurrentChecksKeepToThemselves) {
  std::vector<std::future<deploy::CheckResult>> runs;
  for (int i = 0; i < 4; ++i)
    runs.push_back(std::async(std::launch::async, [&, i] {
      deploy::GitCli cli(local_, settings());
      return cli.check(
          request(server_->url(i % 2 ? "multi" : "layout"), "", i % 2 ? "" : "apps", {i % 2 ? "api" : "web"}));
    }));
  for (auto& f : runs) {
    auto r = f.get();
    EXPECT_TRUE(r) << r.error().message();
  }
  EXPECT_TRUE(fs::is_empty(base_ / "tmp"));
}

}  // namespace
}  // namespace lxcprov

namespace lxcprov {
namespace {

// The integration tests run the server on the bridge's gateway address, not 127.0.0.1: its
// certificate must name whatever address it listens on.
TEST(GitServerFixture, ServesOnAnotherAddressWithThatAddressInItsCertificate) {
  if (::geteuid() != 0 || !fs::exists("/usr/sbin/fcgiwrap") || ::getpwnam(check_user) == nullptr)
    GTEST_SKIP() << "needs root, fcgiwrap and the check user (GitRemoteTest makes it)";
  const auto dir = fs::temp_directory_path() / ("lxcprov-gitserver-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  testing::GitServerOptions o;
  o.dir = dir.string();
  o.listen_ip = "127.0.0.2";
  std::string why;
  auto server = GitServer::start(o, why);
  ASSERT_TRUE(server) << why;
  ASSERT_TRUE(server->add_sample_apps(testing::sample_apps_dir(), Visibility::public_repo, why)) << why;
  EXPECT_EQ(server->host().rfind("127.0.0.2:", 0), 0u);

  fs::create_directories(dir / "checks");
  const passwd* pw = ::getpwnam(check_user);
  ::chown((dir / "checks").c_str(), pw->pw_uid, pw->pw_gid);
  host::LocalHost local;
  deploy::GitCliSettings s;
  s.allowed_hosts = {server->host()};
  s.run.ca_file = server->ca_file();
  s.temp_parent = (dir / "checks").string();
  deploy::GitCli cli(local, s);
  auto r = cli.check(request(server->url("multi"), "", "", {"api", "web"}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->commit, server->commit_of("multi", Visibility::public_repo, "main"));
  ASSERT_FALSE(server->requests().empty());
  EXPECT_EQ(server->requests().front().method, "GET");
  server->stop();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lxcprov
