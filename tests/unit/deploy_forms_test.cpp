// The JSON forms of the deploy variables (request/deploy_forms.hpp) and the rules between
// variables of a create (request/deploy_input.hpp).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "request/deploy_forms.hpp"
#include "request/deploy_input.hpp"

namespace lxcprov::request {
namespace {

const std::string secret = "Pa55-w0rd-Value";

deploy::Catalog catalog() {
  return std::move(deploy::parse_catalog(R"({"nodejs": {"default": "18.20.4", "versions": {"18.20.4": {"packages":
                                            ["nodejs"]}}}, "python": {"default": "3.11.2", "versions": {"3.11.2":
                                            {"packages": ["python3"]}}}})",
                                         R"({"redis": {"packages": ["redis-server"], "units": ["r.service"]},
                                            "postgresql": {"packages": ["postgresql"], "units": ["p.service"]}})")
                       .value());
}

struct Bad {
  std::string input, message;
};

TEST(DeployForms, LooksLikeObject) {
  EXPECT_TRUE(looks_like_object("{}"));
  EXPECT_TRUE(looks_like_object(" \n{\"a\": 1}"));
  EXPECT_FALSE(looks_like_object("npm start"));
  EXPECT_FALSE(looks_like_object(""));
  EXPECT_FALSE(looks_like_object("[\"redis\"]"));
}

TEST(DeployForms, CommandsByComponent) {
  auto r = check_commands_json(
      "START_COMMAND", R"({"./api": "npm start", "web/": "python3 -m http.server", ".": "make run", "x": " "})");
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, (ByComponent{{"api", "npm start"}, {"web", "python3 -m http.server"}, {"", "make run"}}));
  const std::string form = "must be a JSON object {\"path\": \"command\"} (one entry per component)";
  for (const Bad& row : std::vector<Bad>{
           {"npm start", form},
           {"[\"npm start\"]", form},
           {R"({"api": 1})", form},
           {R"({"api": ["npm", "start"]})", form},
           {R"({"api": "a", "./api": "b"})", "names component \"api\" twice"},
           {R"({"../x": "a"})", "component paths must not contain '..'"},
           {R"({"/srv": "a"})", "component paths must be relative (no leading '/')"},
           {R"({"-x": "a"})", "component paths must not have a part starting with '-'"},
           {R"({"api": "a\r\nb"})", "must not contain control characters other than tab and newline"},
       }) {
    auto bad = check_commands_json("START_COMMAND", row.input);
    ASSERT_FALSE(bad.ok()) << row.input;
    EXPECT_EQ(*bad.error, (FieldError{"START_COMMAND", row.message})) << row.input;
  }
  std::string many = "{";
  for (int i = 0; i < 33; ++i) many += (i ? ",\"c" : "\"c") + std::to_string(i) + "\": \"x\"";
  EXPECT_EQ(check_commands_json("INSTALL_COMMAND", many + "}").error->message, "must name at most 32 components");
}

TEST(DeployForms, RuntimesByComponent) {
  const auto c = catalog();
  auto r = check_runtimes_json(R"({"api": "nodejs@18", "./ml": "python"})", c);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.value->at("api"), (RuntimeChoice{"nodejs", "18"}));
  EXPECT_EQ(r.value->at("ml"), (RuntimeChoice{"python", ""}));
  for (const Bad& row : std::vector<Bad>{
           {"nodejs", "must be a JSON object {\"path\": \"nodejs@18\"} (one entry per component)"},
           {R"({"api": "nodejs@20"})",
            "component \"api\": nodejs@20 is not available; available: nodejs@18.20.4, python@3.11.2"},
           {R"({".": "ruby"})",
            "component \".\": that runtime is not available; available: nodejs@18.20.4, python@3.11.2"},
           {R"({"api": "node js"})",
            "component \"api\": must be NAME or NAME@VERSION (e.g. nodejs@18), NAME one of: nodejs, python"},
       }) {
    auto bad = check_runtimes_json(row.input, c);
    ASSERT_FALSE(bad.ok()) << row.input;
    EXPECT_EQ(*bad.error, (FieldError{"RUNTIME_LANGUAGE", row.message})) << row.input;
  }
}

TEST(DeployForms, EnvironmentFlatAndByComponent) {
  auto flat = check_env_json(R"({"DB": ")" + secret + R"(", "PORT": 3000, "DEBUG": false, "Q": "$'\"`"})");
  ASSERT_TRUE(flat.ok()) << flat.error->message;
  EXPECT_FALSE(flat.value->by_component);
  const auto& vars = flat.value->vars.at("");
  EXPECT_EQ(vars.at("DB").reveal(), secret);
  EXPECT_EQ(vars.at("PORT").reveal(), "3000");
  EXPECT_EQ(vars.at("DEBUG").reveal(), "false");
  EXPECT_EQ(vars.at("Q").reveal(), "$'\"`");

  auto nested = check_env_json(R"({"./api": {"DB": "x"}, "web": {}})");
  ASSERT_TRUE(nested.ok()) << nested.error->message;
  EXPECT_TRUE(nested.value->by_component);
  EXPECT_EQ(nested.value->vars.at("api").at("DB").reveal(), "x");
  EXPECT_TRUE(nested.value->vars.at("web").empty());

  auto empty = check_env_json("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty.value->vars.empty());

  const std::string form = "must be a JSON object {\"KEY\": \"value\"} or {\"component\": {\"KEY\": \"value\"}}";
  for (const Bad& row : std::vector<Bad>{
           {"DB=" + secret, form},
           {"[]", form},
           {R"({"DB": ")" + secret + R"(", "api": {"X": "1"}})", form + ", not a mix of both"},
           {R"({"1DB": ")" + secret + R"("})",
            "variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 255 characters)"},
           {R"({"DB": ")" + secret + R"(\n"})", "the value of DB must not contain NUL, CR or LF"},
           {R"({"DB": ")" + secret + R"(\u0000"})", "the value of DB must not contain NUL, CR or LF"},
           {R"({"DB": null})", "the value of DB must be a string"},
           {R"({"DB": [")" + secret + R"("]})", "the value of DB must be a string"},
           {R"({"../x": {"DB": "1"}})", "component paths must not contain '..'"},
       }) {
    auto bad = check_env_json(row.input);
    ASSERT_FALSE(bad.ok()) << row.input;
    EXPECT_EQ(*bad.error, (FieldError{"CONTAINER_ENV_VARS", row.message}));
    EXPECT_EQ(bad.error->message.find(secret), std::string::npos);
  }
  std::string many = "{";
  for (int i = 0; i < 257; ++i) many += (i ? ",\"V" : "\"V") + std::to_string(i) + "\": \"x\"";
  EXPECT_EQ(check_env_json(many + "}").error->message, "must set at most 256 variables");
}

TEST(DeployForms, EnvironmentAnswers) {
  EnvForm form;
  EXPECT_FALSE(add_env_answer("DB=" + secret + "=x", form));
  EXPECT_FALSE(add_env_answer("EMPTY=", form));
  EXPECT_EQ(form.vars.at("").at("DB").reveal(), secret + "=x");
  EXPECT_EQ(form.vars.at("").at("EMPTY").reveal(), "");
  for (const Bad& row : std::vector<Bad>{
           {secret, "answer KEY=VALUE, a JSON object of them, or nothing to finish"},
           {"=" + secret, "answer KEY=VALUE, a JSON object of them, or nothing to finish"},
           {"DB=again", "DB is already set"},
           {"A B=" + secret, "variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 255 characters)"},
           {"X=" + secret + "\r", "the value of X must not contain NUL, CR or LF"}}) {
    auto e = add_env_answer(row.input, form);
    ASSERT_TRUE(e) << row.input;
    EXPECT_EQ(*e, (FieldError{"CONTAINER_ENV_VARS", row.message}));
  }
}

TEST(DeployForms, ServicesAsJsonOrAList) {
  const auto c = catalog();
  for (const std::string text : {R"(["redis", "postgresql"])", "redis, postgresql", "Redis postgresql"}) {
    auto r = check_services(text, c);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error->message;
    EXPECT_EQ(*r.value, (std::vector<std::string>{"redis", "postgresql"}));
  }
  EXPECT_TRUE(check_services("[]", c).value->empty());
  for (const Bad& row : std::vector<Bad>{
           {R"(["redis", "redis"])", "lists redis twice"},
           {R"(["mongodb"])", "that service is not available; available: postgresql, redis"},
           {R"(["redis", 1])", "must be a JSON array of service names, e.g. [\"redis\"]"},
           {R"(["redis")", "must be a JSON array of service names, e.g. [\"redis\"]"},
           {"meteor", "that service is not available; available: postgresql, redis"},
       }) {
    auto bad = check_services(row.input, c);
    ASSERT_FALSE(bad.ok()) << row.input;
    EXPECT_EQ(*bad.error, (FieldError{"SERVICES", row.message}));
  }
}

TEST(DeployForms, CustomServicesOnlyWhereAllowed) {
  auto r = check_custom_services(R"(["apt-get install -y a", ["echo 1", "echo 2"]])", true);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(*r.value, (std::vector<std::string>{"apt-get install -y a", "echo 1", "echo 2"}));
  auto refused = check_custom_services(R"(["echo 1"])", false);
  EXPECT_EQ(*refused.error, custom_services_refused());
  EXPECT_EQ(format(custom_services_refused()),
            "CUSTOM_SERVICES: custom service commands are not allowed on this server "
            "(deploy.allow_custom_services); use SERVICES");
  for (const Bad& row : std::vector<Bad>{
           {"echo 1", "must be a JSON array of commands, or of arrays of commands"},
           {R"([1])", "must be a JSON array of commands, or of arrays of commands"},
           {R"([["a", ["b"]]])", "must be a JSON array of commands, or of arrays of commands"},
           {R"(["a\nb"])", "each command must be one line without control characters"},
           {R"([""])", "commands must not be empty"},
       }) {
    auto bad = check_custom_services(row.input, true);
    ASSERT_FALSE(bad.ok()) << row.input;
    EXPECT_EQ(*bad.error, (FieldError{"CUSTOM_SERVICES", row.message}));
  }
}

// --- the rules between variables of a create -----------------------------------------------------

DeployInput single_input() {
  DeployInput in;
  in.start = ByComponent{{"", "npm start"}};
  in.runtime = std::map<std::string, RuntimeChoice>{{"", {"nodejs", "18"}}};
  return in;
}

TEST(DeployAssembly, SingleComponent) {
  auto in = single_input();
  in.install = ByComponent{{"", "npm ci"}};
  in.services = {"redis"};
  EnvForm env;
  ASSERT_FALSE(add_env_answer("DB=" + secret, env));
  in.env = env;
  deploy::DeploySpec spec;
  std::optional<std::map<std::string, deploy::EnvVars>> vars;
  ASSERT_EQ(assemble_create(in, spec, vars), std::vector<FieldError>{});
  EXPECT_FALSE(spec.multi);
  ASSERT_EQ(spec.components.size(), 1u);
  EXPECT_EQ(spec.components[0], (deploy::Component{"", "nodejs", "18", "npm ci", "", "npm start"}));
  EXPECT_EQ(spec.services, std::vector<std::string>{"redis"});
  ASSERT_TRUE(vars);
  EXPECT_EQ(vars->at("").at("DB").reveal(), secret);
}

TEST(DeployAssembly, EachComponentNeedsStartAndRuntime) {
  deploy::DeploySpec spec;
  std::optional<std::map<std::string, deploy::EnvVars>> vars;
  DeployInput none;
  EXPECT_EQ(assemble_create(none, spec, vars),
            (std::vector<FieldError>{{"START_COMMAND", "is required"}, {"RUNTIME_LANGUAGE", "is required"}}));
  auto no_runtime = single_input();
  no_runtime.runtime.reset();
  EXPECT_EQ(assemble_create(no_runtime, spec, vars), (std::vector<FieldError>{{"RUNTIME_LANGUAGE", "is required"}}));

  DeployInput multi;
  multi.multi = true;
  multi.start = ByComponent{{"api", "npm start"}, {"web", "npm run serve"}};
  multi.runtime = std::map<std::string, RuntimeChoice>{{"api", {"nodejs", ""}}, {"ml", {"python", ""}}};
  multi.build = ByComponent{{"docs", "make"}};
  EXPECT_EQ(assemble_create(multi, spec, vars),
            (std::vector<FieldError>{
                {"START_COMMAND", "has no command for component \"ml\" (RUNTIME_LANGUAGE names it)"},
                {"RUNTIME_LANGUAGE", "has no runtime for component \"web\" (START_COMMAND names it)"},
                {"BUILD_COMMAND", "names component \"docs\", which has no START_COMMAND or RUNTIME_LANGUAGE"}}));
  DeployInput empty_multi;
  empty_multi.multi = true;
  EXPECT_EQ(assemble_create(empty_multi, spec, vars).front(),
            (FieldError{"START_COMMAND", "is required (a command for each component, or ROOT_START_COMMAND)"}));
}

TEST(DeployAssembly, SeveralComponentsAndEnvironmentForEach) {
  DeployInput in;
  in.multi = true;
  in.start = ByComponent{{"api", "npm start"}, {"web", "python3 app.py"}};
  in.runtime = std::map<std::string, RuntimeChoice>{{"api", {"nodejs", ""}}, {"web", {"python", "3"}}};
  in.install = ByComponent{{"api", "npm ci"}};
  EnvForm env;
  ASSERT_FALSE(add_env_answer("TOKEN=" + secret, env));
  in.env = env;
  deploy::DeploySpec spec;
  std::optional<std::map<std::string, deploy::EnvVars>> vars;
  ASSERT_EQ(assemble_create(in, spec, vars), std::vector<FieldError>{});
  EXPECT_TRUE(spec.multi);
  ASSERT_EQ(spec.components.size(), 2u);
  EXPECT_EQ(spec.components[0], (deploy::Component{"api", "nodejs", "", "npm ci", "", "npm start"}));
  EXPECT_EQ(spec.components[1], (deploy::Component{"web", "python", "3", "", "", "python3 app.py"}));
  ASSERT_TRUE(vars);
  EXPECT_EQ(vars->size(), 2u);  // a flat object goes to every component
  EXPECT_EQ(vars->at("web").at("TOKEN").reveal(), secret);

  auto by_component = check_env_json(R"({"api": {"A": "1"}, "docs": {"B": "2"}})");
  in.env = *by_component.value;
  EXPECT_EQ(assemble_create(in, spec, vars),
            (std::vector<FieldError>{
                {"CONTAINER_ENV_VARS", "names component \"docs\", which is not one of the components"}}));
}

TEST(DeployAssembly, RootStartAloneNeedsNoComponent) {
  DeployInput in;
  in.multi = true;
  in.root_start = "docker compose up";
  in.install = ByComponent{{"api", "npm ci"}};
  in.env = *check_env_json(R"({"X": "1"})").value;
  deploy::DeploySpec spec;
  std::optional<std::map<std::string, deploy::EnvVars>> vars;
  ASSERT_EQ(assemble_create(in, spec, vars), std::vector<FieldError>{});
  EXPECT_EQ(spec.root_start, "docker compose up");
  ASSERT_EQ(spec.components.size(), 1u);
  EXPECT_EQ(spec.components[0], (deploy::Component{"api", "", "", "npm ci", "", ""}));
  ASSERT_TRUE(vars);
  EXPECT_EQ(vars->size(), 2u);  // "api" and the project root, where the root start runs
  EXPECT_EQ(vars->count(""), 1u);

  DeployInput root_only;
  root_only.root_start = "./run.sh";
  ASSERT_EQ(assemble_create(root_only, spec, vars), std::vector<FieldError>{});
  EXPECT_TRUE(spec.components.empty());
}

TEST(DeployAssembly, UpdateKeepsOnlyWhatWasGiven) {
  DeployInput in;
  in.start = ByComponent{{"", "npm start"}};
  in.env = *check_env_json(R"({"X": "1"})").value;
  deploy::DeploySpec spec;
  std::optional<std::map<std::string, deploy::EnvVars>> vars;
  const auto given = assemble_update(in, spec, vars);
  EXPECT_TRUE(given.env_for_every_component);
  EXPECT_FALSE(given.multi);
  ASSERT_EQ(spec.components.size(), 1u);
  EXPECT_EQ(spec.components[0], (deploy::Component{"", "", "", "", "", "npm start"}));
  ASSERT_TRUE(vars);
}

}  // namespace
}  // namespace lxcprov::request
