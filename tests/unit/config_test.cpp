#include <gtest/gtest.h>

#include "config/config.hpp"

namespace lxcprov::config {
namespace {

TEST(Config, EmptyObjectGivesTheEmbeddedDefaults) {
  auto c = parse("{}");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->socket_path, "/run/lxcprov/lxcprovd.sock");
  EXPECT_EQ(c->audit_log, "/var/log/lxcprov/audit.log");
  EXPECT_EQ(c->network.bridge, "lxcprov0");
  EXPECT_EQ(c->default_distribution, "debian");
  ASSERT_NE(c->find_distribution("debian"), nullptr);
  EXPECT_EQ(c->find_distribution("debian")->template_name, "tpl-debian");
  EXPECT_EQ(c->pool.cidr(c->pool.first()), "10.47.0.10/24");
}

TEST(Config, SessionLimitsHaveDefaultsAndOverrides) {
  auto d = parse("{}");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->max_sessions, 256);
  EXPECT_EQ(d->reserved_sessions, 32);
  EXPECT_EQ(d->max_unauthenticated_per_source, 32);
  EXPECT_EQ(d->auth_timeout, std::chrono::seconds(30));
  EXPECT_EQ(d->answer_timeout, std::chrono::seconds(300));
  EXPECT_EQ(d->refusal_log_interval, std::chrono::seconds(60));
  EXPECT_EQ(d->socket_group, "lxcprov");
  auto c = parse(R"({"max_sessions": 20, "reserved_sessions": 4, "max_unauthenticated_per_source": 3,
                    "auth_timeout_s": 2, "refusal_log_interval_s": 5, "socket_group": "ops"})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->reserved_sessions, 4);
  EXPECT_EQ(c->max_unauthenticated_per_source, 3);
  EXPECT_EQ(c->auth_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c->refusal_log_interval, std::chrono::seconds(5));
  EXPECT_EQ(c->socket_group, "ops");
}

TEST(Config, OverridesApply) {
  auto c = parse(R"({"workers": 8, "network": {"bridge": "br9", "subnet": "10.9.0.0/16", "gateway": "10.9.0.1",
                    "first": "10.9.1.1", "last": "10.9.1.9"}, "distributions": {"alpine": {"template": "tpl-a"}},
                    "lxc_config": {"lxc.cgroup2.memory.max": "512M"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->workers, 8);
  EXPECT_EQ(c->network.bridge, "br9");
  EXPECT_EQ(c->default_distribution, "alpine");
  EXPECT_EQ(c->distribution_names(), std::vector<std::string>{"alpine"});
  ASSERT_EQ(c->lxc_config.size(), 1u);
}

TEST(Config, AFleetIsAPostgresStateAndThisNodesName) {
  auto single = parse("{}");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->fleet.database, "") << "one host, SQLite, by default";
  auto fleet = parse(R"({"fleet": {"database": "host=/run/postgresql dbname=lxcprov", "node": "hv-2"}})");
  ASSERT_TRUE(fleet) << fleet.error().message;
  EXPECT_EQ(fleet->fleet.database, "host=/run/postgresql dbname=lxcprov");
  EXPECT_EQ(fleet->fleet.node, "hv-2");
}

TEST(Config, ErrorsNameTheKeyAndTheRule) {
  struct Case {
    const char* json;
    const char* key;
  } cases[] = {
      {"[]", "config file"},
      {"{\"workers\": 0}", "workers"},
      {"{\"workers\": \"4\"}", "workers"},
      {"{\"socket\": \"\"}", "socket"},
      {"{\"network\": {\"subnet\": \"10.0.0.0/33\"}}", "network.subnet"},
      {"{\"network\": {\"bridge\": \"a-very-long-bridge-name\"}}", "network.bridge"},
      {"{\"distributions\": {}}", "distributions"},
      {"{\"default_distribution\": \"arch\"}", "default_distribution"},
      {"{\"lxc_config\": {\"lxc.include\": \"/etc/x\"}}", "lxc_config.lxc.include"},
      {"{\"lxc_config\": {\"lxc.hook.pre-start\": \"/bin/x\"}}", "lxc_config.lxc.hook.pre-start"},
      {"{\"lxc_config\": {\"lxc.x\": \"a\\nlxc.include = /etc\"}}", "lxc_config.lxc.x"},
      {"{\"allowed_peers\": [1]}", "allowed_peers"},
      {"{\"audit_log\": \"audit.log\"}", "audit_log"},
      {"{\"audit_log\": \"\"}", "audit_log"},
      {"{\"max_sessions\": 10, \"reserved_sessions\": 10}", "reserved_sessions"},
      {"{\"reserved_sessions\": -1}", "reserved_sessions"},
      {"{\"max_unauthenticated_per_source\": 0}", "max_unauthenticated_per_source"},
      {"{\"auth_timeout_s\": 0}", "auth_timeout_s"},
      {"{\"refusal_log_interval_s\": 0}", "refusal_log_interval_s"},
      {"{\"socket_group\": \"\"}", "socket_group"},
      {"{\"fleet\": []}", "fleet"},
      {"{\"fleet\": {\"database\": \"dbname=lxcprov\"}}", "fleet.node"},
      {"{\"fleet\": {\"database\": \"dbname=lxcprov\", \"node\": \"HV_1\"}}", "fleet.node"},
      {"{\"fleet\": {\"database\": \"\"}}", "fleet.database"},
      {"{\"fleet\": {\"entry\": {\"key\": \"/k\", \"known_hosts\": \"/h\"}}}", "fleet.entry"},
      {"{\"fleet\": {\"database\": \"d\", \"node\": \"n\", \"entry\": {\"key\": \"k\"}}}", "fleet.entry.key"},
      {"{\"fleet\": {\"database\": \"d\", \"node\": \"n\", \"entry\": {\"key\": \"/k\", \"known_hosts\": "
       "\"/h\", \"control_dir\": \"run\"}}}",
       "fleet.entry.control_dir"},
      {"{\"fleet\": {\"database\": \"d\", \"node\": \"n\", \"heartbeat_s\": 0}}", "heartbeat_s"},
  };
  for (const auto& c : cases) {
    auto r = parse(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace lxcprov::config

namespace lxcprov::config {
namespace {

TEST(Config, NameServersComeFromTheHostUnlessConfigured) {
  auto c = parse("{}");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->network.dns_from_host);
  auto set = parse(R"({"network": {"dns": ["192.0.2.53", "198.51.100.1"]}})");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_FALSE(set->network.dns_from_host);
  EXPECT_EQ(set->network.dns, (std::vector<std::string>{"192.0.2.53", "198.51.100.1"}));
  auto none = parse(R"({"network": {"dns": []}})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->network.dns_from_host);
  EXPECT_TRUE(none->network.dns.empty());
  for (const char* bad : {R"({"network": {"dns": ["8.8.8.8; id"]}})", R"({"network": {"dns": ["::1"]}})",
                          R"({"network": {"dns": "8.8.8.8"}})"}) {
    auto r = parse(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("network.dns"), std::string::npos) << r.error().message;
  }
}

TEST(Config, UsableNameServersSkipLoopbackAndIpv6) {
  EXPECT_EQ(usable_name_servers("# comment\nnameserver 10.255.255.53\nsearch example.org\n"
                                "nameserver 127.0.0.53\nnameserver ::1\nnameserver\t192.0.2.1 \r\n"
                                "nameservers 1.2.3.4\noptions edns0\n"),
            (std::vector<std::string>{"10.255.255.53", "192.0.2.1"}));
  EXPECT_TRUE(usable_name_servers("").empty());
}

TEST(IsolationConfig, DefaultsAndOverrides) {
  auto d = defaults();
  EXPECT_TRUE(d.isolation.enabled);
  EXPECT_EQ(d.isolation.table, "lxcprov_iso");
  EXPECT_TRUE(d.isolation.isolate_owners);
  EXPECT_TRUE(d.isolation.host_ports.empty());
  EXPECT_TRUE(d.isolation.masquerade);
  EXPECT_EQ(d.isolation.deny_destinations, (std::vector<network::Cidr>{{*network::parse_ipv4("169.254.0.0"), 16}}));
  EXPECT_EQ(d.isolation.nft, "/usr/sbin/nft");
  auto c = parse(R"({"isolation": {"enabled": true, "table": "lxit_9", "isolate_owners": false,
                     "host_ports": ["udp/53", "tcp/636"], "masquerade": false,
                     "deny_destinations": ["10.0.0.0/8", "192.0.2.7/32", "0.0.0.0/0"], "nft": "/sbin/nft"}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->isolation.table, "lxit_9");
  EXPECT_FALSE(c->isolation.isolate_owners);
  EXPECT_EQ(c->isolation.host_ports, (std::vector<network::HostPort>{{"udp", 53}, {"tcp", 636}}));
  EXPECT_FALSE(c->isolation.masquerade);
  EXPECT_EQ(c->isolation.deny_destinations,
            (std::vector<network::Cidr>{{0x0a000000u, 8}, {*network::parse_ipv4("192.0.2.7"), 32}, {0, 0}}));
  EXPECT_EQ(c->isolation.nft, "/sbin/nft");
  auto empty = parse(R"({"isolation": {"deny_destinations": []}})");
  ASSERT_TRUE(empty) << empty.error().message;
  EXPECT_TRUE(empty->isolation.deny_destinations.empty());
  // Off: the bridge name and the table are not rendered, so only the table's own rule applies.
  EXPECT_TRUE(parse(R"({"isolation": {"enabled": false, "table": "lxcprov"}})"));
}

TEST(IsolationConfig, ErrorsNameTheKeyAndTheRule) {
  const std::vector<std::pair<const char*, const char*>> cases{
      {R"({"isolation": []})", "config isolation: must be an object"},
      {R"({"isolation": {"enabled": "yes"}})", "config isolation.enabled: must be true or false"},
      {R"({"isolation": {"isolate_owners": 1}})", "config isolation.isolate_owners: must be true or false"},
      {R"({"isolation": {"masquerade": null}})", "config isolation.masquerade: must be true or false"},
      {R"({"isolation": {"table": "x;flush ruleset"}})", "config isolation.table: must be 1-32 characters"},
      {R"({"isolation": {"table": ""}})", "config isolation.table: must be a non-empty string"},
      {R"({"isolation": {"table": "lxcprov"}})", "config isolation.table: must differ from ports.table"},
      {R"({"isolation": {"nft": "nft"}})", "config isolation.nft: must be an absolute path"},
      {R"({"isolation": {"host_ports": "udp/53"}})", "config isolation.host_ports: must be an array of"},
      {R"({"isolation": {"host_ports": ["udp/53", "sctp/9"]}})", "config isolation.host_ports[1]: must be"},
      {R"({"isolation": {"host_ports": ["tcp/0"]}})", "config isolation.host_ports[0]: must be"},
      {R"({"isolation": {"host_ports": ["tcp/65536"]}})", "config isolation.host_ports[0]: must be"},
      {R"({"isolation": {"host_ports": ["tcp/53 accept"]}})", "config isolation.host_ports[0]: must be"},
      {R"({"isolation": {"host_ports": [53]}})", "config isolation.host_ports[0]: must be"},
      {R"({"isolation": {"deny_destinations": ["169.254.0.1/16"]}})",
       "config isolation.deny_destinations[0]: must be \"A.B.C.D/N\" network strings (N from 0 to 32, no host bits "
       "set)"},
      {R"({"isolation": {"deny_destinations": ["10.0.0.0/33"]}})", "config isolation.deny_destinations[0]: must be"},
      {R"({"isolation": {"deny_destinations": ["10.0.0.0"]}})", "config isolation.deny_destinations[0]: must be"},
      {R"({"isolation": {"deny_destinations": ["example.org/8"]}})", "config isolation.deny_destinations[0]: must be"},
      {R"({"network": {"bridge": "br\"0"}})", "config network.bridge: must be 1-15 characters"},
  };
  for (const auto& [text, prefix] : cases) {
    auto c = parse(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().message.rfind(prefix, 0), 0u) << text << " -> " << c.error().message;
  }
}

}  // namespace
}  // namespace lxcprov::config

namespace lxcprov::config {
namespace {

TEST(ConfigDeploy, DefaultsAndOverrides) {
  auto d = parse("{}");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->deploy.enabled);
  EXPECT_EQ(d->deploy.distributions, std::vector<std::string>{"debian"});
  EXPECT_EQ(d->deploy.git.allowed_hosts.size(), 4u);
  EXPECT_FALSE(d->deploy.allow_custom_services);

  auto c = parse(R"({"deploy": {"enabled": false, "distributions": ["busybox", "debian"],
      "runtimes_catalog": "/srv/r.json", "services_catalog": "/srv/s.json",
      "git": {"allowed_hosts": ["git.example.org", "10.47.0.1:8443"], "ca_file": "/etc/ca.pem",
              "check_user": "gitcheck", "check_timeout_s": 5, "fetch_timeout_s": 60, "max_repository_bytes": 1048576},
      "allow_custom_services": true, "app_uid": 1000, "install_timeout_s": 1, "health_timeout_s": 30,
      "keep_releases": 10, "max_output_bytes": 65536, "//": "a comment"}})");
  ASSERT_TRUE(c) << c.error().message;
  const auto& D = c->deploy;
  EXPECT_FALSE(D.enabled);
  EXPECT_EQ(D.distributions, (std::vector<std::string>{"busybox", "debian"}));
  EXPECT_EQ(D.runtimes_catalog, "/srv/r.json");
  EXPECT_EQ(D.services_catalog, "/srv/s.json");
  EXPECT_EQ(D.git.allowed_hosts, (std::vector<std::string>{"git.example.org", "10.47.0.1:8443"}));
  EXPECT_EQ(D.git.ca_file, "/etc/ca.pem");
  EXPECT_EQ(D.git.check_user, "gitcheck");
  EXPECT_EQ(D.git.check_timeout, std::chrono::seconds(5));
  EXPECT_EQ(D.git.fetch_timeout, std::chrono::seconds(60));
  EXPECT_EQ(D.git.max_repository_bytes, 1048576u);
  EXPECT_TRUE(D.allow_custom_services);
  EXPECT_EQ(D.app_uid, 1000u);
  EXPECT_EQ(D.install_timeout, std::chrono::seconds(1));
  EXPECT_EQ(D.health_timeout, std::chrono::seconds(30));
  EXPECT_EQ(D.keep_releases, 10);
  EXPECT_EQ(D.max_output_bytes, 65536u);
}

TEST(ConfigDeploy, DefaultDistributionsShrinkToTheConfiguredOnes) {
  auto c = parse(R"({"distributions": {"busybox": {"template": "tpl-busybox"}}})");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->deploy.distributions.empty());
  auto named = parse(R"({"distributions": {"busybox": {"template": "tpl-busybox"}},
                         "deploy": {"distributions": ["debian"]}})");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().message, "config deploy.distributions: debian is not a configured distribution");
}

TEST(ConfigDeploy, ErrorsNameTheKeyAndTheRule) {
  const std::string host_rule =
      "entries must be lower-case DNS names or IPv4 addresses, each with an optional :port (1-65535)";
  struct Row {
    std::string json, message;
  };
  for (const Row& row : std::vector<Row>{
           {R"({"deploy": []})", "config deploy: must be an object"},
           {R"({"deploy": {"enable": true}})", "config deploy.enable: is not a known key"},
           {R"({"deploy": {"enabled": "yes"}})", "config deploy.enabled: must be true or false"},
           {R"({"deploy": {"distributions": "debian"}})", "config deploy.distributions: must be an array of strings"},
           {R"({"deploy": {"distributions": ["rocky"]}})",
            "config deploy.distributions: rocky is not a configured distribution"},
           {R"({"deploy": {"runtimes_catalog": "runtimes.json"}})",
            "config deploy.runtimes_catalog: must be an absolute path"},
           {R"({"deploy": {"services_catalog": ""}})", "config deploy.services_catalog: must be a non-empty string"},
           {R"({"deploy": {"git": "github.com"}})", "config deploy.git: must be an object"},
           {R"({"deploy": {"git": {"allowed_host": []}}})", "config deploy.git.allowed_host: is not a known key"},
           {R"({"deploy": {"git": {"allowed_hosts": "github.com"}}})",
            "config deploy.git.allowed_hosts: must be an array of strings"},
           {R"({"deploy": {"git": {"allowed_hosts": ["GitHub.com"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["https://github.com"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["github.com:0"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["github.com:65536"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["github.com:08443"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["*.github.com"]}}})",
            "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["10.0.0"]}}})", "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"allowed_hosts": ["-x.org"]}}})", "config deploy.git.allowed_hosts: " + host_rule},
           {R"({"deploy": {"git": {"ca_file": "ca.pem"}}})",
            "config deploy.git.ca_file: must be an absolute path or \"\""},
           {R"({"deploy": {"git": {"check_user": "root"}}})",
            "config deploy.git.check_user: must be a login name (a-z 0-9 _ -) other than root: git talks to the "
            "network"},
           {R"({"deploy": {"git": {"check_user": "a b"}}})",
            "config deploy.git.check_user: must be a login name (a-z 0-9 _ -) other than root: git talks to the "
            "network"},
           {R"({"deploy": {"git": {"check_timeout_s": 0}}})",
            "config deploy.git.check_timeout_s: must be an integer from 1 to 600"},
           {R"({"deploy": {"git": {"fetch_timeout_s": -5}}})",
            "config deploy.git.fetch_timeout_s: must be an integer from 1 to 86400"},
           {R"({"deploy": {"git": {"max_repository_bytes": 0}}})",
            "config deploy.git.max_repository_bytes: must be an integer from 1048576 to 1099511627776"},
           {R"({"deploy": {"allow_custom_services": 1}})",
            "config deploy.allow_custom_services: must be true or false"},
           {R"({"deploy": {"app_uid": 999}})", "config deploy.app_uid: must be an integer from 1000 to 60000"},
           {R"({"deploy": {"app_uid": 60001}})", "config deploy.app_uid: must be an integer from 1000 to 60000"},
           {R"({"deploy": {"install_timeout_s": 0}})",
            "config deploy.install_timeout_s: must be an integer from 1 to 86400"},
           {R"({"deploy": {"health_timeout_s": 0}})",
            "config deploy.health_timeout_s: must be an integer from 1 to 3600"},
           {R"({"deploy": {"keep_releases": 0}})", "config deploy.keep_releases: must be an integer from 1 to 10"},
           {R"({"deploy": {"keep_releases": 11}})", "config deploy.keep_releases: must be an integer from 1 to 10"},
           {R"({"deploy": {"max_output_bytes": 1024}})",
            "config deploy.max_output_bytes: must be an integer from 65536 to 1073741824"},
       }) {
    auto r = parse(row.json);
    ASSERT_FALSE(r) << row.json;
    EXPECT_EQ(r.error().message, row.message) << row.json;
  }
}

}  // namespace
}  // namespace lxcprov::config
