// The deploy engine's pure parts: environment files (read back exactly by systemd's parser, as
// reimplemented here from its rules), unit files, unit naming, git's environment, the redactor,
// the health check's verdicts and the interim merge.

#include <gtest/gtest.h>

#include "deploy/health.hpp"
#include "deploy/layout.hpp"
#include "deploy/merge.hpp"
#include "deploy/redact.hpp"

namespace lxcprov::deploy {
namespace {

using Vars = std::vector<std::pair<std::string, std::string_view>>;

// systemd's EnvironmentFile= parser (src/basic/env-file.c) for the lines render_env_file writes:
// KEY="..." where a backslash before one of "\`$ yields that character and before any other keeps
// both. A POSIX shell's double quotes follow the same rule.
std::vector<std::pair<std::string, std::string>> read_back(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    const auto eq = text.find('=');
    std::string key(text.substr(0, eq));
    std::size_t i = eq + 1;
    EXPECT_EQ(text[i], '"');
    ++i;
    std::string value;
    for (; text[i] != '"'; ++i) {
      if (text[i] == '\\') {
        const char next = text[++i];
        if (next != '"' && next != '\\' && next != '`' && next != '$') value.push_back('\\');
        value.push_back(next);
      } else {
        value.push_back(text[i]);
      }
    }
    EXPECT_EQ(text[i + 1], '\n');
    out.emplace_back(key, value);
    text.remove_prefix(i + 2);
  }
  return out;
}

Catalog catalog() {
  Catalog c;
  c.runtimes["nodejs"] = {"nodejs", "18.19.0", {{"18.19.0", {"nodejs", "npm"}, false}}};
  c.runtimes["python"] = {"python", "3.11.2", {{"3.11.2", {"python3", "python3-venv"}, true}}};
  c.services["redis"] = {"redis", {"redis-server"}, {"redis-server.service"}};
  c.services["postgresql"] = {"postgresql", {"postgresql"}, {"postgresql.service"}};
  return c;
}

DeploySpec single() {
  DeploySpec s;
  s.repository = "https://git.example.org/team/app.git";
  s.branch = "main";
  s.components = {{"", "nodejs", "18", "npm ci", "npm run build", "node server.js"}};
  return s;
}

TEST(DeployEnvFile, ValuesSurviveLiterallyWhateverTheyHold) {
  const std::vector<std::string> values = {
      "plain",         "",           "with space", "dollar $HOME and ${X}", "quote \" and '",
      "back\\slash\\", "`cmd`",      "$'\"\\",     "# not a comment",       "a=b=c",
      "\ttab",         "trailing  ", "ünïcödé",    "\\n is two characters"};
  Vars vars;
  for (std::size_t i = 0; i < values.size(); ++i) vars.emplace_back("K" + std::to_string(i), values[i]);
  auto text = render_env_file(vars);
  ASSERT_TRUE(text) << text.error().message;
  auto back = read_back(text->reveal());
  ASSERT_EQ(back.size(), values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(back[i].first, "K" + std::to_string(i));
    EXPECT_EQ(back[i].second, values[i]);
  }
  EXPECT_EQ(std::string(render_env_file({{"A", "$'\"\\`"}})->reveal()), "A=\"\\$'\\\"\\\\\\`\"\n");
}

TEST(DeployEnvFile, LineBreaksAndBadNamesAreRefusedWithoutTheValue) {
  for (std::string_view v : {std::string_view("one\ntwo"), std::string_view("cr\r"), std::string_view("nul\0x", 5)}) {
    auto r = render_env_file({{"SECRET_KEY", v}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("SECRET_KEY"), std::string::npos);
    EXPECT_EQ(r.error().message.find(v.substr(0, 3)), std::string::npos) << r.error().message;
  }
  for (const char* key : {"", "1ABC", "A-B", "A B", "A=B", "Ä"}) EXPECT_FALSE(render_env_file({{key, "v"}})) << key;
  EXPECT_TRUE(render_env_file({{"_a1", "v"}}));
}

TEST(DeployUnits, OnePerComponentThenRootStartWithSafeUniqueIds) {
  DeploySpec s = single();
  s.multi = true;
  s.root = "apps";
  s.components = {{"web", "nodejs", "", "", "", "node ."},
                  {"api/v1", "python", "3.11", "pip install -r requirements.txt", "", "python main.py"},
                  {"api-v1", "", "", "", "", "./run"},
                  {"docs", "", "", "", "make", ""},
                  {"we b.ü", "", "", "", "", "x"}};
  s.root_start = "./start-all";
  const auto c = catalog();
  auto units = plan_units(s, &c);
  ASSERT_TRUE(units) << units.error().message;
  ASSERT_EQ(units->size(), 6u);
  EXPECT_EQ((*units)[0].id, "web");
  EXPECT_EQ((*units)[0].dir, "apps/web");
  EXPECT_EQ((*units)[1].id, "api-v1");
  EXPECT_TRUE((*units)[1].venv);
  EXPECT_EQ((*units)[2].id, "api-v1-2");
  EXPECT_EQ((*units)[4].id, "we_b___");
  EXPECT_EQ((*units)[5].id, "root-start");
  EXPECT_EQ((*units)[5].dir, "apps");
  EXPECT_EQ((*units)[5].start, "./start-all");
  // ROOT_START_COMMAND's unit serves HTTP when there is one; a component without start has no unit.
  for (std::size_t i = 0; i < 5; ++i) EXPECT_FALSE((*units)[i].serves_http);
  EXPECT_TRUE((*units)[5].serves_http);
  EXPECT_EQ(unit_names(*units), (std::vector<std::string>{"lxcprov-app-web.service", "lxcprov-app-api-v1.service",
                                                          "lxcprov-app-api-v1-2.service", "lxcprov-app-we_b___.service",
                                                          "lxcprov-app-root-start.service"}));
  EXPECT_EQ(unit_path("0123abcd", (*units)[0]), "/srv/app/releases/0123abcd/apps/web");
  EXPECT_EQ(etc_file("0123abcd", (*units)[0], ".env"), "/etc/lxcprov-app/releases/0123abcd/web.env");
}

TEST(DeployUnits, ASingleComponentAtTheRootIsAppAndServes) {
  auto units = plan_units(single(), nullptr);
  ASSERT_TRUE(units);
  ASSERT_EQ(units->size(), 1u);
  EXPECT_EQ((*units)[0].id, "app");
  EXPECT_EQ((*units)[0].dir, "");
  EXPECT_TRUE((*units)[0].serves_http);
  EXPECT_EQ(unit_path("r1", (*units)[0]), "/srv/app/releases/r1");
}

TEST(DeployUnits, AnUnknownRuntimeOrAnUnwritableDirectoryIsRefused) {
  DeploySpec s = single();
  s.components[0].version = "20";
  auto c = catalog();
  auto r = plan_units(s, &c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nodejs@20 is not available"), std::string::npos) << r.error().message;
  EXPECT_TRUE(plan_units(s, nullptr)) << "without the catalog only names matter";
  for (const char* path : {"a\\b", "tab\there", "quote\"d", "end "}) {
    DeploySpec p = single();
    p.components[0].path = path;
    EXPECT_FALSE(plan_units(p, nullptr)) << path;
  }
}

TEST(DeployUnits, TheUnitFileRunsTheCommandFileAsTheAppUser) {
  DeploySpec s = single();
  s.components[0].path = "50%off";
  auto units = plan_units(s, nullptr);
  ASSERT_TRUE(units);
  auto text = render_unit((*units)[0], {"redis-server.service"});
  ASSERT_TRUE(text) << text.error().message;
  for (const char* line : {"User=app\n", "Group=app\n", "WorkingDirectory=/srv/app/current/50%%off\n",
                           "EnvironmentFile=/etc/lxcprov-app/current/50_off.env\n",
                           "EnvironmentFile=/etc/lxcprov-app/current/50_off.lxcprov.env\n",
                           "ExecStart=/bin/bash /etc/lxcprov-app/current/50_off.sh\n", "Restart=on-failure\n",
                           "After=network-online.target redis-server.service\n", "WantedBy=multi-user.target\n"})
    EXPECT_NE(text->find(line), std::string::npos) << line << "\n" << *text;
  // The user's own EnvironmentFile first: lxcprov's HTTP_PORT and PORT win.
  EXPECT_LT(text->find("50_off.env"), text->find("50_off.lxcprov.env"));
  EXPECT_EQ(text->find("node server.js"), std::string::npos) << "the command lives in its own file";
}

TEST(DeployUnits, LxcprovSetsThePortsAndAVenvPath) {
  DeploySpec s = single();
  s.components[0].runtime = "python";
  s.components[0].version = "";
  auto c = catalog();
  auto units = plan_units(s, &c);
  ASSERT_TRUE(units);
  auto env = lxcprov_env("r1", (*units)[0], 3000, "main", "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(
      env,
      (std::vector<std::pair<std::string, std::string>>{
          {"HTTP_PORT", "3000"},
          {"PORT", "3000"},
          {"LXCPROV_BRANCH", "main"},
          {"LXCPROV_COMMIT", "0123456789abcdef0123456789abcdef01234567"},
          {"VIRTUAL_ENV", "/srv/app/releases/r1/venv"},
          {"PATH", "/srv/app/releases/r1/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}));
}

TEST(DeployPackages, GitFirstThenRuntimesThenServicesWithoutRepeats) {
  DeploySpec s = single();
  s.multi = true;
  s.components.push_back({"b", "nodejs", "18.19", "", "", "x"});
  s.services = {"redis", "postgresql"};
  auto c = catalog();
  auto p = packages_for(s, c);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (std::vector<std::string>{"git", "ca-certificates", "nodejs", "npm", "redis-server", "postgresql"}));
  EXPECT_EQ(*service_units_for(s.services, c),
            (std::vector<std::string>{"redis-server.service", "postgresql.service"}));
  s.services.push_back("mongodb");
  EXPECT_FALSE(packages_for(s, c));
}

std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& e : env)
    if (e.starts_with(name + "=")) return e.substr(name.size() + 1);
  return "<absent>";
}

TEST(DeployGit, TheTokenIsAHeaderForTheRepositorysOriginOnlyInTheEnvironment) {
  const Secret token("s3cr3t-t0ken");
  auto env = git_environment("https://git.example.org:8443/team/app.git", token, true);
  ASSERT_TRUE(env);
  EXPECT_EQ(env_value(*env, "GIT_TERMINAL_PROMPT"), "0");
  EXPECT_EQ(env_value(*env, "GIT_CONFIG_NOSYSTEM"), "1");
  EXPECT_EQ(env_value(*env, "GIT_CONFIG_GLOBAL"), "/dev/null");
  EXPECT_EQ(env_value(*env, "HOME"), "/srv/app/home");
  std::map<std::string, std::string> config;
  const int n = std::stoi(env_value(*env, "GIT_CONFIG_COUNT"));
  for (int i = 0; i < n; ++i)
    config[env_value(*env, "GIT_CONFIG_KEY_" + std::to_string(i))] =
        env_value(*env, "GIT_CONFIG_VALUE_" + std::to_string(i));
  EXPECT_EQ(config["protocol.allow"], "never");
  EXPECT_EQ(config["protocol.https.allow"], "always");
  EXPECT_EQ(config["http.followRedirects"], "false");
  EXPECT_EQ(config["http.sslCAInfo"], "/etc/lxcprov-app/git-ca.pem");
  EXPECT_EQ(config["http.https://git.example.org:8443/.extraHeader"],
            "Authorization: Basic eC1hY2Nlc3MtdG9rZW46czNjcjN0LXQwa2Vu");
  EXPECT_EQ(std::string(git_auth_header(token).reveal()), "Authorization: Basic eC1hY2Nlc3MtdG9rZW46czNjcjN0LXQwa2Vu");
  for (const auto& e : *env) EXPECT_EQ(e.find("s3cr3t"), std::string::npos) << "only the header form";
  wipe(*env);
  EXPECT_TRUE(env->empty());

  auto anonymous = git_environment("https://github.com/a/b", Secret(), false);
  ASSERT_TRUE(anonymous);
  for (const auto& e : *anonymous) {
    EXPECT_EQ(e.find("extraHeader"), std::string::npos);
    EXPECT_EQ(e.find("sslCAInfo"), std::string::npos);
  }
  for (const char* url : {"http://github.com/a/b", "git@github.com:a/b", "file:///etc", "https://"})
    EXPECT_FALSE(git_environment(url, token, false)) << url;
}

TEST(DeployRedactor, SecretsAreReplacedEvenAcrossChunks) {
  const Secret token("tok"), value("hunter22hunter"), shorty("abc");
  Redactor r({&token}, {&value, &shorty});
  std::string out;
  for (std::string_view chunk : {"login tok ok; pass hun", "ter22hu", "nter; abc stays; t", "ok"}) out += r.feed(chunk);
  out += r.flush();
  EXPECT_EQ(out, "login [redacted] ok; pass [redacted]; abc stays; [redacted]");
  EXPECT_EQ(r.redact("xx hunter22hunter tok"), "xx [redacted] [redacted]");
  Redactor none({}, {});
  EXPECT_EQ(none.feed("as is"), "as is");
}

TEST(DeployHealth, AnAnswerIsAStatusLineNotFromNginxFailingToReachTheApp) {
  EXPECT_EQ(status_of("HTTP/1.1 200 OK"), 200);
  EXPECT_EQ(status_of("HTTP/1.0 404"), 404);
  EXPECT_EQ(status_of("HTTP/1.1 308 Permanent Redirect\r"), 308);
  for (const char* bad : {"", "SSH-2.0-OpenSSH", "HTTP/2 200", "HTTP/1.1 20 OK", "HTTP/1.1 2000", "HTTP/1.1 abc"})
    EXPECT_FALSE(status_of(bad)) << bad;
  EXPECT_TRUE(app_answers("HTTP/1.1 500 Internal Server Error", true));
  EXPECT_TRUE(app_answers("HTTP/1.1 404 Not Found", true));
  for (const char* gw : {"HTTP/1.1 502 Bad Gateway", "HTTP/1.1 503 x", "HTTP/1.1 504 Gateway Time-out"}) {
    EXPECT_FALSE(app_answers(gw, true)) << gw;
    EXPECT_TRUE(app_answers(gw, false)) << "the app itself said it";
  }
  EXPECT_FALSE(app_answers("garbage", false));
  EXPECT_EQ(probe_request("web.example.org"),
            "GET / HTTP/1.1\r\nHost: web.example.org\r\nUser-Agent: lxcprov-health\r\nAccept: */*\r\nConnection: "
            "close\r\n\r\n");
}

TEST(DeployHealth, TheProbeGoesThroughNginxWhenRoutingIsOn) {
  auto config = config::defaults();
  state::ContainerRecord rec;
  rec.name = "web";
  rec.ip = "10.47.0.10";
  rec.http_port = 3000;
  EXPECT_EQ(probe_target(config, rec), (ProbeTarget{"127.0.0.1", 80, "web.lxcprov.localhost", false, true}));
  config.http.listen_address = "192.0.2.1";
  config.http.tls = config::Http::Tls{"/c", "/k", 8443};
  EXPECT_EQ(probe_target(config, rec), (ProbeTarget{"192.0.2.1", 8443, "web.lxcprov.localhost", true, true}));
  config.http.tls.reset();
  config.http.remote = config::Http::Remote{};
  config.http.remote->host = "nginx.example.org";
  EXPECT_EQ(probe_target(config, rec), (ProbeTarget{"nginx.example.org", 80, "web.lxcprov.localhost", false, true}));
  config.http.enabled = false;
  EXPECT_EQ(probe_target(config, rec), (ProbeTarget{"10.47.0.10", 3000, "10.47.0.10", false, false}));
}

}  // namespace
}  // namespace lxcprov::deploy
