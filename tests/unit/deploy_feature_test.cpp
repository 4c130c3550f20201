// The deploy feature in the create and update plans, against recording fakes (tests/fakes/) and a
// runtime that plays the container's side of the scripts (releases, the current link, active
// units): each plan as its call sequence; a failure injected at each call (a create leaves
// nothing; an update leaves the previous release serving and its row back); a crash at each call
// (recovery does the same); and where secrets may and may not go.

#include <gtest/gtest.h>

#include <set>

#include "../fakes/call_log.hpp"
#include "../fakes/fake_template_seals.hpp"
#include "../fakes/memory_store.hpp"
#include "../fakes/recording_edges.hpp"
#include "deploy/deploy_feature.hpp"
#include "deploy/layout.hpp"
#include "forwarding/forwarding_feature.hpp"
#include "isolation/isolation_feature.hpp"
#include "jobs/provisioner.hpp"
#include "jobs/queries.hpp"
#include "routing/routing_feature.hpp"

namespace lxcprov::deploy {
namespace {

using testing::CallLog;
using Strings = std::vector<std::string>;

const std::string token = "ghp_TOKENtoken0123456789";
const std::string db_password = "pa$$'w\"o\\rd-0123";
const std::string commit_a = std::string(40, 'a'), commit_b = std::string(40, 'b');

class Collecting : public jobs::Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view step, std::chrono::microseconds) override { done.emplace_back(step); }
  void step_failed(std::string_view, const Error& e) override { errors.push_back(e.message); }
  void undo_failed(std::string_view step, const Error&) override { undo_failures.emplace_back(step); }
  void info(std::string_view text) override { infos.emplace_back(text); }
  void output(std::string_view step, std::string_view text) override {
    output_text += std::string(step) + ": " + std::string(text);
  }
  Strings done, errors, undo_failures, infos;
  std::string output_text;
};

// The container's side: what the deploy scripts would leave behind, from their arguments.
class ContainerSide : public testing::RecordingRuntime {
 public:
  using RecordingRuntime::RecordingRuntime;

  Result<container::RunResult> run(const std::string& name, const std::vector<std::string>& argv,
                                   const std::string& input, std::chrono::milliseconds timeout) override {
    if (auto r = RecordingRuntime::run(name, argv, input, timeout); !r) return r;
    return play(argv, input, {});
  }
  Result<container::RunResult> run_as(const std::string& name, const std::vector<std::string>& argv,
                                      const container::RunOptions& o) override {
    if (auto r = RecordingRuntime::run_as(name, argv, o); !r) return r;
    for (const auto& e : o.env) environments.push_back(e);
    auto r = play(argv, o.input, o.env);
    if (r && o.on_output && !r->output.empty()) o.on_output(r->output);
    return r;
  }

  std::set<std::string> releases, active;
  std::string current;
  std::map<std::string, std::string> files;     ///< root files written (lxcprov-write), by path
  std::map<std::string, std::string> dot_envs;  ///< the app's .env files, by directory
  std::map<std::string, int> exit_of;           ///< script name -> its exit status (a build that fails)
  std::string head = commit_b;                  ///< what the clone finds
  Strings argvs, environments, inputs;

 private:
  Result<container::RunResult> play(const std::vector<std::string>& argv, const std::string& input,
                                    const std::vector<std::string>&) {
    for (const auto& a : argv) argvs.push_back(a);
    inputs.push_back(input);
    const std::string what = what_ran(argv);
    const Strings args(argv.begin() + std::min<std::ptrdiff_t>(4, static_cast<std::ptrdiff_t>(argv.size())),
                       argv.end());
    if (auto it = exit_of.find(what); it != exit_of.end()) return container::RunResult{it->second, "it broke\n"};
    container::RunResult r{0, ""};
    if (what == "lxcprov-deploy-prepare") {
      releases.insert(args.at(1));
    } else if (what == "lxcprov-deploy-inspect") {
      r.output = head + "\n";
    } else if (what == "lxcprov-deploy-remove") {
      if (current != args.at(0)) releases.erase(args.at(0));
    } else if (what == "lxcprov-deploy-switch") {
      if (!releases.count(args.at(0))) return container::RunResult{3, "missing"};
      current = args.at(0);
      for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i][0] == '+') active.insert(args[i].substr(1));
        if (args[i][0] == '-') active.erase(args[i].substr(1));
      }
    } else if (what == "lxcprov-deploy-unswitch") {
      current.clear();
      for (const auto& u : args) active.erase(u);
    } else if (what == "lxcprov-deploy-active") {
      for (const auto& u : args)
        if (!active.count(u)) return container::RunResult{1, u + " is inactive\n"};
    } else if (what == "lxcprov-write") {
      files[args.at(0)] = input;
    } else if (what == "lxcprov-deploy-env") {
      dot_envs[args.at(0)] = input;
    } else if (what == "lxcprov-deploy-prune") {
      // keeps the first `keep` of the listed ones
    } else if (what == "lxcprov-deploy-run") {
      r.output = "added 12 packages; using " + db_password + "\n";  // a build that prints a secret
    } else if (what == "lxcprov-app-logs" || what == "journalctl") {
      r.output = "2026-01-01T00:00:00 web node[1]: listening\n";
    }
    return r;
  }
};

class FakeProbe : public HttpProbe {
 public:
  explicit FakeProbe(CallLog& log) : log_(log) {}
  Result<std::string> status_line(const ProbeTarget& target, std::chrono::milliseconds) override {
    if (auto s = log_.record("probe " + target.host); !s) return s.error();
    targets.push_back(target);
    return std::string(answers ? "HTTP/1.1 200 OK" : "HTTP/1.1 502 Bad Gateway");
  }
  bool answers = true;
  std::vector<ProbeTarget> targets;

 private:
  CallLog& log_;
};

class FakeClock : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return t; }
  void sleep_for(std::chrono::milliseconds d) override { t += d; }
  std::chrono::steady_clock::time_point t{};
};

Catalog catalog() {
  Catalog c;
  c.runtimes["nodejs"] = {"nodejs", "18.19.0", {{"18.19.0", {"nodejs", "npm"}, false}}};
  c.services["redis"] = {"redis", {"redis-server"}, {"redis-server.service"}};
  c.services["postgresql"] = {"postgresql", {"postgresql"}, {"postgresql.service"}};
  return c;
}

struct Host {
  Host() {
    config.network.dns = {"192.0.2.53"};
    restart();
  }
  void restart() {
    isolation = std::make_unique<isolation::IsolationFeature>(config, store, isolation_nft);
    forwarding = std::make_unique<forwarding::ForwardingFeature>(config, store, forwarding_nft);
    routing = std::make_unique<routing::RoutingFeature>(config, store, nginx);
    deploy = std::make_unique<DeployFeature>(config, store, runtime, cat, probe, clock, "");
    provisioner = std::make_unique<jobs::Provisioner>(
        config, store, runtime, seals, container::CgroupVersion::v1,
        std::vector<jobs::Feature*>{isolation.get(), forwarding.get(), routing.get(), deploy.get()});
    provisioner->set_concurrently(jobs::sequentially);  // the fakes record calls in one order
  }
  request::Request create_request(const std::string& name = "web") {
    request::Request r;
    r.username = "alice";
    r.container_name = name;
    r.distribution = "debian";
    r.http_port = 3000;
    DeploySpec s;
    s.repository = "https://git.example.org/team/app.git";
    s.branch = "main";
    s.components = {{"", "nodejs", "18", "npm ci", "npm run build", "node server.js"}};
    s.services = {"redis"};
    s.commit = commit_a;
    r.deploy = s;
    r.deploy_secrets.git_token = Secret(token);
    r.deploy_secrets.env.emplace();
    (*r.deploy_secrets.env)[""]["DB_PASSWORD"] = Secret(db_password);
    return r;
  }
  jobs::Outcome create(const request::Request& r, const std::string& job = "job-create") {
    (void)store.create_job(
        {job, state::JobKind::create, r.container_name, "alice", state::JobState::pending, "", 0, "", 1, 1});
    return provisioner->create(r, job, reporter);
  }
  request::Request update_request(const std::string& user = "alice") {
    request::Request r;
    r.op = request::Operation::update;
    r.username = user;
    r.container_name = "web";
    DeploySpec given;
    given.commit = commit_b;
    r.deploy = given;
    r.deploy_secrets.git_token = Secret(token);
    r.deploy_secrets.env.emplace();
    (*r.deploy_secrets.env)[""]["DB_PASSWORD"] = Secret(db_password);
    return r;
  }
  jobs::Outcome update(const request::Request& r, const std::string& job = "job-update") {
    (void)store.create_job({job, state::JobKind::update, "web", r.username, state::JobState::pending, "", 0, "", 1, 1});
    return provisioner->update(r, job, reporter);
  }
  // A container made by a create with deploy, its calls forgotten.
  void deployed() {
    runtime.head = commit_a;
    auto o = create(create_request());
    ASSERT_EQ(o.exit_code, 0) << o.lines.front();
    runtime.head = commit_b;
    log.calls.clear();
    reporter = Collecting();
  }
  // The create's release serves and the row says so.
  void expect_first_release_serves(const std::string& why) {
    SCOPED_TRACE(why);
    EXPECT_EQ(runtime.current, "job-create");
    EXPECT_TRUE(runtime.active.count("lxcprov-app-app.service"));
    ASSERT_TRUE(store.deployments.count("web"));
    const auto& d = store.deployments.at("web");
    EXPECT_EQ(d.release, "job-create");
    EXPECT_EQ(d.commit, commit_a);
    EXPECT_EQ(d.http_port, 3000);
    EXPECT_EQ(store.containers.at("web").http_port, 3000);
    EXPECT_EQ(store.containers.at("web").state, state::ContainerState::ready);
    EXPECT_FALSE(runtime.releases.count("job-update")) << "the new release is removed";
    EXPECT_NE(nginx.installed.find("10.47.0.10:3000"), std::string::npos) << nginx.installed;
  }

  config::Config config = config::defaults();
  CallLog log;
  testing::MemoryStore store;
  testing::FakeTemplateSeals seals;
  ContainerSide runtime{log};
  testing::RecordingInstaller isolation_nft{log, "nft isolation"}, forwarding_nft{log, "nft forwards"},
      nginx{log, "nginx routes"};
  Catalog cat = catalog();
  FakeProbe probe{log};
  FakeClock clock;
  std::unique_ptr<isolation::IsolationFeature> isolation;
  std::unique_ptr<forwarding::ForwardingFeature> forwarding;
  std::unique_ptr<routing::RoutingFeature> routing;
  std::unique_ptr<DeployFeature> deploy;
  std::unique_ptr<jobs::Provisioner> provisioner;
  Collecting reporter;
};

const Strings core_create = {"clone web", "seed web", "nft isolation", "start web", "nft forwards", "nginx routes"};
const Strings deploy_create = {
    "run_as web 0 lxcprov-deploy-packages",  // deploy-packages
    "run_as web 0 lxcprov-deploy-services",  // deploy-services
    "run_as web 0 lxcprov-deploy-prepare",   // deploy-fetch
    "run_as web 5000 lxcprov-deploy-clone",
    "run_as web 5000 lxcprov-deploy-inspect",
    "run_as web 5000 lxcprov-deploy-env",  // deploy-env: the .env, then the user's and lxcprov's
    "run web lxcprov-write",               // EnvironmentFiles and the command file
    "run web lxcprov-write",
    "run web lxcprov-write",
    "run_as web 5000 lxcprov-deploy-run",  // deploy-install
    "run_as web 5000 lxcprov-deploy-run",  // deploy-build
    "run web lxcprov-write",               // deploy-units: the unit file, then the switch
    "run_as web 0 lxcprov-deploy-switch",
    "run_as web 0 lxcprov-deploy-active",  // deploy-health
    "probe web.lxcprov.localhost",
};
const Strings deploy_update = {
    "run_as web 0 lxcprov-deploy-packages",  // deploy-packages (no new service: no deploy-services call)
    "run_as web 0 lxcprov-deploy-prepare",   // deploy-fetch
    "run_as web 5000 lxcprov-deploy-clone",
    "run_as web 5000 lxcprov-deploy-inspect",
    "run_as web 5000 lxcprov-deploy-env",  // deploy-env
    "run web lxcprov-write",
    "run web lxcprov-write",
    "run web lxcprov-write",
    "run_as web 5000 lxcprov-deploy-run",  // deploy-install
    "run_as web 5000 lxcprov-deploy-run",  // deploy-build
    "run web lxcprov-write",               // deploy-switch
    "run_as web 0 lxcprov-deploy-switch",
    "nginx routes",                        // reroute
    "run_as web 0 lxcprov-deploy-active",  // deploy-health
    "probe web.lxcprov.localhost",
    "run_as web 0 lxcprov-deploy-prune",  // deploy-prune
};

Strings concat(Strings a, const Strings& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

TEST(DeployCreate, TheDeployStepsRunAfterConfigureAndTheAppServes) {
  Host h;
  auto o = h.create(h.create_request());
  ASSERT_EQ(o.exit_code, 0) << o.lines.front();
  EXPECT_EQ(h.log.calls, concat(core_create, deploy_create));
  EXPECT_EQ(h.reporter.done,
            (Strings{"reserve", "clone", "configure", "isolate", "start", "ports", "route", "configure-inside",
                     "deploy-packages", "deploy-services", "deploy-fetch", "deploy-env", "deploy-install",
                     "deploy-build", "deploy-units", "deploy-health", "ready"}));
  EXPECT_EQ(h.runtime.current, "job-create");
  EXPECT_EQ(h.runtime.active, (std::set<std::string>{"lxcprov-app-app.service"}));
  const auto& d = h.store.deployments.at("web");
  EXPECT_EQ(d.release, "job-create");
  EXPECT_EQ(d.commit, commit_b) << "the branch moved since the check: the clone's commit is recorded";
  EXPECT_TRUE(d.previous_release.empty());
  EXPECT_FALSE(contains(d.spec, db_password));
  EXPECT_FALSE(contains(d.spec, token));
  EXPECT_TRUE(std::any_of(h.reporter.infos.begin(), h.reporter.infos.end(),
                          [](const std::string& i) { return contains(i, "the branch moved"); }));
  // The files: the user's variables (quoted), lxcprov's, the command verbatim, the unit.
  const auto& f = h.runtime.files;
  EXPECT_EQ(f.at("/etc/lxcprov-app/releases/job-create/app.env"), "DB_PASSWORD=\"pa\\$\\$'w\\\"o\\\\rd-0123\"\n");
  EXPECT_EQ(f.at("/etc/lxcprov-app/releases/job-create/app.lxcprov.env"),
            "HTTP_PORT=\"3000\"\nPORT=\"3000\"\nLXCPROV_BRANCH=\"main\"\nLXCPROV_COMMIT="
            "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n");
  EXPECT_EQ(f.at("/etc/lxcprov-app/releases/job-create/app.sh"), "node server.js\n");
  EXPECT_TRUE(contains(f.at("/etc/systemd/system/lxcprov-app-app.service"), "User=app"));
  EXPECT_EQ(h.runtime.dot_envs.at("/srv/app/releases/job-create"),
            f.at("/etc/lxcprov-app/releases/job-create/app.env"));
  // The final message names the app.
  EXPECT_TRUE(std::any_of(o.lines.begin(), o.lines.end(), [](const std::string& l) { return contains(l, "  app:"); }));
}

TEST(DeployCreate, SecretsGoOnlyWhereTheyMust) {
  Host h;
  ASSERT_EQ(h.create(h.create_request()).exit_code, 0);
  // Never in an argv; the token only as git's header, in the clone's environment.
  for (const auto& a : h.runtime.argvs) {
    EXPECT_FALSE(contains(a, token)) << a;
    EXPECT_FALSE(contains(a, db_password)) << a;
  }
  const std::string header = std::string(git_auth_header(Secret(token)).reveal());
  int with_header = 0;
  for (const auto& e : h.runtime.environments) {
    EXPECT_FALSE(contains(e, token));
    with_header += contains(e, header.substr(21)) ? 1 : 0;
  }
  EXPECT_EQ(with_header, 1);
  // The build printed the password: the reporter got it redacted.
  EXPECT_TRUE(contains(h.reporter.output_text, "deploy-install: added 12 packages; using [redacted]"))
      << h.reporter.output_text;
  EXPECT_FALSE(contains(h.reporter.output_text, db_password));
  // Nothing in the store holds either.
  for (const auto& [id, job] : h.store.jobs) EXPECT_FALSE(contains(job.message, token));
  for (const auto& [name, d] : h.store.deployments) EXPECT_FALSE(contains(d.spec + d.previous_spec, db_password));
}

TEST(DeployCreate, AFailureAtEveryCallLeavesNothing) {
  const Strings calls = concat(core_create, deploy_create);
  for (size_t k = 1; k <= calls.size(); ++k) {
    SCOPED_TRACE("failing call " + std::to_string(k) + ": " + calls[k - 1]);
    Host h;
    h.log.fail_at(static_cast<int>(k));
    auto o = h.create(h.create_request());
    if (calls[k - 1].starts_with("probe")) {
      EXPECT_EQ(o.exit_code, 0) << "a probe that fails is asked again";
      continue;
    }
    EXPECT_NE(o.exit_code, 0);
    EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::rolled_back);
    EXPECT_TRUE(h.reporter.undo_failures.empty());
    EXPECT_FALSE(h.runtime.containers.count("web"));
    EXPECT_FALSE(h.store.containers.count("web"));
    EXPECT_FALSE(h.store.deployments.count("web"));
    EXPECT_FALSE(contains(h.nginx.installed, "web"));
  }
}

TEST(DeployCreate, ACrashAtEveryCallIsRolledBackAtTheNextStart) {
  const Strings calls = concat(core_create, deploy_create);
  for (size_t k = 1; k <= calls.size(); ++k) {
    SCOPED_TRACE("crash at call " + std::to_string(k) + ": " + calls[k - 1]);
    Host h;
    h.log.fail_at(static_cast<int>(k), CallLog::Fault::crash);
    EXPECT_THROW(h.create(h.create_request()), testing::Crash);
    h.log.clear_fault();
    h.restart();
    h.provisioner->recover(h.reporter);
    EXPECT_EQ(h.store.jobs["job-create"].state, state::JobState::rolled_back);
    EXPECT_FALSE(h.runtime.containers.count("web"));
    EXPECT_FALSE(h.store.deployments.count("web"));
  }
}

TEST(DeployCreate, AnAppThatNeverAnswersFailsTheCreateWithItsJournal) {
  Host h;
  h.probe.answers = false;
  auto o = h.create(h.create_request());
  EXPECT_EQ(o.exit_code, 1);
  ASSERT_FALSE(h.reporter.errors.empty());
  const std::string& e = h.reporter.errors.back();
  EXPECT_TRUE(contains(e, "did not come up within deploy.health_timeout (60 s)")) << e;
  EXPECT_TRUE(contains(e, "502 Bad Gateway")) << e;
  EXPECT_TRUE(contains(e, "node[1]: listening")) << "the journal's last lines";
  EXPECT_GE(h.probe.targets.size(), 60u) << "polled until the timeout";
  EXPECT_FALSE(h.runtime.containers.count("web"));
}

TEST(DeployCreate, AFailingBuildFailsTheCreate) {
  Host h;
  h.runtime.exit_of["lxcprov-deploy-run"] = 2;
  auto o = h.create(h.create_request());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.lines.front(), "the install command of app failed (exit 2")) << o.lines.front();
  EXPECT_FALSE(h.runtime.containers.count("web"));
}

TEST(DeployCreate, CustomServicesAreRefusedUnlessTheConfigAllowsThem) {
  Host h;
  auto r = h.create_request();
  r.deploy->custom_services = {"apt-get install -y something"};
  auto o = h.create(r);
  EXPECT_EQ(o.exit_code, 2);
  EXPECT_TRUE(contains(o.lines.front(), "CUSTOM_SERVICES: not allowed")) << o.lines.front();

  Host allowed;
  allowed.config.deploy.allow_custom_services = true;
  ASSERT_EQ(allowed.create(r).exit_code, 0);
  EXPECT_TRUE(std::count(allowed.log.calls.begin(), allowed.log.calls.end(), "run_as web 0 lxcprov-custom-service") ==
              1);
  allowed.runtime.exit_of["lxcprov-custom-service"] = 1;
  auto failed = allowed.create(h.create_request("web2"), "job-2");
  EXPECT_EQ(failed.exit_code, 0) << "no custom service asked for";
  auto r3 = r;
  r3.container_name = "web3";
  EXPECT_EQ(allowed.create(r3, "job-3").exit_code, 1) << "a custom service that fails fails the job";
}

TEST(DeployCreate, NoDeployValuesNoDeploySteps) {
  Host h;
  auto r = h.create_request();
  r.deploy.reset();
  ASSERT_EQ(h.create(r).exit_code, 0);
  EXPECT_EQ(h.log.calls, core_create);
}

TEST(DeployUpdate, ANewReleaseIsFetchedBuiltAndSwitchedToWhileTheOldServed) {
  Host h;
  h.deployed();
  auto o = h.update(h.update_request());
  ASSERT_EQ(o.exit_code, 0) << o.lines.front() << (o.lines.size() > 1 ? o.lines[1] : "");
  EXPECT_EQ(h.log.calls, deploy_update);
  EXPECT_EQ(h.reporter.done,
            (Strings{"lock", "deploy-packages", "deploy-services", "deploy-fetch", "deploy-env", "deploy-install",
                     "deploy-build", "deploy-switch", "reroute", "deploy-health", "deploy-prune", "unlock"}));
  EXPECT_EQ(h.runtime.current, "job-update");
  const auto& d = h.store.deployments.at("web");
  EXPECT_EQ(d.release, "job-update");
  EXPECT_EQ(d.commit, commit_b);
  EXPECT_EQ(d.previous_release, "job-create");
  EXPECT_EQ(d.previous_commit, commit_a);
  EXPECT_EQ(h.store.containers.at("web").state, state::ContainerState::ready);
  EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::succeeded);
  EXPECT_EQ(o.lines.front(), "Container web updated.");
}

TEST(DeployUpdate, AFailureAtEveryCallLeavesThePreviousReleaseServing) {
  for (size_t k = 1; k <= deploy_update.size(); ++k) {
    SCOPED_TRACE("failing call " + std::to_string(k) + ": " + deploy_update[k - 1]);
    Host h;
    h.deployed();
    h.log.fail_at(static_cast<int>(k));
    auto o = h.update(h.update_request());
    if (deploy_update[k - 1].starts_with("probe") || contains(deploy_update[k - 1], "prune")) {
      EXPECT_EQ(o.exit_code, 0) << "retried, or not worth failing an update for";
      continue;
    }
    EXPECT_NE(o.exit_code, 0);
    EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::rolled_back) << h.store.jobs["job-update"].message;
    EXPECT_TRUE(h.reporter.undo_failures.empty());
    h.expect_first_release_serves("after the roll back");
  }
}

TEST(DeployUpdate, ACrashAtEveryCallIsUndoneAtTheNextStart) {
  for (size_t k = 1; k <= deploy_update.size(); ++k) {
    SCOPED_TRACE("crash at call " + std::to_string(k) + ": " + deploy_update[k - 1]);
    Host h;
    h.deployed();
    h.log.fail_at(static_cast<int>(k), CallLog::Fault::crash);
    EXPECT_THROW(h.update(h.update_request()), testing::Crash);
    EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::running);
    h.log.clear_fault();
    h.restart();
    h.provisioner->recover(h.reporter);
    EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::rolled_back) << h.store.jobs["job-update"].message;
    h.expect_first_release_serves("after recovery");
  }
}

TEST(DeployUpdate, AFailedHealthCheckSwitchesBackAndSaysSo) {
  Host h;
  h.deployed();
  h.probe.answers = false;
  auto o = h.update(h.update_request());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_TRUE(contains(o.lines.front(), "update failed: the app did not come up")) << o.lines.front();
  EXPECT_TRUE(contains(o.lines.at(1), "rolled back")) << o.lines.at(1);
  h.probe.answers = true;
  h.expect_first_release_serves("after the failed health check");
}

// The job ends once the previous release answers again (the client is told it serves on), and
// its not answering is said, not an undo failure: the switch back itself is done.
TEST(DeployUpdate, TheSwitchBackWaitsUntilThePreviousReleaseAnswers) {
  Host h;
  h.deployed();
  h.probe.answers = false;
  h.log.calls.clear();
  auto o = h.update(h.update_request());
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::rolled_back) << h.store.jobs["job-update"].message;
  const auto back = std::find_if(h.log.calls.rbegin(), h.log.calls.rend(),
                                 [](const std::string& c) { return contains(c, "lxcprov-deploy-switch"); });
  ASSERT_NE(back, h.log.calls.rend());
  EXPECT_TRUE(std::any_of(h.log.calls.rbegin(), back, [](const std::string& c) { return c.starts_with("probe"); }))
      << "nothing probed the previous release after switching back to it";
  EXPECT_TRUE(std::any_of(h.reporter.infos.begin(), h.reporter.infos.end(),
                          [](const std::string& i) { return contains(i, "previous release does not answer yet"); }));
  h.probe.answers = true;
  h.expect_first_release_serves("after the switch back");
}

TEST(DeployUpdate, AChangedHttpPortMovesTheRouteAndMovesItBackOnFailure) {
  Host h;
  h.deployed();
  auto r = h.update_request();
  r.http_port = 8080;
  h.runtime.exit_of["lxcprov-deploy-active"] = 3;  // the new release never comes up
  EXPECT_EQ(h.update(r).exit_code, 1);
  h.runtime.exit_of.clear();
  h.expect_first_release_serves("port change rolled back");

  ASSERT_EQ(h.update(r, "job-update-2").exit_code, 0);
  EXPECT_EQ(h.store.containers.at("web").http_port, 8080);
  EXPECT_EQ(h.store.deployments.at("web").http_port, 8080);
  EXPECT_NE(h.nginx.installed.find("10.47.0.10:8080"), std::string::npos) << h.nginx.installed;
  EXPECT_EQ(h.runtime.files.at("/etc/lxcprov-app/releases/job-update-2/app.lxcprov.env"),
            "HTTP_PORT=\"8080\"\nPORT=\"8080\"\nLXCPROV_BRANCH=\"main\"\nLXCPROV_COMMIT="
            "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n");
}

TEST(DeployUpdate, WithoutEnvTheServingReleasesEnvIsCopiedNotRewritten) {
  Host h;
  h.deployed();
  auto r = h.update_request();
  r.deploy_secrets.env.reset();
  ASSERT_EQ(h.update(r).exit_code, 0);
  EXPECT_EQ(std::count(h.log.calls.begin(), h.log.calls.end(), "run_as web 5000 lxcprov-deploy-copy-env"), 1);
  EXPECT_EQ(std::count(h.log.calls.begin(), h.log.calls.end(), "run_as web 0 lxcprov-deploy-copy-etc"), 1);
  EXPECT_EQ(std::count(h.log.calls.begin(), h.log.calls.end(), "run_as web 5000 lxcprov-deploy-env"), 0);
  // Only lxcprov's variables and the command are written for the new release.
  EXPECT_FALSE(h.runtime.files.count("/etc/lxcprov-app/releases/job-update/app.env"));
}

TEST(DeployUpdate, NewServicesOnlyAreStarted) {
  Host h;
  h.deployed();
  auto r = h.update_request();
  r.deploy->services = {"redis", "postgresql"};
  ASSERT_EQ(h.update(r).exit_code, 0);
  EXPECT_EQ(std::count(h.log.calls.begin(), h.log.calls.end(), "run_as web 0 lxcprov-deploy-services"), 1);
  const auto& argvs = h.runtime.argvs;
  EXPECT_NE(std::find(argvs.begin(), argvs.end(), "postgresql.service"), argvs.end());
  EXPECT_EQ(std::count(argvs.begin(), argvs.end(), "redis-server.service"), 1) << "started by the create only";
  auto spec = from_stored_json(h.store.deployments.at("web").spec);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->services, (Strings{"redis", "postgresql"}));
}

TEST(DeployUpdate, NothingStoredAndNothingGivenIsExitZeroAndNoWork) {
  Host h;
  auto r = h.create_request();
  r.deploy.reset();
  ASSERT_EQ(h.create(r).exit_code, 0);
  h.log.calls.clear();
  auto u = h.update_request();
  u.deploy.reset();
  auto o = h.update(u);
  EXPECT_EQ(o.exit_code, 0);
  EXPECT_TRUE(contains(o.lines.front(), "Nothing to deploy")) << o.lines.front();
  EXPECT_TRUE(h.log.calls.empty());
  EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::succeeded);
  EXPECT_EQ(h.store.containers.at("web").state, state::ContainerState::ready);
}

TEST(DeployUpdate, AFirstDeploymentByUpdateThatFailsLeavesNothingDeployed) {
  Host h;
  auto r = h.create_request();
  r.deploy.reset();
  ASSERT_EQ(h.create(r).exit_code, 0);
  auto u = h.update_request();
  u.deploy = h.create_request().deploy;  // the whole spec, as a first deployment needs
  u.http_port = 8080;
  h.probe.answers = false;
  auto o = h.update(u);
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(h.store.jobs["job-update"].state, state::JobState::rolled_back);
  EXPECT_FALSE(h.store.deployments.count("web"));
  EXPECT_EQ(h.store.containers.at("web").http_port, 3000);
  EXPECT_EQ(h.store.containers.at("web").state, state::ContainerState::ready);
  EXPECT_TRUE(h.runtime.current.empty());
  EXPECT_TRUE(h.runtime.active.empty());
  EXPECT_FALSE(h.runtime.releases.count("job-update"));
  EXPECT_NE(h.nginx.installed.find("10.47.0.10:3000"), std::string::npos);

  h.probe.answers = true;
  ASSERT_EQ(h.update(u, "job-update-2").exit_code, 0);
  EXPECT_EQ(h.store.deployments.at("web").release, "job-update-2");
  EXPECT_EQ(h.runtime.current, "job-update-2");
}

TEST(DeployUpdate, NothingGivenRedeploysTheStoredSpecAtTheBranchTip) {
  Host h;
  h.deployed();
  auto u = h.update_request();
  u.deploy.reset();
  ASSERT_EQ(h.update(u).exit_code, 0);
  EXPECT_EQ(h.store.deployments.at("web").commit, commit_b);
  EXPECT_TRUE(h.reporter.infos.empty() || !contains(h.reporter.infos.front(), "moved")) << "no commit was asked for";
}

TEST(DeployUpdate, AnotherUsersOrABusyContainerIsRefusedBeforeAnything) {
  Host h;
  h.deployed();
  auto o = h.update(h.update_request("bob"));
  EXPECT_EQ(o.exit_code, 5);
  EXPECT_TRUE(h.log.calls.empty());
  h.store.containers.at("web").state = state::ContainerState::updating;
  auto busy = h.update(h.update_request(), "job-busy");
  EXPECT_EQ(busy.exit_code, 4);
  EXPECT_TRUE(contains(busy.lines.front(), "is updating")) << busy.lines.front();
  EXPECT_TRUE(h.log.calls.empty());
}

TEST(DeployUpdate, PruneKeepsTheServingAndThePreviousRelease) {
  Host h;
  h.config.deploy.keep_releases = 1;
  h.deployed();
  ASSERT_EQ(h.update(h.update_request()).exit_code, 0);
  const auto& a = h.runtime.argvs;
  auto at = std::find(a.begin(), a.end(), "lxcprov-deploy-prune");
  ASSERT_NE(at, a.end());
  EXPECT_EQ(Strings(at + 1, at + 4), (Strings{"2", "job-update", "job-create"}));
}

TEST(DeployQueries, InfoShowsTheDeploymentWithoutSecretsAndAppLogsReadsTheJournal) {
  Host h;
  h.deployed();
  jobs::Queries q(h.config, h.store, h.runtime);
  request::Request r;
  r.username = "alice";
  r.container_name = "web";
  auto info = q.info(r);
  ASSERT_EQ(info.exit_code, 0);
  ASSERT_EQ(info.lines.size(), 1u);
  const std::string& j = info.lines.front();
  for (const char* part :
       {"\"name\":\"web\"", "\"state\":\"ready\"", "\"http_port\":3000", "\"url\":\"http://web.lxcprov.localhost/\"",
        "\"repository\":\"https://git.example.org/team/app.git\"", "\"release\":\"job-create\"",
        "\"services\":[\"redis\"]", "\"units\":[\"lxcprov-app-app.service\"]", "\"runtime\":\"nodejs\"",
        "\"service\":\"SSH\""})
    EXPECT_TRUE(contains(j, part)) << part << "\n" << j;
  EXPECT_FALSE(contains(j, db_password));
  EXPECT_FALSE(contains(j, token));
  EXPECT_FALSE(contains(j, "node server.js")) << "no commands";

  r.log_lines = 50;
  auto logs = q.app_logs(r);
  ASSERT_EQ(logs.exit_code, 0);
  EXPECT_EQ(logs.lines, (Strings{"2026-01-01T00:00:00 web node[1]: listening"}));
  EXPECT_EQ(h.log.calls.back(), "run_as web 0 journalctl");
  const auto& a = h.runtime.argvs;
  EXPECT_EQ(Strings(a.end() - 8, a.end()),
            (Strings{"journalctl", "-u", "lxcprov-app-*", "-n", "50", "--no-pager", "-o", "short-iso"}));

  r.username = "bob";
  EXPECT_EQ(q.info(r).exit_code, 5);
  EXPECT_EQ(q.app_logs(r).exit_code, 5);
}

}  // namespace
}  // namespace lxcprov::deploy
