// The pure parts of the Wazuh and container-LDAP integrations: authd request/answer, API answers,
// templates and their config sections.

#include <gtest/gtest.h>

#include "config/config.hpp"
#include "config/templates.hpp"
#include "wazuh/api.hpp"
#include "wazuh/enrollment.hpp"

namespace lxcprov {
namespace {

TEST(WazuhEnrollment, RequestLineWithAndWithoutPassword) {
  EXPECT_EQ(std::string(wazuh::render_request("web-1", "", Secret()).value().reveal()), "OSSEC A:'web-1'\n");
  EXPECT_EQ(std::string(wazuh::render_request("web-1", "any", Secret("pw")).value().reveal()),
            "OSSEC PASS: pw OSSEC A:'web-1' IP:'any'\n");
  EXPECT_FALSE(wazuh::render_request("a'b", "", Secret()));
  EXPECT_FALSE(wazuh::render_request("x", "", Secret()));  // too short for authd
  EXPECT_FALSE(wazuh::render_request("web", "1.2.3.4'", Secret()));
  EXPECT_FALSE(wazuh::render_request("web", "", Secret("p\nOSSEC A:'evil'")));
  EXPECT_FALSE(wazuh::render_request("web", "", Secret(" pw")));
}

TEST(WazuhEnrollment, ReplyIsParsedStrictly) {
  auto e = wazuh::parse_reply("OSSEC K:'007 web-1 any 0a1b2c3d'\n", "web-1");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->id, "007");
  EXPECT_EQ(e->ip, "any");
  EXPECT_EQ(std::string(wazuh::client_keys(*e).reveal()), "007 web-1 any 0a1b2c3d\n");
  for (const char* bad :
       {"OSSEC K:'007 other any 0a1b'", "OSSEC K:'0x7 web-1 any 0a1b'", "OSSEC K:'007 web-1 any'",
        "OSSEC K:'007 web-1 any 0a1b extra'", "OSSEC K:'007 web-1 any 0a1b\n'\n", "OSSEC K:'007 web-1 any 0a;b'",
        "OSSEC K:'007 web-1 any 0a1b", "hello", "OSSEC K:'007 web-1 any 0a1b'\nOSSEC K:'008 web-1 any ff'", ""})
    EXPECT_FALSE(wazuh::parse_reply(bad, "web-1")) << bad;
}

TEST(WazuhEnrollment, ErrorsAreClassified) {
  auto dup = wazuh::parse_reply("ERROR: Duplicate agent name: web-1", "web-1");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, Errc::conflict);
  EXPECT_EQ(wazuh::parse_reply("ERROR: Invalid password", "web-1").error().code, Errc::permission_denied);
  auto other = wazuh::parse_reply("ERROR: Unable to add agent\x01", "web-1");
  EXPECT_EQ(other.error().code, Errc::unavailable);
  EXPECT_EQ(other.error().message.find('\x01'), std::string::npos);
}

TEST(WazuhApi, TokenAgentsAndDelete) {
  EXPECT_EQ(std::string(wazuh::parse_token(R"({"data":{"token":"aa.bb.cc"},"error":0})").value().reveal()), "aa.bb.cc");
  EXPECT_FALSE(wazuh::parse_token(R"({"data":{"token":"aa.bb"}})"));
  EXPECT_FALSE(wazuh::parse_token(R"({"data":{"token":"a a.b.c"}})"));
  EXPECT_FALSE(wazuh::parse_token("not json"));
  auto agents = wazuh::parse_agents(R"({"data":{"affected_items":[{"id":"003","name":"web-1"}]}})");
  ASSERT_TRUE(agents);
  ASSERT_EQ(agents->size(), 1u);
  EXPECT_EQ((*agents)[0].id, "003");
  EXPECT_FALSE(wazuh::parse_agents(R"({"data":{"affected_items":[{"id":"3; rm","name":"web-1"}]}})"));
  EXPECT_TRUE(wazuh::parse_delete(R"({"data":{"affected_items":["003"],"failed_items":[]},"error":0})", "003"));
  EXPECT_TRUE(wazuh::parse_delete(
      R"({"data":{"affected_items":[],"failed_items":[{"error":{"code":1701,"message":"Agent does not exist"},"id":["003"]}]},"error":2})",
      "003"));
  EXPECT_FALSE(wazuh::parse_delete(
      R"({"data":{"affected_items":[],"failed_items":[{"error":{"code":1731,"message":"not eligible"},"id":["003"]}]},"error":2})",
      "003"));
  EXPECT_FALSE(wazuh::parse_delete(R"({"data":{"affected_items":["004"]}})", "003"));
  // Found by fuzzing (tests/fuzz/wazuh_fuzz.cpp): a code or message of another type threw
  // nlohmann's type_error out of parse_delete instead of being a refusal.
  for (const char* error : {R"({"code":"1701","message":"x"})", R"({"code":1731,"message":5})", R"({"code":1.5})",
                            R"({"code":null,"message":["a"]})"}) {
    const std::string body =
        std::string(R"({"data":{"affected_items":[],"failed_items":[{"error":)") + error + R"(,"id":["003"]}]}})";
    Status s = wazuh::parse_delete(body, "003");
    EXPECT_FALSE(s) << body;
  }
  EXPECT_EQ(wazuh::delete_target("003"), "/agents?agents_list=003&status=all&older_than=0s");
}

TEST(Templates, SubstitutesValidatedValuesOnly) {
  EXPECT_EQ(config::render_template("a={{x}} b={{y}}", {{"x", "1"}, {"y", "2"}}).value(), "a=1 b=2");
  EXPECT_FALSE(config::render_template("{{z}}", {{"x", "1"}}));
  EXPECT_FALSE(config::render_template("{{x", {{"x", "1"}}));
  EXPECT_FALSE(config::render_template("{{x}}", {{"x", "1\nservices = evil"}}));
  EXPECT_FALSE(config::render_template("{{x}}", {{"x", "{{x}}"}}));
  auto f = config::render_ldap_client("sssd", "uri={{uri}} base={{base_dn}} ca={{ca_file}} tls={{starttls}}",
                                      "ldaps://dir.example:636", "dc=example,dc=org");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->config_path, "/etc/sssd/sssd.conf");
  EXPECT_EQ(f->config_text,
            "uri=ldaps://dir.example:636 base=dc=example,dc=org ca=/etc/sssd/lxcprov-ldap-ca.pem tls=false");
  EXPECT_FALSE(config::render_ldap_client("sssd", "{{uri}}", "ldaps://a b", "dc=x"));
  EXPECT_FALSE(config::render_ldap_client("sssd", "{{base_dn}}", "ldaps://a", "dc=x\nid_provider=files"));
  EXPECT_FALSE(config::render_ldap_client("winbind", "{{uri}}", "ldaps://a", "dc=x"));
  EXPECT_EQ(config::render_ldap_client("nslcd", "ssl {{nslcd_ssl}}", "ldap://a", "dc=x")->config_text, "ssl start_tls");
  auto w = config::render_wazuh_agent_config("<address>{{manager}}</address><port>{{agent_port}}</port>",
                                             "wazuh.example", 1514, "web-1");
  ASSERT_TRUE(w);
  EXPECT_EQ(*w, "<address>wazuh.example</address><port>1514</port>");
  EXPECT_FALSE(config::render_wazuh_agent_config("{{manager}}", "evil</address>", 1514, "web-1"));
}

TEST(Config, WazuhAndContainerLdapSections) {
  auto off = config::parse("{}");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->wazuh.enabled);
  EXPECT_FALSE(off->container_ldap.enabled);
  auto on = config::parse(R"({"wazuh": {"enabled": true, "manager": "10.0.0.5", "api_url": "https://10.0.0.5:55000",
      "api_user": "wazuh-wui", "api_password_file": "/etc/lxcprov/wazuh-api.pass", "timeout_ms": 2000,
      "on_unavailable": "pending", "pin_sha256": "AB:CD:ab:cd:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb"}})");
  ASSERT_TRUE(on) << on.error().message;
  EXPECT_EQ(on->wazuh.timeout.count(), 2000);
  EXPECT_EQ(on->wazuh.pin_sha256, "abcdabcd00112233445566778899aabbccddeeff00112233445566778899aabb");
  for (
      const char* bad :
      {R"({"wazuh": {"enabled": true}})",
       R"({"wazuh": {"enabled": true, "manager": "m", "api_url": "http://m:55000", "api_user": "u", "api_password_file": "/p"}})",
       R"({"wazuh": {"enabled": true, "manager": "m x", "api_url": "https://m", "api_user": "u", "api_password_file": "/p"}})",
       R"({"wazuh": {"on_unavailable": "retry"}})", R"({"wazuh": {"timeout_ms": 10}})",
       R"({"wazuh": {"pin_sha256": "abc"}})", R"({"wazuh": {"manager": "a\nb"}})",
       R"({"container_ldap": {"enabled": true}})",
       R"({"container_ldap": {"enabled": true, "uri": "ldaps://d", "base_dn": "dc=x", "ca_file": "/ca", "clients": {"busybox": "winbind"}}})"})
    EXPECT_FALSE(config::parse(bad)) << bad;
  auto ldap = config::parse(R"({"auth": {"backend": "ldap", "ldap": {"uri": "ldaps://dir:636", "base_dn": "dc=x",
      "ca_file": "/etc/ca.pem"}}, "container_ldap": {"enabled": true, "clients": {"debian": "nslcd"}}})");
  ASSERT_TRUE(ldap) << ldap.error().message;
  EXPECT_EQ(ldap->container_ldap.uri, "ldaps://dir:636");  // the directory the daemon uses
  EXPECT_EQ(ldap->container_ldap.ca_file, "/etc/ca.pem");
}

}  // namespace
}  // namespace lxcprov
