#include "isolation/isolation_feature.hpp"

#include "isolation/isolation_ruleset.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::isolation {

void IsolationFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::before_start,
                 {"isolate", [this] { return sync(""); }, [this, &ctx] { return sync(ctx.request.container_name); }}});
}

void IsolationFeature::delete_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_release, {"unisolate", [this] { return sync(""); }, {}}});
}

Status IsolationFeature::converge() {
  std::lock_guard lock(mutex_);
  table_.forget();
  return sync_locked("");
}

Status IsolationFeature::sync(const std::string& exclude) {
  std::lock_guard lock(mutex_);
  return sync_locked(exclude);
}

Status IsolationFeature::sync_locked(const std::string& exclude) {
  auto rows = store_.list_containers("");
  if (!rows) return rows.error();
  std::vector<isolation::IsolatedContainer> containers;
  for (const auto& c : *rows) {
    if (c.name == exclude) continue;
    // A malformed address cannot happen (the pool wrote it); without one the port sends nothing.
    if (auto ip = network::parse_ipv4(c.ip))
      containers.push_back({c.name, c.owner, *ip, network::hwaddr_for(*ip), network::veth_name_for(*ip)});
  }
  const auto& c = config_.isolation;
  isolation::IsolationOptions o;
  o.table = c.table;
  o.bridge = config_.network.bridge;
  o.gateway = config_.pool.gateway();
  o.prefix = config_.pool.prefix_length();
  o.subnet = config_.pool.subnet();
  o.isolate_owners = c.isolate_owners;
  o.host_ports = c.host_ports;
  o.masquerade = c.masquerade;
  o.deny_destinations = c.deny_destinations;
  owners_ = isolation::number_owners(containers, owners_);
  const auto elements = isolation::isolation_elements(o, containers, owners_);
  return table_.sync(elements, [&] { return isolation::render_isolation_tables(o, elements); });
}

}  // namespace lxcprov::isolation
