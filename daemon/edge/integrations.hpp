#pragma once
// What lxcprovd sets up inside containers besides the network, wired from the config: the Wazuh
// client, the agent records and the background retry of pending agents ("wazuh"), and the LDAP
// login templates and CA ("container_ldap"). Owns them; destroy it before the Provisioner.

#include <memory>
#include <thread>

#include "config/config.hpp"
#include "edge/wazuh_client.hpp"
#include "jobs/provisioner.hpp"
#include "state/sqlite_agent_records.hpp"

namespace lxcprov::edge {

class Integrations {
 public:
  /// Reads the templates and the CA (start-up errors are config errors: Errc::invalid_argument)
  /// and hands everything to `provisioner`. Nothing happens for sections that are off.
  static Result<std::unique_ptr<Integrations>> wire(const config::Config& cfg, jobs::Provisioner& provisioner);
  /// Retries pending agents every wazuh.retry_interval until destroyed (on_unavailable "pending").
  void start_retries();
  ~Integrations();

 private:
  Integrations(const config::Config& cfg, jobs::Provisioner& p) : cfg_(cfg), provisioner_(p) {}
  const config::Config& cfg_;
  jobs::Provisioner& provisioner_;
  std::unique_ptr<WazuhClient> wazuh_;
  std::unique_ptr<state::SqliteAgentRecords> records_;
  std::jthread retries_;
};

}  // namespace lxcprov::edge
