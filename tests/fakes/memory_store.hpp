#pragma once
// MemoryStore: an in-memory Store for unit tests of the job logic, with the SQLite store's
// semantics (names unique, lowest free address, ports reserved with the container, released with
// it). Single-threaded use only.

#include <algorithm>
#include <map>

#include "state/store.hpp"

namespace lxcprov::testing {

class MemoryStore : public state::Store {
 public:
  Result<state::ContainerRecord> reserve_container(const state::NewContainer& c, const network::IpPool& pool,
                                                   int64_t ctid_min) override {
    if (containers.count(c.name)) return make_error(Errc::conflict, "CONTAINER_NAME: is already taken");
    if (c.quota > 0) {
      int owned = 0;
      for (const auto& [n, r] : containers) owned += r.owner == c.owner;
      if (owned >= c.quota) return make_error(Errc::permission_denied, "quota: the limit is reached");
    }
    std::set<uint32_t> used;
    int64_t ctid = ctid_min;
    for (const auto& [n, r] : containers) {
      used.insert(*network::parse_ipv4(r.ip));
      ctid = std::max(ctid, r.ctid + 1);
    }
    auto ip = pool.pick(used);
    if (!ip) return make_error(Errc::unavailable, "no free IP address in the configured pool");
    state::ContainerRecord r{c.name,
                             ctid,
                             network::format_ipv4(*ip),
                             c.owner,
                             c.distribution,
                             c.http_port,
                             state::ContainerState::creating,
                             c.job_id,
                             0,
                             "",
                             {}};
    std::vector<state::PortRecord> added;
    for (const auto& want : c.ports) {
      uint16_t port = want.pool_first;
      auto taken = [&](uint16_t p) {
        for (const auto& x : ports)
          if (x.proto == want.proto && x.public_port == p) return true;
        for (const auto& x : added)
          if (x.proto == want.proto && x.public_port == p) return true;
        return false;
      };
      while (port <= want.pool_last && taken(port)) ++port;
      if (port > want.pool_last) return make_error(Errc::unavailable, "no free public port for " + want.service);
      added.push_back({c.name, want.service, want.proto, port, want.container_port});
    }
    ports.insert(ports.end(), added.begin(), added.end());
    r.ports = added;
    containers[c.name] = r;
    return r;
  }
  Result<std::vector<state::PortRecord>> list_ports() override { return ports; }
  Status release_ports(const std::string& container) override {
    std::erase_if(ports, [&](const state::PortRecord& p) { return p.container == container; });
    return {};
  }
  Result<std::optional<state::ContainerRecord>> find_container(const std::string& name) override {
    auto it = containers.find(name);
    if (it == containers.end()) return std::optional<state::ContainerRecord>();
    return std::optional<state::ContainerRecord>(it->second);
  }
  Result<std::vector<state::ContainerRecord>> list_containers(const std::string& owner) override {
    std::vector<state::ContainerRecord> out;
    for (const auto& [n, r] : containers)
      if (owner.empty() || r.owner == owner) out.push_back(r);
    return out;
  }
  Status set_container_state(const std::string& name, state::ContainerState st, const std::string& job_id) override {
    auto it = containers.find(name);
    if (it == containers.end()) return make_error(Errc::not_found, "no such container");
    it->second.state = st;
    it->second.job_id = job_id;
    return {};
  }
  Status transition_container(const std::string& name, state::ContainerState from, state::ContainerState to,
                              const std::string& job_id) override {
    auto it = containers.find(name);
    if (it == containers.end()) return make_error(Errc::not_found, "no such container");
    if (it->second.state != from)
      return make_error(Errc::conflict, "container " + name + " is " + std::string(state::to_string(it->second.state)));
    it->second.state = to;
    it->second.job_id = job_id;
    return {};
  }
  Status release_container(const std::string& name) override {
    containers.erase(name);
    deployments.erase(name);
    (void)release_ports(name);
    return {};
  }
  Status put_deployment(const state::DeploymentRecord& d) override {
    auto it = containers.find(d.container);
    if (it == containers.end()) return make_error(Errc::not_found, "no such container");
    it->second.http_port = d.http_port;
    deployments[d.container] = d;
    return {};
  }
  Status remove_deployment(const std::string& name, uint16_t http_port) override {
    auto it = containers.find(name);
    if (it == containers.end()) return make_error(Errc::not_found, "no such container");
    it->second.http_port = http_port;
    deployments.erase(name);
    return {};
  }
  Result<std::optional<state::DeploymentRecord>> find_deployment(const std::string& name) override {
    auto it = deployments.find(name);
    if (it == deployments.end()) return std::optional<state::DeploymentRecord>();
    return std::optional<state::DeploymentRecord>(it->second);
  }
  Status create_job(const state::JobRecord& job) override {
    jobs[job.id] = job;
    return {};
  }
  Status update_job(const std::string& id, state::JobState st, const std::string& step, int exit_code,
                    const std::string& message) override {
    auto& j = jobs[id];
    j.state = st;
    j.step = step;
    j.exit_code = exit_code;
    j.message = message;
    return {};
  }
  Result<std::optional<state::JobRecord>> find_job(const std::string& id) override {
    auto it = jobs.find(id);
    if (it == jobs.end()) return std::optional<state::JobRecord>();
    return std::optional<state::JobRecord>(it->second);
  }
  Result<std::vector<state::JobRecord>> unfinished_jobs() override {
    std::vector<state::JobRecord> out;
    for (const auto& [id, j] : jobs)
      if (!state::terminal(j.state)) out.push_back(j);
    return out;
  }
  Status append_job_log(const std::string& id, const std::string& level, const std::string& text) override {
    logs[id].push_back({0, level, text});
    return {};
  }
  Result<std::vector<state::JobLogLine>> job_log(const std::string& id) override { return logs[id]; }
  Status record_step(const std::string& id, const std::string& step) override {
    if (fail_record_of == step) return make_error(Errc::io, "disk full");
    steps[id].push_back(step);
    return {};
  }
  Result<std::vector<std::string>> recorded_steps(const std::string& id) override { return steps[id]; }

  Status put_template_seal(const state::TemplateSealRecord& seal, const std::string& manifest) override {
    seals[seal.name] = {seal, manifest};
    return {};
  }
  Result<std::optional<state::TemplateSealRecord>> find_template_seal(const std::string& name) override {
    auto it = seals.find(name);
    if (it == seals.end()) return std::optional<state::TemplateSealRecord>();
    return std::optional<state::TemplateSealRecord>(it->second.first);
  }
  Result<std::optional<std::string>> template_seal_manifest(const std::string& name) override {
    auto it = seals.find(name);
    if (it == seals.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second.second);
  }
  Result<std::vector<state::TemplateSealRecord>> list_template_seals() override {
    std::vector<state::TemplateSealRecord> out;
    for (const auto& [n, s] : seals) out.push_back(s.first);
    return out;
  }
  Status remove_template_seal(const std::string& name) override {
    seals.erase(name);
    return {};
  }

  std::map<std::string, state::ContainerRecord> containers;
  std::map<std::string, state::DeploymentRecord> deployments;
  std::vector<state::PortRecord> ports;
  std::map<std::string, state::JobRecord> jobs;
  std::map<std::string, std::vector<state::JobLogLine>> logs;
  std::map<std::string, std::vector<std::string>> steps;
  std::string fail_record_of;
  std::map<std::string, std::pair<state::TemplateSealRecord, std::string>> seals;  ///< name -> (seal, manifest)
};

}  // namespace lxcprov::testing
