// The deploy variables' own rules (request/deploy_rules.hpp): good values and their normal
// form, bad values and the exact message naming the variable.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "deploy/catalog.hpp"
#include "request/deploy_rules.hpp"

namespace lxcprov::request {
namespace {

struct Good {
  std::string input, normal;
};
struct Bad {
  std::string input, message;
};

const std::vector<std::string> hosts{"github.com", "gitlab.com", "git.example.org:8443", "10.47.0.1:3000"};

deploy::Catalog catalog() {
  return std::move(
      deploy::parse_catalog(R"({"nodejs": {"default": "18.20.4", "versions": {"18.20.4": {"packages": ["nodejs"]}}},
                                    "python": {"default": "3.11.2", "versions": {"3.11.2": {"packages": ["python3"]}}}})",
                            R"({"redis": {"packages": ["redis-server"], "units": ["redis-server.service"]},
                                    "postgresql": {"packages": ["postgresql"], "units": ["postgresql.service"]}})")
          .value());
}

TEST(DeployRules, YesNo) {
  for (const auto& [text, value] :
       std::vector<std::pair<std::string, bool>>{{"y", true}, {"Y", true}, {"n", false}, {"N", false}}) {
    auto r = check_yes_no("MULTI_COMPONENT", text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_EQ(*r.value, value);
  }
  for (const char* bad : {"", "yes", "no", "1", "true", " y"}) {
    auto r = check_yes_no("REQUIRE_SERVICES", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(*r.error, (FieldError{"REQUIRE_SERVICES", "must be y or n"}));
  }
}

TEST(DeployRules, RepositoryGood) {
  for (const Good& row : std::vector<Good>{
           {"https://github.com/mieweb/app", "https://github.com/mieweb/app"},
           {"https://github.com/mieweb/app.git", "https://github.com/mieweb/app.git"},
           {"https://github.com/mieweb/app/", "https://github.com/mieweb/app"},
           {"HTTPS://GitHub.COM/MieWeb/App", "https://github.com/MieWeb/App"},  // the path keeps its case
           {"https://github.com:443/o/r", "https://github.com:443/o/r"},
           {"https://gitlab.com/group/sub/project.git", "https://gitlab.com/group/sub/project.git"},
           {"https://git.example.org:8443/o/r", "https://git.example.org:8443/o/r"},
           {"https://10.47.0.1:3000/tests/app.git", "https://10.47.0.1:3000/tests/app.git"},
           {"https://github.com/o/r_x-y~z.1", "https://github.com/o/r_x-y~z.1"},
       }) {
    auto r = check_repository(row.input, hosts);
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.error->message;
    EXPECT_EQ(*r.value, row.normal);
  }
}

TEST(DeployRules, RepositoryBad) {
  const std::string path_rule = "the path may contain only A-Z a-z 0-9 . _ ~ - and '/', without empty, . or .. parts";
  const std::string host_rule =
      "the host must be one of: github.com, gitlab.com, git.example.org:8443, 10.47.0.1:3000 (a plain host name means "
      "port 443)";
  for (const Bad& row : std::vector<Bad>{
           {"", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"github.com/o/r", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"http://github.com/o/r", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"git@github.com:o/r.git", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"ssh://github.com/o/r", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"file:///etc/passwd", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"ext::sh -c id", "must be an https:// URL (https://HOST/OWNER/REPO)"},
           {"https://user:pw@github.com/o/r",
            "must not contain a user name or password; give a token in PROJECT_TOKEN"},
           {"https://ghp_x@github.com/o/r", "must not contain a user name or password; give a token in PROJECT_TOKEN"},
           {"https://github.com/o/r?x=1", "must not contain a query (?) or a fragment (#)"},
           {"https://github.com/o/r#main", "must not contain a query (?) or a fragment (#)"},
           {"https://github.com:8443/o/r", host_rule},
           {"https://git.example.org/o/r", host_rule},
           {"https://github.com.evil.org/o/r", host_rule},
           {"https://169.254.169.254/latest", host_rule},
           {"https://[::1]/o/r", "must name its host as HOST or HOST:PORT (a DNS name or IPv4 address)"},
           {"https://github.com:0/o/r", "must name its host as HOST or HOST:PORT (a DNS name or IPv4 address)"},
           {"https://git hub.com/o/r", "must name its host as HOST or HOST:PORT (a DNS name or IPv4 address)"},
           {"https:///o/r", "must name its host as HOST or HOST:PORT (a DNS name or IPv4 address)"},
           {"https://github.com", "must name a repository (https://HOST/OWNER/REPO)"},
           {"https://github.com/", "must name a repository (https://HOST/OWNER/REPO)"},
           {"https://github.com/o//r", path_rule},
           {"https://github.com/o/../r", path_rule},
           {"https://github.com/o/./r", path_rule},
           {"https://github.com/o/r%2e", path_rule},
           {"https://github.com/o/r r", path_rule},
           {"https://github.com/o/r\n", path_rule},
           {"https://github.com/o/r;id", path_rule},
           {"https://github.com/" + std::string(2048, 'a'), "must be at most 2048 bytes"},
       }) {
    auto r = check_repository(row.input, hosts);
    ASSERT_FALSE(r.ok()) << row.input;
    EXPECT_EQ(*r.error, (FieldError{"PROJECT_REPOSITORY", row.message})) << row.input;
  }
  auto none = check_repository("https://github.com/o/r", {});
  EXPECT_EQ(none.error->message, "no repository host is allowed on this server");
}

TEST(DeployRules, BranchFollowsGitCheckRefFormat) {
  for (const char* good : {"", "main", "feature/x", "release-1.2", "user@host", "a.b", "v1.0_rc", "dependabot/npm/x-1",
                           "\xc3\xa9t\xc3\xa9"}) {
    auto r = check_branch(good);
    ASSERT_TRUE(r.ok()) << good << ": " << r.error->message;
    EXPECT_EQ(*r.value, good);
  }
  const std::string chars = "must not contain spaces, control characters or any of ~ ^ : ? * [ \\";
  for (const Bad& row : std::vector<Bad>{
           {"-x", "must not start with '-'"},
           {"--upload-pack=id", "must not start with '-'"},
           {"a b", chars},
           {"a\tb", chars},
           {"a\x7f", chars},
           {"a~1", chars},
           {"a^", chars},
           {"a:b", chars},
           {"a?", chars},
           {"a*", chars},
           {"a[b", chars},
           {"a\\b", chars},
           {"a..b", "must not contain '..'"},
           {"a@{1}", "must not contain '@{'"},
           {"@", "must not be '@'"},
           {"HEAD", "must not be HEAD"},
           {"/a", "must not start or end with '/' or contain '//'"},
           {"a/", "must not start or end with '/' or contain '//'"},
           {"a//b", "must not start or end with '/' or contain '//'"},
           {"a.", "must not end with '.'"},
           {".a", "no part between slashes may start with '.'"},
           {"a/.b", "no part between slashes may start with '.'"},
           {"a.lock", "no part between slashes may end with '.lock'"},
           {"a.lock/b", "no part between slashes may end with '.lock'"},
           {std::string(256, 'a'), "must be at most 255 bytes"},
       }) {
    auto r = check_branch(row.input);
    ASSERT_FALSE(r.ok()) << row.input;
    EXPECT_EQ(*r.error, (FieldError{"PROJECT_BRANCH", row.message})) << row.input;
  }
}

TEST(DeployRules, PathsAreRelativeAndNormalised) {
  for (const Good& row : std::vector<Good>{{"", ""},
                                           {".", ""},
                                           {"./", ""},
                                           {"api", "api"},
                                           {"./api", "api"},
                                           {"././api/", "api"},
                                           {"apps/web", "apps/web"},
                                           {"apps/web/", "apps/web"},
                                           {"a-b/c_d/e.f", "a-b/c_d/e.f"},
                                           {"my app", "my app"}}) {
    auto r = check_repo_path("PROJECT_ROOT", row.input);
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.error->message;
    EXPECT_EQ(*r.value, row.normal) << row.input;
  }
  for (const Bad& row : std::vector<Bad>{{"/etc", "must be relative (no leading '/')"},
                                         {"..", "must not contain '..'"},
                                         {"../x", "must not contain '..'"},
                                         {"a/../../x", "must not contain '..'"},
                                         {"a//b", "must not contain empty parts ('//')"},
                                         {"a/./b", "must not contain '.' parts"},
                                         {"a/.", "must not contain '.' parts"},
                                         {"-rf", "must not have a part starting with '-'"},
                                         {"a/--help", "must not have a part starting with '-'"},
                                         {"a\nb", "must not contain control characters"},
                                         {"a\x1b[2J", "must not contain control characters"},
                                         {std::string(256, 'a'), "must be at most 255 bytes"}}) {
    auto r = check_repo_path("PROJECT_ROOT", row.input);
    ASSERT_FALSE(r.ok()) << row.input;
    EXPECT_EQ(*r.error, (FieldError{"PROJECT_ROOT", row.message})) << row.input;
    auto key = check_repo_path("START_COMMAND", row.input, "component paths ");
    EXPECT_EQ(*key.error, (FieldError{"START_COMMAND", "component paths " + row.message})) << row.input;
  }
}

TEST(DeployRules, CommandsAreFreeTextWithLinesButNoOtherControls) {
  for (const Good& row : std::vector<Good>{{"npm start", "npm start"},
                                           {"cd api && npm ci\nnpm run build", "cd api && npm ci\nnpm run build"},
                                           {"echo \"$HOME\" 'x' `id` | tee\tf", "echo \"$HOME\" 'x' `id` | tee\tf"},
                                           {"", ""},
                                           {"  \n\t", ""},
                                           {std::string(8192, 'x'), std::string(8192, 'x')}}) {
    auto r = check_command("START_COMMAND", row.input);
    ASSERT_TRUE(r.ok()) << row.input;
    EXPECT_EQ(*r.value, row.normal);
  }
  const std::string controls = "must not contain control characters other than tab and newline";
  for (const Bad& row : std::vector<Bad>{{"npm start\r\n", controls},
                                         {std::string("a\0b", 3), controls},
                                         {"a\x1b[31mb", controls},
                                         {std::string(8193, 'x'), "must be at most 8192 bytes"}}) {
    auto r = check_command("BUILD_COMMAND", row.input);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(*r.error, (FieldError{"BUILD_COMMAND", row.message}));
  }
}

TEST(DeployRules, RuntimeNamesAndVersionsComeFromTheCatalog) {
  const auto c = catalog();
  struct Row {
    std::string input, name, version;
  };
  for (const Row& row : std::vector<Row>{{"nodejs", "nodejs", ""},
                                         {"nodejs@18", "nodejs", "18"},
                                         {"NodeJS@18.20", "nodejs", "18.20"},
                                         {"python@3.11.2", "python", "3.11.2"}}) {
    auto r = check_runtime(row.input, c);
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.error->message;
    EXPECT_EQ(*r.value, (RuntimeChoice{row.name, row.version}));
  }
  const std::string form = "must be NAME or NAME@VERSION (e.g. nodejs@18), NAME one of: nodejs, python";
  const std::string available = "available: nodejs@18.20.4, python@3.11.2";
  for (const Bad& row : std::vector<Bad>{{"", form},
                                         {"nodejs@", form},
                                         {"nodejs@v18", form},
                                         {"nodejs@18.1.2.3", form},
                                         {"node js", form},
                                         {"{\"api\": \"nodejs\"}", form},
                                         {"nodejs@18; id", form},
                                         {std::string(100, 'a'), form},
                                         {"ruby", "that runtime is not available; " + available},
                                         {"nodejs@20", "nodejs@20 is not available; " + available},
                                         {"python@3.12", "python@3.12 is not available; " + available}}) {
    auto r = check_runtime(row.input, c);
    ASSERT_FALSE(r.ok()) << row.input;
    EXPECT_EQ(*r.error, (FieldError{"RUNTIME_LANGUAGE", row.message})) << row.input;
  }
}

TEST(DeployRules, TokensArePrintableAsciiAndNeverShown) {
  const std::string token = "ghp_Tok3nValue-xyz";
  auto r = check_token("GITHUB_PAT", token);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value->reveal(), token);
  EXPECT_TRUE(check_token("PROJECT_TOKEN", std::string(1024, 'a')).ok());
  for (const Bad& row : std::vector<Bad>{{"", "must not be empty"},
                                         {token + " ", "must be printable ASCII without spaces"},
                                         {token + "\n", "must be printable ASCII without spaces"},
                                         {token + "\xc3\xa9", "must be printable ASCII without spaces"},
                                         {std::string(1025, 'a'), "must be at most 1024 bytes"}}) {
    auto bad = check_token("PROJECT_TOKEN", row.input);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(*bad.error, (FieldError{"PROJECT_TOKEN", row.message}));
    EXPECT_EQ(bad.error->message.find("ghp_"), std::string::npos);
  }
}

TEST(DeployRules, EnvironmentNamesAndValues) {
  for (const char* good : {"A", "_", "DATABASE_URL", "a1", "_X_9"}) EXPECT_FALSE(check_env_name(good)) << good;
  for (const std::string& bad : std::vector<std::string>{"", "1A", "A-B", "A B", "A=B", "Ä", std::string(256, 'A')}) {
    auto e = check_env_name(bad);
    ASSERT_TRUE(e) << bad;
    EXPECT_EQ(*e, (FieldError{"CONTAINER_ENV_VARS",
                              "variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 255 characters)"}));
  }
  const std::string secret = "s3cr3t-Value";
  EXPECT_FALSE(check_env_value("K", ""));
  EXPECT_FALSE(check_env_value("K", secret + " $'\"`\\"));
  EXPECT_FALSE(check_env_value("K", std::string(32768, 'v')));
  for (const Bad& row :
       std::vector<Bad>{{secret + "\n", "the value of K must not contain NUL, CR or LF"},
                        {secret + "\r", "the value of K must not contain NUL, CR or LF"},
                        {secret + std::string(1, '\0'), "the value of K must not contain NUL, CR or LF"},
                        {std::string(32769, 'v'), "the value of K must be at most 32768 bytes"}}) {
    auto e = check_env_value("K", row.input);
    ASSERT_TRUE(e);
    EXPECT_EQ(*e, (FieldError{"CONTAINER_ENV_VARS", row.message}));
  }
}

TEST(DeployRules, ServicesComeFromTheCatalog) {
  const auto c = catalog();
  auto r = check_service("Redis", c, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value, "redis");
  EXPECT_EQ(*check_service("redis", c, {"redis"}).error, (FieldError{"SERVICES", "lists redis twice"}));
  EXPECT_EQ(*check_service("mongodb", c, {}).error,
            (FieldError{"SERVICES", "that service is not available; available: postgresql, redis"}));
  EXPECT_EQ(*check_service("x; id", c, {}).error,
            (FieldError{"SERVICES", "that service is not available; available: postgresql, redis"}));
  EXPECT_EQ(check_service(std::string(100, 'a'), c, {}).error->message,
            "that service is not available; available: postgresql, redis");
}

TEST(DeployRules, CustomCommandsAreSingleLines) {
  EXPECT_EQ(*check_custom_command("apt-get install -y foo").value, "apt-get install -y foo");
  for (const Bad& row : std::vector<Bad>{{"", "commands must not be empty"},
                                         {"  ", "commands must not be empty"},
                                         {"a\nb", "each command must be one line without control characters"},
                                         {std::string(8193, 'x'), "each command must be at most 8192 bytes"}}) {
    auto r = check_custom_command(row.input);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(*r.error, (FieldError{"CUSTOM_SERVICES", row.message}));
  }
}

TEST(DeployRules, QuotedEscapesWhatATerminalWouldObey) {
  EXPECT_EQ(quoted("api"), "\"api\"");
  EXPECT_EQ(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoted("\x1b[2J\xe2\x80\xae"), "\"\\x1b[2J\\xe2\\x80\\xae\"");
}

}  // namespace
}  // namespace lxcprov::request
