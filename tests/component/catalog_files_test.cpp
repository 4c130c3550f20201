// The catalogs lxcprov ships (config/runtimes.json, config/services.json) parse, and name the
// Debian 12 packages and units checked against the packages themselves (dpkg -c).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "deploy/catalog.hpp"

namespace lxcprov::deploy {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ShippedCatalogs, ParseAndNameDebianBookworm) {
  auto c = parse_catalog(slurp(LXCPROV_SOURCE_DIR "/config/runtimes.json"),
                         slurp(LXCPROV_SOURCE_DIR "/config/services.json"));
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->runtime_names(), (std::vector<std::string>{"nodejs", "python"}));
  EXPECT_EQ(c->runtime("nodejs", "18").value().packages, (std::vector<std::string>{"nodejs", "npm"}));
  auto python = c->runtime("python", "3.11");
  ASSERT_TRUE(python);
  EXPECT_TRUE(python->venv);
  EXPECT_EQ(python->packages, (std::vector<std::string>{"python3", "python3-venv", "python3-pip"}));
  const std::vector<std::pair<std::string, std::string>> units{
      {"postgresql", "postgresql.service"}, {"mariadb", "mariadb.service"},
      {"redis", "redis-server.service"},    {"memcached", "memcached.service"},
      {"nginx", "nginx.service"},           {"apache2", "apache2.service"},
      {"apache", "apache2.service"},        {"rabbitmq", "rabbitmq-server.service"},
      {"docker", "docker.service"}};
  for (const auto& [name, unit] : units) {
    auto s = c->service(name);
    ASSERT_TRUE(s) << name;
    EXPECT_EQ(s->units, std::vector<std::string>{unit}) << name;
  }
  EXPECT_FALSE(c->service("mongodb"));  // not in Debian
}

}  // namespace
}  // namespace lxcprov::deploy
