// deploy::merge and deploy::place_env: an update's given values over the stored deployment.

#include <gtest/gtest.h>

#include "deploy/merge.hpp"

namespace lxcprov::deploy {
namespace {

DeploySpec stored_single() {
  DeploySpec s;
  s.repository = "https://github.com/o/app";
  s.branch = "main";
  s.root = "srv";
  s.components = {{"", "nodejs", "18", "npm ci", "npm run build", "npm start"}};
  s.services = {"redis"};
  s.commit = "1111111111111111111111111111111111111111";
  return s;
}

DeploySpec stored_multi() {
  DeploySpec s;
  s.repository = "https://github.com/o/app";
  s.branch = "main";
  s.multi = true;
  s.components = {{"api", "nodejs", "", "npm ci", "", "npm start"}, {"web", "python", "3", "", "", "python3 app.py"}};
  s.services = {"postgresql"};
  return s;
}

TEST(DeployMerge, NothingGivenKeepsEverything) {
  auto m = merge(stored_single(), DeploySpec{});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m, stored_single());
}

TEST(DeployMerge, GivenValuesReplaceStoredOnes) {
  DeploySpec given;
  given.branch = "feature/x";
  given.components = {{"", "", "", "", "", "node server.js"}};
  given.commit = "2222222222222222222222222222222222222222";
  auto m = merge(stored_single(), given);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->repository, "https://github.com/o/app");
  EXPECT_EQ(m->branch, "feature/x");
  EXPECT_EQ(m->root, "srv");
  EXPECT_EQ(m->commit, "2222222222222222222222222222222222222222");
  ASSERT_EQ(m->components.size(), 1u);
  EXPECT_EQ(m->components[0], (Component{"", "nodejs", "18", "npm ci", "npm run build", "node server.js"}));
}

TEST(DeployMerge, AnotherRepositoryTakesItsDefaultBranchAndNoStoredCommit) {
  DeploySpec given;
  given.repository = "https://git.example.org/other.git";
  auto m = merge(stored_single(), given);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->repository, "https://git.example.org/other.git");
  EXPECT_EQ(m->branch, "") << "the old repository's branch may not exist in the new one";
  EXPECT_EQ(m->commit, "");
  DeploySpec branch_only;
  branch_only.branch = "next";
  auto b = merge(stored_single(), branch_only);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->commit, "") << "the stored commit belongs to the stored branch";
}

TEST(DeployMerge, RuntimeAndVersionChangeTogether) {
  DeploySpec given;
  given.components = {{"", "python", "", "", "", ""}};
  auto m = merge(stored_single(), given);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->components[0].runtime, "python");
  EXPECT_EQ(m->components[0].version, "");  // not the stored "18", which was node's
}

TEST(DeployMerge, RootGivenAsTheRepositoryTop) {
  DeploySpec given;  // PROJECT_ROOT="." normalises to ""
  auto kept = merge(stored_single(), given, Given{});
  EXPECT_EQ(kept->root, "srv");
  auto top = merge(stored_single(), given, Given{.root = true});
  EXPECT_EQ(top->root, "");
}

TEST(DeployMerge, ServicesAreOnlyAdded) {
  DeploySpec given;
  given.services = {"postgresql", "redis"};
  given.custom_services = {"echo one"};
  auto m = merge(stored_single(), given);
  EXPECT_EQ(m->services, (std::vector<std::string>{"redis", "postgresql"}));
  EXPECT_EQ(m->custom_services, std::vector<std::string>{"echo one"});
  auto again = merge(*m, given);
  EXPECT_EQ(again->custom_services, std::vector<std::string>{"echo one"});
}

TEST(DeployMerge, ComponentsMergeByPath) {
  DeploySpec given;
  given.multi = true;
  given.components = {{"api", "", "", "", "npm run build", ""}, {"worker", "nodejs", "", "", "", "node worker.js"}};
  auto m = merge(stored_multi(), given);
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_EQ(m->components.size(), 3u);
  EXPECT_EQ(m->components[0], (Component{"api", "nodejs", "", "npm ci", "npm run build", "npm start"}));
  EXPECT_EQ(m->components[1], stored_multi().components[1]);
  EXPECT_EQ(m->components[2], (Component{"worker", "nodejs", "", "", "", "node worker.js"}));
}

TEST(DeployMerge, TheFormMustMatchTheStoredDeployment) {
  DeploySpec plain;
  plain.components = {{"", "", "", "", "", "npm start"}};
  auto m = merge(stored_multi(), plain);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, Errc::invalid_argument);
  EXPECT_EQ(m.error().message,
            "MULTI_COMPONENT: the deployment has several components; give the commands and runtimes as JSON objects "
            "{\"path\": ...}");
  DeploySpec json;
  json.multi = true;
  json.components = {{"api", "", "", "", "", "npm start"}};
  EXPECT_EQ(merge(stored_single(), json).error().message,
            "MULTI_COMPONENT: the deployment has one component; give plain values, or MULTI_COMPONENT=y to make it "
            "several");
}

TEST(DeployMerge, SwitchingMultiReplacesTheComponents) {
  DeploySpec given;
  given.multi = true;
  given.components = {{"api", "nodejs", "", "", "", "npm start"}};
  auto m = merge(stored_single(), given, Given{.multi = true});
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_TRUE(m->multi);
  EXPECT_EQ(m->components, given.components);
  // ... and must then be complete by itself.
  given.components = {{"api", "", "", "", "", "npm start"}};
  EXPECT_EQ(merge(stored_single(), given, Given{.multi = true}).error().message,
            "RUNTIME_LANGUAGE: is required for component \"api\"");
}

TEST(DeployMerge, NothingStoredMeansTheUpdateSaysEverything) {
  DeploySpec given;
  given.components = {{"", "", "", "", "", "npm start"}};
  EXPECT_EQ(merge(DeploySpec{}, given).error().message,
            "PROJECT_REPOSITORY: is required (nothing has been deployed into this container yet)");
  given.repository = "https://github.com/o/app";
  EXPECT_EQ(merge(DeploySpec{}, given).error().message, "RUNTIME_LANGUAGE: is required");
  given.components[0].runtime = "nodejs";
  auto m = merge(DeploySpec{}, given);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(*m, given);
  given.components.clear();
  EXPECT_EQ(merge(DeploySpec{}, given).error().message,
            "START_COMMAND: is required (a start command for each component, or ROOT_START_COMMAND)");
  given.root_start = "./run.sh";
  EXPECT_TRUE(merge(DeploySpec{}, given));
}

TEST(DeployMerge, PlaceEnvForEveryComponent) {
  DeploySecrets secrets;
  secrets.env = std::map<std::string, EnvVars>{{"", {{"DB", Secret("s3cret")}}}};
  auto merged = stored_multi();
  merged.root_start = "./run.sh";
  ASSERT_TRUE(place_env(merged, Given{.env_for_every_component = true}, secrets));
  ASSERT_EQ(secrets.env->size(), 3u);  // api, web and the project root
  EXPECT_EQ(secrets.env->at("web").at("DB").reveal(), "s3cret");

  DeploySecrets by_component;
  by_component.env = std::map<std::string, EnvVars>{{"api", {}}, {"docs", {}}};
  auto s = place_env(stored_multi(), Given{}, by_component);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "CONTAINER_ENV_VARS: names component \"docs\", which the deployment does not have");

  DeploySecrets keep;  // nullopt: the container's env files stay
  EXPECT_TRUE(place_env(stored_multi(), Given{}, keep));
  EXPECT_FALSE(keep.env);
}

// Found by fuzzing (tests/fuzz/merge_fuzz.cpp): a damaged row whose "version" was not a number
// made from_stored_json throw nlohmann's type_error instead of refusing the row.
TEST(StoredSpec, DamagedRowIsRefusedNotThrown) {
  std::string row = to_stored_json(stored_single());
  ASSERT_TRUE(from_stored_json(row));
  for (const char* version : {R"("1")", "1.5", "null", "4294967297", "[1]"}) {
    std::string damaged = row;
    damaged.replace(damaged.find(R"("version":1)"), 11, std::string(R"("version":)") + version);
    EXPECT_FALSE(from_stored_json(damaged)) << damaged;
  }
}

}  // namespace

}  // namespace lxcprov::deploy
