// deploy::Catalog: parsing runtimes.json and services.json, and resolving what a deploy asks for.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "deploy/catalog.hpp"

namespace lxcprov::deploy {
namespace {

const std::string runtimes = R"({
  "nodejs": {"default": "18.20.4", "versions": {"18.20.4": {"packages": ["nodejs", "npm"]},
                                                 "18.9.1": {"packages": ["nodejs"]},
                                                 "20.1.0": {"packages": ["nodejs20"]}}},
  "python": {"default": "3.11.2", "versions": {"3.11.2": {"packages": ["python3", "python3-venv"], "venv": true}}}
})";
const std::string services = R"({
  "redis": {"packages": ["redis-server"], "units": ["redis-server.service"]},
  "postgresql": {"packages": ["postgresql"], "units": ["postgresql.service"]}
})";

Catalog catalog() {
  auto c = parse_catalog(runtimes, services);
  EXPECT_TRUE(c) << c.error().message;
  return *c;
}

TEST(Catalog, ParsesBothFiles) {
  auto c = catalog();
  ASSERT_EQ(c.runtimes.size(), 2u);
  EXPECT_EQ(c.runtimes.at("nodejs").default_version, "18.20.4");
  EXPECT_EQ(c.runtimes.at("nodejs").versions.size(), 3u);
  EXPECT_EQ(c.runtime_names(), (std::vector<std::string>{"nodejs", "python"}));
  EXPECT_EQ(c.service_names(), (std::vector<std::string>{"postgresql", "redis"}));
  auto redis = c.service("redis");
  ASSERT_TRUE(redis);
  EXPECT_EQ(redis->packages, std::vector<std::string>{"redis-server"});
  EXPECT_EQ(redis->units, std::vector<std::string>{"redis-server.service"});
  EXPECT_TRUE(parse_catalog("{}", "{}"));
}

TEST(Catalog, VersionsMatchAsPrefixesAtDotBoundaries) {
  struct Row {
    std::string name, version, resolved;
  };
  auto c = catalog();
  for (const Row& row : std::vector<Row>{{"nodejs", "", "18.20.4"},
                                         {"nodejs", "18", "18.20.4"},  // the default among matches
                                         {"nodejs", "18.20", "18.20.4"},
                                         {"nodejs", "18.20.4", "18.20.4"},
                                         {"nodejs", "18.9", "18.9.1"},
                                         {"nodejs", "20", "20.1.0"},
                                         {"python", "3", "3.11.2"},
                                         {"python", "3.11", "3.11.2"}}) {
    auto r = c.runtime(row.name, row.version);
    ASSERT_TRUE(r) << row.name << "@" << row.version << ": " << r.error().message;
    EXPECT_EQ(r->version, row.resolved) << row.name << "@" << row.version;
  }
  EXPECT_TRUE(c.runtime("python", "").value().venv);
  EXPECT_FALSE(c.runtime("nodejs", "").value().venv);
}

TEST(Catalog, HighestMatchWinsWithoutTheDefault) {
  auto c = parse_catalog(R"({"nodejs": {"default": "20.1.0", "versions": {"18.9.1": {"packages": ["a1"]},
                            "18.10.0": {"packages": ["a2"]}, "20.1.0": {"packages": ["a3"]}}}})",
                         "{}");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->runtime("nodejs", "18").value().version, "18.10.0");  // numeric, not text order
}

TEST(Catalog, UnavailableRuntimesListWhatIsAvailable) {
  const std::string available = "available: nodejs@18.20.4, nodejs@18.9.1, nodejs@20.1.0, python@3.11.2";
  auto c = catalog();
  struct Row {
    std::string name, version, message;
  };
  for (const Row& row : std::vector<Row>{{"nodejs", "2", "nodejs@2 is not available; " + available},
                                         {"nodejs", "18.2", "nodejs@18.2 is not available; " + available},
                                         {"nodejs", "21", "nodejs@21 is not available; " + available},
                                         {"nodejs", "18.20.4.1", "that runtime is not available; " + available},
                                         {"ruby", "", "that runtime is not available; " + available},
                                         {"Node\x1b[2J", "", "that runtime is not available; " + available},
                                         {"python", "x", "that runtime is not available; " + available}}) {
    auto r = c.runtime(row.name, row.version);
    ASSERT_FALSE(r) << row.name;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().message, row.message);
  }
  EXPECT_EQ(Catalog{}.runtime("nodejs", "").error().message, "that runtime is not available; available: none");
}

TEST(Catalog, UnknownServicesListTheKnownOnes) {
  auto c = catalog();
  EXPECT_EQ(c.service("mongodb").error().message, "that service is not available; available: postgresql, redis");
  EXPECT_EQ(c.service("re dis").error().message, "that service is not available; available: postgresql, redis");
}

TEST(Catalog, VersionRules) {
  for (const char* good : {"1", "18", "18.19", "18.19.0", "0.0.0"}) EXPECT_TRUE(valid_version(good)) << good;
  for (const char* bad : {"", "18.", ".18", "18..1", "1.2.3.4", "v18", "18-1", "18.19.0 "})
    EXPECT_FALSE(valid_version(bad)) << bad;
  EXPECT_TRUE(version_matches("18", "18.19.0"));
  EXPECT_TRUE(version_matches("18.19.0", "18.19.0"));
  EXPECT_FALSE(version_matches("1", "18.19.0"));
  EXPECT_FALSE(version_matches("18.1", "18.19.0"));
  EXPECT_FALSE(version_matches("18.19.0.1", "18.19.0"));
}

TEST(Catalog, ParseErrorsNameTheFileTheKeyAndTheRule) {
  struct Row {
    std::string runtimes, services, message;
  };
  const std::string ok_runtimes = R"({"nodejs": {"default": "18", "versions": {"18": {"packages": ["nodejs"]}}}})";
  for (const Row& row : std::vector<Row>{
           {"[]", "{}", "runtimes.json file: is not a JSON object NAME -> {\"default\": ..., \"versions\": {...}}"},
           {"{", "{}", "runtimes.json file: is not a JSON object NAME -> {\"default\": ..., \"versions\": {...}}"},
           {ok_runtimes, "nonsense",
            "services.json file: is not a JSON object NAME -> {\"packages\": [...], \"units\": [...]}"},
           {R"({"Node": {}})", "{}",
            "runtimes.json Node: names must be 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter"},
           {R"({"nodejs": []})", "{}",
            "runtimes.json nodejs: must be an object {\"default\": VERSION, \"versions\": {...}}"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"packages": ["nodejs"]}}, "extra": 1}})", "{}",
            "runtimes.json nodejs: unknown key \"extra\""},
           {R"({"nodejs": {"versions": {"18": {"packages": ["nodejs"]}}}})", "{}",
            "runtimes.json nodejs.default: must be a version string"},
           {R"({"nodejs": {"default": "20", "versions": {"18": {"packages": ["nodejs"]}}}})", "{}",
            "runtimes.json nodejs.default: must be one of the versions listed under \"versions\""},
           {R"({"nodejs": {"default": "18", "versions": {}}})", "{}",
            "runtimes.json nodejs.versions: must be a non-empty object VERSION -> {\"packages\": [...]}"},
           {R"({"nodejs": {"default": "18", "versions": {"v18": {"packages": ["nodejs"]}}}})", "{}",
            "runtimes.json nodejs.versions.v18: versions must be N, N.N or N.N.N"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"packages": []}}}})", "{}",
            "runtimes.json nodejs.versions.18.packages: must be an array of 1 to 32 names"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"packages": ["nodejs; rm -rf /"]}}}})", "{}",
            "runtimes.json nodejs.versions.18.packages: must hold Debian package names (^[a-z0-9][a-z0-9+.-]+$)"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"packages": ["-o=x"]}}}})", "{}",
            "runtimes.json nodejs.versions.18.packages: must hold Debian package names (^[a-z0-9][a-z0-9+.-]+$)"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"packages": ["nodejs"], "venv": "yes"}}}})", "{}",
            "runtimes.json nodejs.versions.18.venv: must be true or false"},
           {R"({"nodejs": {"default": "18", "versions": {"18": {"package": ["nodejs"]}}}})", "{}",
            "runtimes.json nodejs.versions.18: unknown key \"package\""},
           {ok_runtimes, R"({"redis": {"packages": ["redis-server"], "unit": ["redis-server.service"]}})",
            "services.json redis: unknown key \"unit\""},
           {ok_runtimes, R"({"redis": {"packages": ["redis-server"]}})",
            "services.json redis.units: must be an array of 1 to 32 names"},
           {ok_runtimes, R"({"redis": {"packages": ["redis-server"], "units": ["redis-server"]}})",
            "services.json redis.units: must hold systemd service names (^[A-Za-z0-9@._-]+\\.service$)"},
           {ok_runtimes, R"({"redis": {"packages": ["redis-server"], "units": ["../x.service"]}})",
            "services.json redis.units: must hold systemd service names (^[A-Za-z0-9@._-]+\\.service$)"},
           {ok_runtimes, R"({"redis": {"packages": ["redis-server"], "units": ["-x.service"]}})",
            "services.json redis.units: must hold systemd service names (^[A-Za-z0-9@._-]+\\.service$)"},
           {ok_runtimes, R"({"redis": {"packages": ["Redis"], "units": ["redis.service"]}})",
            "services.json redis.packages: must hold Debian package names (^[a-z0-9][a-z0-9+.-]+$)"},
           {ok_runtimes, R"({"redis": "redis-server"})",
            "services.json redis: must be an object {\"packages\": [...], \"units\": [...]}"},
       }) {
    auto c = parse_catalog(row.runtimes, row.services);
    ASSERT_FALSE(c) << row.runtimes << " / " << row.services;
    EXPECT_EQ(c.error().code, Errc::invalid_argument);
    EXPECT_EQ(c.error().message, row.message);
  }
}

}  // namespace
}  // namespace lxcprov::deploy
