#include "wiring/daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "audit/file_trail.hpp"
#include "auth/authenticator.hpp"
#include "auth/ldap_authenticator.hpp"
#include "common/asio.hpp"
#include "config/config.hpp"
#include "container/cgroup_probe.hpp"
#include "container/liblxc_runtime.hpp"
#include "container/template_seal.hpp"
#include "deploy/catalog.hpp"
#include "deploy/deploy_feature.hpp"
#include "deploy/git_cli.hpp"
#include "deploy/tcp_http_probe.hpp"
#include "fleet/heartbeat.hpp"
#include "fleet/node_routes.hpp"
#include "fleet/placement.hpp"
#include "forwarding/forwarding_feature.hpp"
#include "host/local_host.hpp"
#include "host/ssh_host.hpp"
#include "isolation/isolation_feature.hpp"
#include "jobs/provisioner.hpp"
#include "jobs/queries.hpp"
#include "ldap_login/ldap_login_feature.hpp"
#include "log/log.hpp"
#include "network/ip_routes.hpp"
#include "network/nft_applier.hpp"
#include "network/protocols.hpp"
#include "routing/nginx_installer.hpp"
#include "routing/nginx_routes.hpp"
#include "routing/routing_feature.hpp"
#include "server/server.hpp"
#include "server/service_manager.hpp"
#include "state/open_state.hpp"
#include "state/pg_listener.hpp"
#include "wazuh/wazuh_client.hpp"
#include "wazuh/wazuh_feature.hpp"

namespace lxcprov::wiring {
namespace {

using namespace std::chrono_literals;

constexpr int ex_config = 78;
constexpr const char* default_config_path = "/etc/lxcprov/lxcprovd.json";

int usage() {
  std::cerr << "usage: lxcprovd [--config FILE] [--log stderr|journald] [--debug]\n";
  return 2;
}

// Start-up and background work report to the daemon log.
class LogReporter : public jobs::Reporter {
 public:
  explicit LogReporter(std::string what) : what_(std::move(what)) {}
  void step_started(std::string_view step) override { log::info(fmt::format("{}: {} ...", what_, step)); }
  void step_finished(std::string_view step, std::chrono::microseconds) override {
    log::info(fmt::format("{}: {} done", what_, step));
  }
  void step_failed(std::string_view step, const Error& e) override {
    log::error(fmt::format("{}: {} failed: {}", what_, step, e.message));
  }
  void undo_failed(std::string_view step, const Error& e) override {
    log::error(fmt::format("{}: undo of {} failed: {}", what_, step, e.message));
  }
  void info(std::string_view text) override { log::info(text); }

 private:
  std::string what_;
};

// Everything the daemon runs with, owned here and destroyed in reverse order.
struct Parts {
  host::LocalHost host;
  state::OpenedState state;  ///< SQLite, or the fleet's PostgreSQL
  std::unique_ptr<container::LiblxcRuntime> liblxc;
  std::unique_ptr<auth::Authenticator> authenticator;
  // The features' own edges.
  std::unique_ptr<network::NftApplier> isolation_nft, forwarding_nft;
  std::unique_ptr<host::SshHost> nginx_host;
  std::unique_ptr<routing::NginxInstaller> nginx;
  std::unique_ptr<wazuh::WazuhClient> wazuh_client;
  std::unique_ptr<wazuh::AgentRecords> wazuh_records;
  deploy::Catalog deploy_catalog;
  bool deploying = false;  ///< deploy.enabled and its catalogs read
  deploy::TcpHttpProbe deploy_probe;
  deploy::SystemClock deploy_clock;
  std::vector<std::unique_ptr<jobs::Feature>> features;
  wazuh::WazuhFeature* wazuh = nullptr;
  std::jthread wazuh_retries;
  std::jthread heartbeat;  ///< a fleet node's, to the node registry
};

Result<config::Config> load_config(host::Host& host, const std::string& path, bool given) {
  std::string text = "{}";
  if (auto r = host.read_file(path)) {
    text = std::move(*r);
  } else if (given || r.error().code != Errc::not_found) {
    return make_error(Errc::invalid_argument, fmt::format("cannot read config {}: {}", path, r.error().message));
  }
  auto cfg = config::parse(text);
  if (!cfg) return cfg.error();
  if (cfg->ports.enabled) {
    // The catalog is its own file so an operator can edit the protocol list without the daemon
    // config; without it no extra protocol is offered (a request for one is refused, not ignored).
    if (auto c = host.read_file(cfg->ports.catalog)) {
      auto catalog = network::parse_protocol_catalog(*c);
      if (!catalog)
        return make_error(Errc::invalid_argument, fmt::format("{}: {}", cfg->ports.catalog, catalog.error().message));
      cfg->protocols = std::move(*catalog);
    } else {
      log::warn(fmt::format("no protocol catalog at {}: extra protocols are not offered", cfg->ports.catalog));
    }
  }
  if (cfg->network.dns_from_host) {
    cfg->network.dns = config::usable_name_servers(host.read_file("/etc/resolv.conf").value_or(""));
    if (cfg->network.dns.empty())
      log::warn("the host's resolv.conf names no name server containers can use: set network.dns");
  }
  return cfg;
}

// --- one block per feature -----------------------------------------------------------------------

void wire_isolation(const config::Config& cfg, state::Store& store, Parts& p) {
  if (!cfg.isolation.enabled) return;
  p.isolation_nft = std::make_unique<network::NftApplier>("the container isolation");
  p.features.push_back(std::make_unique<isolation::IsolationFeature>(cfg, store, *p.isolation_nft));
}

void wire_forwarding(const config::Config& cfg, state::Store& store, Parts& p) {
  if (!cfg.ports.enabled) return;
  p.forwarding_nft = std::make_unique<network::NftApplier>();
  p.features.push_back(std::make_unique<forwarding::ForwardingFeature>(cfg, store, *p.forwarding_nft, p.state.nodes));
}

void wire_routing(const config::Config& cfg, state::Store& store, Parts& p) {
  if (!cfg.http.enabled) return;
  if (cfg.http.remote) {
    const auto& r = *cfg.http.remote;
    const std::chrono::milliseconds timeout(r.timeout_ms);
    p.nginx_host = std::make_unique<host::SshHost>(
        host::SshHostSettings{r.host, r.port, r.user, r.private_key_file, r.host_key_sha256, timeout});
    p.nginx = std::make_unique<routing::NginxInstaller>(
        *p.nginx_host, routing::NginxInstallerSettings{r.include_file, r.test_command, r.reload_command, timeout, {}});
  } else {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(cfg.http.include_file).parent_path(), ec);
    auto settings = routing::local_nginx_settings(cfg.http.nginx, cfg.http.nginx_prefix, cfg.http.nginx_conf,
                                                  cfg.http.include_file, 30s);
    if (auto conf = p.host.read_file(cfg.http.nginx_conf))
      settings.pid_file = routing::nginx_pid_path(*conf, cfg.http.nginx_prefix);
    log::info(settings.pid_file.empty()
                  ? fmt::format("nginx routes: reloaded by `nginx -s reload` ({} names no absolute pid file)",
                                cfg.http.nginx_conf)
                  : fmt::format("nginx routes: reloaded by SIGHUP to the master in {}", settings.pid_file));
    p.nginx = std::make_unique<routing::NginxInstaller>(p.host, std::move(settings));
  }
  p.features.push_back(std::make_unique<routing::RoutingFeature>(cfg, store, *p.nginx));
}

Status wire_ldap_login(const config::Config& cfg, container::ContainerRuntime& runtime, Parts& p) {
  if (!cfg.container_ldap.enabled) return {};
  const auto& L = cfg.container_ldap;
  std::map<std::string, std::string> templates;
  for (const char* client : {"sssd", "nslcd"}) {
    // Only the clients some distribution uses must exist.
    bool used = L.default_client == client;
    for (const auto& [d, c] : L.clients) used = used || c == client;
    if (!used) continue;
    auto t = p.host.read_file(L.template_dir + "/" + client + ".conf");
    if (!t) return make_error(Errc::invalid_argument, fmt::format("the LDAP client template: {}", t.error().message));
    templates[client] = std::move(*t);
  }
  auto ca = p.host.read_file(L.ca_file);
  if (!ca) return make_error(Errc::invalid_argument, fmt::format("the container_ldap CA: {}", ca.error().message));
  if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return make_error(Errc::invalid_argument, fmt::format("{} is not a PEM certificate", L.ca_file));
  p.features.push_back(
      std::make_unique<ldap_login::LdapLoginFeature>(cfg, runtime, std::move(templates), std::move(*ca)));
  return {};
}

Status wire_wazuh(const config::Config& cfg, state::Store& store, container::ContainerRuntime& runtime, Parts& p) {
  if (!cfg.wazuh.enabled) return {};
  auto t = p.host.read_file(cfg.wazuh.agent_config_template);
  if (!t) return make_error(Errc::invalid_argument, fmt::format("the Wazuh agent template: {}", t.error().message));
  auto records = state::open_agent_records(cfg);
  if (!records) return records.error();
  p.wazuh_records = std::move(*records);
  p.wazuh_client = std::make_unique<wazuh::WazuhClient>(cfg.wazuh);
  auto feature =
      std::make_unique<wazuh::WazuhFeature>(cfg, store, runtime, *p.wazuh_client, *p.wazuh_records, std::move(*t));
  p.wazuh = feature.get();
  p.features.push_back(std::move(feature));
  return {};
}

// Last: its steps run after LDAP login and the Wazuh agent are in place.
Status wire_deploy(const config::Config& cfg, state::Store& store, container::ContainerRuntime& runtime, Parts& p) {
  if (!cfg.deploy.enabled) return {};
  const auto& D = cfg.deploy;
  auto runtimes = p.host.read_file(D.runtimes_catalog);
  auto services = p.host.read_file(D.services_catalog);
  for (const auto* r : {&runtimes, &services})
    if (!*r && r->error().code == Errc::not_found) {
      // Like the protocol catalog: without the files nothing can be deployed, and the server
      // refuses deploy values (the request checks need the same catalogs).
      log::warn(
          fmt::format("no deploy catalogs at {} and {}: deploying is off", D.runtimes_catalog, D.services_catalog));
      return {};
    }
  if (!runtimes)
    return make_error(Errc::invalid_argument, fmt::format("the runtimes catalog: {}", runtimes.error().message));
  if (!services)
    return make_error(Errc::invalid_argument, fmt::format("the services catalog: {}", services.error().message));
  auto catalog = deploy::parse_catalog(*runtimes, *services);
  if (!catalog)
    return make_error(Errc::invalid_argument, fmt::format("the deploy catalogs: {}", catalog.error().message));
  p.deploy_catalog = std::move(*catalog);
  std::string ca;
  if (!D.git.ca_file.empty()) {
    auto pem = p.host.read_file(D.git.ca_file);
    if (!pem) return make_error(Errc::invalid_argument, fmt::format("deploy.git.ca_file: {}", pem.error().message));
    if (pem->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return make_error(Errc::invalid_argument, fmt::format("{} is not a PEM certificate", D.git.ca_file));
    ca = std::move(*pem);
  }
  p.features.push_back(std::make_unique<deploy::DeployFeature>(cfg, store, runtime, p.deploy_catalog, p.deploy_probe,
                                                               p.deploy_clock, std::move(ca)));
  p.deploying = true;
  return {};
}

// Retries the agents creates left pending, every wazuh.retry_interval, until the daemon stops.
void start_wazuh_retries(const config::Config& cfg, Parts& p) {
  if (!p.wazuh || cfg.wazuh.on_unavailable != "pending" || cfg.wazuh.retry_attempts == 0) return;
  p.wazuh_retries = std::jthread([&cfg, feature = p.wazuh](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    LogReporter reporter("wazuh retry");
    for (;;) {
      std::unique_lock lock(m);
      if (cv.wait_for(lock, stop, cfg.wazuh.retry_interval, [] { return false; }) || stop.stop_requested()) return;
      lock.unlock();
      feature->retry_pending(reporter);
    }
  });
}

// A fleet node tells the registry it is up, and how much memory it has free, every few seconds:
// placement passes over a node whose heartbeat stops (config::Fleet::node_down_after). A node that is not
// registered, or is registered with another subnet, is said once in the log, not on every beat.
void start_heartbeat(const config::Config& cfg, Parts& p) {
  if (p.state.nodes == nullptr) return;
  p.heartbeat = std::jthread([&cfg, nodes = p.state.nodes, &host = p.host](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::string said;
    for (;;) {
      const auto memory = fleet::parse_meminfo(host.read_file("/proc/meminfo").value_or(""));
      std::string problem;
      if (auto s = nodes->node_seen(cfg.fleet.node, memory ? memory->total_kb : 0, memory ? memory->available_kb : 0);
          !s) {
        problem = s.error().code == Errc::not_found
                      ? fmt::format(
                            "node {} is not in the fleet's registry: no container is placed here until "
                            "`lxcprovctl node add {}` is run",
                            cfg.fleet.node, cfg.fleet.node)
                      : fmt::format("heartbeat: {}", s.error().message);
      } else if (auto all = nodes->list_nodes()) {
        for (const auto& n : *all)
          if (n.name == cfg.fleet.node) problem = fleet::registration_mismatch(n, cfg.network.subnet);
      }
      if (problem != said && !problem.empty()) log::warn(problem);
      said = problem;
      std::unique_lock lock(m);
      if (cv.wait_for(lock, stop, cfg.fleet.heartbeat, [] { return false; }) || stop.stop_requested()) return;
    }
  });
}

// A fleet's entry follows the shared state on every beat: a kernel route to each other node's
// container subnet (fleet::node_routes), and the forwards and HTTP routes of the containers other
// nodes made or removed (a session the entry relayed refreshes them at once). A problem is said
// once in the log, not on every beat.
std::jthread start_reach(const config::Config& cfg, state::NodeRegistry& nodes, network::IpRoutes& routes,
                         jobs::Provisioner& provisioner, state::PgListener* changes) {
  return std::jthread([&cfg, &nodes, &routes, &provisioner, changes](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    std::string said;
    for (;;) {
      std::vector<std::string> problems;
      if (auto all = nodes.list_nodes()) {
        std::vector<network::KernelRoute> desired;
        std::vector<network::Cidr> unresolved;  // their routes stay as they are until the name resolves
        auto wanted = fleet::node_routes(*all, cfg.fleet.node, {cfg.pool.subnet(), cfg.pool.prefix_length()});
        problems = std::move(wanted.refused);
        for (const auto& r : wanted.routes) {
          auto gateway = network::resolve_ipv4(r.via);
          if (!gateway) {
            unresolved.push_back(r.subnet);
            problems.push_back(fmt::format("route to {}: {}", network::format_cidr(r.subnet), gateway.error().message));
          } else if (!network::is_loopback(*gateway)) {  // a name for this host: the node's bridge is local
            desired.push_back({r.subnet, *gateway});
          }
        }
        if (auto s = routes.sync(desired, unresolved); !s) problems.push_back(s.error().message);
      } else {
        problems.push_back(all.error().message);
      }
      if (auto s = provisioner.refresh(); !s) problems.push_back(s.error().message);
      std::string problem;
      for (const auto& p : problems) problem += (problem.empty() ? "" : "; ") + p;
      if (problem != said) {
        if (!problem.empty())
          log::warn(fmt::format("fleet entry: {}", problem));
        else if (!said.empty())
          log::info("fleet entry: routes and forwards follow the fleet again");
      }
      said = problem;
      if (changes == nullptr) {
        std::unique_lock lock(m);
        if (cv.wait_for(lock, stop, cfg.fleet.heartbeat, [] { return false; }) || stop.stop_requested()) return;
        continue;
      }
      // Until the next beat or the next change, whichever is first; in slices, to notice a stop.
      const auto beat = std::chrono::steady_clock::now() + cfg.fleet.heartbeat;
      for (auto left = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.fleet.heartbeat);
           left.count() > 0 && !stop.stop_requested();) {
        if (changes->wait(std::min(left, std::chrono::milliseconds(250)))) break;
        left = std::chrono::duration_cast<std::chrono::milliseconds>(beat - std::chrono::steady_clock::now());
      }
      if (stop.stop_requested()) return;
    }
  });
}

}  // namespace

namespace {

// The accepted entry of a job a crash interrupted has its finished entry written here, with the
// outcome recovery gave it.
void record_recovered(state::Store& store, audit::Trail& trail, const std::vector<state::JobRecord>& interrupted) {
  for (const auto& before : interrupted) {
    auto after = store.find_job(before.id);
    if (!after || !after->has_value()) continue;
    const auto& job = **after;
    const audit::Kind kind = job.kind == state::JobKind::create   ? audit::Kind::create_finished
                             : job.kind == state::JobKind::update ? audit::Kind::update_finished
                                                                  : audit::Kind::delete_finished;
    audit::Event event{kind,
                       job.user,
                       "recovery",
                       static_cast<int64_t>(::getuid()),
                       job.container,
                       fmt::format("exit {}", job.exit_code),
                       fmt::format("job {}: {}", job.id, job.message)};
    if (auto s = trail.record(event); !s)
      log::error(fmt::format("recovered job {} not recorded: {}", job.id, s.error().message));
  }
}

}  // namespace

int run_daemon(int argc, char** argv, const EdgeWrappers& wrappers) {
  // Jobs make large short-lived buffers (a Debian template's seal walk holds a record per entry;
  // a password check takes 32 MiB). glibc raises its mmap threshold to the size of the largest
  // mmapped block freed, after which such buffers come from the job threads' arenas and stay
  // resident: 17.9 MB idle became 69 MB after 5 Debian creates. A fixed threshold keeps them
  // mmaps, returned to the kernel when freed: 28.8 MB after the same creates.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  std::string config_path = default_config_path;
  bool config_given = false;
  log::Mode mode = std::getenv("JOURNAL_STREAM") ? log::Mode::journald : log::Mode::stderr_text;
  log::Level level = log::Level::info;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
      config_given = true;
    } else if (a == "--log" && i + 1 < argc) {
      std::string_view m = argv[++i];
      if (m == "journald")
        mode = log::Mode::journald;
      else if (m == "stderr")
        mode = log::Mode::stderr_text;
      else
        return usage();
    } else if (a == "--debug") {
      level = log::Level::debug;
    } else {
      return usage();
    }
  }
  log::init(mode, level);

  Parts p;
  auto loaded = load_config(p.host, config_path, config_given);
  if (!loaded) {
    log::error(loaded.error().message);
    return ex_config;
  }
  const config::Config cfg = std::move(*loaded);
  // Taken before anything starts a child or a thread: sd_listen_fds marks a passed socket
  // close-on-exec and clears LISTEN_FDS/LISTEN_PID, so no helper (nft, nginx, git, an attach)
  // inherits the socket or believes it is its own.
  auto activated = server::activated_socket(cfg.socket_path);
  if (!activated) {
    log::error(activated.error().message);
    return 1;
  }

  ::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the daemon
  ::umask(022);
  std::error_code ec;
  for (const auto& dir : {std::filesystem::path(cfg.database).parent_path(), std::filesystem::path(cfg.lxcpath),
                          std::filesystem::path(cfg.socket_path).parent_path()})
    std::filesystem::create_directories(dir, ec);
  // Containers run as the mapped ids, which must traverse every directory above their rootfs:
  // the state's directory is searchable but not listable when the lxcpath is inside it (its
  // files are 0600), and private otherwise.
  const auto state_dir = std::filesystem::path(cfg.database).parent_path();
  const bool lxcpath_inside =
      std::filesystem::path(cfg.lxcpath).lexically_relative(state_dir).native().rfind("..", 0) != 0;
  ::chmod(state_dir.c_str(), lxcpath_inside ? 0711 : 0700);
  ::chmod(cfg.lxcpath.c_str(), 0711);

  auto opened = state::open_state(cfg);
  if (!opened) {
    log::error(fmt::format("cannot open state: {}", opened.error().message));
    return 1;
  }
  p.state = std::move(*opened);
  state::Store& store = wrappers.store ? wrappers.store(*p.state.store) : *p.state.store;
  if (p.state.nodes != nullptr) {
    // A daemon of this node that died without closing its session (a crash, a cut) holds the claim
    // until the database notices, within about a minute (server-side keepalives): wait that long.
    auto claimed = p.state.nodes->claim_node();
    for (int waited = 0; !claimed && claimed.error().code == Errc::conflict && waited < 90; waited += 3) {
      if (waited == 0) log::warn(fmt::format("{}; waiting up to 90 s for it to end", claimed.error().message));
      std::this_thread::sleep_for(std::chrono::seconds(3));
      claimed = p.state.nodes->claim_node();
    }
    if (!claimed) {
      log::error(claimed.error().message);
      return 1;
    }
    log::info(fmt::format("state: the fleet's PostgreSQL, as node {}", cfg.fleet.node));
  }

  const container::CgroupVersion cgroup = cfg.limits.cgroup == "auto" ? container::probe_cgroup_version()
                                          : cfg.limits.cgroup == "v2" ? container::CgroupVersion::v2
                                                                      : container::CgroupVersion::v1;
  p.liblxc = std::make_unique<container::LiblxcRuntime>(
      cfg.lxcpath, container::LiblxcRuntime::confinement_for(cfg.confinement, cgroup, cfg.lxcpath));
  if (auto s = p.liblxc->prepare(); !s) {
    log::error(s.error().message);
    return 1;
  }
  for (const auto& name : p.liblxc->privileged_containers())
    log::error(
        fmt::format("container {} is privileged (made before lxcprov confined containers): root in it is root "
                    "on the host; lxcprov will not start it again; delete and re-create it",
                    name));
  container::ContainerRuntime& runtime = wrappers.runtime ? wrappers.runtime(*p.liblxc) : *p.liblxc;

  // The backend is chosen in config (auth.backend); the password file is the embedded default.
  if (cfg.auth.backend == "ldap")
    p.authenticator = std::make_unique<auth::LdapAuthenticator>(cfg.auth.ldap);
  else
    p.authenticator = std::make_unique<auth::PasswordFileAuthenticator>(p.host, cfg.passwd_file);
  auth::KeyBinding keys(p.host, cfg.keys_file);

  // The features, in the order their steps run within a phase and their state converges:
  // isolation first, since it is what keeps containers apart.
  wire_isolation(cfg, store, p);
  wire_forwarding(cfg, store, p);
  wire_routing(cfg, store, p);
  if (auto s = wire_ldap_login(cfg, runtime, p); !s) {
    log::error(s.error().message);
    return ex_config;
  }
  if (auto s = wire_wazuh(cfg, store, runtime, p); !s) {
    log::error(s.error().message);
    return ex_config;
  }
  if (auto s = wire_deploy(cfg, store, runtime, p); !s) {
    log::error(s.error().message);
    return ex_config;
  }
  std::vector<jobs::Feature*> features;
  for (auto& f : p.features) features.push_back(f.get());
  // Every create checks its template against the seal in the state database (templates.require_seal).
  container::StoredTemplateSeals seals(store, cfg.lxcpath);
  if (!cfg.templates.require_seal)
    log::warn("templates.require_seal is off: templates are cloned without a seal check");
  jobs::Provisioner provisioner(cfg, store, runtime, seals, cgroup, std::move(features));
  jobs::Queries queries(cfg, store, runtime, p.state.nodes);

  // The audit trail is opened before recovery and the first request: a daemon that cannot record
  // does not serve.
  auto trail = audit::FileTrail::open(cfg.audit_log, audit::FileTrail::Mirror::daemon_log);
  if (!trail) {
    log::error(trail.error().message);
    return 1;
  }
  {
    // Interrupted jobs are finished or undone, and every feature's outside state converges,
    // before the first request; pending agents are retried once now and then in the background.
    LogReporter recovery("recovery");
    auto interrupted = store.unfinished_jobs();
    provisioner.recover(recovery);
    if (interrupted) record_recovered(store, **trail, *interrupted);
    if (p.wazuh) p.wazuh->retry_pending(recovery);
  }
  start_wazuh_retries(cfg, p);
  start_heartbeat(cfg, p);
  // Declared after the provisioner, so joined before it goes.
  network::IpRoutes routes(p.host);
  std::unique_ptr<state::PgListener> changes;
  std::jthread reach;
  if (cfg.fleet.entry.enabled && p.state.nodes != nullptr) {
    if (auto l = state::PgListener::open(cfg.fleet.database))
      changes = std::move(*l);
    else
      log::warn(fmt::format("fleet entry: other nodes' changes are followed on each beat only: {}", l.error().message));
    reach = start_reach(cfg, *p.state.nodes, routes, provisioner, changes.get());
  }

  asio::io_context io(1);
  request::DeployOptions deploy_options{p.deploying, cfg.deploy.distributions, cfg.deploy.git.allowed_hosts,
                                        cfg.deploy.allow_custom_services, p.deploy_catalog};
  // Repositories are checked by the host's git as deploy.git.check_user, never as root.
  deploy::GitCli git(p.host, deploy::git_cli_settings(cfg.deploy));
  // Failed passwords and lockouts outlive a restart; opened before the server, whose
  // pool writes to it until the server is gone (an attacker cannot reset them by crashing or
  // waiting for a deploy of the daemon).
  auto throttle_records = state::open_throttle_records(cfg);
  if (!throttle_records) {
    log::error(fmt::format("throttle state: {}", throttle_records.error().message));
    return 1;
  }
  server::Server server(io, cfg, provisioner, queries, *p.authenticator, keys, store, std::move(deploy_options), git,
                        **trail);
  if (auto s = server.listen(*activated); !s) {
    log::error(s.error().message);
    return 1;
  }
  server.keep_throttle_state(**throttle_records);
  if (p.state.nodes != nullptr) server.serve_fleet(*p.state.nodes);
  if (cfg.fleet.entry.enabled) {
    // ssh's control sockets open sessions on the nodes: root's alone.
    std::error_code made;
    std::filesystem::create_directories(cfg.fleet.entry.control_dir, made);
    // lstat first: chmod follows a symlink, which must not turn someone else's directory 0700.
    struct stat st {};
    if (::lstat(cfg.fleet.entry.control_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 ||
        ::chmod(cfg.fleet.entry.control_dir.c_str(), 0700) != 0) {
      log::error(fmt::format("fleet.entry.control_dir {} must be a directory of root's", cfg.fleet.entry.control_dir));
      return 1;
    }
    log::info(fmt::format("fleet entry: creates are placed on nodes, sessions relayed as {}", cfg.fleet.entry.user));
  }
  server.start();
  server::Watchdog watchdog(io);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int sig) {
    log::info(fmt::format("signal {}: stopping; running jobs finish first", sig));
    server::notify_stopping();
    // Jobs may take minutes to finish (TimeoutStopSec): a stop is not a hang.
    watchdog.stop();
    server.shutdown();
    io.stop();
  });
  log::info(fmt::format("lxcprovd listening on {} ({} workers{})", cfg.socket_path, cfg.workers,
                        *activated ? ", socket from systemd" : ""));
  watchdog.start();
  server::notify_ready();
  io.run();
  // Joined here, while the config and the feature it uses still exist.
  p.wazuh_retries = {};
  p.heartbeat = {};
  return 0;
}

}  // namespace lxcprov::wiring
