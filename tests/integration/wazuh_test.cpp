// Wazuh and LDAP login inside containers, end to end: a second lxcprovd (same state, lxcpath and
// bridge as the world's, its own socket) with "wazuh" and "container_ldap" on, pointed at
// tests/fixtures/wazuh_test_server.py (a stand-in manager: authd enrollment + REST API over TLS).
// Spoken in the protocol directly, as lxcprov-shell would: create -> the agent exists on the
// manager, client.keys in the container is its entry, sssd.conf is 0600 with the directory's
// values; delete -> the agent is gone from the manager.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "../fixtures/wazuh_fixture.hpp"
#include "protocol/messages.hpp"
#include "wazuh/wazuh_client.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

using testing_wazuh::WazuhServer;

// Straight over the daemon's socket (no ssh).
int call(const std::string& socket, const std::string& op, const Env& env, std::string* lines = nullptr) {
  return socket_operation(socket, op, env, lines, 180s);
}

TEST(Wazuh, CreateEnrollsTheAgentAndWritesItsFilesDeleteRemovesIt) {
  World& w = world();
  WazuhServer server;
  std::string why;
  ASSERT_TRUE(testing_wazuh::start_wazuh_server(server, w.tmp + "/wazuh", "It-enr0ll", false, why)) << why;

  nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
  const std::string socket = w.tmp + "/wazuh.sock";
  cfg["socket"] = socket;
  cfg["wazuh"] = {{"enabled", true},
                  {"manager", "127.0.0.1"},
                  {"enrollment_port", server.enrollment_port},
                  {"api_url", fmt::format("https://127.0.0.1:{}", server.api_port)},
                  {"api_user", server.api_user},
                  {"api_password_file", server.api_password_file},
                  {"enrollment_password_file", server.enrollment_password_file},
                  {"ca_file", server.ca},
                  {"timeout_ms", 3000},
                  {"agent_config_template", w.source_dir + "/config/templates/wazuh-agent.conf"}};
  cfg["container_ldap"] = {{"enabled", true},
                           {"uri", "ldaps://ldap.example.org:636"},
                           {"base_dn", "dc=example,dc=org"},
                           {"ca_file", server.ca},
                           {"template_dir", w.source_dir + "/config/templates"}};
  const std::string config = w.tmp + "/lxcprovd-wazuh.json";
  std::ofstream(config) << cfg.dump(2);
  const std::string log = w.tmp + "/lxcprovd-wazuh.log";
  pid_t daemon = start_daemon(config, socket, log);
  ASSERT_GT(daemon, 0) << read_text(log);

  // A stale agent of the same name, as an earlier container of that name would have left it
  // (#210): the create must replace it, not fail on "Duplicate agent name".
  const std::string name = w.prefix + "wz";
  config::Wazuh direct;
  direct.manager = "127.0.0.1";
  direct.enrollment_port = static_cast<uint16_t>(server.enrollment_port);
  direct.enrollment_password_file = server.enrollment_password_file;
  direct.ca_file = server.ca;
  auto stale = wazuh::WazuhClient(direct).enroll(name);
  ASSERT_TRUE(stale) << stale.error().message;

  Env env = create_vars("alice", name);
  std::string out;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(call(socket, "create", env, &out), 0) << out << read_text(log);
  const auto create_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();

  auto held = server.agents_named(name);
  ASSERT_EQ(held.size(), 1u) << server.agents().dump();
  EXPECT_NE(held[0]["id"], stale->id) << "the stale agent was not replaced";
  const std::string expected_keys = fmt::format("{} {} {} {}\n", std::string(held[0]["id"]), name,
                                                std::string(held[0]["ip"]), std::string(held[0]["key"]));
  auto keys = attach(name, {"/bin/cat", "/var/ossec/etc/client.keys"});
  EXPECT_EQ(keys.out, expected_keys);
  EXPECT_EQ(attach(name, {"/bin/stat", "-c", "%a %U", "/var/ossec/etc/client.keys"}).out, "640 root\n");
  auto conf = attach(name, {"/bin/cat", "/var/ossec/etc/ossec.conf"}).out;
  EXPECT_NE(conf.find("<address>127.0.0.1</address>"), std::string::npos) << conf;
  EXPECT_EQ(attach(name, {"/bin/stat", "-c", "%a", "/etc/sssd/sssd.conf"}).out, "600\n");
  auto sssd = attach(name, {"/bin/cat", "/etc/sssd/sssd.conf"}).out;
  EXPECT_NE(sssd.find("ldap_uri = ldaps://ldap.example.org:636"), std::string::npos) << sssd;
  EXPECT_NE(sssd.find("ldap_search_base = dc=example,dc=org"), std::string::npos) << sssd;
  EXPECT_EQ(attach(name, {"/bin/cat", "/etc/sssd/lxcprov-ldap-ca.pem"}).out, read_text(server.ca));

  Env del = credentials("alice");
  del["CONTAINER_NAME"] = name;
  EXPECT_EQ(call(socket, "delete", del, &out), 0) << out << read_text(log);
  EXPECT_TRUE(server.agents_named(name).empty()) << server.agents().dump();
  EXPECT_TRUE(lxc_state(name).empty());

  // No secret reached the daemon's log.
  const std::string daemon_log = read_text(log);
  EXPECT_EQ(daemon_log.find(read_text(server.api_password_file).substr(0, 10)), std::string::npos);
  EXPECT_EQ(daemon_log.find("It-enr0ll"), std::string::npos);
  EXPECT_EQ(daemon_log.find(std::string(held[0]["key"])), std::string::npos);
  std::cout << "[ figures  ] create with Wazuh enrollment + LDAP login: " << create_ms << " ms\n";
  stop_process(daemon);
}

TEST(Wazuh, ManagerDownFailsTheCreateWithinTheTimeoutAndLeavesNothing) {
  World& w = world();
  nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
  const std::string socket = w.tmp + "/wazuh-down.sock";
  cfg["socket"] = socket;
  std::ofstream(w.tmp + "/down-api.pass") << "x\n";
  std::filesystem::permissions(w.tmp + "/down-api.pass", std::filesystem::perms::owner_read);
  cfg["wazuh"] = {{"enabled", true},
                  {"manager", "127.0.0.1"},
                  {"enrollment_port", 9},  // discard: nothing listens on loopback
                  {"api_url", "https://127.0.0.1:9"},
                  {"api_user", "u"},
                  {"api_password_file", w.tmp + "/down-api.pass"},
                  {"timeout_ms", 1000},
                  {"on_unavailable", "fail"},
                  {"agent_config_template", w.source_dir + "/config/templates/wazuh-agent.conf"}};
  const std::string config = w.tmp + "/lxcprovd-wazuh-down.json";
  std::ofstream(config) << cfg.dump(2);
  const std::string log = w.tmp + "/lxcprovd-wazuh-down.log";
  pid_t daemon = start_daemon(config, socket, log);
  ASSERT_GT(daemon, 0) << read_text(log);
  const std::string name = w.prefix + "wzdown";
  std::string out;
  EXPECT_NE(call(socket, "create", create_vars("alice", name), &out), 0) << out;
  EXPECT_NE(out.find("Wazuh"), std::string::npos) << out;
  EXPECT_TRUE(lxc_state(name).empty()) << "the failed create left its container";
  EXPECT_FALSE(db_row(name).has_value());
  stop_process(daemon);
}

}  // namespace
}  // namespace lxcprov::it
