#include "edge/integrations.hpp"

#include <condition_variable>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "log/log.hpp"

namespace lxcprov::edge {
namespace {

Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::invalid_argument, fmt::format("cannot read {} {}", what, path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class LogReporter : public jobs::Reporter {
 public:
  void step_started(std::string_view) override {}
  void step_finished(std::string_view, std::chrono::microseconds) override {}
  void step_failed(std::string_view step, const Error& e) override { log::warn(fmt::format("{}: {}", step, e.message)); }
  void undo_failed(std::string_view step, const Error& e) override { log::warn(fmt::format("{}: {}", step, e.message)); }
  void info(std::string_view text) override { log::info(text); }
};

}  // namespace

Result<std::unique_ptr<Integrations>> Integrations::wire(const config::Config& cfg, jobs::Provisioner& provisioner) {
  std::unique_ptr<Integrations> in(new Integrations(cfg, provisioner));
  if (cfg.container_ldap.enabled) {
    const auto& L = cfg.container_ldap;
    std::map<std::string, std::string> templates;
    for (const char* client : {"sssd", "nslcd"}) {
      // Only the clients some distribution uses must exist.
      bool used = L.default_client == client;
      for (const auto& [d, c] : L.clients) used = used || c == client;
      if (!used) continue;
      auto t = read_file(L.template_dir + "/" + client + ".conf", "the LDAP client template");
      if (!t) return t.error();
      templates[client] = std::move(*t);
    }
    auto ca = read_file(L.ca_file, "the container_ldap CA");
    if (!ca) return ca.error();
    if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return make_error(Errc::invalid_argument, fmt::format("{} is not a PEM certificate", L.ca_file));
    provisioner.set_container_ldap(std::move(templates), std::move(*ca));
  }
  if (cfg.wazuh.enabled) {
    auto t = read_file(cfg.wazuh.agent_config_template, "the Wazuh agent template");
    if (!t) return t.error();
    auto records = state::SqliteAgentRecords::open(cfg.database);
    if (!records) return records.error();
    in->records_ = std::move(*records);
    in->wazuh_ = std::make_unique<WazuhClient>(cfg.wazuh);
    provisioner.set_wazuh(in->wazuh_.get(), in->records_.get(), std::move(*t));
  }
  return in;
}

void Integrations::start_retries() {
  if (!wazuh_ || cfg_.wazuh.on_unavailable != "pending" || cfg_.wazuh.retry_attempts == 0) return;
  retries_ = std::jthread([this](std::stop_token stop) {
    std::mutex m;
    std::condition_variable_any cv;
    LogReporter reporter;
    for (;;) {
      std::unique_lock lock(m);
      if (cv.wait_for(lock, stop, cfg_.wazuh.retry_interval, [] { return false; }) || stop.stop_requested()) return;
      lock.unlock();
      provisioner_.retry_pending_agents(reporter);
    }
  });
}

Integrations::~Integrations() {
  if (retries_.joinable()) {
    retries_.request_stop();
    retries_.join();
  }
}

}  // namespace lxcprov::edge
