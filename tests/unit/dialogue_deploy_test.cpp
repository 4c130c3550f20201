// Dialogue with deployment: create's deploy stages in both modes (the old prompt order, the
// gates, the repeated prompts, the repository check), update, info and app-logs, the old
// client's variables, and that no secret leaves the secret fields.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "deploy/spec.hpp"
#include "dialogue_script.hpp"
#include "request/dialogue.hpp"

namespace lxcprov::request {
namespace {

using namespace lxcprov::request::testing;
using Events = std::vector<std::string>;

// Distinctive secrets: a leak anywhere is found by a substring search.
const std::string env_secret = "EnvS3cret-Value";
const std::string token = "ghp_T0kenS3cret";
const std::string repo = "https://github.com/mieweb/app";
const std::string commit = "0123456789abcdef0123456789abcdef01234567";

DialogueOptions deploy_options(bool tty, bool custom = false) {
  auto o = options(tty);
  o.deploy.enabled = true;
  o.deploy.distributions = {"debian"};
  o.deploy.allowed_hosts = {"github.com"};
  o.deploy.allow_custom_services = custom;
  o.deploy.catalog = deploy::parse_catalog(
                         R"({"nodejs": {"default": "18.20.4", "versions": {"18.20.4": {"packages": ["nodejs", "npm"]}}},
              "python": {"default": "3.11.2", "versions": {"3.11.2": {"packages": ["python3"], "venv": true}}}})",
                         R"({"redis": {"packages": ["redis-server"], "units": ["redis-server.service"]},
              "postgresql": {"packages": ["postgresql"], "units": ["postgresql.service"]}})")
                         .value();
  return o;
}

Env create_env() {
  auto env = full_create_env();
  env["LINUX_DISTRIBUTION"] = "debian";
  return env;
}

// What the old CI client sends to deploy a single-component Node app.
Env deploy_env() {
  auto env = create_env();
  env["DEPLOY_ON_START"] = "y";
  env["PROJECT_REPOSITORY"] = repo;
  env["PROJECT_BRANCH"] = "feature/x";
  env["INSTALL_COMMAND"] = "npm ci";
  env["BUILD_COMMAND"] = "npm run build";
  env["START_COMMAND"] = "npm start";
  env["RUNTIME_LANGUAGE"] = "nodejs@18";
  env["CONTAINER_ENV_VARS"] = R"({"DATABASE_URL": ")" + env_secret + R"("})";
  env["SERVICES"] = R"(["redis"])";
  env["PROJECT_TOKEN"] = token;
  return env;
}

Events ok_events(const std::string& branch = "feature/x", const std::string& root = "") {
  return {"authenticate", "check_name my-app", "check_repository " + repo + " " + branch + " " + root, "done"};
}

bool has(const Events& events, const std::string& event) {
  return std::find(events.begin(), events.end(), event) != events.end();
}

void expect_nowhere_as_typed(const Transcript& t, const std::string& secret);

// Every string a transcript shows or keeps outside the secret fields, in the secret's case and
// lowered (names are lowered before some checks).
void expect_nowhere(const Transcript& t, const std::string& secret) {
  std::string lower = secret;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  expect_nowhere_as_typed(t, secret);
  expect_nowhere_as_typed(t, lower);
}

void expect_nowhere_as_typed(const Transcript& t, const std::string& secret) {
  expect_no_leak(t, secret);
  for (const auto& s : t.steps) {
    EXPECT_EQ(s.question.text.find(secret), std::string::npos) << s.question.text;
    EXPECT_EQ(s.question.default_value.find(secret), std::string::npos);
    for (const auto& e : s.errors) EXPECT_EQ(format(e).find(secret), std::string::npos) << format(e);
  }
  for (const auto& e : t.events) EXPECT_EQ(e.find(secret), std::string::npos) << e;
  for (const auto& n : t.request.notes) EXPECT_EQ(n.find(secret), std::string::npos) << n;
  const Request& r = t.request;
  for (const auto* field : {&r.username, &r.container_name, &r.distribution, &r.public_key, &r.job_id})
    EXPECT_EQ(field->find(secret), std::string::npos) << *field;
  if (r.deploy) {
    EXPECT_EQ(deploy::to_stored_json(*r.deploy).find(secret), std::string::npos);
  }
}

// --- non-interactive create --------------------------------------------------------------------

TEST(DialogueDeployBatch, TheOldClientsSingleComponentDeploy) {
  auto t = run(Operation::create, deploy_options(false), deploy_env());
  ASSERT_EQ(t.events, ok_events());
  ASSERT_TRUE(t.request.deploy);
  const auto& d = *t.request.deploy;
  EXPECT_EQ(d.repository, repo);
  EXPECT_EQ(d.branch, "main");  // as the check resolved it
  EXPECT_EQ(d.commit, commit);
  EXPECT_EQ(d.root, "");
  EXPECT_FALSE(d.multi);
  ASSERT_EQ(d.components.size(), 1u);
  EXPECT_EQ(d.components[0], (deploy::Component{"", "nodejs", "18", "npm ci", "npm run build", "npm start"}));
  EXPECT_EQ(d.services, std::vector<std::string>{"redis"});
  EXPECT_TRUE(d.custom_services.empty());
  EXPECT_EQ(t.request.deploy_secrets.git_token.reveal(), token);
  ASSERT_TRUE(t.request.deploy_secrets.env);
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("DATABASE_URL").reveal(), env_secret);
  EXPECT_TRUE(t.request.notes.empty());
  expect_nowhere(t, env_secret);
  expect_nowhere(t, token);
  expect_nowhere(t, password);
}

TEST(DialogueDeployBatch, GhActionWithARuntimeDeploysAsTheOldSystemDid) {
  auto env = deploy_env();
  env.erase("DEPLOY_ON_START");
  env["GH_ACTION"] = "y";
  auto t = run(Operation::create, deploy_options(true), env);  // GH_ACTION: never prompted, TTY or not
  EXPECT_EQ(t.events, ok_events());
  EXPECT_TRUE(t.request.deploy);

  env.erase("RUNTIME_LANGUAGE");  // no runtime, no deployment: the rest is ignored with a note
  t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"authenticate", "check_name my-app", "done"}));
  EXPECT_FALSE(t.request.deploy);
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());
  EXPECT_FALSE(t.request.deploy_secrets.env);
  EXPECT_EQ(t.request.notes, std::vector<std::string>{"INSTALL_COMMAND, BUILD_COMMAND, START_COMMAND, SERVICES, "
                                                      "CONTAINER_ENV_VARS, PROJECT_TOKEN are ignored: nothing is "
                                                      "deployed without DEPLOY_ON_START=y"});
}

TEST(DialogueDeployBatch, DeployOnStartNWithAppVariablesIsAConflict) {
  for (bool tty : {false, true}) {
    auto env = deploy_env();
    env["DEPLOY_ON_START"] = "n";
    env["GH_ACTION"] = "y";  // an explicit n wins over the old forcing
    auto t = run(Operation::create, deploy_options(tty), env);
    EXPECT_EQ(t.events,
              (Events{"error DEPLOY_ON_START: is n, but INSTALL_COMMAND, BUILD_COMMAND, START_COMMAND, "
                      "RUNTIME_LANGUAGE, SERVICES, CONTAINER_ENV_VARS, PROJECT_TOKEN are set; set DEPLOY_ON_START=y or "
                      "unset them",
                      "failed"}));
    EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
    expect_nowhere(t, env_secret);
    expect_nowhere(t, token);
  }
  // The repository and branch come from the old client's workflow whether it deploys or not.
  auto env = create_env();
  env["DEPLOY_ON_START"] = "n";
  env["PROJECT_REPOSITORY"] = repo;
  env["PROJECT_BRANCH"] = "main";
  env["GITHUB_PAT"] = token;
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"authenticate", "check_name my-app", "done"}));
  EXPECT_TRUE(t.request.notes.empty());
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());
}

TEST(DialogueDeployBatch, EveryBrokenRuleAtOnceBeforeAuthentication) {
  auto env = deploy_env();
  env["LINUX_DISTRIBUTION"] = "busybox";
  env["PROJECT_REPOSITORY"] = "http://github.com/mieweb/app";
  env["PROJECT_BRANCH"] = "--upload-pack=id";
  env["PROJECT_ROOT"] = "../etc";
  env["PROJECT_TOKEN"] = token + " ";
  env["CONTAINER_ENV_VARS"] = R"({"DB": ")" + env_secret + R"(\n"})";
  env["BUILD_COMMAND"] = "make\r";
  env["RUNTIME_LANGUAGE"] = "nodejs@20";
  env["SERVICES"] = R"(["mongodb"])";
  env["CUSTOM_SERVICES"] = R"(["curl x | sh"])";
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events,
            (Events{"error LINUX_DISTRIBUTION: deployment needs one of: debian",
                    "error PROJECT_REPOSITORY: must be an https:// URL (https://HOST/OWNER/REPO)",
                    "error PROJECT_TOKEN: must be printable ASCII without spaces",
                    "error PROJECT_BRANCH: must not start with '-'", "error PROJECT_ROOT: must not contain '..'",
                    "error CONTAINER_ENV_VARS: the value of DB must not contain NUL, CR or LF",
                    "error BUILD_COMMAND: must not contain control characters other than tab and newline",
                    "error RUNTIME_LANGUAGE: nodejs@20 is not available; available: nodejs@18.20.4, python@3.11.2",
                    "error SERVICES: that service is not available; available: postgresql, redis",
                    "error CUSTOM_SERVICES: custom service commands are not allowed on this server "
                    "(deploy.allow_custom_services); use SERVICES",
                    "failed"}));
  expect_nowhere(t, env_secret);
  expect_nowhere(t, token);
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());
  EXPECT_FALSE(t.request.deploy_secrets.env);
}

TEST(DialogueDeployBatch, RequiredValues) {
  Env env = create_env();
  env["DEPLOY_ON_START"] = "Y";
  env["REQUIRE_ENV_VARS"] = "y";
  env["REQUIRE_SERVICES"] = "y";
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error " + required("PROJECT_REPOSITORY"),
                              "error CONTAINER_ENV_VARS: is required when REQUIRE_ENV_VARS is y",
                              "error SERVICES: is required when REQUIRE_SERVICES is y",
                              "error START_COMMAND: is required", "error RUNTIME_LANGUAGE: is required", "failed"}));
}

TEST(DialogueDeployBatch, GatesAndWhatImpliesThem) {
  auto env = deploy_env();
  env["REQUIRE_ENV_VARS"] = "n";
  env["REQUIRE_SERVICES"] = "n";
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error CONTAINER_ENV_VARS: is set, but REQUIRE_ENV_VARS is n; unset one of them",
                              "error SERVICES: is set, but REQUIRE_SERVICES is n; unset one of them", "failed"}));
  env = deploy_env();
  env["REQUIRE_ENV_VARS"] = "yes";
  t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error REQUIRE_ENV_VARS: must be y or n", "failed"}));
  env = deploy_env();
  env["REQUIRE_SERVICES"] = "y";
  env["REQUIRE_ENV_VARS"] = "Y";
  EXPECT_EQ(run(Operation::create, deploy_options(false), env).events, ok_events());
}

TEST(DialogueDeployBatch, OldClientVariablesAreNotedNotRefused) {
  struct Row {
    std::string runner;
    std::vector<std::string> notes;
  };
  const std::string password_note =
      "CONTAINER_PASSWORD is ignored: root login by password is locked; log in with your ssh key";
  for (const Row& row : std::vector<Row>{
           {"y",
            {password_note,
             "SELF_HOSTED_RUNNER=y is ignored: lxcprov does not set up GitHub runners, so no runner "
             "was set up"}},
           {"n", {password_note, "SELF_HOSTED_RUNNER is ignored: lxcprov does not set up GitHub runners"}},
           {"", {password_note, "SELF_HOSTED_RUNNER is ignored: lxcprov does not set up GitHub runners"}}}) {
    auto env = deploy_env();
    env["SELF_HOSTED_RUNNER"] = row.runner;
    env["CONTAINER_PASSWORD"] = "ct-S3cret-pw";
    env["SSH_KEY_FP"] = "SHA256:abcdef";
    auto t = run(Operation::create, deploy_options(false), env);
    EXPECT_EQ(t.events, ok_events()) << row.runner;
    EXPECT_EQ(t.request.notes, row.notes);
    expect_nowhere(t, "ct-S3cret-pw");
  }
}

TEST(DialogueDeployBatch, VersionsDictIsRefused) {
  auto env = deploy_env();
  env["VERSIONS_DICT"] = R"({"default": "18"})";
  for (bool tty : {false, true}) {
    auto t = run(Operation::create, deploy_options(tty), env);
    EXPECT_EQ(t.events, (Events{"error VERSIONS_DICT: is internal to the old system and not accepted; give the version "
                                "in RUNTIME_LANGUAGE (e.g. nodejs@18)",
                                "failed"}));
  }
}

TEST(DialogueDeployBatch, TheTokenUnderEitherName) {
  auto env = deploy_env();
  env.erase("PROJECT_TOKEN");
  env["GITHUB_PAT"] = token;
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, ok_events());
  EXPECT_EQ(t.request.deploy_secrets.git_token.reveal(), token);

  env["GITHUB_PAT"] = token + "\x01";
  t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error GITHUB_PAT: must be printable ASCII without spaces", "failed"}));

  env["GITHUB_PAT"] = token;
  env["PROJECT_TOKEN"] = token;  // the same under both names is fine
  EXPECT_EQ(run(Operation::create, deploy_options(false), env).events, ok_events());
  env["PROJECT_TOKEN"] = token + "2";
  t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error PROJECT_TOKEN: differs from GITHUB_PAT; set only one of them", "failed"}));
  expect_nowhere(t, token);
}

TEST(DialogueDeployBatch, SeveralComponents) {
  auto env = deploy_env();
  env["PROJECT_ROOT"] = "./apps";
  env["MULTI_COMPONENT"] = "y";
  env["INSTALL_COMMAND"] = R"({"api": "npm ci", "./web": "pip install -r requirements.txt"})";
  env["BUILD_COMMAND"] = R"({"api": "npm run build"})";
  env["START_COMMAND"] = R"({"api": "npm start", "web": "python3 app.py"})";
  env["RUNTIME_LANGUAGE"] = R"({"api": "nodejs@18", "web": "python"})";
  env["ROOT_START_COMMAND"] = "./proxy.sh";
  env["CONTAINER_ENV_VARS"] = R"({"api": {"DB": ")" + env_secret + R"("}, "web": {"MODE": "prod"}})";
  auto t = run(Operation::create, deploy_options(false), env);
  ASSERT_EQ(t.events, ok_events("feature/x", "apps"));
  const auto& d = *t.request.deploy;
  EXPECT_TRUE(d.multi);
  EXPECT_EQ(d.root, "apps");
  EXPECT_EQ(d.root_start, "./proxy.sh");
  ASSERT_EQ(d.components.size(), 2u);
  EXPECT_EQ(d.components[0], (deploy::Component{"api", "nodejs", "18", "npm ci", "npm run build", "npm start"}));
  EXPECT_EQ(d.components[1],
            (deploy::Component{"web", "python", "", "pip install -r requirements.txt", "", "python3 app.py"}));
  EXPECT_EQ(t.request.deploy_secrets.env->at("api").at("DB").reveal(), env_secret);
  expect_nowhere(t, env_secret);
}

TEST(DialogueDeployBatch, RuntimesAsJsonMeanSeveralComponents) {
  auto env = deploy_env();
  env["START_COMMAND"] = R"({"api": "npm start"})";
  env["INSTALL_COMMAND"] = R"({"api": "npm ci"})";
  env["BUILD_COMMAND"] = "";
  env["RUNTIME_LANGUAGE"] = R"({"api": "nodejs"})";
  auto t = run(Operation::create, deploy_options(false), env);
  ASSERT_EQ(t.events, ok_events());
  EXPECT_TRUE(t.request.deploy->multi);
  // An env object without components goes to each of them.
  EXPECT_EQ(t.request.deploy_secrets.env->at("api").at("DATABASE_URL").reveal(), env_secret);

  env["MULTI_COMPONENT"] = "n";
  t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(t.events,
            (Events{"error INSTALL_COMMAND: is a JSON object of components, but MULTI_COMPONENT is not y; set "
                    "MULTI_COMPONENT=y, or give one command",
                    "error START_COMMAND: is a JSON object of components, but MULTI_COMPONENT is not y; set "
                    "MULTI_COMPONENT=y, or give one command",
                    "error RUNTIME_LANGUAGE: is a JSON object of components, but MULTI_COMPONENT is n; set "
                    "MULTI_COMPONENT=y, or give one runtime",
                    "failed"}));
}

TEST(DialogueDeployBatch, ComponentSetsMustAgree) {
  auto env = deploy_env();
  env["MULTI_COMPONENT"] = "y";
  env["INSTALL_COMMAND"] = R"({"docs": "make"})";
  env["BUILD_COMMAND"] = "";
  env["START_COMMAND"] = R"({"api": "npm start", "web": "x"})";
  env["RUNTIME_LANGUAGE"] = R"({"api": "nodejs"})";
  env["CONTAINER_ENV_VARS"] = R"({"cli": {"A": "1"}})";
  auto t = run(Operation::create, deploy_options(false), env);
  EXPECT_EQ(
      t.events,
      (Events{"error RUNTIME_LANGUAGE: has no runtime for component \"web\" (START_COMMAND names it)",
              "error INSTALL_COMMAND: names component \"docs\", which has no START_COMMAND or RUNTIME_LANGUAGE",
              "error CONTAINER_ENV_VARS: names component \"cli\", which is not one of the components", "failed"}));
}

TEST(DialogueDeployBatch, CustomServicesWhereAllowed) {
  auto env = deploy_env();
  env["CUSTOM_SERVICES"] = R"([["apt-get install -y cowsay", "cowsay hi"]])";
  env.erase("SERVICES");
  auto t = run(Operation::create, deploy_options(false, true), env);
  ASSERT_EQ(t.events, ok_events());
  EXPECT_EQ(t.request.deploy->custom_services, (std::vector<std::string>{"apt-get install -y cowsay", "cowsay hi"}));
}

TEST(DialogueDeployBatch, RepositoryCheckFailureFailsTheRequest) {
  const FieldError branch{"PROJECT_BRANCH", "no such branch in the repository"};
  auto t = run(Operation::create, deploy_options(false), deploy_env(), Script{{}, true, {}, {{branch}}});
  EXPECT_EQ(t.events, (Events{"authenticate", "check_name my-app", "check_repository " + repo + " feature/x ",
                              "error PROJECT_BRANCH: no such branch in the repository", "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());  // dropped with the failure
}

TEST(DialogueDeployBatch, NoRepositoryCheckBeforeAuthenticationOrWithoutDeploy) {
  auto t = run(Operation::create, deploy_options(false), deploy_env(), Script{{}, false});
  EXPECT_EQ(t.events, (Events{"authenticate", "error authentication: username or password is wrong", "failed"}));
  t = run(Operation::create, deploy_options(false), create_env());
  EXPECT_EQ(t.events, (Events{"authenticate", "check_name my-app", "done"}));
}

TEST(DialogueDeployBatch, CheckVerdictsOutOfTurnAreIgnored) {
  Dialogue d(Operation::create, deploy_options(false), deploy_env());
  d.set_repository_checked(std::nullopt, "main", commit);  // not asked yet: must not skip anything
  EXPECT_EQ(d.next().kind, Step::authenticate);
  d.set_repository_checked(FieldError{"PROJECT_REPOSITORY", "x"}, "", "");
  EXPECT_EQ(d.next().kind, Step::authenticate);
  d.set_authenticated(true);
  EXPECT_EQ(d.next().kind, Step::check_name);
  d.set_name_available(true);
  EXPECT_EQ(d.next().kind, Step::check_repository);
  EXPECT_EQ(d.next().kind, Step::check_repository);  // repeated until answered
  d.set_repository_checked(std::nullopt, "", commit);
  EXPECT_EQ(d.next().kind, Step::done);
  EXPECT_EQ(d.request().deploy->branch, "feature/x");  // nothing resolved: as given
}

// --- interactive create --------------------------------------------------------------------------

const Events credentials_and_container{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate",
                                       "ask CONTAINER_NAME",   "check_name web",       "ask LINUX_DISTRIBUTION",
                                       "ask HTTP_PORT",        "ask PUBLIC_KEY"};
const std::vector<std::string> container_answers{"alice", password, "web", "", "", ""};

Events with_prefix(Events rest) {
  Events all = credentials_and_container;
  all.insert(all.end(), rest.begin(), rest.end());
  return all;
}

std::vector<std::string> answers(std::vector<std::string> rest) {
  auto all = container_answers;
  all.insert(all.end(), rest.begin(), rest.end());
  return all;
}

TEST(DialogueDeployInteractive, PromptsInTheOldOrder) {
  auto t = run(Operation::create, deploy_options(true), {},
               Script{answers({"y", repo, token, "", "srv", "n", "y", "DB=" + env_secret, "MODE=prod", "",
                               "npm run build", "npm ci", "npm start", "nodejs@18", "y", "redis", "postgresql", ""})});
  EXPECT_EQ(t.events, with_prefix({"ask DEPLOY_ON_START",    "ask PROJECT_REPOSITORY",
                                   "ask PROJECT_TOKEN",      "ask PROJECT_BRANCH",
                                   "ask PROJECT_ROOT",       "check_repository " + repo + "  srv",
                                   "ask MULTI_COMPONENT",    "ask REQUIRE_ENV_VARS",
                                   "ask CONTAINER_ENV_VARS", "ask CONTAINER_ENV_VARS",
                                   "ask CONTAINER_ENV_VARS", "ask BUILD_COMMAND",
                                   "ask INSTALL_COMMAND",    "ask START_COMMAND",
                                   "ask RUNTIME_LANGUAGE",   "ask REQUIRE_SERVICES",
                                   "ask SERVICES",           "ask SERVICES",
                                   "ask SERVICES",           "done"}));
  ASSERT_TRUE(t.request.deploy);
  const auto& d = *t.request.deploy;
  EXPECT_EQ(d.repository, repo);
  EXPECT_EQ(d.branch, "main");  // the remote's default, resolved by the check
  EXPECT_EQ(d.root, "srv");
  EXPECT_EQ(d.commit, commit);
  EXPECT_EQ(d.components,
            (std::vector<deploy::Component>{{"", "nodejs", "18", "npm ci", "npm run build", "npm start"}}));
  EXPECT_EQ(d.services, (std::vector<std::string>{"redis", "postgresql"}));
  EXPECT_EQ(t.request.deploy_secrets.git_token.reveal(), token);
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("DB").reveal(), env_secret);
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("MODE").reveal(), "prod");
  expect_nowhere(t, env_secret);
  expect_nowhere(t, token);

  // Texts, defaults and echo.
  auto prompt = [&](const std::string& field) {
    for (const auto& p : t.prompts)
      if (p.field == field) return p;
    ADD_FAILURE() << field;
    return Prompt{};
  };
  EXPECT_EQ(prompt("DEPLOY_ON_START").text, "Do you want to deploy your project automatically? (y/n)");
  EXPECT_EQ(prompt("DEPLOY_ON_START").default_value, "n");
  EXPECT_EQ(prompt("PROJECT_REPOSITORY").text, "Paste the link to your project repository (https://...)");
  EXPECT_TRUE(prompt("PROJECT_TOKEN").secret);
  EXPECT_EQ(prompt("PROJECT_BRANCH").text,
            "Enter the project branch to deploy from (leave blank for the repository's default branch)");
  EXPECT_EQ(prompt("MULTI_COMPONENT").default_value, "n");
  EXPECT_EQ(prompt("REQUIRE_ENV_VARS").text, "Does your application require environment variables? (y/n)");
  EXPECT_EQ(prompt("RUNTIME_LANGUAGE").text,
            "Enter the underlying runtime environment (nodejs, python; NAME@VERSION for a version, e.g. nodejs@18)");
  EXPECT_EQ(prompt("SERVICES").text, "Enter the name of a service (postgresql, redis) (leave blank to finish)");
  std::vector<Prompt> env_prompts;
  for (const auto& p : t.prompts)
    if (p.field == "CONTAINER_ENV_VARS") env_prompts.push_back(p);
  ASSERT_EQ(env_prompts.size(), 3u);
  for (const auto& p : env_prompts) EXPECT_TRUE(p.secret);  // values are typed without echo
  EXPECT_EQ(env_prompts[0].text, "Environment variable as KEY=VALUE, or a JSON object (leave blank to finish)");
  EXPECT_EQ(env_prompts[2].text,
            "Environment variable as KEY=VALUE, or a JSON object (leave blank to finish) [set: DB, MODE]");
  EXPECT_EQ(t.prompts.back().text,
            "Enter the name of a service (postgresql, redis) (leave blank to finish) [chosen: redis, postgresql]");
}

TEST(DialogueDeployInteractive, AnsweringNoDeploysNothing) {
  auto t = run(Operation::create, deploy_options(true), {}, Script{answers({""})});
  EXPECT_EQ(t.events, with_prefix({"ask DEPLOY_ON_START", "done"}));
  EXPECT_FALSE(t.request.deploy);
}

TEST(DialogueDeployInteractive, BadAnswersAreRefusedAndAskedAgain) {
  auto t =
      run(Operation::create, deploy_options(true), {}, Script{answers({"yes",      "y",         "github.com/mieweb/app",
                                                                       repo,       token + " ", "",
                                                                       "a..b",     "main",      "/srv",
                                                                       "",         "",          "",
                                                                       "make\x01", "",          "",
                                                                       "",         "npm start", "",
                                                                       "ruby",     "nodejs",    "",
                                                                       "",         ""})});
  EXPECT_EQ(
      t.events,
      with_prefix({"ask DEPLOY_ON_START",
                   "reject DEPLOY_ON_START: must be y or n",
                   "ask DEPLOY_ON_START",
                   "ask PROJECT_REPOSITORY",
                   "reject PROJECT_REPOSITORY: must be an https:// URL (https://HOST/OWNER/REPO)",
                   "ask PROJECT_REPOSITORY",
                   "ask PROJECT_TOKEN",
                   "reject PROJECT_TOKEN: must be printable ASCII without spaces",
                   "ask PROJECT_TOKEN",
                   "ask PROJECT_BRANCH",
                   "reject PROJECT_BRANCH: must not contain '..'",
                   "ask PROJECT_BRANCH",
                   "ask PROJECT_ROOT",
                   "reject PROJECT_ROOT: must be relative (no leading '/')",
                   "ask PROJECT_ROOT",
                   "check_repository " + repo + " main ",
                   "ask MULTI_COMPONENT",
                   "ask REQUIRE_ENV_VARS",
                   "ask BUILD_COMMAND",
                   "reject BUILD_COMMAND: must not contain control characters other than tab and newline",
                   "ask BUILD_COMMAND",
                   "ask INSTALL_COMMAND",
                   "ask START_COMMAND",
                   "reject START_COMMAND: is required",
                   "ask START_COMMAND",
                   "ask RUNTIME_LANGUAGE",
                   "reject RUNTIME_LANGUAGE: is required",
                   "ask RUNTIME_LANGUAGE",
                   "reject RUNTIME_LANGUAGE: that runtime is not available; available: nodejs@18.20.4, python@3.11.2",
                   "ask RUNTIME_LANGUAGE",
                   "ask REQUIRE_SERVICES",
                   "done"}));
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());
  expect_nowhere(t, token);
}

TEST(DialogueDeployInteractive, EnvironmentValuesAsOneJsonObjectOrNever) {
  auto t = run(Operation::create, deploy_options(true), {},
               Script{answers({"y", repo, "", "", "", "n", "y", "NOT A PAIR " + env_secret, "1X=" + env_secret,
                               "A=" + env_secret + "\r" + "x", "A=1", "A=2", R"({"B": "2"})", "", "", "", "npm start",
                               "nodejs", "n"})});
  EXPECT_TRUE(
      has(t.events, "reject CONTAINER_ENV_VARS: answer KEY=VALUE, a JSON object of them, or nothing to finish"));
  EXPECT_TRUE(has(t.events,
                  "reject CONTAINER_ENV_VARS: variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most "
                  "255 characters)"));
  EXPECT_TRUE(has(t.events, "reject CONTAINER_ENV_VARS: A is already set"));
  EXPECT_TRUE(has(t.events, "reject CONTAINER_ENV_VARS: give either KEY=VALUE answers or one JSON object, not both"));
  ASSERT_EQ(t.events.back(), "done");
  EXPECT_EQ(t.request.deploy_secrets.env->at("").size(), 1u);
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("A").reveal(), "1");
  expect_nowhere(t, env_secret);

  // A JSON object as the first answer is the whole set.
  t = run(Operation::create, deploy_options(true), {},
          Script{answers({"y", repo, "", "", "", "n", "y", R"({"DB": ")" + env_secret + R"("})", "", "", "npm start",
                          "nodejs", "n"})});
  ASSERT_EQ(t.events.back(), "done");
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("DB").reveal(), env_secret);
  expect_nowhere(t, env_secret);
}

TEST(DialogueDeployInteractive, ServicesOneByOneAndCustomCommands) {
  auto t = run(Operation::create, deploy_options(true), {},
               Script{answers({"y", repo, "", "", "", "n", "n", "", "", "npm start", "nodejs", "y", "mongodb", "redis",
                               "redis", "C", ""})});
  EXPECT_TRUE(has(t.events, "reject SERVICES: that service is not available; available: postgresql, redis"));
  EXPECT_TRUE(has(t.events, "reject SERVICES: lists redis twice"));
  EXPECT_TRUE(has(t.events,
                  "reject CUSTOM_SERVICES: custom service commands are not allowed on this server "
                  "(deploy.allow_custom_services); use SERVICES"));
  ASSERT_EQ(t.events.back(), "done");
  EXPECT_EQ(t.request.deploy->services, std::vector<std::string>{"redis"});

  t = run(Operation::create, deploy_options(true, true), {},
          Script{answers({"y", repo, "", "", "", "n", "n", "", "", "npm start", "nodejs", "y", "redis", "c",
                          "apt-get install -y cowsay", "a\nb", "cowsay hi", ""})});
  const Events tail{"ask REQUIRE_SERVICES",
                    "ask SERVICES",
                    "ask SERVICES",
                    "ask CUSTOM_SERVICES",
                    "ask CUSTOM_SERVICES",
                    "reject CUSTOM_SERVICES: each command must be one line "
                    "without control characters",
                    "ask CUSTOM_SERVICES",
                    "ask CUSTOM_SERVICES",
                    "done"};
  ASSERT_GE(t.events.size(), tail.size());
  EXPECT_EQ(Events(t.events.end() - static_cast<long>(tail.size()), t.events.end()), tail);
  EXPECT_EQ(t.request.deploy->custom_services, (std::vector<std::string>{"apt-get install -y cowsay", "cowsay hi"}));
  EXPECT_EQ(t.prompts[t.prompts.size() - 6].text,
            "Enter the name of a service (postgresql, redis), or C for custom commands (leave blank to finish)");
}

TEST(DialogueDeployInteractive, SeveralComponentsAskARuntimeForEach) {
  auto t = run(
      Operation::create, deploy_options(true), {},
      Script{answers({"y", repo, "", "", "", "y", "n", "", R"({"api": "npm ci"})",
                      R"({"api": "npm start", "web": "python3 app.py"})", "", "nodejs@18", "python3", "python", "n"})});
  EXPECT_EQ(t.events,
            with_prefix({"ask DEPLOY_ON_START", "ask PROJECT_REPOSITORY", "ask PROJECT_TOKEN", "ask PROJECT_BRANCH",
                         "ask PROJECT_ROOT", "check_repository " + repo + "  ", "ask MULTI_COMPONENT",
                         "ask REQUIRE_ENV_VARS", "ask BUILD_COMMAND", "ask INSTALL_COMMAND", "ask START_COMMAND",
                         "ask ROOT_START_COMMAND", "ask RUNTIME_LANGUAGE", "ask RUNTIME_LANGUAGE",
                         "reject RUNTIME_LANGUAGE: that runtime is not available; available: nodejs@18.20.4, "
                         "python@3.11.2",
                         "ask RUNTIME_LANGUAGE", "ask REQUIRE_SERVICES", "done"}));
  const auto& d = *t.request.deploy;
  EXPECT_TRUE(d.multi);
  EXPECT_EQ(d.components, (std::vector<deploy::Component>{{"api", "nodejs", "18", "npm ci", "", "npm start"},
                                                          {"web", "python", "", "", "", "python3 app.py"}}));
  std::vector<std::string> runtime_prompts;
  for (const auto& p : t.prompts)
    if (p.field == "RUNTIME_LANGUAGE") runtime_prompts.push_back(p.text);
  EXPECT_EQ(runtime_prompts,
            (std::vector<std::string>{
                "Enter the underlying runtime environment for \"api\" (nodejs, python; NAME@VERSION for a version, "
                "e.g. nodejs@18)",
                "Enter the underlying runtime environment for \"web\" (nodejs, python; NAME@VERSION for a version, "
                "e.g. nodejs@18)",
                "Enter the underlying runtime environment for \"web\" (nodejs, python; NAME@VERSION for a version, "
                "e.g. nodejs@18)"}));
}

TEST(DialogueDeployInteractive, ABrokenRuleBetweenVariablesAsksForTheFirstOneItNames) {
  auto t = run(Operation::create, deploy_options(true), {},
               Script{answers({"y", repo, "", "", "", "y", "n", R"({"docs": "make"})", "", R"({"api": "npm start"})",
                               "", "nodejs", "n", "", "n"})});
  EXPECT_TRUE(has(t.events,
                  "notice BUILD_COMMAND: names component \"docs\", which has no START_COMMAND or "
                  "RUNTIME_LANGUAGE"));
  const auto notice = std::find(t.events.begin(), t.events.end(),
                                "notice BUILD_COMMAND: names component \"docs\", which has no START_COMMAND or "
                                "RUNTIME_LANGUAGE");
  ASSERT_NE(notice, t.events.end());
  EXPECT_EQ(Events(notice + 1, t.events.end()), (Events{"ask BUILD_COMMAND", "done"}));
  EXPECT_EQ(t.request.deploy->components, (std::vector<deploy::Component>{{"api", "nodejs", "", "", "", "npm start"}}));
}

TEST(DialogueDeployInteractive, FailedRepositoryChecksAskForThatVariableAgain) {
  const FieldError no_branch{"PROJECT_BRANCH", "no such branch in the repository"};
  const FieldError no_root{"PROJECT_ROOT", "is not a directory of the repository at that branch"};
  const FieldError no_repo{"PROJECT_REPOSITORY", "was not found, or needs a token (PROJECT_TOKEN)"};
  auto t = run(Operation::create, deploy_options(true), {},
               Script{answers({"y", repo, "", "nope", "srv", "main", "app", repo + "-private", token, "n", "n", "", "",
                               "npm start", "nodejs", "n"}),
                      true,
                      {},
                      {{no_branch}, {no_root}, {no_repo}, {}}});
  EXPECT_EQ(t.events, with_prefix({"ask DEPLOY_ON_START",
                                   "ask PROJECT_REPOSITORY",
                                   "ask PROJECT_TOKEN",
                                   "ask PROJECT_BRANCH",
                                   "ask PROJECT_ROOT",
                                   "check_repository " + repo + " nope srv",
                                   "notice PROJECT_BRANCH: no such branch in the repository",
                                   "ask PROJECT_BRANCH",
                                   "check_repository " + repo + " main srv",
                                   "notice PROJECT_ROOT: is not a directory of the repository at that branch",
                                   "ask PROJECT_ROOT",
                                   "check_repository " + repo + " main app",
                                   "notice PROJECT_REPOSITORY: was not found, or needs a token (PROJECT_TOKEN)",
                                   "ask PROJECT_REPOSITORY",
                                   "ask PROJECT_TOKEN",
                                   "check_repository " + repo + "-private main app",
                                   "ask MULTI_COMPONENT",
                                   "ask REQUIRE_ENV_VARS",
                                   "ask BUILD_COMMAND",
                                   "ask INSTALL_COMMAND",
                                   "ask START_COMMAND",
                                   "ask RUNTIME_LANGUAGE",
                                   "ask REQUIRE_SERVICES",
                                   "done"}));
  EXPECT_EQ(t.request.deploy_secrets.git_token.reveal(), token);
  expect_nowhere(t, token);
}

TEST(DialogueDeployInteractive, ValidEnvironmentValuesAreNotAskedFor) {
  auto env = deploy_env();
  env.erase("PROXMOX_PASSWORD");
  auto t = run(Operation::create, deploy_options(true), env, Script{{password, "", "n"}});
  // Only what is unset: the password, the project root and whether there are several components
  // (the gates are implied by CONTAINER_ENV_VARS and SERVICES).
  EXPECT_EQ(t.events, (Events{"ask PROXMOX_PASSWORD", "authenticate", "check_name my-app", "ask PROJECT_ROOT",
                              "check_repository " + repo + " feature/x ", "ask MULTI_COMPONENT", "done"}));
  EXPECT_EQ(t.request.deploy->components.size(), 1u);
  expect_nowhere(t, env_secret);
  expect_nowhere(t, token);
}

TEST(DialogueDeployInteractive, InvalidEnvironmentValuesAreShownThenAskedFor) {
  auto env = deploy_env();
  env["MULTI_COMPONENT"] = "n";
  env["PROJECT_BRANCH"] = "a b";
  env["CONTAINER_ENV_VARS"] = R"({"DB": ")" + env_secret + R"(\r"})";
  env["PROJECT_TOKEN"] = token + "\t";
  auto t = run(Operation::create, deploy_options(true), env, Script{{"", "main", "", "DB=" + env_secret, ""}});
  EXPECT_EQ(t.events,
            (Events{"authenticate", "check_name my-app", "notice PROJECT_TOKEN: must be printable ASCII without spaces",
                    "ask PROJECT_TOKEN",
                    "notice PROJECT_BRANCH: must not contain spaces, control characters or any of ~ ^ : ? * [ \\",
                    "ask PROJECT_BRANCH", "ask PROJECT_ROOT", "check_repository " + repo + " main ",
                    "notice CONTAINER_ENV_VARS: the value of DB must not contain NUL, CR or LF",
                    "ask CONTAINER_ENV_VARS", "ask CONTAINER_ENV_VARS", "done"}));
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("DB").reveal(), env_secret);
  expect_nowhere(t, env_secret);
  expect_nowhere(t, token);
}

TEST(DialogueDeployInteractive, DeployingNeedsADeployDistribution) {
  auto t = run(Operation::create, deploy_options(true), {},
               Script{{"alice", password, "web", "busybox", "",  "", "y", "busybox",   "debian", repo,
                       "",      "",       "",    "n",       "n", "", "",  "npm start", "nodejs", "n"}});
  EXPECT_EQ(t.events, (Events{"ask PROXMOX_USERNAME",   "ask PROXMOX_PASSWORD",
                              "authenticate",           "ask CONTAINER_NAME",
                              "check_name web",         "ask LINUX_DISTRIBUTION",
                              "ask HTTP_PORT",          "ask PUBLIC_KEY",
                              "ask DEPLOY_ON_START",    "notice LINUX_DISTRIBUTION: deployment needs one of: debian",
                              "ask LINUX_DISTRIBUTION", "reject LINUX_DISTRIBUTION: deployment needs one of: debian",
                              "ask LINUX_DISTRIBUTION", "ask PROJECT_REPOSITORY",
                              "ask PROJECT_TOKEN",      "ask PROJECT_BRANCH",
                              "ask PROJECT_ROOT",       "check_repository " + repo + "  ",
                              "ask MULTI_COMPONENT",    "ask REQUIRE_ENV_VARS",
                              "ask BUILD_COMMAND",      "ask INSTALL_COMMAND",
                              "ask START_COMMAND",      "ask RUNTIME_LANGUAGE",
                              "ask REQUIRE_SERVICES",   "done"}));
  EXPECT_EQ(t.request.distribution, "debian");
}

// --- update ----------------------------------------------------------------------------------------

Env update_env() { return {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}, {"CONTAINER_NAME", "Web"}}; }
const Events update_ok{"authenticate", "check_name web", "check_repository", "done"};

// The update transcript's check event shows what was given ("(nothing given)" for nullopt).
Events update_events(const std::string& check) { return {"authenticate", "check_name web", check, "done"}; }

TEST(DialogueUpdate, NothingGivenSaysSo) {
  for (bool tty : {false, true}) {
    auto env = update_env();
    env["DEPLOY_ON_START"] = "y";  // the old client's; update deploys anyway
    env["GITHUB_PAT"] = token;     // a token alone is no change
    auto t = run(Operation::update, deploy_options(tty), env);
    EXPECT_EQ(t.events, update_events("check_repository (nothing given)"));
    EXPECT_FALSE(t.request.deploy);
    EXPECT_EQ(t.request.http_port, 0);
    EXPECT_EQ(t.request.deploy_secrets.git_token.reveal(), token);
  }
}

TEST(DialogueUpdate, GivenValuesOnlyTheRestAsStored) {
  auto env = update_env();
  env["PROJECT_BRANCH"] = "feature/y";
  env["START_COMMAND"] = "node server.js";
  env["SERVICES"] = "postgresql";
  env["HTTP_PORT"] = "8081";
  env["PROJECT_ROOT"] = ".";
  env["LINUX_DISTRIBUTION"] = "rocky";
  env["CONTAINER_ENV_VARS"] = R"({"DB": ")" + env_secret + R"("})";
  auto t = run(Operation::update, deploy_options(false), env);
  ASSERT_EQ(t.events, update_events("check_repository  feature/y "));
  const auto& d = *t.request.deploy;
  EXPECT_EQ(d.repository, "");
  EXPECT_EQ(d.branch, "main");  // resolved by the session's check of the merged spec
  EXPECT_EQ(d.root, "");
  EXPECT_TRUE(t.request.deploy_given.root);  // "." was given: the repository's top
  EXPECT_FALSE(t.request.deploy_given.multi);
  EXPECT_TRUE(t.request.deploy_given.env_for_every_component);
  EXPECT_FALSE(d.multi);
  EXPECT_EQ(d.components, (std::vector<deploy::Component>{{"", "", "", "", "", "node server.js"}}));
  EXPECT_EQ(d.services, std::vector<std::string>{"postgresql"});
  EXPECT_EQ(t.request.http_port, 8081);
  EXPECT_EQ(t.request.deploy_secrets.env->at("").at("DB").reveal(), env_secret);
  EXPECT_EQ(t.request.notes,
            std::vector<std::string>{"LINUX_DISTRIBUTION is ignored by update: the container keeps its distribution"});
  expect_nowhere(t, env_secret);
}

TEST(DialogueUpdate, JsonFormsAndSwitches) {
  auto env = update_env();
  env["START_COMMAND"] = R"({"api": "npm start"})";
  env["RUNTIME_LANGUAGE"] = R"({"api": "nodejs"})";
  auto t = run(Operation::update, deploy_options(false), env);
  ASSERT_EQ(t.events.back(), "done");
  EXPECT_TRUE(t.request.deploy->multi);
  EXPECT_FALSE(t.request.deploy_given.multi);

  env["MULTI_COMPONENT"] = "y";
  t = run(Operation::update, deploy_options(false), env);
  EXPECT_TRUE(t.request.deploy_given.multi);

  env.erase("MULTI_COMPONENT");
  env["INSTALL_COMMAND"] = "npm ci";
  t = run(Operation::update, deploy_options(false), env);
  EXPECT_EQ(t.events, (Events{"error MULTI_COMPONENT: some values name components (JSON objects) and some do not; "
                              "give every command and runtime in one form",
                              "failed"}));
}

TEST(DialogueUpdate, BrokenValuesAllAtOnce) {
  auto env = update_env();
  env["PROJECT_REPOSITORY"] = "https://evil.example/x";
  env["HTTP_PORT"] = "22";
  env["RUNTIME_LANGUAGE"] = "ruby";
  env["REQUIRE_SERVICES"] = "n";
  env["SERVICES"] = "redis";
  auto t = run(Operation::update, deploy_options(false), env);
  EXPECT_EQ(t.events,
            (Events{"error SERVICES: is set, but REQUIRE_SERVICES is n; unset one of them",
                    "error PROJECT_REPOSITORY: the host must be one of: github.com (a plain host name means port 443)",
                    "error RUNTIME_LANGUAGE: that runtime is not available; available: nodejs@18.20.4, python@3.11.2",
                    "error HTTP_PORT: must be from 80 to 60000", "failed"}));
}

TEST(DialogueUpdate, InteractiveAsksOnlyForWhatIsBroken) {
  auto env = update_env();
  env.erase("PROXMOX_PASSWORD");
  env["BUILD_COMMAND"] = "make\r";
  env["START_COMMAND"] = "npm start";
  auto t = run(Operation::update, deploy_options(true), env, Script{{password, ""}});
  EXPECT_EQ(t.events, (Events{"ask PROXMOX_PASSWORD", "authenticate", "check_name web",
                              "notice BUILD_COMMAND: must not contain control characters other than tab and newline",
                              "ask BUILD_COMMAND", "check_repository   ", "done"}));
  EXPECT_EQ(t.prompts.back().text, "Enter the build command (leave blank if none) [blank: keep the deployed value]");
  EXPECT_EQ(t.request.deploy->components, (std::vector<deploy::Component>{{"", "", "", "", "", "npm start"}}));
}

TEST(DialogueUpdate, AMergeErrorAsksForThatVariable) {
  auto env = update_env();
  env["START_COMMAND"] = "npm start";
  const FieldError incomplete{"RUNTIME_LANGUAGE", "is required"};
  auto t = run(Operation::update, deploy_options(true), env, Script{{"nodejs"}, true, {}, {{incomplete}}});
  EXPECT_EQ(t.events,
            (Events{"authenticate", "check_name web", "check_repository   ", "notice RUNTIME_LANGUAGE: is required",
                    "ask RUNTIME_LANGUAGE", "check_repository   ", "done"}));
  EXPECT_EQ(t.request.deploy->components, (std::vector<deploy::Component>{{"", "nodejs", "", "", "", "npm start"}}));
  t = run(Operation::update, deploy_options(false), env, Script{{}, true, {}, {{incomplete}}});
  EXPECT_EQ(t.events, (Events{"authenticate", "check_name web", "check_repository   ",
                              "error RUNTIME_LANGUAGE: is required", "failed"}));
}

TEST(DialogueUpdate, NotYoursIsNotFound) {
  auto t = run(Operation::update, deploy_options(false), update_env(), Script{{}, true, {false}});
  EXPECT_EQ(t.events,
            (Events{"authenticate", "check_name web", "error CONTAINER_NAME: no such container of yours", "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::not_found);
}

// --- info and app-logs -------------------------------------------------------------------------------

TEST(DialogueInfoAndAppLogs, NameAndLinesFromTheArguments) {
  const Env credentials{{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}};
  for (Operation op : {Operation::info, Operation::app_logs}) {
    SCOPED_TRACE(std::string(to_string(op)));
    auto o = options(false);
    o.args = {"Web"};
    auto t = run(op, o, credentials);
    EXPECT_EQ(t.events, (Events{"authenticate", "check_name web", "done"}));
    EXPECT_EQ(t.request.container_name, "web");
    EXPECT_EQ(t.request.log_lines, 200u);

    const std::string usage = op == Operation::info ? " NAME)" : " NAME [LINES])";
    const std::string verb(to_string(op));
    o.args = {};
    t = run(op, o, credentials);
    EXPECT_EQ(t.events,
              (Events{"error CONTAINER_NAME: is required (ssh create-container@host " + verb + usage, "failed"}));
    o.args = {"-rf"};
    t = run(op, o, credentials);
    EXPECT_EQ(t.events, (Events{"error CONTAINER_NAME: must start with a letter", "failed"}));
    o.args = {"web", "10", "x"};
    t = run(op, o, credentials);
    EXPECT_EQ(t.events, (Events{"error CONTAINER_NAME: too many arguments (ssh create-container@host " + verb + usage,
                                "failed"}));
    o.args = {"web"};
    t = run(op, o, credentials, Script{{}, true, {false}});
    EXPECT_EQ(t.last.error_class, Errc::not_found);
  }
  auto o = options(true);
  o.args = {"web", "10000"};
  auto t = run(Operation::app_logs, o, {}, Script{{"alice", password}});
  EXPECT_EQ(t.events,
            (Events{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate", "check_name web", "done"}));
  EXPECT_EQ(t.request.log_lines, 10000u);
  for (const std::string bad : {"0", "10001", "010", "-5", "1e3", "", "99999999999"}) {
    o.args = {"web", bad};
    t = run(Operation::app_logs, o, {});
    EXPECT_EQ(t.events, (Events{"error LINES: must be a number from 1 to 10000", "failed"})) << bad;
  }
  o.args = {"web", "1"};
  EXPECT_EQ(run(Operation::info, o, {}).events.front(),
            "error CONTAINER_NAME: too many arguments (ssh create-container@host info NAME)");
}

// --- secrets -------------------------------------------------------------------------------------------

TEST(DialogueSecrets, NoSecretOutsideTheSecretFields) {
  // Each scenario feeds the same secrets through a different path: valid, invalid, from the
  // environment, typed, repeated, failed; none may appear in a step, an error, a note or a
  // non-secret field of the request.
  struct Scenario {
    std::string name;
    Operation op;
    bool tty;
    Env env;
    Script script;
  };
  auto env = deploy_env();
  env["CONTAINER_PASSWORD"] = "ct-" + env_secret;
  auto bad_env = deploy_env();
  bad_env["CONTAINER_ENV_VARS"] = R"({")" + env_secret + R"(": ")" + env_secret + R"("})";
  bad_env["PROJECT_TOKEN"] = token + "\x1b";
  auto nested_bad = deploy_env();
  nested_bad["CONTAINER_ENV_VARS"] = R"({"api": {"K": ")" + env_secret + R"(\n"}, "x": ")" + env_secret + R"("})";
  auto pat = deploy_env();
  pat.erase("PROJECT_TOKEN");
  pat["GITHUB_PAT"] = token;
  pat["PROJECT_REPOSITORY"] = "https://" + token + "@github.com/mieweb/app";
  auto upd = update_env();
  upd["CONTAINER_ENV_VARS"] = R"({"K": ")" + env_secret + R"("})";
  upd["PROJECT_TOKEN"] = token;
  const std::vector<Scenario> scenarios{
      {"valid batch", Operation::create, false, env, {}},
      {"invalid batch", Operation::create, false, bad_env, {}},
      {"nested invalid", Operation::create, false, nested_bad, {}},
      {"token in the URL", Operation::create, false, pat, {}},
      {"auth failure", Operation::create, false, env, Script{{}, false}},
      {"check failure", Operation::create, false, env, Script{{}, true, {}, {{FieldError{"PROJECT_REPOSITORY", "x"}}}}},
      {"interactive typed",
       Operation::create,
       true,
       {},
       Script{answers({"y",
                       "https://" + token + "@github.com/x/y",
                       repo,
                       token,
                       "",
                       "",
                       "n",
                       "y",
                       env_secret,
                       "K=" + env_secret,
                       "K=" + env_secret,
                       env_secret + "=1",
                       "",
                       "",
                       "",
                       "npm start",
                       env_secret,
                       "nodejs",
                       "y",
                       env_secret,
                       ""})}},
      {"interactive bad env", Operation::create, true, bad_env, Script{{"", "", "", "", "K=" + env_secret, ""}}},
      {"update", Operation::update, false, upd, {}},
      {"update interactive", Operation::update, true, upd,
       Script{{env_secret + " x", "main"}, true, {}, {{FieldError{"PROJECT_BRANCH", "x"}}}}},
  };
  for (const auto& s : scenarios) {
    SCOPED_TRACE(s.name);
    auto t = run(s.op, deploy_options(s.tty), s.env, s.script);
    EXPECT_NE(t.events.back(), "(out of answers)") << t.events.back();
    expect_nowhere(t, env_secret);
    expect_nowhere(t, token);
    expect_nowhere(t, password);
  }
}

}  // namespace
}  // namespace lxcprov::request
