// lxcprovd: wiring only. Reads the config, opens the state, recovers interrupted jobs, listens.
//   lxcprovd [--config FILE] [--log stderr|journald] [--debug]
// Exit codes: 0 after SIGTERM/SIGINT, 78 (EX_CONFIG) for a bad config, 1 for other start-up
// failures.

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "auth/authenticator.hpp"
#include "auth/ldap_authenticator.hpp"
#include "common/asio.hpp"
#include "config/config.hpp"
#include "edge/cgroup_probe.hpp"
#include "edge/integrations.hpp"
#include "edge/nft_applier.hpp"
#include "edge/nginx_router.hpp"
#include "edge/remote_nginx_router.hpp"
#include "jobs/provisioner.hpp"
#include "log/log.hpp"
#include "lxc/liblxc_runtime.hpp"
#include "lxc/template_seal.hpp"
#include "server/server.hpp"
#include "state/sqlite_store.hpp"

namespace {

constexpr int ex_config = 78;
constexpr const char* default_config_path = "/etc/lxcprov/lxcprovd.json";

int usage() {
  std::cerr << "usage: lxcprovd [--config FILE] [--log stderr|journald] [--debug]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lxcprov;
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
      if (m == "journald") mode = log::Mode::journald;
      else if (m == "stderr") mode = log::Mode::stderr_text;
      else return usage();
    } else if (a == "--debug") {
      level = log::Level::debug;
    } else {
      return usage();
    }
  }
  log::init(mode, level);

  std::string text = "{}";
  if (std::ifstream in(config_path); in) {
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  } else if (config_given) {
    log::error(fmt::format("cannot read config {}: {}", config_path, std::strerror(errno)));
    return ex_config;
  }
  auto parsed = config::parse(text);
  if (!parsed) {
    log::error(parsed.error().message);
    return ex_config;
  }
  if (parsed->ports.enabled) {
    // The catalog is its own file so an operator can edit the protocol list without the daemon
    // config; without it no extra protocol is offered (a request for one is refused, not ignored).
    if (std::ifstream in(parsed->ports.catalog); in) {
      std::stringstream ss;
      ss << in.rdbuf();
      auto catalog = network::parse_protocol_catalog(ss.str());
      if (!catalog) {
        log::error(fmt::format("{}: {}", parsed->ports.catalog, catalog.error().message));
        return ex_config;
      }
      parsed->protocols = std::move(*catalog);
    } else {
      log::warn(fmt::format("no protocol catalog at {}: extra protocols are not offered", parsed->ports.catalog));
    }
  }
  const config::Config cfg = std::move(*parsed);

  ::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the daemon
  ::umask(022);
  std::error_code ec;
  for (const auto& dir : {std::filesystem::path(cfg.database).parent_path(), std::filesystem::path(cfg.lxcpath),
                          std::filesystem::path(cfg.socket_path).parent_path()})
    std::filesystem::create_directories(dir, ec);
  ::chmod(std::filesystem::path(cfg.database).parent_path().c_str(), 0700);

  auto store = state::SqliteStore::open(cfg.database);
  if (!store) {
    log::error(fmt::format("cannot open state: {}", store.error().message));
    return 1;
  }
  lxc::LiblxcRuntime runtime(cfg.lxcpath);
  // The backend is chosen in config (auth.backend); the password file is the embedded default.
  std::unique_ptr<auth::Authenticator> authenticator_ptr;
  if (cfg.auth.backend == "ldap") authenticator_ptr = std::make_unique<auth::LdapAuthenticator>(cfg.auth.ldap);
  else authenticator_ptr = std::make_unique<auth::PasswordFileAuthenticator>(cfg.passwd_file);
  auth::Authenticator& authenticator = *authenticator_ptr;
  jobs::Provisioner provisioner(cfg, **store, runtime);
  std::optional<edge::NftApplier> nft;
  std::optional<edge::NginxRouter> nginx;
  std::optional<edge::RemoteNginxRouter> remote_nginx;
  if (cfg.ports.enabled) nft.emplace(cfg.ports.nft);
  if (cfg.http.enabled && cfg.http.remote) {
    const auto& r = *cfg.http.remote;
    remote_nginx.emplace(edge::RemoteNginxSettings{r.host, r.port, r.user, r.private_key_file, r.host_key_sha256,
                                                   r.include_file, r.test_command, r.reload_command,
                                                   std::chrono::milliseconds(r.timeout_ms)});
  } else if (cfg.http.enabled) {
    std::filesystem::create_directories(std::filesystem::path(cfg.http.include_file).parent_path(), ec);
    nginx.emplace(edge::NginxSettings{cfg.http.nginx, cfg.http.nginx_conf, cfg.http.nginx_prefix,
                                      cfg.http.include_file, std::chrono::seconds(30)});
  }
  network::RouteInstaller* routes = remote_nginx ? static_cast<network::RouteInstaller*>(&*remote_nginx)
                                    : nginx      ? &*nginx
                                                 : nullptr;
  provisioner.set_network(nft ? &*nft : nullptr, routes);
  // Every create checks its template against the seal in the state database (templates.require_seal).
  lxc::StoredTemplateSeals seals(**store, cfg.lxcpath);
  provisioner.set_template_seals(&seals);
  if (!cfg.templates.require_seal)
    log::warn("templates.require_seal is off: templates are cloned without a seal check");
  if (cfg.limits.cgroup == "auto") provisioner.set_cgroup_version(edge::probe_cgroup_version());
  // Wazuh and LDAP login inside containers; before recovery, which removes the agents of
  // interrupted creates and retries pending ones.
  auto integrations = edge::Integrations::wire(cfg, provisioner);
  if (!integrations) {
    log::error(integrations.error().message);
    return ex_config;
  }
  server::recover_jobs(provisioner);  // also installs forwards and routes from the state
  (*integrations)->start_retries();

  asio::io_context io(1);
  server::Server server(io, cfg, provisioner, authenticator, **store);
  if (auto s = server.listen(); !s) {
    log::error(s.error().message);
    return 1;
  }
  server.start();
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int sig) {
    log::info(fmt::format("signal {}: stopping; running jobs finish first", sig));
    server.shutdown();
    io.stop();
  });
  log::info(fmt::format("lxcprovd listening on {} ({} workers)", cfg.socket_path, cfg.workers));
  sd_notify(0, "READY=1");
  io.run();
  return 0;
}
