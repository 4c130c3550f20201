// The repository check's pure parts (deploy/git_remote.hpp): URL, branch and path rules, the argv
// and environment of each git run (the token only in one environment value), ls-remote parsing,
// branch resolution and the classification of git's own error messages (git 2.39's words).

#include "deploy/git_remote.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace lxcprov::deploy {
namespace {

const std::vector<std::string> allowed{"github.com", "git.example.org:8443", "127.0.0.1:9443", "[::1]:9443"};

struct UrlCase {
  std::string url;
  std::optional<Problem> problem;  // nullopt = accepted
};

class UrlRule : public ::testing::TestWithParam<UrlCase> {};

TEST_P(UrlRule, AcceptsOrRefuses) {
  const auto& c = GetParam();
  auto r = check_repository_url(c.url, allowed);
  if (!c.problem) {
    ASSERT_TRUE(std::holds_alternative<RepositoryUrl>(r)) << c.url << ": " << std::get<CheckError>(r).reason;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<CheckError>(r)) << c.url;
  const auto& e = std::get<CheckError>(r);
  EXPECT_EQ(e.problem, *c.problem) << c.url << ": " << e.reason;
  EXPECT_EQ(e.field, CheckField::repository);
  EXPECT_EQ(e.variable(), "PROJECT_REPOSITORY");
  EXPECT_EQ(e.code(), Errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(
    Table, UrlRule,
    ::testing::Values(
        UrlCase{"https://github.com/owner/repo", {}}, UrlCase{"https://github.com/owner/repo.git", {}},
        UrlCase{"https://GitHub.com/owner/repo.git", {}}, UrlCase{"https://github.com:443/o/r", {}},
        UrlCase{"https://git.example.org:8443/group/sub/repo.git", {}},
        UrlCase{"https://127.0.0.1:9443/public/app.git", {}},
        UrlCase{"https://[::1]:9443/r.git", Problem::not_allowed},  // the config allows names and IPv4 only

        UrlCase{"https://github.com/o/r%20x", {}},
        // scheme and host
        UrlCase{"http://github.com/o/r", Problem::not_allowed}, UrlCase{"HTTPS://github.com/o/r", Problem::not_allowed},
        UrlCase{"git://github.com/o/r", Problem::not_allowed},
        UrlCase{"ssh://git@github.com/o/r", Problem::not_allowed}, UrlCase{"file:///etc", Problem::not_allowed},
        UrlCase{"/srv/repo.git", Problem::not_allowed}, UrlCase{"-uhttps://github.com/o/r", Problem::not_allowed},
        UrlCase{"https://gitlab.com/o/r", Problem::not_allowed},
        UrlCase{"https://github.com.evil.net/o/r", Problem::not_allowed},
        UrlCase{"https://github.com:8443/o/r", Problem::not_allowed},
        UrlCase{"https://git.example.org/o/r", Problem::not_allowed},
        UrlCase{"https://127.0.0.1/o/r", Problem::not_allowed},
        UrlCase{"https://127.0.0.1:9444/o/r", Problem::not_allowed},
        // the rest
        UrlCase{"https://user:pass@github.com/o/r", Problem::invalid},
        UrlCase{"https://token@github.com/o/r", Problem::invalid},
        UrlCase{"https://github.com/o/r?x=1", Problem::invalid},
        UrlCase{"https://github.com/o/r#frag", Problem::invalid}, UrlCase{"https://github.com/o/r x", Problem::invalid},
        UrlCase{"https://github.com/o/r\n", Problem::invalid}, UrlCase{"https://github.com/", Problem::invalid},
        UrlCase{"https://github.com", Problem::invalid}, UrlCase{"https://github.com/o/../r", Problem::invalid},
        UrlCase{"https://github.com/o/./r", Problem::invalid}, UrlCase{"https://github.com/o/r%zz", Problem::invalid},
        UrlCase{"https://github.com/o/r\\x", Problem::invalid}, UrlCase{"https://github.com:0/o/r", Problem::invalid},
        UrlCase{"https://github.com:99999/o/r", Problem::invalid}, UrlCase{"https://-github.com/o/r", Problem::invalid},
        UrlCase{"https:///o/r", Problem::invalid}));

TEST(RepositoryUrl, ParsesHostPortAndPath) {
  auto r = check_repository_url("https://GIT.example.org:8443/group/repo.git", allowed);
  ASSERT_TRUE(std::holds_alternative<RepositoryUrl>(r));
  const auto& u = std::get<RepositoryUrl>(r);
  EXPECT_EQ(u.host, "git.example.org");
  EXPECT_EQ(u.port, 8443);
  EXPECT_EQ(u.path, "/group/repo.git");
}

TEST(RepositoryUrl, NamesTheAllowedHostsWhenRefusing) {
  auto r = check_repository_url("https://evil.example/o/r", {"github.com", "codeberg.org"});
  ASSERT_TRUE(std::holds_alternative<CheckError>(r));
  EXPECT_EQ(std::get<CheckError>(r).message(),
            "PROJECT_REPOSITORY: host evil.example is not allowed (allowed: github.com, codeberg.org)");
}

TEST(BranchName, FollowsGitsRulesAndNeverLooksLikeAnOption) {
  for (const char* ok : {"main", "feature/x", "release-1.2", "v1.0", "a@b", "UPPER", "x.y/z_w"})
    EXPECT_TRUE(valid_branch_name(ok)) << ok;
  for (const char* bad :
       {"",           "-b",   "--upload-pack=x", "a..b", "a//b", "/a", "a/",  "a.", ".a", "a/.b", "a.lock",
        "a/b.lock/c", "@",    "a@{1}",           "a b",  "a~1",  "a^", "a:b", "a?", "a*", "a[",   "a\\b",
        "a\tb",       "a\x7f"})
    EXPECT_FALSE(valid_branch_name(bad)) << bad;
  EXPECT_FALSE(valid_branch_name(std::string(256, 'a')));
  EXPECT_TRUE(valid_branch_name(std::string(255, 'a')));
}

TEST(RepositoryPath, IsNormalizedAndRelative) {
  for (const char* ok : {"", "app", "apps/api", "a.b/c-d", "x y"}) EXPECT_TRUE(valid_repository_path(ok)) << ok;
  for (const char* bad : {"/app", "app/", "a//b", ".", "..", "a/../b", "./a", "-a", "a/-b", "a\\b", "a\nb"})
    EXPECT_FALSE(valid_repository_path(bad)) << bad;
  EXPECT_EQ(join_repository_path("", "api"), "api");
  EXPECT_EQ(join_repository_path("apps", ""), "apps");
  EXPECT_EQ(join_repository_path("apps", "api"), "apps/api");
}

TEST(GitArgv, UserValuesComeAfterTheEndOfOptions) {
  GitRun run;
  run.max_file_bytes = 1000;
  auto argv = git_argv(run, ls_remote_args("https://h/o/r", "feature/x"));
  EXPECT_EQ(argv, (std::vector<std::string>{"/usr/bin/prlimit", "--fsize=1000", "--", "/usr/bin/git", "ls-remote",
                                            "--symref", "--", "https://h/o/r", "refs/heads/feature/x"}));
  EXPECT_EQ(ls_remote_args("https://h/o/r", "").back(), "HEAD");
  auto fetch = fetch_args("https://h/o/r", "main");
  const auto dashes = std::find(fetch.begin(), fetch.end(), "--");
  ASSERT_NE(dashes, fetch.end());
  EXPECT_EQ(std::vector<std::string>(dashes + 1, fetch.end()),
            (std::vector<std::string>{"https://h/o/r", "+refs/heads/main:refs/lxcprov/check"}));
  for (const char* flag : {"--depth=1", "--filter=blob:none", "--no-tags", "--no-recurse-submodules"})
    EXPECT_NE(std::find(fetch.begin(), dashes, flag), dashes) << flag;
  EXPECT_EQ(ls_tree_args("abc", "-x"), (std::vector<std::string>{"ls-tree", "-d", "abc", "--", "-x"}));
}

std::string env_value(const std::vector<Secret>& env, std::string_view name) {
  for (const auto& e : env) {
    const auto v = e.reveal();
    if (v.substr(0, name.size() + 1) == std::string(name) + "=") return std::string(v.substr(name.size() + 1));
  }
  return "<unset>";
}

// The config git sees: key -> value from GIT_CONFIG_KEY_n/VALUE_n.
std::map<std::string, std::string> env_config(const std::vector<Secret>& env) {
  std::map<std::string, std::string> out;
  const int n = std::stoi(env_value(env, "GIT_CONFIG_COUNT"));
  for (int i = 0; i < n; ++i)
    out[env_value(env, "GIT_CONFIG_KEY_" + std::to_string(i))] =
        env_value(env, "GIT_CONFIG_VALUE_" + std::to_string(i));
  return out;
}

TEST(GitEnvironment, IsCleanHttpsOnlyAndWithoutRedirects) {
  GitRun run;
  run.ca_file = "/etc/lxcprov/git-ca.pem";
  auto env = git_environment(run, "/tmp/lxcprov-git.abc", nullptr);
  EXPECT_EQ(env_value(env, "HOME"), "/tmp/lxcprov-git.abc");
  EXPECT_EQ(env_value(env, "GIT_DIR"), "/tmp/lxcprov-git.abc/repo.git");
  EXPECT_EQ(env_value(env, "GIT_TERMINAL_PROMPT"), "0");
  EXPECT_EQ(env_value(env, "GIT_CONFIG_NOSYSTEM"), "1");
  EXPECT_EQ(env_value(env, "GIT_CONFIG_GLOBAL"), "/dev/null");
  EXPECT_EQ(env_value(env, "LC_ALL"), "C");
  EXPECT_EQ(env_value(env, "GIT_ASKPASS"), "<unset>");
  EXPECT_EQ(env_value(env, "PATH"), "<unset>");  // the Host sets it
  auto config = env_config(env);
  EXPECT_EQ(config["protocol.allow"], "never");
  EXPECT_EQ(config["protocol.https.allow"], "always");
  EXPECT_EQ(config["http.followRedirects"], "false");
  EXPECT_EQ(config["http.sslCAInfo"], "/etc/lxcprov/git-ca.pem");
  EXPECT_EQ(config.count("http.extraHeader"), 0u);
  EXPECT_EQ(env_config(git_environment(GitRun{}, "/t", nullptr)).count("http.sslCAInfo"), 0u);
  Secret none;
  EXPECT_EQ(env_config(git_environment(GitRun{}, "/t", &none)).count("http.extraHeader"), 0u);
}

TEST(GitEnvironment, CarriesTheTokenOnlyAsABasicAuthorizationHeader) {
  Secret token("ghp_s3cr3t");
  auto env = git_environment(GitRun{}, "/t", &token);
  auto config = env_config(env);
  // base64("x-access-token:ghp_s3cr3t")
  EXPECT_EQ(config["http.extraHeader"], "Authorization: Basic eC1hY2Nlc3MtdG9rZW46Z2hwX3MzY3IzdA==");
  int holding = 0;
  for (const auto& e : env)
    if (e.reveal().find("eC1hY2Nlc3MtdG9rZW46Z2hwX3MzY3IzdA==") != std::string_view::npos) ++holding;
  EXPECT_EQ(holding, 1);
  for (const auto& e : env) EXPECT_EQ(e.reveal().find("ghp_s3cr3t"), std::string_view::npos);
}

TEST(Base64, MatchesRfc4648) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\xfe", 3)), "/wD+");
}

const std::string sha_a = "edaf12a5d3fd55dfd74d9ff260a1c6d95f2301d2";
const std::string sha_b = "0123456789abcdef0123456789abcdef01234567";

TEST(LsRemote, ParsesSymrefAndRefsAndSkipsNoise) {
  auto l = parse_ls_remote("warning: redirecting to somewhere\nref: refs/heads/main\tHEAD\n" + sha_a + "\tHEAD\n" +
                           sha_b + "\trefs/heads/dev\nremote: " + sha_b + "\trefs/heads/fake\nnot a line\n");
  EXPECT_EQ(l.head, "refs/heads/main");
  EXPECT_EQ(l.refs.size(), 2u);
  EXPECT_EQ(l.refs["HEAD"], sha_a);
  EXPECT_EQ(l.refs["refs/heads/dev"], sha_b);
}

TEST(ResolveBranch, DefaultNamedMissingEmptyDetached) {
  LsRemote l;
  l.head = "refs/heads/trunk";
  l.refs = {{"HEAD", sha_a}, {"refs/heads/dev", sha_b}};
  auto d = resolve_branch(l, "");
  ASSERT_TRUE(std::holds_alternative<RemoteCheck>(d));
  EXPECT_EQ(std::get<RemoteCheck>(d), (RemoteCheck{"trunk", sha_a}));
  auto n = resolve_branch(l, "dev");
  ASSERT_TRUE(std::holds_alternative<RemoteCheck>(n));
  EXPECT_EQ(std::get<RemoteCheck>(n), (RemoteCheck{"dev", sha_b}));

  auto missing = resolve_branch(l, "nope");
  ASSERT_TRUE(std::holds_alternative<CheckError>(missing));
  EXPECT_EQ(std::get<CheckError>(missing).message(), "PROJECT_BRANCH: no branch 'nope' in the repository");
  EXPECT_EQ(std::get<CheckError>(missing).problem, Problem::no_such_branch);

  auto empty = resolve_branch(LsRemote{}, "");
  ASSERT_TRUE(std::holds_alternative<CheckError>(empty));
  EXPECT_EQ(std::get<CheckError>(empty).problem, Problem::empty);
  EXPECT_EQ(std::get<CheckError>(empty).field, CheckField::repository);

  LsRemote detached;
  detached.refs = {{"HEAD", sha_a}};
  auto det = resolve_branch(detached, "");
  ASSERT_TRUE(std::holds_alternative<CheckError>(det));
  EXPECT_EQ(std::get<CheckError>(det).problem, Problem::no_default_branch);
  EXPECT_EQ(std::get<CheckError>(det).field, CheckField::branch);

  LsRemote hostile;  // a server naming a default branch that would read as an option
  hostile.head = "refs/heads/--upload-pack=x";
  hostile.refs = {{"HEAD", sha_a}};
  auto h = resolve_branch(hostile, "");
  ASSERT_TRUE(std::holds_alternative<CheckError>(h));
  EXPECT_EQ(std::get<CheckError>(h).problem, Problem::no_default_branch);
}

TEST(LsTree, OnlyATreeEntryAtExactlyThePathCounts) {
  EXPECT_TRUE(lists_tree("040000 tree " + sha_a + "\tapps/api\n", "apps/api"));
  EXPECT_FALSE(lists_tree("", "apps/api"));
  EXPECT_FALSE(lists_tree("040000 tree " + sha_a + "\tapps/api2\n", "apps/api"));
  EXPECT_FALSE(lists_tree("120000 blob " + sha_a + "\tapps/api\n", "apps/api"));
  EXPECT_FALSE(lists_tree("160000 commit " + sha_a + "\tapps/api\n", "apps/api"));
  EXPECT_FALSE(lists_tree("100644 blob " + sha_a + "\tapps/api\n", "apps/api"));
}

struct FailureCase {
  std::string output;
  int exit_status;
  bool token;
  Problem problem;
  CheckField field;
};

class Classify : public ::testing::TestWithParam<FailureCase> {};

TEST_P(Classify, MapsGitsWords) {
  const auto& c = GetParam();
  auto e = classify_git_failure(c.output, c.exit_status, c.token ? Secret("tok") : Secret());
  EXPECT_EQ(e.problem, c.problem) << c.output << " -> " << e.reason;
  EXPECT_EQ(e.field, c.field) << c.output;
  EXPECT_EQ(e.reason.find('\n'), std::string::npos);
  EXPECT_FALSE(e.reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Git239, Classify,
    ::testing::Values(
        FailureCase{"fatal: could not read Username for 'https://h:1': terminal prompts disabled\n", 128, false,
                    Problem::auth_required, CheckField::repository},
        FailureCase{"fatal: could not read Username for 'https://h:1': terminal prompts disabled\n", 128, true,
                    Problem::auth_failed, CheckField::token},
        FailureCase{"fatal: unable to access 'https://h/r/': The requested URL returned error: 403\n", 128, false,
                    Problem::auth_required, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h/r/': The requested URL returned error: 403\n", 128, true,
                    Problem::auth_failed, CheckField::token},
        FailureCase{"fatal: unable to access 'https://h/moved/a.git/': The requested URL returned error: 302\n", 128,
                    false, Problem::redirect, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h/r/': The requested URL returned error: 301\n", 128, true,
                    Problem::redirect, CheckField::repository},
        FailureCase{"fatal: repository 'https://h/public/none.git/' not found\n", 128, false, Problem::not_found,
                    CheckField::repository},
        FailureCase{"fatal: https://h/notgit/app.git/info/refs not valid: is this a git repository?\n", 128, false,
                    Problem::not_a_repository, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h:1/r/': Failed to connect to 127.0.0.1 port 1 after 0 ms: "
                    "Couldn't connect to server\n",
                    128, false, Problem::unreachable, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://nonexist.invalid/x.git/': Could not resolve host: "
                    "nonexist.invalid\n",
                    128, false, Problem::unreachable, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h/r/': server certificate verification failed. CAfile: none "
                    "CRLfile: none\n",
                    128, false, Problem::tls, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h/r/': SSL certificate problem: self-signed certificate\n", 128,
                    false, Problem::tls, CheckField::repository},
        FailureCase{"fatal: transport 'http' not allowed\n", 128, false, Problem::not_allowed, CheckField::repository},
        FailureCase{"fatal: unable to access 'https://h/r/': The requested URL returned error: 500\n", 128, false,
                    Problem::failed, CheckField::repository},
        FailureCase{"", 153, false, Problem::too_large, CheckField::repository},
        FailureCase{"error: index-pack died of signal 25\nfatal: index-pack failed\n", 128, false, Problem::too_large,
                    CheckField::repository},
        FailureCase{"fatal: fetch-pack: invalid index-pack output\n", 128, false, Problem::too_large,
                    CheckField::repository},
        FailureCase{"error: something odd\n", 1, false, Problem::failed, CheckField::repository},
        FailureCase{"", 137, false, Problem::failed, CheckField::repository}));

TEST(Classify, CodesFollowWhoCanFixIt) {
  EXPECT_EQ(
      classify_git_failure("fatal: could not read Username for 'x': terminal prompts disabled", 128, Secret()).code(),
      Errc::invalid_argument);
  EXPECT_EQ(classify_git_failure("fatal: unable to access 'x': Could not resolve host: y", 128, Secret()).code(),
            Errc::unavailable);
  EXPECT_EQ((CheckError{CheckField::repository, Problem::timeout, "", "x"}).code(), Errc::timeout);
  EXPECT_EQ((CheckError{CheckField::none, Problem::internal, "", "x"}).code(), Errc::internal);
  EXPECT_EQ((CheckError{CheckField::none, Problem::internal, "", "x"}).message(), "x");
  EXPECT_EQ((CheckError{CheckField::component, Problem::not_a_directory, "api", "y"}).message(), "START_COMMAND: y");
  EXPECT_EQ((CheckError{CheckField::root, Problem::not_a_directory, "", "y"}).variable(), "PROJECT_ROOT");
}

TEST(Redact, RemovesTheTokenInEveryFormAndKeepsOneLine) {
  Secret token("ghp_s3cr3t");
  EXPECT_EQ(redact("fatal: bad ghp_s3cr3t here\nsecond line", token), "fatal: bad [redacted] here");
  EXPECT_EQ(redact("x eC1hY2Nlc3MtdG9rZW46Z2hwX3MzY3IzdA== y", token), "x [redacted] y");
  EXPECT_EQ(redact("x Z2hwX3MzY3IzdA== y", token), "x [redacted] y");
  EXPECT_EQ(redact("> Authorization: Basic abc", token), "> [redacted]");
  EXPECT_EQ(redact("bell\a and \x1b[31m", Secret()), "bell\\x07 and \\x1b[31m");
  EXPECT_EQ(redact(std::string(500, 'a'), Secret()).size(), 200u);
}

TEST(Redact, AnEscapeCannotCompleteTheToken) {
  // base64("hZq9SeCrEtt") is "aFpxOVNlQ3JFdHQ=": a control byte 0x1a before the rest of it is
  // escaped as "\x1a", whose "a" would complete the base64 (git_remote fuzz target).
  Secret token("hZq9SeCrEtt");
  EXPECT_EQ(redact("r\x1a"
                   "FpxOVNlQ3JFdHQ= z",
                   token),
            "r\\x1[redacted] z");
  // Likewise a token that begins with what an escape prints.
  Secret hexy("x1bQQQQ");
  EXPECT_EQ(redact("a\x1b"
                   "QQQQ",
                   hexy),
            "a\\[redacted]");
}

TEST(Classify, NeverQuotesTheToken) {
  Secret token("ghp_s3cr3t");
  // A server could echo anything back; what git prints passes redact before it is quoted.
  auto e = classify_git_failure("fatal: weird ghp_s3cr3t", 128, token);
  EXPECT_EQ(e.reason.find("ghp_s3cr3t"), std::string::npos) << e.reason;
}

}  // namespace
}  // namespace lxcprov::deploy
