// App deployment for real (issue 10): a debian container made through sshd's forced commands by
// a daemon with deploy on, which clones a sample app (tests/fixtures/apps) from the test git
// server, installs its runtime and services from the Debian mirror, builds it, runs it as systemd
// units of the user app and checks it through its nginx route; then updates it the way the old
// CI client does (sshpass + ssh update-container with SendEnv).
//
// The suite's own world, next to the shared one: the git server (TLS, a test CA) listens on the
// world bridge's gateway address so that containers can clone; a private nginx serves the routes;
// a daemon of its own (deploy on, the catalogs of config/, a short health timeout, egress NAT
// through the ports feature so that containers reach the mirror) with its own state database;
// and an sshd of its own whose forced commands talk to that daemon.
// Skipped when the Debian mirror cannot be reached (no debian template).

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "../fixtures/git_server.hpp"
#include "../support/free_port.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using lxcprov::testing::GitServer;
using lxcprov::testing::Visibility;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct DeployWorld {
  bool ready = false;
  std::string skip;  // why the suite is skipped
  std::string dir, config, socket, log, table, domain, ssh_config, sshd_dir;
  PrivateNginx nginx;
  int http_port = 0, ssh_port = 0;
  pid_t daemon = -1;
  std::unique_ptr<GitServer> git;
  std::set<std::string> jobs;
  std::vector<std::string> figures;
};

DeployWorld& dw() {
  static DeployWorld d;
  return d;
}

// ssh to the deploy sshd (ACCOUNT@dep), as world.hpp's ssh_call does for the world's.
ProcResult dssh(const std::string& account, const Env& vars, const std::vector<std::string>& command = {},
                std::chrono::milliseconds timeout = 900s, bool sshpass = false) {
  DeployWorld& d = dw();
  std::vector<std::string> argv;
  if (sshpass) argv = {"sshpass", "-p", vars.at("PROXMOX_PASSWORD")};
  for (const char* a : {"ssh", "-F", d.ssh_config.c_str(), "-T", "-o", "PasswordAuthentication=no"}) argv.push_back(a);
  for (const auto& [name, value] : vars) {
    argv.push_back("-o");
    argv.push_back("SendEnv=" + name);
  }
  argv.push_back(account + "@dep");
  argv.insert(argv.end(), command.begin(), command.end());
  RunOptions o;
  o.env = vars;
  o.timeout = timeout;
  auto r = run(argv, o);
  if (auto job = job_id_in(r.err); !job.empty()) d.jobs.insert(job);
  return r;
}

std::string ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {world().build_dir + "/helpers/lxcprovctl", "--config", dw().config};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_for(argv, 60s);
  return r.out + r.err;
}

// GET / through the container's nginx route: the body, or "" when it does not answer 200.
std::string route(const std::string& name, const std::string& path = "/") {
  DeployWorld& d = dw();
  const std::string host = name + "." + d.domain;
  auto r =
      run_for({"curl", "-s", "-f", "--max-time", "5", "--resolve", fmt::format("{}:{}:127.0.0.1", host, d.http_port),
               fmt::format("http://{}:{}{}", host, d.http_port, path)},
              10s);
  return r.exit_code == 0 ? r.out : "";
}

// The route's JSON answer; an empty object when it does not answer JSON.
nlohmann::json route_json(const std::string& name, const std::string& path = "/") {
  auto j = nlohmann::json::parse(route(name, path), nullptr, false);
  return j.is_object() ? j : nlohmann::json::object();
}

// A create's variables for a deploy of the sample app `repo` (GH_ACTION: nothing is asked).
Env deploy_vars(const std::string& name, const std::string& url, Env extra = {}) {
  Env e = create_vars("alice", name);
  e["LINUX_DISTRIBUTION"] = "debian";
  e["GH_ACTION"] = "y";
  e["DEPLOY_ON_START"] = "y";
  e["PROJECT_REPOSITORY"] = url;
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

Env node_vars(const std::string& name, const std::string& url, const std::string& branch, Env extra = {}) {
  Env e = deploy_vars(name, url,
                      {{"PROJECT_BRANCH", branch},
                       {"HTTP_PORT", "3000"},
                       {"RUNTIME_LANGUAGE", "nodejs"},
                       {"INSTALL_COMMAND", "echo node-hello: install ran"},
                       {"BUILD_COMMAND", "sh build.sh"},
                       {"START_COMMAND", "node server.js"}});
  for (auto& [k, v] : extra) e[k] = v;
  return e;
}

// The old CI client's update: sshpass, ssh -T and SendEnv of what it sets.
ProcResult update(const std::string& name, Env extra) {
  Env e = credentials("alice");
  e["CONTAINER_NAME"] = name;
  e["GH_ACTION"] = "y";
  for (auto& [k, v] : extra) e[k] = v;
  return dssh("update-container", e, {}, 900s, /*sshpass=*/true);
}

ProcResult remove(const std::string& name) {
  Env e = credentials("alice");
  e["CONTAINER_NAME"] = name;
  return dssh("delete-container", e, {}, 300s);
}

ProcResult in(const std::string& name, const std::string& script) {
  const World& w = world();
  return run_for({"lxc-attach", "-P", w.lxcpath, "-n", name, "--clear-env", "--", "/bin/sh", "-c", script}, 60s);
}

// The last non-empty line of `text`.
std::string last_line(const std::string& text) {
  auto lines = lines_of(text);
  return lines.empty() ? "" : lines.back();
}

void expect_nothing_left(const std::string& name) {
  DeployWorld& d = dw();
  EXPECT_FALSE(container_dir_exists(name)) << name << " has a directory in the lxcpath";
  EXPECT_EQ(lxc_state(name), "") << name << " is known to LXC";
  EXPECT_FALSE(db_row(name, d.config).has_value()) << name << " has a row in the database";
  EXPECT_EQ(read_text(d.nginx.routes).find(name), std::string::npos) << name << " has an nginx route";
}

void figure(const std::string& what, long long ms) {
  dw().figures.push_back(fmt::format("{}: {} ms", what, ms));
  std::cout << "[ figures  ] " << what << ": " << ms << " ms\n";
}

class Deploy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    World& w = world();
    DeployWorld& d = dw();
    const auto t0 = Clock::now();
    if (!fs::exists("/usr/sbin/nginx") || !fs::exists("/usr/sbin/nft") || !fs::exists("/usr/sbin/fcgiwrap")) {
      d.skip = "needs nginx, nft and fcgiwrap";
      return;
    }
    if (::access("/usr/bin/sshpass", X_OK) != 0) {
      d.skip = "sshpass is not installed (scripts/install-deps.sh)";
      return;
    }
    bool offline = false;
    const std::string why = install_debian_template(offline);
    if (offline) {
      d.skip = "the Debian mirror cannot be reached, no debian template: " + why;
      return;
    }
    ASSERT_EQ(why, "") << "building the debian template failed";

    const int id = w.pid % 100000;
    d.dir = w.tmp + "/deploy";
    d.config = d.dir + "/lxcprovd.json";
    d.socket = w.tmp + "/deploy.sock";  // the janitor stops daemons by the pid files in w.tmp
    d.log = d.dir + "/lxcprovd.log";
    d.table = "lxitd" + std::to_string(id);
    d.domain = "deploy.test";
    d.sshd_dir = d.dir + "/sshd";
    d.http_port = lxcprov::testing::free_loopback_port();
    d.ssh_port = lxcprov::testing::free_loopback_port();
    fs::create_directories(d.dir + "/state");
    ::chmod(d.dir.c_str(), 0755);

    // The git server on the gateway address, every sample app public and private.
    std::string git_why;
    d.git = GitServer::start({d.dir + "/git", w.net + "1", 0, "tok-" + std::to_string(w.pid) + "-Zq8RwP3x"}, git_why);
    ASSERT_TRUE(d.git) << git_why;
    ASSERT_TRUE(d.git->add_sample_apps(lxcprov::testing::sample_apps_dir(), Visibility::public_repo, git_why))
        << git_why;
    ASSERT_TRUE(d.git->add_sample_apps(lxcprov::testing::sample_apps_dir(), Visibility::private_repo, git_why))
        << git_why;

    auto nginx = start_private_nginx(d.dir, "deploy");
    ASSERT_TRUE(nginx) << nginx.error().message;
    d.nginx = *nginx;

    nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
    cfg["socket"] = d.socket;
    cfg["database"] = d.dir + "/state/state.db";
    cfg["network"]["first"] = w.net + "200";
    cfg["network"]["last"] = w.net + "239";
    cfg["ctid_min"] = 6000;
    // Egress NAT (masquerade) for the containers, which fetch packages from the Debian mirror.
    cfg["ports"] = forwards_config(d.table, w.net + "1", 43000, 200);
    cfg["http"] = d.nginx.http_config(d.domain, static_cast<uint16_t>(d.http_port));
    cfg["distributions"] = {{"debian", {{"template", "tpl-debian"}}}};
    cfg["deploy"] = {
        {"enabled", true},
        {"distributions", {"debian"}},
        {"runtimes_catalog", w.source_dir + "/config/runtimes.json"},
        {"services_catalog", w.source_dir + "/config/services.json"},
        {"health_timeout_s", 20},
        {"install_timeout_s", 600},
        {"git", {{"allowed_hosts", {d.git->host()}}, {"ca_file", d.git->ca_file()}, {"check_user", "lxcprov-git"}}}};
    std::ofstream(d.config) << cfg.dump(2) << "\n";
    d.daemon = start_daemon(d.config, d.socket, d.log);
    ASSERT_GT(d.daemon, 0) << read_text(d.log);
    auto sealed = seal_template(d.config, "tpl-debian");
    ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;

    auto sshd = sh(w.source_dir + "/scripts/setup-sshd.sh --dir " + d.sshd_dir + " --port " +
                   std::to_string(d.ssh_port) + " --shell " + w.shell + " --socket " + d.socket + " --start");
    ASSERT_EQ(sshd.exit_code, 0) << sshd.out << sshd.err;
    // For the janitor (it stops whatever pid file it finds in w.tmp).
    ASSERT_TRUE(eventually([&] { return fs::exists(d.sshd_dir + "/sshd.pid"); }, 10s));
    std::ofstream(w.tmp + "/sshd-deploy.pid") << read_text(d.sshd_dir + "/sshd.pid");
    std::string ssh = read_text(w.ssh_config);
    ssh = std::regex_replace(ssh, std::regex("Host it\n"), "Host dep\n");
    ssh = std::regex_replace(ssh, std::regex("Port [0-9]+"), "Port " + std::to_string(d.ssh_port));
    d.ssh_config = d.dir + "/ssh_config";
    std::ofstream(d.ssh_config) << ssh;
    ASSERT_TRUE(lxcprov::testing::wait_until_listening(static_cast<uint16_t>(d.ssh_port)))
        << read_text(d.sshd_dir + "/sshd.log");
    d.ready = true;
    figure("deploy suite set-up (template, git server, nginx, daemon, sshd)", ms_since(t0));
  }

  static void TearDownTestSuite() {
    DeployWorld& d = dw();
    const World& w = world();
    if (d.daemon > 0) stop_process(d.daemon);
    d.daemon = -1;
    if (d.dir.empty()) return;
    if (auto pid = read_text(d.sshd_dir + "/sshd.pid"); !pid.empty()) (void)sh("kill " + pid);
    std::error_code ec;
    fs::remove(w.tmp + "/sshd-deploy.pid", ec);
    d.nginx.stop();
    (void)sh("nft delete table inet " + d.table + " 2>/dev/null; true");
    if (d.git) d.git->stop();
    if (::testing::UnitTest::GetInstance()->Failed()) {
      fs::copy_file(d.log, "/tmp/lxcprov-it-" + std::to_string(w.pid) + "-deploy-lxcprovd.log",
                    fs::copy_options::overwrite_existing, ec);
    }
    std::cout << "[ figures  ] deploy suite:\n";
    for (const auto& f : d.figures) std::cout << "[ figures  ]   " << f << "\n";
  }

  void SetUp() override {
    if (!dw().skip.empty()) GTEST_SKIP() << dw().skip;
    if (!dw().ready) GTEST_SKIP() << "the deploy suite's daemon is not running";
  }
};

// Create, the old client's updates (a good one, a failing build, a crashing start, a port that
// never opens: the previous release keeps serving), environment variables, and a restart.
TEST_F(Deploy, NodeAppCreatedUpdatedAndRestarted) {
  const World& w = world();
  DeployWorld& d = dw();
  const std::string name = w.prefix + "node";
  const std::string url = d.git->url("node-hello");
  const auto t_test = Clock::now();

  // --- create from main, non-interactively -----------------------------------------------------
  auto t = Clock::now();
  auto c = dssh("create-container", node_vars(name, url, "main"));
  figure("create with deploy of node-hello main", ms_since(t));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  // The install and build commands' own output, indented under their steps on stderr.
  EXPECT_NE(c.err.find("    | node-hello: install ran"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("    | node-hello: building"), std::string::npos) << c.err;
  const std::string main_commit = d.git->commit_of("node-hello", Visibility::public_repo, "main");
  auto body = route_json(name);
  ASSERT_FALSE(body.empty()) << route(name) << describe(c);
  EXPECT_EQ(body.value("marker", ""), "node-hello main");
  EXPECT_EQ(body.value("built", ""), "built");
  EXPECT_EQ(body.value("branch", ""), "main");
  EXPECT_EQ(body.value("commit", ""), main_commit);

  // systemd runs it as app, enabled (a restart brings it back), not root.
  auto units = in(name, "systemctl list-units --no-legend --plain 'lxcprov-app-*' | cut -d' ' -f1");
  ASSERT_EQ(lines_of(units.out).size(), 1u) << units.out << units.err;
  const std::string unit = lines_of(units.out).front();
  EXPECT_EQ(in(name, "systemctl is-active " + unit).out, "active\n");
  EXPECT_EQ(in(name, "systemctl is-enabled " + unit).out, "enabled\n");
  auto owner = in(name, "ps -o user= -p $(systemctl show -p MainPID --value " + unit + ")");
  EXPECT_EQ(owner.out, "app\n") << owner.err;
  EXPECT_EQ(in(name, "ps -o user= -C node | sort -u").out, "app\n");

  // info and app-logs, as the owner sees them.
  Env who = credentials("alice");
  auto info = dssh("create-container", who, {"info", name}, 60s);
  EXPECT_EQ(info.exit_code, 0) << describe(info);
  const auto shown = nlohmann::json::parse(info.out, nullptr, false);
  ASSERT_TRUE(shown.is_object()) << info.out;
  EXPECT_EQ(shown["deployment"].value("repository", ""), url) << info.out;
  EXPECT_EQ(shown["deployment"].value("branch", ""), "main") << info.out;
  EXPECT_EQ(shown["deployment"].value("commit", ""), main_commit) << info.out;
  EXPECT_EQ(shown["deployment"]["units"], nlohmann::json::array({unit})) << info.out;
  auto logs = dssh("create-container", who, {"app-logs", name}, 60s);
  EXPECT_EQ(logs.exit_code, 0) << describe(logs);
  EXPECT_NE(logs.out.find("node-hello listening on 3000 marker=node-hello main"), std::string::npos) << describe(logs);

  // --- update to v2: the old client's call ---------------------------------------------------------
  // It asks container-exists first: 2 = exists and yours, so it updates.
  Env ask = credentials("alice");
  ask["CONTAINER_NAME"] = name;
  EXPECT_EQ(dssh("container-exists", ask, {}, 60s).exit_code, 2);
  // Every variable its workflow knows, the unset ones empty (as a GitHub Actions step's env has
  // them); it never sends CONTAINER_ENV_VARS on an update.
  const Env old_client = {{"PROJECT_REPOSITORY", url},
                          {"PROJECT_BRANCH", "v2"},
                          {"PROJECT_ROOT", ""},
                          {"INSTALL_COMMAND", ""},
                          {"BUILD_COMMAND", "sh build.sh"},
                          {"START_COMMAND", "node server.js"},
                          {"RUNTIME_LANGUAGE", "nodejs"},
                          {"MULTI_COMPONENT", ""},
                          {"ROOT_START_COMMAND", ""},
                          {"DEPLOY_ON_START", "y"},
                          {"SERVICES", ""},
                          {"CUSTOM_SERVICES", ""},
                          {"REQUIRE_SERVICES", ""},
                          {"LINUX_DISTRIBUTION", "debian"},
                          {"HTTP_PORT", "3000"}};
  t = Clock::now();
  auto u = update(name, old_client);
  figure("update to v2", ms_since(t));
  ASSERT_EQ(u.exit_code, 0) << describe(u);
  body = route_json(name);
  EXPECT_EQ(body.value("marker", ""), "node-hello v2") << route(name);
  EXPECT_EQ(body.value("built", ""), "built") << route(name);
  EXPECT_EQ(body.value("branch", ""), "v2") << route(name);
  EXPECT_EQ(body.value("commit", ""), d.git->commit_of("node-hello", Visibility::public_repo, "v2"));

  // --- failing updates keep v2 -----------------------------------------------------------------------
  t = Clock::now();
  auto bf = update(name, {{"PROJECT_BRANCH", "build-fails"}});
  figure("update to build-fails (refused)", ms_since(t));
  EXPECT_NE(bf.exit_code, 0) << describe(bf);
  EXPECT_NE(bf.err.find("build"), std::string::npos) << bf.err;
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name) << describe(bf);

  for (const std::string branch : {"start-crashes", "never-listens"}) {
    t = Clock::now();
    auto bad = update(name, {{"PROJECT_BRANCH", branch}});
    const auto took = ms_since(t);
    figure("update to " + branch + " (refused)", took);
    EXPECT_NE(bad.exit_code, 0) << describe(bad);
    EXPECT_NE(bad.err.find("deploy.health_timeout"), std::string::npos) << bad.err;
    // health_timeout is 20 s; the rest is fetch, build and switching back.
    EXPECT_LT(took, 120000) << branch;
    EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << branch << ": " << route(name) << describe(bad);
  }
  EXPECT_EQ(in(name, "systemctl is-active " + unit).out, "active\n");

  // --- environment variables: verbatim, 0600, replaced on the next update ------------------------------
  const std::string tricky = "it's $HOME \"q\" \\ `x` a  b";
  nlohmann::json env1 = {{"CHECK_ONE", tricky}, {"CHECK_TWO", "x=y"}};
  t = Clock::now();
  auto e1 = update(name, {{"PROJECT_BRANCH", "env-check"}, {"CONTAINER_ENV_VARS", env1.dump()}});
  figure("update to env-check with CONTAINER_ENV_VARS", ms_since(t));
  ASSERT_EQ(e1.exit_code, 0) << describe(e1);
  body = route_json(name);
  EXPECT_EQ(body["env"], env1) << route(name);
  EXPECT_EQ(e1.err.find(tricky), std::string::npos) << "an env value was printed: " << e1.err;
  EXPECT_EQ(in(name, "stat -c '%a %U' /srv/app/current/.env").out, "600 app\n");
  auto etc = in(name, "stat -c '%a %U' /etc/lxcprov-app/current/*.env | sort -u");
  EXPECT_EQ(etc.out, "600 root\n") << etc.err;
  nlohmann::json env2 = {{"CHECK_THREE", "3"}};
  auto e2 = update(name, {{"CONTAINER_ENV_VARS", env2.dump()}});
  ASSERT_EQ(e2.exit_code, 0) << describe(e2);
  EXPECT_EQ(route_json(name)["env"], env2) << route(name);
  auto dotenv = in(name, "cat /srv/app/current/.env");
  EXPECT_EQ(dotenv.out.find("CHECK_ONE"), std::string::npos) << dotenv.out;
  EXPECT_NE(dotenv.out.find("CHECK_THREE"), std::string::npos) << dotenv.out;
  // An update that gives none keeps them.
  auto e3 = update(name, {});
  ASSERT_EQ(e3.exit_code, 0) << describe(e3);
  EXPECT_EQ(route_json(name)["env"], env2) << route(name);

  // --- a restart of the container brings the app back ---------------------------------------------------
  t = Clock::now();
  auto stop = run_for({"lxc-stop", "-P", w.lxcpath, "-n", name, "-t", "30"}, 60s);
  ASSERT_EQ(stop.exit_code, 0) << describe(stop);
  EXPECT_EQ(route(name), "");
  auto start = run_for({"lxc-start", "-P", w.lxcpath, "-n", name}, 60s);
  ASSERT_EQ(start.exit_code, 0) << describe(start);
  EXPECT_TRUE(eventually([&] { return route_json(name)["env"] == env2; }, 90s)) << route(name);
  figure("restart until the app answers again", ms_since(t));

  // --- a project root below the top of the repository ---------------------------------------------
  auto sub = update(name, {{"PROJECT_BRANCH", "in-subdir"}, {"PROJECT_ROOT", "app"}});
  ASSERT_EQ(sub.exit_code, 0) << describe(sub);
  body = route_json(name);
  EXPECT_EQ(body.value("marker", ""), "node-hello main") << route(name);
  EXPECT_EQ(body.value("built", ""), "built") << route(name);
  EXPECT_EQ(body.value("branch", ""), "in-subdir") << route(name);
  EXPECT_EQ(in(name, "test -f /srv/app/current/app/build.txt && echo built").out, "built\n");

  t = Clock::now();
  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("NodeAppCreatedUpdatedAndRestarted total", ms_since(t_test));
}

// A private repository: the token in PROJECT_TOKEN (and the old GITHUB_PAT) reaches the git
// server and nothing else. A wrong one is refused before anything is made.
TEST_F(Deploy, PrivateRepositoryTokenGoesOnlyToTheGitServer) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string token = d.git->token();
  const std::string url = d.git->url("node-hello", Visibility::private_repo);
  d.git->clear_requests();

  // A wrong token: refused at the check, one line naming PROJECT_TOKEN.
  const std::string wrong_name = w.prefix + "wrongtok";
  auto wrong = dssh("create-container", node_vars(wrong_name, url, "main", {{"PROJECT_TOKEN", "not-" + token}}));
  EXPECT_NE(wrong.exit_code, 0) << describe(wrong);
  EXPECT_NE(last_line(wrong.err).find("PROJECT_TOKEN"), std::string::npos) << describe(wrong);
  std::cout << "[ refusal  ] a wrong token -> exit " << wrong.exit_code << ": " << last_line(wrong.err) << "\n";
  expect_nothing_left(wrong_name);
  // No token at all for a private repository: the same.
  auto none = dssh("create-container", node_vars(wrong_name, url, "main"));
  EXPECT_NE(none.exit_code, 0) << describe(none);
  EXPECT_NE(last_line(none.err).find("PROJECT_TOKEN"), std::string::npos) << describe(none);
  expect_nothing_left(wrong_name);

  const std::string name = w.prefix + "private";
  auto t = Clock::now();
  // No PROJECT_BRANCH: the repository's default branch (main), by name.
  Env vars = node_vars(name, url, "", {{"PROJECT_TOKEN", token}});
  vars.erase("PROJECT_BRANCH");
  auto c = dssh("create-container", vars);
  figure("create with deploy of a private repository", ms_since(t));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello main") << route(name);
  EXPECT_EQ(route_json(name).value("branch", ""), "main") << route(name);
  // The old name of the token, on an update.
  t = Clock::now();
  auto u = update(name, {{"PROJECT_BRANCH", "v2"}, {"GITHUB_PAT", token}});
  figure("update of a private repository with GITHUB_PAT", ms_since(t));
  ASSERT_EQ(u.exit_code, 0) << describe(u);
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name);
  // An update without a token cannot fetch a private repository: refused, v2 serves on.
  auto u2 = update(name, {{"PROJECT_BRANCH", "main"}});
  EXPECT_NE(u2.exit_code, 0) << describe(u2);
  EXPECT_NE(last_line(u2.err).find("PROJECT_TOKEN"), std::string::npos) << describe(u2);
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name);

  // Where the Authorization header went: only to the private repositories of the git server,
  // from the host's check and from the container.
  const auto requests = d.git->requests();
  const std::string row_ip = db_row(name, d.config) ? db_row(name, d.config)->ip : "";
  bool from_container = false, from_host = false;
  for (const auto& r : requests) {
    if (r.authorization.empty()) continue;
    EXPECT_EQ(r.target.rfind("/private/", 0), 0u) << r.line;
    if (r.remote == row_ip) from_container = true;
    if (r.remote == w.net + "1") from_host = true;
  }
  EXPECT_TRUE(from_container) << "the container never sent the token";
  EXPECT_TRUE(from_host) << "the check never sent the token";
  EXPECT_TRUE(d.git->other_requests().empty());

  // Nowhere else: the daemon's log, the job records and logs, the container's files (its
  // overlay's upper layer: everything it wrote), the template, and journald.
  EXPECT_EQ(read_text(d.log).find(token), std::string::npos) << "the token is in the daemon log";
  ASSERT_FALSE(d.jobs.empty());
  bool logged_fetch = false;
  for (const auto& job : d.jobs) {
    const std::string text = ctl({"job", job}) + ctl({"logs", job});
    EXPECT_EQ(text.find(token), std::string::npos) << "the token is in job " << job;
    logged_fetch = logged_fetch || text.find("deploy-fetch") != std::string::npos;
  }
  EXPECT_TRUE(logged_fetch) << "no job log shows the fetch: the search above read nothing";
  EXPECT_EQ(ctl({"containers"}).find(token), std::string::npos);
  auto db = run_for({"grep", "-c", "-a", "-F", token, d.dir + "/state/state.db"}, 30s);
  EXPECT_EQ(db.out, "0\n") << "the token is in the state database";
  for (const std::string& dir : {w.lxcpath + "/" + name, w.lxcpath + "/tpl-debian"}) {
    auto g = run_for({"grep", "-r", "-l", "-a", "-F", token, dir}, 120s);
    EXPECT_EQ(g.out, "") << "the token is in " << dir;
  }
  // Nor in any process's environment there (the units never get it).
  auto environ = in(name, "cat /proc/[0-9]*/environ 2>/dev/null | grep -c -a -F '" + token + "' || true");
  EXPECT_EQ(environ.out, "0\n");
  auto git_config = in(name, "cat /srv/app/current/.git/config");
  EXPECT_EQ(git_config.exit_code, 0);
  EXPECT_EQ(git_config.out.find(token), std::string::npos) << git_config.out;
  if (::access("/usr/bin/journalctl", X_OK) == 0) {
    auto j = sh("journalctl --no-pager -q --since '-30min' 2>/dev/null | grep -c -F '" + token + "'", 60s);
    EXPECT_EQ(j.out, "0\n") << "the token is in the journal";
  }

  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("PrivateRepositoryTokenGoesOnlyToTheGitServer total", ms_since(t_test));
}

// Bad deploy inputs are refused before anything is made, each with one line naming the field.
TEST_F(Deploy, BadInputsRefusedBeforeAnythingIsCreated) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string url = d.git->url("node-hello");
  struct Case {
    std::string field;
    Env vars;
  };
  const std::vector<Case> cases = {
      {"PROJECT_BRANCH", {{"PROJECT_BRANCH", "no-such-branch"}}},
      {"PROJECT_BRANCH", {{"PROJECT_BRANCH", "-upload-pack=touch"}}},
      {"PROJECT_ROOT", {{"PROJECT_ROOT", "server.js"}}},
      {"PROJECT_ROOT", {{"PROJECT_ROOT", "no-such-dir"}}},
      {"PROJECT_REPOSITORY", {{"PROJECT_REPOSITORY", "https://example.com/someone/app.git"}}},
      {"PROJECT_REPOSITORY", {{"PROJECT_REPOSITORY", d.git->redirecting_url("node-hello")}}},
      {"RUNTIME_LANGUAGE", {{"RUNTIME_LANGUAGE", "nodejs@99"}}},
      {"SERVICES", {{"SERVICES", R"(["no-such-service"])"}}},
      {"CUSTOM_SERVICES", {{"CUSTOM_SERVICES", R"([["touch /tmp/custom"]])"}}},
  };
  const std::string name = w.prefix + "bad";
  for (const auto& k : cases) {
    auto r = dssh("create-container", node_vars(name, url, "main", k.vars), {}, 120s);
    std::string what = k.vars.begin()->first + "=" + k.vars.begin()->second;
    EXPECT_NE(r.exit_code, 0) << what << "\n" << describe(r);
    EXPECT_NE(last_line(r.err).find(k.field), std::string::npos) << what << "\n" << describe(r);
    EXPECT_EQ(job_id_in(r.err), "") << what << ": a job was started\n" << describe(r);
    std::cout << "[ refusal  ] " << what << " -> exit " << r.exit_code << ": " << last_line(r.err) << "\n";
    expect_nothing_left(name);
  }
  figure("BadInputsRefusedBeforeAnythingIsCreated total", ms_since(t_test));
}

// Python with a service from the catalog: redis from the Debian mirror, the app's counter goes up.
TEST_F(Deploy, PythonAppWithRedisService) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string name = w.prefix + "pyredis";
  auto t = Clock::now();
  auto c = dssh("create-container", deploy_vars(name, d.git->url("python-redis"),
                                                {{"HTTP_PORT", "8000"},
                                                 {"RUNTIME_LANGUAGE", "python"},
                                                 {"INSTALL_COMMAND", "pip install -r requirements.txt"},
                                                 {"START_COMMAND", "python3 app.py"},
                                                 {"REQUIRE_SERVICES", "y"},
                                                 {"SERVICES", R"(["redis"])"}}));
  figure("create with deploy of python-redis (redis from the mirror)", ms_since(t));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  EXPECT_EQ(in(name, "systemctl is-active redis-server").out, "active\n");
  auto first = route_json(name);
  ASSERT_FALSE(first.empty()) << route(name) << describe(c);
  EXPECT_EQ(first.value("marker", ""), "python-redis main");
  auto second = route_json(name);
  EXPECT_EQ(second.value("count", 0), first.value("count", 0) + 1) << first << second;
  EXPECT_EQ(in(name, "ps -o user= -C python3 | sort -u").out, "app\n");

  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("PythonAppWithRedisService total", ms_since(t_test));
}

// A container made without an app: an update with nothing to deploy changes nothing (exit 0,
// as the old update did without RUNTIME_LANGUAGE); one with the app's variables deploys it;
// someone else's update is refused and changes nothing.
TEST_F(Deploy, UpdateDeploysIntoAContainerMadeWithoutAnApp) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string name = w.prefix + "later";
  Env plain = create_vars("alice", name);
  plain["LINUX_DISTRIBUTION"] = "debian";
  plain["GH_ACTION"] = "y";
  auto c = dssh("create-container", plain, {}, 300s);
  ASSERT_EQ(c.exit_code, 0) << describe(c);

  auto nothing = update(name, {});
  EXPECT_EQ(nothing.exit_code, 0) << describe(nothing);
  EXPECT_NE(nothing.out.find("Nothing to deploy"), std::string::npos) << describe(nothing);

  const std::string url = d.git->url("node-hello");
  auto u = update(name, {{"PROJECT_REPOSITORY", url},
                         {"PROJECT_BRANCH", "v2"},
                         {"HTTP_PORT", "3000"},
                         {"RUNTIME_LANGUAGE", "nodejs"},
                         {"BUILD_COMMAND", "sh build.sh"},
                         {"START_COMMAND", "node server.js"}});
  ASSERT_EQ(u.exit_code, 0) << describe(u);
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name);

  Env bob = credentials("bob");
  bob["CONTAINER_NAME"] = name;
  bob["GH_ACTION"] = "y";
  bob["PROJECT_BRANCH"] = "main";
  auto theirs = dssh("update-container", bob, {}, 120s, /*sshpass=*/true);
  EXPECT_NE(theirs.exit_code, 0) << describe(theirs);
  EXPECT_EQ(job_id_in(theirs.err), "") << describe(theirs);
  EXPECT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name);

  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("UpdateDeploysIntoAContainerMadeWithoutAnApp total", ms_since(t_test));
}

// A person at a terminal: every deploy question asked (the old prompts), answered by typing; an
// environment value typed at a secret prompt is never echoed and reaches the app verbatim.
TEST_F(Deploy, InteractiveCreateAsksTheDeployQuestions) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string name = w.prefix + "tty";
  const std::string value = "typed $HOME 'q'";
  const std::vector<std::pair<std::string, std::string>> answers = {
      {"Username", "alice"},
      {"Password", w.alice_password},
      {"Container name", name},
      {"Linux distribution", "debian"},
      {"HTTP port", "3000"},
      {"Public key", w.public_key},
      {"Extra protocol", ""},
      {"deploy your project automatically", "y"},
      {"link to your project repository", d.git->url("node-hello")},
      {"Access token", ""},
      {"project branch", "env-check"},
      {"project root", ""},
      {"multiple components", "n"},
      {"require environment variables", "y"},
      {"Environment variable as KEY=VALUE", "CHECK_TYPED=" + value},
      {"build command", "sh build.sh"},
      {"install command", ""},
      {"start command", "node server.js"},
      {"runtime environment", "nodejs"},
      {"special services", "n"},
  };
  PtySession s({"ssh", "-F", d.ssh_config, "-tt", "create-container@dep"});
  std::set<std::string> asked;
  bool env_given = false;
  std::size_t answered = 0;
  for (int i = 0; i < 60 && s.expect(": ", 60s); ++i) {
    const std::string& out = s.output();
    if (out.find(" accepted") != std::string::npos) break;
    // A question waits for its answer: nothing after it yet (a notice such as "repository: ..."
    // goes on to its line end).
    if (!out.ends_with(": ")) continue;
    // And it is a new one: its line began after the last answer (the ": " matched may be an
    // earlier part of output already read past).
    const auto nl = out.rfind('\n');
    const std::size_t start = nl == std::string::npos ? 0 : nl + 1;
    if (answered > 0 && start <= answered) continue;
    const std::string line = out.substr(start);
    for (const auto& [prompt, answer] : answers) {
      if (line.find(prompt) == std::string::npos) continue;
      std::string typed = answer;
      if (prompt == "Environment variable as KEY=VALUE") {
        typed = env_given ? "" : answer;  // one variable, then a blank line to finish
        env_given = true;
      }
      asked.insert(prompt);
      answered = out.size();
      s.send_line(typed);
      break;
    }
  }
  EXPECT_EQ(s.wait_exit(240s), 0) << s.output();
  figure("interactive create with deploy", ms_since(t_test));
  for (const auto& [prompt, answer] : answers) EXPECT_TRUE(asked.count(prompt)) << "never asked: " << prompt;
  EXPECT_EQ(s.output().find(value), std::string::npos) << "the environment value was echoed:\n" << s.output();
  EXPECT_EQ(s.output().find(w.alice_password), std::string::npos) << "the password was echoed";
  EXPECT_EQ(route_json(name)["env"], nlohmann::json({{"CHECK_TYPED", value}})) << route(name) << s.output();

  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("InteractiveCreateAsksTheDeployQuestions total", ms_since(t_test));
}

// Two components (Node api, Python web) and a ROOT_START_COMMAND: a unit each, as app, all up.
TEST_F(Deploy, MultiComponentApp) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string name = w.prefix + "multi";
  auto c =
      dssh("create-container", deploy_vars(name, d.git->url("multi"),
                                           {{"HTTP_PORT", "8080"},
                                            {"MULTI_COMPONENT", "y"},
                                            {"RUNTIME_LANGUAGE", R"({"api":"nodejs","web":"python"})"},
                                            {"START_COMMAND", R"({"api":"node server.js","web":"python3 app.py"})"},
                                            {"ROOT_START_COMMAND", "sh root-start.sh"}}));
  figure("create with deploy of multi (two components and a root command)", ms_since(t_test));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  auto body = route_json(name);
  EXPECT_EQ(body.value("component", ""), "web") << route(name);
  EXPECT_EQ(body["api"].value("component", ""), "api") << route(name);
  EXPECT_EQ(body["api"].value("marker", ""), "multi main") << route(name);
  EXPECT_EQ(body.value("root", ""), "root-start ran") << route(name);
  auto units = in(name, "systemctl list-units --no-legend --plain --state=active 'lxcprov-app-*' | wc -l");
  EXPECT_EQ(units.out, "3\n") << in(name, "systemctl list-units --all 'lxcprov-app-*'").out;
  EXPECT_EQ(in(name, "ps -o user= -C node,python3,sleep | sort -u").out, "app\n");

  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("MultiComponentApp total", ms_since(t_test));
}

// Crash recovery of an update (issue 11; crash_test.cpp does create and delete): the daemon is
// replaced by lxcprovd_faulty with --crash-at at every boundary of the steps a real update
// records, killed there, and started again on the same state. An interrupted update is rolled
// back: the route serves the release it served before, the row is ready again, the job says
// ROLLED_BACK. One that recorded its success before the crash (after:finish) serves the new one.
TEST_F(Deploy, UpdateKilledAtEveryStepBoundaryIsRolledBack) {
  const World& w = world();
  DeployWorld& d = dw();
  const auto t_test = Clock::now();
  const std::string name = w.prefix + "crup";
  auto c = dssh("create-container", node_vars(name, d.git->url("node-hello"), "main"));
  ASSERT_EQ(c.exit_code, 0) << describe(c);
  auto u = update(name, {{"PROJECT_BRANCH", "v2"}});
  ASSERT_EQ(u.exit_code, 0) << describe(u);
  ASSERT_EQ(route_json(name).value("marker", ""), "node-hello v2") << route(name);
  auto recorded = run_for({"sqlite3", "-readonly", d.dir + "/state/state.db",
                           "SELECT step FROM job_steps WHERE job_id = '" + job_id_in(u.err) + "' ORDER BY seq"},
                          30s);
  const auto steps = lines_of(recorded.out);
  ASSERT_GE(steps.size(), 3u) << describe(recorded);
  std::vector<std::string> points;
  for (const auto& s : steps) points.insert(points.end(), {"before:" + s, "after:" + s});
  points.push_back("after:finish");
  std::string serving = "v2";
  for (const auto& point : points) {
    SCOPED_TRACE("update, crash at " + point);
    const auto t = Clock::now();
    const std::string next = serving == "v2" ? "main" : "v2";
    stop_process(d.daemon);
    d.daemon = start_daemon(d.config, d.socket, d.log, {"--crash-at", point}, /*faulty=*/true);
    ASSERT_GT(d.daemon, 0) << read_text(d.log);
    auto r = update(name, {{"PROJECT_BRANCH", next}});
    EXPECT_NE(r.exit_code, 0) << "the client was told it worked: " << describe(r);
    const pid_t crashed = d.daemon;
    int st = 0;
    ASSERT_TRUE(eventually([&] { return ::waitpid(crashed, &st, WNOHANG) == crashed; }, 120s))
        << "the daemon did not crash at " << point;
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    std::error_code ec;  // the janitor must not signal a pid that may be reused
    fs::remove(w.tmp + "/" + fs::path(d.socket).filename().string() + ".pid", ec);
    d.daemon = start_daemon(d.config, d.socket, d.log);  // recovery runs before it accepts a connection
    ASSERT_GT(d.daemon, 0) << read_text(d.log);
    const std::string job = job_id_in(r.err);
    ASSERT_FALSE(job.empty()) << describe(r);
    const bool finished = point == "after:finish";
    EXPECT_EQ(job_state(job, d.config), finished ? "SUCCEEDED" : "ROLLED_BACK") << ctl({"logs", job});
    if (finished) serving = next;
    std::string marker;
    EXPECT_TRUE(
        eventually([&] { return (marker = route_json(name).value("marker", "")) == "node-hello " + serving; }, 30s))
        << "serves \"" << marker << "\", not " << serving << "\n"
        << ctl({"logs", job});
    auto row = db_row(name, d.config);
    ASSERT_TRUE(row.has_value());
    EXPECT_EQ(row->state, "ready");
    figure("update killed at " + point + ", recovered, checked", ms_since(t));
  }
  auto del = remove(name);
  EXPECT_EQ(del.exit_code, 0) << describe(del);
  expect_nothing_left(name);
  figure("UpdateKilledAtEveryStepBoundaryIsRolledBack total", ms_since(t_test));
}

}  // namespace
}  // namespace lxcprov::it
