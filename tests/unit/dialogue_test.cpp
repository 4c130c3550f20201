// Dialogue: the state machine of request/dialogue.hpp, driven the way the session drives it.
// Each test scripts the user's answers and the session's verdicts (authentication, name lookup)
// and compares the resulting transcript.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "dialogue_script.hpp"
#include "request/dialogue.hpp"
#include "request/validation.hpp"

namespace lxcprov::request {
namespace {

using namespace std::string_literals;
using namespace lxcprov::request::testing;

// --- mode ------------------------------------------------------------------------------------

TEST(DialogueMode, InteractiveNeedsTtyAndNoGhAction) {
  struct Row {
    bool tty;
    std::optional<std::string> gh;
    bool interactive;
  };
  for (const Row& row : std::vector<Row>{{false, std::nullopt, false},
                                         {true, std::nullopt, true},
                                         {true, "y", false},
                                         {true, "Y", false},
                                         {true, "n", true},
                                         {true, "", true},
                                         {true, "yes", true},
                                         {false, "n", false}}) {
    Env env;
    if (row.gh) env["GH_ACTION"] = *row.gh;
    Dialogue d(Operation::create, options(row.tty), env);
    EXPECT_EQ(d.interactive(), row.interactive) << row.tty << " " << row.gh.value_or("(unset)");
  }
}

TEST(DialogueMode, GhActionOnATtyNeverPrompts) {
  auto env = full_create_env();
  env.erase("CONTAINER_NAME");
  env["GH_ACTION"] = "Y";
  auto t = run(Operation::create, options(true), env);
  EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("CONTAINER_NAME"), "failed"}));
}

// --- non-interactive -------------------------------------------------------------------------

TEST(DialogueBatch, CreateWithEverythingSet) {
  auto t = run(Operation::create, options(false), full_create_env());
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name my-app", "done"}));
  EXPECT_EQ(t.request.op, Operation::create);
  EXPECT_EQ(t.request.username, "alice");
  EXPECT_EQ(t.request.password.reveal(), password);
  EXPECT_EQ(t.request.container_name, "my-app");
  EXPECT_EQ(t.request.distribution, "busybox");
  EXPECT_EQ(t.request.http_port, 8080);
  EXPECT_EQ(t.request.public_key, ed25519);
}

TEST(DialogueBatch, DefaultsForOptionalFields) {
  auto o = options(false);
  o.session_key = ecdsa256 + "\n";
  o.default_http_port = 3100;
  auto env = full_create_env();
  env.erase("LINUX_DISTRIBUTION");
  env.erase("HTTP_PORT");
  env.erase("PUBLIC_KEY");
  auto t = run(Operation::create, o, env);
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.request.distribution, "debian");
  EXPECT_EQ(t.request.http_port, 3100);
  EXPECT_EQ(t.request.public_key, ecdsa256);  // the session key, normalised
}

TEST(DialogueBatch, EmptyValuesCountAsUnset) {
  auto env = full_create_env();
  env["LINUX_DISTRIBUTION"] = "";
  env["HTTP_PORT"] = "";
  env["PUBLIC_KEY"] = "";
  auto t = run(Operation::create, options(false), env);
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.request.distribution, "debian");
  EXPECT_EQ(t.request.http_port, 3000);
  EXPECT_EQ(t.request.public_key, "");

  env["CONTAINER_NAME"] = "";
  t = run(Operation::create, options(false), env);
  EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("CONTAINER_NAME"), "failed"}));
}

TEST(DialogueBatch, ExplicitKeyWinsOverSessionKey) {
  auto o = options(false);
  o.session_key = ecdsa256;
  auto t = run(Operation::create, o, full_create_env());
  EXPECT_EQ(t.request.public_key, ed25519);
}

TEST(DialogueBatch, SessionKeyBreakingTheRulesIsNotInstalled) {
  auto o = options(false);
  o.session_key = rsa1024;
  auto env = full_create_env();
  env.erase("PUBLIC_KEY");
  auto t = run(Operation::create, o, env);
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.request.public_key, "");
}

TEST(DialogueBatch, MissingRequiredFieldsAllListedBeforeAuthentication) {
  auto t = run(Operation::create, options(false), {});
  EXPECT_EQ(t.events,
            (std::vector<std::string>{"error " + required("PROXMOX_USERNAME"), "error " + required("PROXMOX_PASSWORD"),
                                      "error " + required("CONTAINER_NAME"), "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
}

TEST(DialogueBatch, EveryInvalidFieldListedAtOnce) {
  Env env{{"PROXMOX_USERNAME", "Bob Smith"},
          {"PROXMOX_PASSWORD", "Zq9-Secret\nPw"},
          {"CONTAINER_NAME", "../etc"},
          {"LINUX_DISTRIBUTION", "rocky"},
          {"HTTP_PORT", "0x50"},
          {"PUBLIC_KEY", rsa1024}};
  auto t = run(Operation::create, options(false), env);
  ASSERT_EQ(t.last.kind, Step::failed);
  EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
  std::vector<std::string> fields;
  for (const auto& e : t.last.errors) fields.push_back(e.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"PROXMOX_USERNAME", "PROXMOX_PASSWORD", "CONTAINER_NAME",
                                              "LINUX_DISTRIBUTION", "HTTP_PORT", "PUBLIC_KEY"}));
  EXPECT_EQ(t.last.errors[0], check_username("Bob Smith").error.value());
  EXPECT_EQ(t.last.errors[3].message, "must be one of: debian, busybox");
  EXPECT_EQ(t.last.errors[5].message, "RSA keys must be at least 2048 bits");
  EXPECT_TRUE(t.request.password.empty());
  expect_no_leak(t, "Zq9-Secret");
}

TEST(DialogueBatch, SomeMissingSomeInvalid) {
  Env env{{"PROXMOX_USERNAME", "alice"}, {"CONTAINER_NAME", "-rf"}, {"HTTP_PORT", "65536"}};
  auto t = run(Operation::create, options(false), env);
  EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("PROXMOX_PASSWORD"),
                                                "error CONTAINER_NAME: must start with a letter",
                                                "error HTTP_PORT: must be from 80 to 60000", "failed"}));
}

TEST(DialogueBatch, AuthenticationFailureIsOneGenericError) {
  auto t = run(Operation::create, options(false), full_create_env(), Script{{}, false, {}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "error authentication: username or password is wrong",
                                                "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::auth_failed);
  EXPECT_TRUE(t.request.password.empty());
  expect_no_leak(t, password);
}

TEST(DialogueBatch, NameTakenIsConflict) {
  auto t = run(Operation::create, options(false), full_create_env(), Script{{}, true, {false}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name my-app",
                                                "error CONTAINER_NAME: is already taken", "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::conflict);
}

TEST(DialogueBatch, ExistsAndDeleteAskOnlyForTheName) {
  for (Operation op : {Operation::exists, Operation::destroy}) {
    SCOPED_TRACE(std::string(to_string(op)));
    Env env{{"PROXMOX_USERNAME", "alice"},
            {"PROXMOX_PASSWORD", password},
            {"CONTAINER_NAME", "App"},
            {"LINUX_DISTRIBUTION", "nonsense"},
            {"HTTP_PORT", "1"},
            {"PROJECT_REPOSITORY", "https://x"},
            {"DEPLOY_ON_START", "y"},
            {"GITHUB_PAT", "ghp_x"}};
    auto t = run(op, options(false), env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name app", "done"}));
    EXPECT_EQ(t.request.op, op);
    EXPECT_EQ(t.request.distribution, "");
    EXPECT_EQ(t.request.http_port, 0);

    t = run(op, options(false), env, Script{{}, true, {false}});
    EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name app",
                                                  "error CONTAINER_NAME: no such container of yours", "failed"}));
    EXPECT_EQ(t.last.error_class, Errc::not_found);

    t = run(op, options(false), {});
    EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("PROXMOX_USERNAME"),
                                                  "error " + required("PROXMOX_PASSWORD"),
                                                  "error " + required("CONTAINER_NAME"), "failed"}));
  }
}

TEST(DialogueBatch, StatusAndLogsTakeTheJobIdFromArgs) {
  for (Operation op : {Operation::status, Operation::logs}) {
    SCOPED_TRACE(std::string(to_string(op)));
    auto o = options(false);
    o.args = {job};
    Env env{{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}, {"CONTAINER_NAME", "ignored!"}};
    auto t = run(op, o, env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "done"}));
    EXPECT_EQ(t.request.job_id, job);
    EXPECT_EQ(t.request.container_name, "");

    struct Row {
      std::vector<std::string> args;
      std::string message;
    };
    const std::string id_rule = check_job_id("x").error->message;
    for (const Row& row :
         std::vector<Row>{{{}, "is required (ssh create-container@host " + std::string(to_string(op)) + " JOB_ID)"},
                          {{"0123456789ABCDEF"}, id_rule},
                          {{"; id"}, id_rule},
                          {{job, job}, "exactly one job id is expected"}}) {
      o.args = row.args;
      t = run(op, o, env);
      EXPECT_EQ(t.events, (std::vector<std::string>{"error JOB_ID: " + row.message, "failed"}));
      EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
    }
    // Listed together with the other problems, still before authentication.
    o.args = {};
    t = run(op, o, {});
    EXPECT_EQ(t.last.errors.size(), 3U);
    EXPECT_EQ(t.events.front().rfind("error JOB_ID", 0), 0U);
  }
}

TEST(DialogueBatch, ListNeedsOnlyCredentials) {
  auto t = run(Operation::list, options(false), {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "done"}));
  EXPECT_EQ(t.request.op, Operation::list);
  t = run(Operation::list, options(false), {}, Script{{}, false, {}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("PROXMOX_USERNAME"),
                                                "error " + required("PROXMOX_PASSWORD"), "failed"}));
}

// --- bound user (identity from the ssh key) ----------------------------------------------------

TEST(DialogueBoundUser, NoPasswordNoAuthenticateStep) {
  for (bool tty : {false, true}) {
    SCOPED_TRACE(tty);
    auto o = options(tty);
    o.bound_user = "carol";
    auto env = full_create_env();
    env["PROXMOX_USERNAME"] = "Not Valid At All";  // ignored, not even validated
    env["PROXMOX_PASSWORD"] = password;
    auto t = run(Operation::create, o, env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"check_name my-app", "done"}));
    EXPECT_EQ(t.request.username, "carol");
    EXPECT_TRUE(t.request.password.empty());
  }
}

TEST(DialogueBoundUser, InteractiveAsksOnlyForTheRest) {
  auto o = options(true);
  o.bound_user = "carol";
  auto t = run(Operation::create, o, {}, Script{{"web", "", "", ""}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"ask CONTAINER_NAME", "check_name web", "ask LINUX_DISTRIBUTION",
                                                "ask HTTP_PORT", "ask PUBLIC_KEY", "done"}));
}

TEST(DialogueBoundUser, ListAndStatusFinishAtOnce) {
  auto o = options(false);
  o.bound_user = "carol";
  auto t = run(Operation::list, o, {});
  EXPECT_EQ(t.events, (std::vector<std::string>{"done"}));
  o.args = {job};
  t = run(Operation::logs, o, {});
  EXPECT_EQ(t.events, (std::vector<std::string>{"done"}));
  EXPECT_EQ(t.request.job_id, job);
}

TEST(DialogueBoundUser, MissingNameStillRequired) {
  auto o = options(false);
  o.bound_user = "carol";
  auto t = run(Operation::destroy, o, {});
  EXPECT_EQ(t.events, (std::vector<std::string>{"error " + required("CONTAINER_NAME"), "failed"}));
}

TEST(DialogueBoundUser, MalformedBoundIdentityFailsClosed) {
  auto o = options(false);
  o.bound_user = "../root";
  auto t = run(Operation::list, o, {});
  ASSERT_EQ(t.last.kind, Step::failed);
  EXPECT_EQ(t.last.error_class, Errc::internal);
  EXPECT_EQ(t.request.username, "");
}

// --- deploy variables where deployment is off (options() leaves DeployOptions::enabled false) ---

TEST(DialogueDeployDisabled, AskingForADeploymentIsRefusedInBothModes) {
  for (bool tty : {false, true}) {
    for (std::string value : {"y", "Y"}) {
      auto env = full_create_env();
      env["DEPLOY_ON_START"] = value;
      auto t = run(Operation::create, options(tty), env);
      EXPECT_EQ(t.events, (std::vector<std::string>{"error DEPLOY_ON_START: app deployment is disabled on this server",
                                                    "failed"}));
      EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
    }
    // The old client's way of asking: GH_ACTION with a runtime.
    auto env = full_create_env();
    env["GH_ACTION"] = "y";
    env["RUNTIME_LANGUAGE"] = "nodejs";
    auto t = run(Operation::create, options(tty), env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"error RUNTIME_LANGUAGE: app deployment is disabled on this server",
                                                  "failed"}));
  }
}

TEST(DialogueDeployDisabled, WithoutDeployOnStartTheVariablesAreIgnoredWithANote) {
  for (bool tty : {false, true}) {
    auto env = full_create_env();
    env["START_COMMAND"] = "npm start";
    env["PROJECT_REPOSITORY"] = "https://github.com/o/r";  // sent by the old client in any case: no note
    auto t = run(Operation::create, options(tty), env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name my-app", "done"}));
    EXPECT_FALSE(t.request.deploy);
    EXPECT_EQ(t.request.notes,
              std::vector<std::string>{"START_COMMAND is ignored: nothing is deployed without DEPLOY_ON_START=y"});
    for (std::string value : {"n", "N", ""}) {
      env = full_create_env();
      env["DEPLOY_ON_START"] = value;
      EXPECT_EQ(run(Operation::create, options(tty), env).last.kind, Step::done) << value;
    }
  }
}

TEST(DialogueDeployDisabled, UpdateIsRefused) {
  auto t = run(Operation::update, options(false),
               {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}, {"CONTAINER_NAME", "web"}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"error update: app deployment is disabled on this server", "failed"}));
}

TEST(DialogueDeployDisabled, IgnoredVariablesAreNeitherStoredNorRefused) {
  auto env = full_create_env();
  env["CONTAINER_PASSWORD"] = "ct-secret-1";
  env["GITHUB_PAT"] = "ghp_secret_2";
  env["SSH_KEY_FP"] = "SHA256:abc";
  auto t = run(Operation::create, options(false), env);
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.request.password.reveal(), password);
  EXPECT_TRUE(t.request.deploy_secrets.git_token.empty());
}

// --- interactive -------------------------------------------------------------------------------

TEST(DialogueInteractive, CreateAsksEverythingInOrder) {
  auto t = run(Operation::create, options(true), {}, Script{{"alice", password, "Web-1", "BusyBox", "8081", ed25519}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate",
                                                "ask CONTAINER_NAME", "check_name web-1", "ask LINUX_DISTRIBUTION",
                                                "ask HTTP_PORT", "ask PUBLIC_KEY", "done"}));
  EXPECT_EQ(t.request.username, "alice");
  EXPECT_EQ(t.request.password.reveal(), password);
  EXPECT_EQ(t.request.container_name, "web-1");
  EXPECT_EQ(t.request.distribution, "busybox");
  EXPECT_EQ(t.request.http_port, 8081);
  EXPECT_EQ(t.request.public_key, ed25519);
}

TEST(DialogueInteractive, PromptTextsAndDefaults) {
  auto o = options(true);
  o.session_key = ecdsa256;
  o.default_http_port = 3000;
  auto t = run(Operation::create, o, {}, Script{{"alice", password, "web", "", "", ""}});
  ASSERT_EQ(t.prompts.size(), 6U);
  const std::vector<std::tuple<std::string, std::string, bool, std::string>> expected{
      {"PROXMOX_USERNAME", "Username", false, ""},
      {"PROXMOX_PASSWORD", "Password", true, ""},
      {"CONTAINER_NAME", "Container name", false, ""},
      {"LINUX_DISTRIBUTION", "Linux distribution (debian, busybox)", false, "debian"},
      {"HTTP_PORT", "HTTP port", false, "3000"},
      {"PUBLIC_KEY", "Public key", false, ecdsa256}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& [field, text, secret, def] = expected[i];
    EXPECT_EQ(t.prompts[i].field, field);
    EXPECT_EQ(t.prompts[i].text, text);
    EXPECT_EQ(t.prompts[i].secret, secret);
    EXPECT_EQ(t.prompts[i].default_value, def);
  }
  // Empty answers took the defaults.
  EXPECT_EQ(t.request.distribution, "debian");
  EXPECT_EQ(t.request.http_port, 3000);
  EXPECT_EQ(t.request.public_key, ecdsa256);
}

TEST(DialogueInteractive, EmptyKeyAnswerWithoutSessionKeyMeansNoKey) {
  auto t = run(Operation::create, options(true), {}, Script{{"alice", password, "web", "", "", ""}});
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.prompts.back().default_value, "");
  EXPECT_EQ(t.request.public_key, "");
}

TEST(DialogueInteractive, ValidEnvironmentIsNotAskedFor) {
  auto t = run(Operation::create, options(true), full_create_env());
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name my-app", "done"}));

  auto env = full_create_env();
  env.erase("HTTP_PORT");
  env.erase("PUBLIC_KEY");
  t = run(Operation::create, options(true), env, Script{{"9000", ""}});
  EXPECT_EQ(t.events,
            (std::vector<std::string>{"authenticate", "check_name my-app", "ask HTTP_PORT", "ask PUBLIC_KEY", "done"}));
  EXPECT_EQ(t.request.http_port, 9000);
}

TEST(DialogueInteractive, InvalidEnvironmentIsShownThenAskedFor) {
  struct Row {
    std::string field;
    std::string bad_value;
    std::string good_answer;
  };
  const std::vector<Row> table{{"PROXMOX_USERNAME", "Alice", "alice"},
                               {"PROXMOX_PASSWORD", "Zq9-Secret\rPw", password},
                               {"CONTAINER_NAME", "my.app", "my-app"},
                               {"LINUX_DISTRIBUTION", "rocky", "debian"},
                               {"HTTP_PORT", "22", "8080"},
                               {"PUBLIC_KEY", rsa1024, ed25519}};
  for (const auto& row : table) {
    SCOPED_TRACE(row.field);
    auto env = full_create_env();
    env[row.field] = row.bad_value;
    auto t = run(Operation::create, options(true), env, Script{{row.good_answer}});
    ASSERT_EQ(t.prompts.size(), 1U);
    EXPECT_EQ(t.prompts[0].field, row.field);
    ASSERT_FALSE(t.events.empty());
    const std::string notice_prefix = "notice " + row.field + ": ";
    const auto notice = std::find_if(t.events.begin(), t.events.end(),
                                     [&](const std::string& e) { return e.rfind(notice_prefix, 0) == 0; });
    EXPECT_NE(notice, t.events.end());
    EXPECT_EQ(t.last.kind, Step::done);
    expect_no_leak(t, "Zq9-Secret");
  }
}

TEST(DialogueInteractive, NoticeIsShownOnlyWithTheFirstAsking) {
  auto env = full_create_env();
  env["HTTP_PORT"] = "http";
  Dialogue d(Operation::create, options(true), env);
  EXPECT_EQ(d.next().kind, Step::authenticate);
  d.set_authenticated(true);
  EXPECT_EQ(d.next().kind, Step::check_name);
  d.set_name_available(true);
  Step s = d.next();
  ASSERT_EQ(s.kind, Step::prompt);
  EXPECT_EQ(s.question.field, "HTTP_PORT");
  ASSERT_EQ(s.errors.size(), 1U);
  EXPECT_EQ(s.errors[0], check_http_port("http").error.value());
  // Asking again without an answer repeats the same step.
  EXPECT_EQ(d.next().errors.size(), 1U);
  auto e = d.answer("1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(*e, check_http_port("1").error.value());
  s = d.next();
  ASSERT_EQ(s.kind, Step::prompt);
  EXPECT_EQ(s.question.field, "HTTP_PORT");
  EXPECT_TRUE(s.errors.empty());  // the caller already showed the answer's error
  EXPECT_FALSE(d.answer("8080").has_value());
  EXPECT_EQ(d.next().kind, Step::done);
}

TEST(DialogueInteractive, BadAnswersAreRejectedAndAskedAgain) {
  auto t = run(Operation::create, options(true), {},
               Script{{"", "Bad User", "alice", "", "pw\0x"s, password, "-rf", "../../etc", "", "ok1", "arch", "debian",
                       "0x50", "080", "8080", "ssh-dss AAAA", ed25519 + "\n" + ed25519, ed25519}});
  EXPECT_EQ(t.events,
            (std::vector<std::string>{"ask PROXMOX_USERNAME",
                                      "reject PROXMOX_USERNAME: is required",
                                      "ask PROXMOX_USERNAME",
                                      "reject " + format(*check_username("Bad User").error),
                                      "ask PROXMOX_USERNAME",
                                      "ask PROXMOX_PASSWORD",
                                      "reject PROXMOX_PASSWORD: is required",
                                      "ask PROXMOX_PASSWORD",
                                      "reject PROXMOX_PASSWORD: must not contain NUL, CR or LF characters",
                                      "ask PROXMOX_PASSWORD",
                                      "authenticate",
                                      "ask CONTAINER_NAME",
                                      "reject CONTAINER_NAME: must start with a letter",
                                      "ask CONTAINER_NAME",
                                      "reject CONTAINER_NAME: may contain only letters a-z, digits 0-9 and '-'",
                                      "ask CONTAINER_NAME",
                                      "reject CONTAINER_NAME: is required",
                                      "ask CONTAINER_NAME",
                                      "check_name ok1",
                                      "ask LINUX_DISTRIBUTION",
                                      "reject LINUX_DISTRIBUTION: must be one of: debian, busybox",
                                      "ask LINUX_DISTRIBUTION",
                                      "ask HTTP_PORT",
                                      "reject " + format(*check_http_port("0x50").error),
                                      "ask HTTP_PORT",
                                      "reject HTTP_PORT: must not have leading zeros",
                                      "ask HTTP_PORT",
                                      "ask PUBLIC_KEY",
                                      "reject PUBLIC_KEY: DSA (ssh-dss) keys are refused; use ssh-ed25519",
                                      "ask PUBLIC_KEY",
                                      "reject PUBLIC_KEY: must be a single line holding one key",
                                      "ask PUBLIC_KEY",
                                      "done"}));
  EXPECT_EQ(t.request.container_name, "ok1");
  EXPECT_EQ(t.request.http_port, 8080);
  expect_no_leak(t, "pw");
}

TEST(DialogueInteractive, LineTerminatorsOfAnswersAreDropped) {
  auto t = run(Operation::create, options(true), {},
               Script{{"alice\n", password + "\r\n", "web\n", "busybox\r\n", "8080\n", ed25519 + "\n"}});
  ASSERT_EQ(t.last.kind, Step::done);
  EXPECT_EQ(t.request.username, "alice");
  EXPECT_EQ(t.request.password.reveal(), password);
  EXPECT_EQ(t.request.container_name, "web");
  EXPECT_EQ(t.request.distribution, "busybox");
  EXPECT_EQ(t.request.public_key, ed25519);
}

TEST(DialogueInteractive, TakenNameIsAskedAgain) {
  auto env = full_create_env();
  auto t = run(Operation::create, options(true), env, Script{{"taken-too", "free"}, true, {false, false, true}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"authenticate", "check_name my-app",
                                                "notice CONTAINER_NAME: is already taken; choose another name",
                                                "ask CONTAINER_NAME", "check_name taken-too",
                                                "notice CONTAINER_NAME: is already taken; choose another name",
                                                "ask CONTAINER_NAME", "check_name free", "done"}));
  EXPECT_EQ(t.request.container_name, "free");
}

TEST(DialogueInteractive, AuthenticationFailureEndsTheDialogue) {
  auto t = run(Operation::create, options(true), {}, Script{{"alice", password}, false, {}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate",
                                                "error authentication: username or password is wrong", "failed"}));
  EXPECT_EQ(t.last.error_class, Errc::auth_failed);
  EXPECT_TRUE(t.request.password.empty());
}

TEST(DialogueInteractive, ExistsAndDeleteDoNotAskAgainForAMissingName) {
  for (Operation op : {Operation::exists, Operation::destroy}) {
    auto t = run(op, options(true), {}, Script{{"alice", password, "web"}, true, {false}});
    EXPECT_EQ(t.events, (std::vector<std::string>{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate",
                                                  "ask CONTAINER_NAME", "check_name web",
                                                  "error CONTAINER_NAME: no such container of yours", "failed"}));
    EXPECT_EQ(t.last.error_class, Errc::not_found);
  }
}

TEST(DialogueInteractive, StatusFailsOnJobIdBeforeAnyPrompt) {
  auto o = options(true);
  auto t = run(Operation::status, o, {});
  EXPECT_EQ(t.prompts.size(), 0U);
  ASSERT_EQ(t.last.kind, Step::failed);
  EXPECT_EQ(t.last.errors.size(), 1U);
  EXPECT_EQ(t.last.errors[0].field, "JOB_ID");

  o.args = {job};
  t = run(Operation::status, o, {}, Script{{"alice", password}});
  EXPECT_EQ(t.events,
            (std::vector<std::string>{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate", "done"}));
  EXPECT_EQ(t.request.job_id, job);
}

TEST(DialogueInteractive, ListAsksForCredentialsOnly) {
  auto t = run(Operation::list, options(true), {{"PROXMOX_USERNAME", "alice"}}, Script{{password}});
  EXPECT_EQ(t.events, (std::vector<std::string>{"ask PROXMOX_PASSWORD", "authenticate", "done"}));
}

// --- protocol misuse -----------------------------------------------------------------------------

TEST(DialogueMisuse, VerdictsOutOfTurnAreIgnored) {
  Dialogue d(Operation::create, options(true), {});
  d.set_authenticated(true);
  d.set_name_available(true);
  EXPECT_TRUE(d.answer("alice").has_value());  // nothing asked yet
  Step s = d.next();
  ASSERT_EQ(s.kind, Step::prompt);
  EXPECT_EQ(s.question.field, "PROXMOX_USERNAME");
  d.set_authenticated(true);  // still not the authenticate step
  EXPECT_FALSE(d.answer("alice").has_value());
  EXPECT_EQ(d.next().question.field, "PROXMOX_PASSWORD");
  EXPECT_FALSE(d.answer(password).has_value());
  EXPECT_EQ(d.next().kind, Step::authenticate);  // the early true did not count
  EXPECT_EQ(d.next().kind, Step::authenticate);  // repeated until answered
  EXPECT_TRUE(d.answer("x").has_value());
  d.set_name_available(false);  // out of turn: must not fail the dialogue
  EXPECT_EQ(d.next().kind, Step::authenticate);
  d.set_authenticated(true);
  EXPECT_EQ(d.next().kind, Step::prompt);
}

TEST(DialogueMisuse, FinalStepsAreSticky) {
  Dialogue ok(Operation::list, options(false), {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}});
  EXPECT_EQ(ok.next().kind, Step::authenticate);
  ok.set_authenticated(true);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ok.next().kind, Step::done);
  ok.set_authenticated(false);
  EXPECT_EQ(ok.next().kind, Step::done);
  EXPECT_TRUE(ok.answer("x").has_value());

  Dialogue bad(Operation::list, options(false), {});
  const Step first = bad.next();
  ASSERT_EQ(first.kind, Step::failed);
  for (int i = 0; i < 3; ++i) {
    const Step again = bad.next();
    EXPECT_EQ(again.kind, Step::failed);
    EXPECT_EQ(again.errors, first.errors);
    EXPECT_EQ(again.error_class, first.error_class);
  }

  Dialogue denied(Operation::list, options(false), {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", password}});
  EXPECT_EQ(denied.next().kind, Step::authenticate);
  denied.set_authenticated(false);
  denied.set_authenticated(true);  // too late
  EXPECT_EQ(denied.next().kind, Step::failed);
  EXPECT_EQ(denied.next().error_class, Errc::auth_failed);
}

TEST(DialogueMisuse, TakeRequestHandsOverTheRequest) {
  Dialogue d(Operation::create, options(false), full_create_env());
  EXPECT_EQ(d.next().kind, Step::authenticate);
  d.set_authenticated(true);
  EXPECT_EQ(d.next().kind, Step::check_name);
  d.set_name_available(true);
  EXPECT_EQ(d.next().kind, Step::done);
  Request r = d.take_request();
  EXPECT_EQ(r.container_name, "my-app");
  EXPECT_EQ(r.password.reveal(), password);
}

// --- AcceptEnv -----------------------------------------------------------------------------------

TEST(AcceptedEnv, MatchesTheOldSshdConfig) {
  EXPECT_EQ(accepted_env(Operation::create),
            (std::vector<std::string>{
                "SSH_KEY_FP",         "PUBLIC_KEY",       "PROXMOX_USERNAME",   "PROXMOX_PASSWORD",   "CONTAINER_NAME",
                "CONTAINER_PASSWORD", "HTTP_PORT",        "DEPLOY_ON_START",    "PROJECT_REPOSITORY", "PROJECT_BRANCH",
                "PROJECT_ROOT",       "REQUIRE_ENV_VARS", "CONTAINER_ENV_VARS", "INSTALL_COMMAND",    "BUILD_COMMAND",
                "START_COMMAND",      "RUNTIME_LANGUAGE", "SERVICES",           "REQUIRE_SERVICES",   "CUSTOM_SERVICES",
                "LINUX_DISTRIBUTION", "MULTI_COMPONENT",  "ROOT_START_COMMAND", "GH_ACTION",          "GITHUB_PAT",
                "SELF_HOSTED_RUNNER", "VERSIONS_DICT",    "EXTRA_PROTOCOLS",    "PROJECT_TOKEN"}));
  // The old update-container list, plus the token under both names and the env gate.
  EXPECT_EQ(accepted_env(Operation::update),
            (std::vector<std::string>{
                "CONTAINER_NAME",     "PROXMOX_USERNAME",   "PROXMOX_PASSWORD", "PROJECT_BRANCH", "PROJECT_ROOT",
                "PROJECT_REPOSITORY", "INSTALL_COMMAND",    "BUILD_COMMAND",    "START_COMMAND",  "RUNTIME_LANGUAGE",
                "MULTI_COMPONENT",    "ROOT_START_COMMAND", "DEPLOY_ON_START",  "SERVICES",       "CUSTOM_SERVICES",
                "REQUIRE_SERVICES",   "LINUX_DISTRIBUTION", "GH_ACTION",        "HTTP_PORT",      "CONTAINER_ENV_VARS",
                "REQUIRE_ENV_VARS",   "GITHUB_PAT",         "PROJECT_TOKEN"}));
  EXPECT_EQ(accepted_env(Operation::exists),
            (std::vector<std::string>{"PROXMOX_PASSWORD", "PROXMOX_USERNAME", "CONTAINER_NAME", "PROJECT_REPOSITORY",
                                      "DEPLOY_ON_START", "GH_ACTION"}));
  EXPECT_EQ(accepted_env(Operation::destroy),
            (std::vector<std::string>{"PROXMOX_PASSWORD", "PROXMOX_USERNAME", "CONTAINER_NAME", "PROJECT_REPOSITORY",
                                      "GITHUB_PAT", "GH_ACTION"}));
  for (Operation op : {Operation::status, Operation::logs, Operation::list, Operation::info, Operation::app_logs}) {
    EXPECT_EQ(accepted_env(op), (std::vector<std::string>{"PROXMOX_USERNAME", "PROXMOX_PASSWORD", "GH_ACTION"}));
  }
}

TEST(AcceptedEnv, EveryVariableTheDialogueReadsIsAccepted) {
  // A variable read but not accepted would never arrive through sshd and silently fall back.
  const std::vector<std::string> create_reads{"PROXMOX_USERNAME",   "PROXMOX_PASSWORD", "CONTAINER_NAME",
                                              "LINUX_DISTRIBUTION", "HTTP_PORT",        "PUBLIC_KEY",
                                              "GH_ACTION",          "DEPLOY_ON_START",  "EXTRA_PROTOCOLS"};
  const auto create = accepted_env(Operation::create);
  for (const auto& name : create_reads) EXPECT_NE(std::find(create.begin(), create.end(), name), create.end()) << name;
  const std::vector<std::string> deploy_variables{
      "PROJECT_REPOSITORY", "PROJECT_BRANCH",     "PROJECT_ROOT",     "INSTALL_COMMAND",
      "BUILD_COMMAND",      "START_COMMAND",      "RUNTIME_LANGUAGE", "SERVICES",
      "REQUIRE_SERVICES",   "CUSTOM_SERVICES",    "MULTI_COMPONENT",  "ROOT_START_COMMAND",
      "REQUIRE_ENV_VARS",   "CONTAINER_ENV_VARS", "GITHUB_PAT",       "PROJECT_TOKEN"};
  for (const auto& name : deploy_variables)
    EXPECT_NE(std::find(create.begin(), create.end(), name), create.end()) << name;
  // create only: the old client's variables lxcprov answers with a note or a refusal
  for (const auto& name : {"VERSIONS_DICT", "SELF_HOSTED_RUNNER", "CONTAINER_PASSWORD", "SSH_KEY_FP"})
    EXPECT_NE(std::find(create.begin(), create.end(), name), create.end()) << name;
  const auto update = accepted_env(Operation::update);
  for (const auto& name : deploy_variables)
    EXPECT_NE(std::find(update.begin(), update.end(), name), update.end()) << name;
  EXPECT_NE(std::find(update.begin(), update.end(), "HTTP_PORT"), update.end());
}

// --- extra protocols (EXTRA_PROTOCOLS / the repeatable prompt) -------------------------------

DialogueOptions with_protocols(bool tty) {
  auto o = options(tty);
  o.protocols = {"SSH", "MYSQL", "NTP", "DNS", "FTP"};
  return o;
}

TEST(DialogueProtocols, BatchListIsCheckedAndCanonical) {
  auto env = full_create_env();
  env["EXTRA_PROTOCOLS"] = "mysql, NTP,dns";
  auto t = run(Operation::create, with_protocols(false), env);
  EXPECT_EQ(t.events.back(), "done");
  EXPECT_EQ(t.request.extra_protocols, (std::vector<std::string>{"MYSQL", "NTP", "DNS"}));
}

TEST(DialogueProtocols, BatchRefusesUnknownDuplicateAndSsh) {
  for (const auto& [value, message] : std::vector<std::pair<std::string, std::string>>{
           {"MYSQL,GOPHER", "EXTRA_PROTOCOLS: must be one of: MYSQL, NTP, DNS, FTP"},
           {"MYSQL,mysql", "EXTRA_PROTOCOLS: lists the same protocol twice"},
           {"ssh", "EXTRA_PROTOCOLS: SSH is always forwarded; do not list it"},
           {"MYSQL;rm -rf /", "EXTRA_PROTOCOLS: must be one of: MYSQL, NTP, DNS, FTP"}}) {
    auto env = full_create_env();
    env["EXTRA_PROTOCOLS"] = value;
    auto t = run(Operation::create, with_protocols(false), env);
    EXPECT_EQ(t.events, (std::vector<std::string>{"error " + message, "failed"})) << value;
    EXPECT_EQ(t.last.error_class, Errc::invalid_argument);
  }
}

TEST(DialogueProtocols, BatchWithoutACatalogRefusesAnyProtocol) {
  auto env = full_create_env();
  env["EXTRA_PROTOCOLS"] = "MYSQL";
  auto t = run(Operation::create, options(false), env);
  EXPECT_EQ(t.events, (std::vector<std::string>{"error EXTRA_PROTOCOLS: extra protocols are not offered by this server",
                                                "failed"}));
}

TEST(DialogueProtocols, InteractivePromptRepeatsUntilEmpty) {
  auto t = run(Operation::create, with_protocols(true), {},
               Script{{"alice", password, "web", "", "", ed25519, "mysql", "GOPHER", "MySQL", "ntp", ""}});
  EXPECT_EQ(t.events,
            (std::vector<std::string>{"ask PROXMOX_USERNAME", "ask PROXMOX_PASSWORD", "authenticate",
                                      "ask CONTAINER_NAME", "check_name web", "ask LINUX_DISTRIBUTION", "ask HTTP_PORT",
                                      "ask PUBLIC_KEY", "ask EXTRA_PROTOCOLS", "ask EXTRA_PROTOCOLS",
                                      "reject EXTRA_PROTOCOLS: must be one of: MYSQL, NTP, DNS, FTP",
                                      "ask EXTRA_PROTOCOLS", "reject EXTRA_PROTOCOLS: lists the same protocol twice",
                                      "ask EXTRA_PROTOCOLS", "ask EXTRA_PROTOCOLS", "done"}));
  EXPECT_EQ(t.request.extra_protocols, (std::vector<std::string>{"MYSQL", "NTP"}));
  ASSERT_GE(t.prompts.size(), 2u);
  const Prompt& first = t.prompts[t.prompts.size() - 5];
  EXPECT_EQ(first.text, "Extra protocol (empty to finish)");
  EXPECT_FALSE(first.secret);
  EXPECT_EQ(first.default_value, "");
  EXPECT_EQ(t.prompts.back().text, "Extra protocol (empty to finish) [chosen: MYSQL, NTP]");
}

TEST(DialogueProtocols, InteractiveValidEnvironmentIsNotAskedInvalidIsNoticed) {
  Env env{{"EXTRA_PROTOCOLS", "FTP"}};
  auto t = run(Operation::create, with_protocols(true), env, Script{{"alice", password, "web", "", "", ed25519}});
  EXPECT_EQ(t.events.back(), "done");
  EXPECT_EQ(t.request.extra_protocols, (std::vector<std::string>{"FTP"}));

  env["EXTRA_PROTOCOLS"] = "FTP,FTP";
  t = run(Operation::create, with_protocols(true), env, Script{{"alice", password, "web", "", "", ed25519, "dns", ""}});
  EXPECT_EQ(t.events.back(), "done");
  EXPECT_NE(std::find(t.events.begin(), t.events.end(), "notice EXTRA_PROTOCOLS: lists the same protocol twice"),
            t.events.end());
  EXPECT_EQ(t.request.extra_protocols, (std::vector<std::string>{"DNS"}));
}

TEST(DialogueProtocols, InteractiveWithoutACatalogDoesNotAsk) {
  auto t = run(Operation::create, options(true), {}, Script{{"alice", password, "web", "", "", ed25519}});
  EXPECT_EQ(std::count(t.events.begin(), t.events.end(), "ask EXTRA_PROTOCOLS"), 0);
  EXPECT_EQ(t.events.back(), "done");
}

TEST(DialogueProtocols, AtMostSixteen) {
  std::vector<std::string> catalog;
  std::string list;
  for (int i = 0; i < 17; ++i) {
    catalog.push_back("P" + std::to_string(i));
    list += (i ? "," : "") + catalog.back();
  }
  auto r = check_extra_protocols(list, catalog);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->message, "must list at most 16 protocols");
  EXPECT_TRUE(check_extra_protocols("", catalog).ok());
  EXPECT_TRUE(check_extra_protocols(" , ,", catalog).value->empty());
}

}  // namespace
}  // namespace lxcprov::request
