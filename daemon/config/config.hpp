#pragma once
// Config: everything lxcprovd reads from /etc/lxcprov/lxcprovd.json. Every key has an embedded
// default, so an empty object (or no file) is a working configuration. Parsing is pure; the
// caller reads the file. Errors name the key and the rule.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "isolation/isolation_ruleset.hpp"
#include "network/ip_pool.hpp"
#include "network/protocols.hpp"

namespace lxcprov::config {

struct Distribution {
  std::string name;           ///< LINUX_DISTRIBUTION value, e.g. "debian"
  std::string template_name;  ///< stopped container in lxcpath to snapshot-clone, e.g. "tpl-debian"
};

struct Network {
  std::string bridge = "lxcprov0";
  std::string subnet = "10.47.0.0/24";
  std::string gateway = "10.47.0.1";
  std::string first = "10.47.0.10";
  std::string last = "10.47.0.254";
  /// Name servers written into each container's /etc/resolv.conf (IPv4 addresses). Absent from
  /// the file: the host's own (from its /etc/resolv.conf, loopback ones left out, filled in by
  /// lxcprovd at start-up); [] writes none.
  std::vector<std::string> dns;
  bool dns_from_host = true;
};

/// The LDAP backend (auth.ldap). Either bind_dn_template ("uid=%u,ou=people,dc=example,dc=org",
/// %u is DN-escaped) or search-then-bind (base_dn + user_filter, %u filter-escaped, searched as
/// bind_dn with the password in bind_password_file, or anonymously when bind_dn is empty).
struct Ldap {
  std::string uri;                 ///< "ldaps://host:636" or "ldap://host:389" (then starttls)
  bool starttls = false;           ///< upgrade ldap:// with StartTLS before any bind
  std::string ca_file;             ///< PEM bundle to verify the server with; "" = system store
  bool verify_certificate = true;  ///< false only for a lab: TLS without checking who answers
  std::string bind_dn_template;
  std::string base_dn;
  std::string user_filter = "(uid=%u)";
  std::string bind_dn;
  std::string bind_password_file;                             ///< root-only file holding the service account's password
  std::string group_base_dn;                                  ///< where groups are searched ("" = base_dn)
  std::string group_filter = "(|(memberUid=%u)(member=%d))";  ///< %u user name, %d the user's DN
  std::string group_attr = "cn";
  std::chrono::milliseconds network_timeout{3000};    ///< TCP connect
  std::chrono::milliseconds operation_timeout{5000};  ///< each bind/search/StartTLS
};

struct Auth {
  std::string backend = "file";  ///< "file" (passwd_file) or "ldap"
  Ldap ldap;
};

/// Who may do what beyond their own containers.
struct Access {
  std::vector<std::string> admins;        ///< user names that may see and delete every container
  std::vector<std::string> admin_groups;  ///< groups whose members are admins (LDAP or `groups`)
  int quota_per_user = 0;                 ///< containers one user may own at once; 0 = unlimited
  /// group -> distributions its members may create. A user in none of the listed groups may use
  /// every distribution; a user in some may use the union of theirs.
  std::map<std::string, std::vector<std::string>> group_distributions;
  /// Local groups (file backend; added to LDAP groups): group -> members.
  std::map<std::string, std::vector<std::string>> groups;
};

/// Brute-force protection (auth/throttle.hpp).
struct Throttle {
  int free_failures = 3;                      ///< failures before any delay
  std::chrono::milliseconds base_delay{500};  ///< doubled per further failure
  std::chrono::milliseconds max_delay{8000};
  int lockout_failures = 10;  ///< failures that lock the user/source out
  std::chrono::seconds lockout{900};
  std::chrono::seconds window{900};  ///< failures older than this are forgotten
};

/// Port forwards (DNAT on the host, one nftables table owned by lxcprov). See docs/operations.md.
struct Ports {
  bool enabled = true;
  std::string table = "lxcprov";                     ///< `table inet <table>`; nothing outside it is touched
  uint16_t ssh_first = 2223, ssh_last = 2999;        ///< public ports for each container's ssh (22); the old range was
                                                     ///< 2222-2999, but 2222 is lxcprov's own sshd
  uint16_t extra_first = 10001, extra_last = 29999;  ///< public ports for extra protocols
  std::string public_address;                        ///< match only this host address; "" = any local non-loopback one
  bool masquerade = true;  ///< hairpin NAT for forwards; also egress NAT when isolation is off
  std::string catalog = "/etc/lxcprov/protocols.json";  ///< extra protocols users may ask for
  std::string nft = "/usr/sbin/nft";
};

/// Isolation on the bridge (network/isolation_ruleset.hpp): two nftables tables of this name,
/// `bridge` and `inet`, rendered from state. See docs/security.md.
struct Isolation {
  bool enabled = true;
  std::string table = "lxcprov_iso";          ///< must differ from ports.table (both have an inet table)
  bool isolate_owners = true;                 ///< containers of different owners cannot reach each other
  std::vector<network::HostPort> host_ports;  ///< "udp/53" ...: host services on the gateway address
  bool masquerade = true;                     ///< NAT the subnet's traffic to the outside (egress)
  std::vector<network::Cidr> deny_destinations = {{0xa9fe0000u, 16}};  ///< 169.254.0.0/16 (cloud metadata)
  std::string nft = "/usr/sbin/nft";
};

/// NAME.<domain> routed by nginx to the container's HTTP_PORT.
struct Http {
  bool enabled = true;
  std::string domain = "lxcprov.localhost";
  std::string listen_address;  ///< "" = every address
  uint16_t listen_port = 80;
  std::string include_file = "/etc/lxcprov/nginx/routes.conf";  ///< written by lxcprovd only
  std::string nginx_conf = "/etc/lxcprov/nginx/nginx.conf";     ///< the main config that includes it
  std::string nginx_prefix;                                     ///< nginx -p; "" = nginx's default
  std::string nginx = "/usr/sbin/nginx";
  /// Optional wildcard certificate for *.<domain>: routes then serve https on `listen_port` and
  /// their http listener only redirects. Paths are on the nginx host (the remote one if remote).
  struct Tls {
    std::string certificate;
    std::string key;
    uint16_t listen_port = 443;
  };
  std::optional<Tls> tls;
  /// Present: nginx runs on another host, reached over SSH (routing::NginxInstaller over a host::SshHost); then
  /// include_file, nginx_conf, nginx_prefix and nginx above are unused. Every value here ends up
  /// in a remote shell command, so each is checked for shell-safe characters at parse time.
  struct Remote {
    std::string host;
    uint16_t port = 22;
    std::string user = "root";
    std::string private_key_file;  ///< local, 0600, owned by the daemon's user
    std::string host_key_sha256;   ///< pin: "SHA256:<43 base64 characters>" (ssh-keygen -lf)
    std::string include_file;      ///< on the remote host
    std::vector<std::string> test_command{"/usr/sbin/nginx", "-t", "-q"};
    std::vector<std::string> reload_command{"/usr/sbin/nginx", "-s", "reload"};
    int64_t timeout_ms = 30000;  ///< bounds one whole install: connect, upload, test, reload
  };
  std::optional<Remote> remote;
};

/// Resource limits for every container, translated to lxc.cgroup* keys (config/limits.hpp).
struct Limits {
  std::string memory = "512M";  ///< bytes with an optional K/M/G suffix; "" = no limit
  std::string cpus = "1";       ///< CPUs as a decimal with up to 2 places ("0.5"); "" = no limit
  int64_t pids = 512;           ///< 0 = no limit
  std::string cgroup = "auto";  ///< "auto", "v1" or "v2": which lxc keys carry the limits
};

/// What keeps root in a container from being root on the host (config/confinement.hpp).
struct Confinement {
  uint32_t idmap_first = 100000;               ///< host uid and gid that container uid/gid 0 maps to
  uint32_t idmap_count = 65536;                ///< how many ids are mapped (container ids 0 .. count-1)
  std::vector<std::string> denied_syscalls;    ///< refused with EPERM besides the built-in list
  std::string apparmor_profile = "generated";  ///< used where the host has AppArmor
};

/// The Wazuh manager every container's agent is enrolled with (config/integrations.cpp). Off by
/// default. Secrets are never in this file: only the paths of root-only files holding them.
struct Wazuh {
  bool enabled = false;
  std::string manager;              ///< host name or address agents report to and enroll with
  uint16_t enrollment_port = 1515;  ///< wazuh-authd
  uint16_t agent_port = 1514;       ///< written into the agent's ossec.conf
  std::string api_url;              ///< "https://host:55000"; required when enabled
  std::string api_user;
  std::string api_password_file;            ///< root-only file: the API user's password
  std::string enrollment_password_file;     ///< root-only file: authd.pass; "" = no password
  std::string ca_file;                      ///< PEM CA for both TLS services; "" = system store
  std::string pin_sha256;                   ///< authd certificate SHA-256 (hex); set = pinned instead of CA-checked
  std::string api_pin_sha256;               ///< the same for the API certificate
  std::chrono::milliseconds timeout{5000};  ///< bounds each whole exchange (connect, TLS, request, reply)
  std::string on_unavailable = "fail";      ///< "fail" the create, or record "pending" and retry
  int retry_attempts = 10;                  ///< pending: background retries per container, then given up
  std::chrono::seconds retry_interval{60};
  std::string agent_config_template = "/etc/lxcprov/templates/wazuh-agent.conf";  ///< ossec.conf of the agent
};

/// LDAP login inside containers (sssd or nslcd, per distribution), against the same directory
/// auth.ldap uses unless overridden here. Off by default.
struct ContainerLdap {
  bool enabled = false;
  std::string uri;                                      ///< "" = auth.ldap.uri
  std::string base_dn;                                  ///< "" = auth.ldap.base_dn
  std::string ca_file;                                  ///< PEM copied into the container; "" = auth.ldap.ca_file
  std::string default_client = "sssd";                  ///< "sssd" or "nslcd"
  std::map<std::string, std::string> clients;           ///< distribution -> "sssd"|"nslcd"
  std::string template_dir = "/etc/lxcprov/templates";  ///< holds sssd.conf and nslcd.conf
};

/// Sealed templates (container/template_digest.hpp, `lxcprovctl template ...`).
struct Templates {
  /// Refuse a create whose template is unsealed or does not match its seal (a fingerprint walk
  /// before every clone). Off only where templates are checked some other way.
  bool require_seal = true;
  /// What `lxcprovctl template build` runs (scripts/build-template.sh, installed by run.sh).
  std::string build_script = "/usr/local/share/lxcprov/build-template.sh";
};

/// App deployment (deploy/): where code may come from, what may be installed, and the bounds.
/// The section is parsed by config/sections.cpp; the catalogs are their own files, loaded by lxcprovd.
struct Deploy {
  bool enabled = true;
  /// Distributions a deploy may target (they need apt and systemd).
  std::vector<std::string> distributions = {"debian"};
  std::string runtimes_catalog = "/etc/lxcprov/runtimes.json";
  std::string services_catalog = "/etc/lxcprov/services.json";
  struct Git {
    /// Repository hosts: "host" allows https on 443, "host:port" that port only. Nothing else
    /// is fetched (no http, ssh, file or other scheme; no redirect to another host).
    std::vector<std::string> allowed_hosts = {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org"};
    std::string ca_file;  ///< extra PEM CA for the git hosts (a private forge); "" = system store
    /// Host user the pre-create repository check runs git as (never root: git talks to the network).
    std::string check_user = "lxcprov-git";
    std::chrono::seconds check_timeout{20};
    std::chrono::seconds fetch_timeout{300};       ///< the clone inside the container
    uint64_t max_repository_bytes = 512ull << 20;  ///< the clone's size on disk; bigger fails the job
  } git;
  bool allow_custom_services = false;         ///< CUSTOM_SERVICES: root commands in the container
  uint32_t app_uid = 5000;                    ///< the container user apps run as ("app"), and its group
  std::chrono::seconds install_timeout{900};  ///< packages, services, install and build commands, each
  std::chrono::seconds health_timeout{60};    ///< until the units are active and HTTP_PORT answers
  int keep_releases = 2;                      ///< releases kept in the container after an update
  uint64_t max_output_bytes = 4ull << 20;     ///< streamed output per job; the job log keeps the last 256 KiB
};

/// A fleet of hypervisors sharing one PostgreSQL state (docs/operations.md, "A fleet").
struct Fleet {
  /// libpq connection string of the shared state ("host=/run/postgresql dbname=lxcprov"); "" =
  /// this host alone, its state in SQLite at Config::database. It may hold a password, so it is
  /// never logged; prefer peer or certificate authentication, or a passfile.
  std::string database;
  std::string node;  ///< this hypervisor's name in the fleet (fleet::valid_node_name); required with database
  /// How often this node reports to the registry; a node whose last report is 3 intervals old is
  /// down (placement passes over it, the entry says it is unavailable).
  std::chrono::seconds heartbeat{10};
  /// The local account an entry's relayed sessions arrive as (sshd's forced command
  /// `lxcprov-shell --relay` for the entry's key: setup-sshd.sh --fleet-entry-key). Its sessions
  /// carry the identity the entry proved; no other peer may assert one. "" = no entry relays here.
  std::string relay_account = "lxcprov-fleet";
  /// This daemon is an entry: it places creates on nodes and relays each session whose container
  /// is on another node to that node, over ssh as `user` with `key`, checking the node's host key
  /// against `known_hosts`.
  struct Entry {
    bool enabled = false;
    std::string ssh = "/usr/bin/ssh";
    std::string key;          ///< private key file (0600)
    std::string known_hosts;  ///< the nodes' host keys, as "[host]:port key" lines
    std::string user = "lxcprov-fleet";
    /// ssh's control sockets, one master connection per node kept for `persist`, so a session
    /// costs a new channel, not a new connection; root's only (0700): whoever can reach a control
    /// socket can open sessions on the node.
    std::string control_dir = "/run/lxcprov/fleet";
    std::chrono::seconds persist{300};
  } entry;
  /// The age after which a node counts as down.
  std::chrono::seconds node_down_after() const { return heartbeat * 3; }
  /// Whether this daemon's port forwards and HTTP routes serve the containers on `container_node`:
  /// a single host and an entry serve every container (the entry is the fleet's one way in), any
  /// other node its own only.
  bool serves(const std::string& container_node) const {
    return database.empty() || entry.enabled || container_node == node;
  }
};

struct Config {
  std::string socket_path = "/run/lxcprov/lxcprovd.sock";
  /// Local accounts allowed to connect (besides root), checked with SO_PEERCRED.
  std::vector<std::string> allowed_peers = {"create-container", "container-exists", "delete-container",
                                            "update-container"};
  std::string database = "/var/lib/lxcprov/state.db";
  Fleet fleet;
  std::string lxcpath = "/var/lib/lxcprov/lxc";
  std::string passwd_file = "/etc/lxcprov/passwd";
  /// The hash-chained audit trail (docs/security.md "Audit trail"): lxcprovd and lxcprovctl append.
  std::string audit_log = "/var/log/lxcprov/audit.log";
  int workers = 4;         ///< jobs that run at once; more wait in line
  int max_sessions = 256;  ///< connections served at once; more are refused
  /// Of max_sessions, the places sessions that have not authenticated yet may never take: kept
  /// for key-bound and password-checked users (docs/security.md, "Denial of service").
  int reserved_sessions = 32;
  int max_unauthenticated_per_source = 32;        ///< per ssh client address (a local caller: per uid)
  std::chrono::seconds auth_timeout{30};          ///< from connect until authenticated, all prompts included
  std::chrono::seconds refusal_log_interval{60};  ///< refused connections: one count line per kind per interval
  /// Group of the socket (mode 0660): the ssh accounts are its members (setup-sshd.sh). "" or a
  /// group that does not exist: mode 0666 (SO_PEERCRED still decides), with a warning.
  std::string socket_group = "lxcprov";
  uint32_t frame_limit = 1u << 20;
  std::chrono::seconds answer_timeout{300};  ///< how long a prompt waits for its answer once authenticated
  std::chrono::milliseconds start_timeout{15000};
  int64_t ctid_min = 100;
  Network network;
  std::vector<Distribution> distributions = {{"busybox", "tpl-busybox"}, {"debian", "tpl-debian"}};
  std::string default_distribution = "debian";  ///< what users get; busybox is for fast tests
  uint16_t default_http_port = 3000;
  /// Host name users reach containers through, shown in the final message.
  std::string public_host = "127.0.0.1";
  Ports ports;
  Isolation isolation;
  Http http;
  Limits limits;
  Confinement confinement;
  /// Extra lxc.* keys for every container (resource limits...), applied in order.
  std::vector<std::pair<std::string, std::string>> lxc_config;
  /// Key-bound identities: the registry lxcprovctl manages and the authorized_keys it renders.
  std::string keys_file = "/etc/lxcprov/keys";
  std::string authorized_keys_dir = "/etc/lxcprov/authorized_keys";
  std::string shell_path = "/usr/local/bin/lxcprov-shell";
  Auth auth;
  Access access;
  Throttle throttle;
  Wazuh wazuh;
  ContainerLdap container_ldap;
  Templates templates;
  Deploy deploy;

  network::IpPool pool;  ///< derived from `network` by parse()
  /// The extra-protocol catalog: not part of this file; lxcprovd loads it from ports.catalog.
  std::vector<network::Protocol> protocols;
  std::vector<std::string> distribution_names() const;
  const Distribution* find_distribution(std::string_view name) const;
};

/// Parses the JSON text of a config file over the embedded defaults.
Result<Config> parse(std::string_view json_text);
/// The IPv4 name servers of a resolv.conf text that a container can use: loopback ones (a
/// resolver on the host's own 127.0.0.x) are left out.
std::vector<std::string> usable_name_servers(std::string_view resolv_conf);

/// The embedded defaults (parse("{}")).
Config defaults();

}  // namespace lxcprov::config
