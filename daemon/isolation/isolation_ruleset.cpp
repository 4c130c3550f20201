#include "isolation/isolation_ruleset.hpp"

#include "network/addresses.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "network/ip_pool.hpp"

namespace lxcprov::isolation {
namespace {

std::string cidr_text(uint32_t address, int prefix) {
  return fmt::format("{}/{}", network::format_ipv4(address), prefix);
}

std::string set_elements(const network::NftTableElements& e, const char* set) {
  auto it = e.sets.find(set);
  return it == e.sets.end() ? "" : network::render_elements_block(it->second);
}

std::string bridge_table(const IsolationOptions& o, const network::NftTableElements& e) {
  const std::string ports = network::veth_prefix_for(o.subnet, o.prefix) + "*";
  std::string out = fmt::format("table bridge {} {{\n", o.table);
  out += "  set sources {\n    type ifname . ether_addr . ipv4_addr\n" + set_elements(e, "sources") + "  }\n";
  if (o.isolate_owners) {
    out += "  map port_owner {\n    type ifname : mark\n" + set_elements(e, "port_owner") + "  }\n";
    out += "  set owner_ports {\n    type ifname . mark\n" + set_elements(e, "owner_ports") + "  }\n";
  }
  // Before anything else on the bridge sees the frame: a port may send only its own container's
  // address pair, IPv4 and ARP only. Unknown ports of the pool (stale, or not yet in the set) and
  // IPv6 (containers are IPv4-only: no router advertisements or neighbour spoofing) are dropped.
  out += "  chain prerouting {\n    type filter hook prerouting priority -200; policy accept;\n";
  out += fmt::format("    iifname != \"{}\" return\n", ports);
  out += "    ether type ip6 drop\n";
  out += "    ether type ip iifname . ether saddr . ip saddr @sources accept\n";
  out +=
      "    ether type arp arp htype 1 arp ptype ip arp hlen 6 arp plen 4 "
      "iifname . ether saddr . arp saddr ip @sources iifname . arp saddr ether . arp saddr ip @sources accept\n";
  out += "    drop\n  }\n";
  if (o.isolate_owners) {
    // Routed hairpin: a frame to the host's MAC addressed to another container would be routed back
    // onto the bridge past the owner check below. Port forwards still work: before their DNAT the
    // destination is the host's own address.
    out += "  chain input {\n    type filter hook input priority 0; policy accept;\n";
    out += fmt::format("    iifname != \"{}\" return\n", ports);
    out += fmt::format("    ip daddr {} ip daddr != {} drop\n", cidr_text(o.subnet, o.prefix),
                       network::format_ipv4(o.gateway));
    out += "  }\n";
    // Port to port: only between ports of one owner. The mark carries the sending port's owner
    // to the lookup of the receiving port and is cleared again (it is the skb's, and br_netfilter
    // would show it to the inet hooks). A frame to or from a port outside the map matches no
    // owner and is dropped.
    out += "  chain forward {\n    type filter hook forward priority 0; policy accept;\n";
    out += fmt::format("    iifname != \"{0}\" oifname != \"{0}\" return\n", ports);
    out += "    meta mark set 0\n";
    out += "    meta mark set iifname map @port_owner\n";
    out += "    oifname . meta mark @owner_ports meta mark set 0 accept\n";
    out += "    meta mark set 0 drop\n  }\n";
  }
  return out + "}\n";
}

std::string inet_table(const IsolationOptions& o) {
  const std::string gateway = network::format_ipv4(o.gateway);
  std::string out = fmt::format("table inet {} {{\n", o.table);
  // The hypervisor's own services (lxcprov's sshd, nginx, whatever listens on any address) are not
  // for containers: only replies, ping and the configured ports on the gateway address. Rejected
  // rather than dropped, so a client fails at once instead of timing out.
  out += "  chain input {\n    type filter hook input priority 0; policy accept;\n";
  out += fmt::format("    iifname != \"{}\" return\n", o.bridge);
  out += "    ct state established,related accept\n";
  out += fmt::format("    ip daddr {} icmp type echo-request accept\n", gateway);
  for (const auto& p : o.host_ports)
    out += fmt::format("    ip daddr {} {} dport {} accept\n", gateway, p.proto, p.port);
  out += "    reject with icmpx type admin-prohibited\n  }\n";
  out += "  chain forward {\n    type filter hook forward priority 0; policy accept;\n";
  out += fmt::format("    iifname != \"{}\" return\n", o.bridge);
  for (const auto& d : o.deny_destinations)
    out += fmt::format("    ip daddr {} reject with icmpx type admin-prohibited\n", cidr_text(d.address, d.prefix));
  out += "  }\n";
  if (o.masquerade) {
    // Egress NAT lives here, not in the forwards table, so it works with port forwards off.
    out += "  chain postrouting {\n    type nat hook postrouting priority 100; policy accept;\n";
    out += fmt::format("    ip saddr {} oifname != \"{}\" masquerade\n  }}\n", cidr_text(o.subnet, o.prefix), o.bridge);
  }
  return out + "}\n";
}

std::vector<IsolatedContainer> valid_containers(const IsolationOptions& options,
                                                std::vector<IsolatedContainer> containers) {
  const std::string prefix = network::veth_prefix_for(options.subnet, options.prefix);
  std::erase_if(containers, [&](const IsolatedContainer& c) {
    return !network::valid_mac(c.mac) || c.veth.size() > 15 || !c.veth.starts_with(prefix) ||
           !std::all_of(c.veth.begin(), c.veth.end(),
                        [](char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'); });
  });
  return containers;
}

}  // namespace

std::string render_isolation_removal(const std::string& table) {
  return fmt::format("add table bridge {0}\ndelete table bridge {0}\nadd table inet {0}\ndelete table inet {0}\n",
                     table);
}

OwnerNumbers number_owners(const std::vector<IsolatedContainer>& containers, const OwnerNumbers& previous) {
  OwnerNumbers out;
  std::set<uint32_t> used;
  for (const auto& c : containers)
    if (auto it = previous.find(c.owner); it != previous.end() && it->second != 0) {
      out[c.owner] = it->second;
      used.insert(it->second);
    }
  for (const auto& c : containers) (void)out.try_emplace(c.owner, 0);
  // New owners get the lowest free numbers, in name order (out is ordered by name).
  uint32_t next = 1;
  for (auto& [owner, number] : out) {
    if (number != 0) continue;
    while (used.contains(next)) ++next;
    number = next;
    used.insert(next);
  }
  return out;
}

network::NftTableElements isolation_elements(const IsolationOptions& options,
                                             const std::vector<IsolatedContainer>& containers,
                                             const OwnerNumbers& owners) {
  network::NftTableElements e{"bridge", options.table, {{"sources", {}}}};
  if (options.isolate_owners) {
    e.sets["port_owner"];
    e.sets["owner_ports"];
  }
  for (const auto& c : valid_containers(options, containers)) {
    e.sets["sources"][fmt::format("\"{}\" . {} . {}", c.veth, c.mac, network::format_ipv4(c.ip))] = "";
    if (!options.isolate_owners) continue;
    auto it = owners.find(c.owner);
    if (it == owners.end() || it->second == 0) continue;  // unnumbered: its port reaches no other (fail closed)
    e.sets["port_owner"][fmt::format("\"{}\"", c.veth)] = fmt::format(" : {}", it->second);
    e.sets["owner_ports"][fmt::format("\"{}\" . {}", c.veth, it->second)] = "";
  }
  return e;
}

std::string render_isolation_tables(const IsolationOptions& options, const network::NftTableElements& elements) {
  IsolationOptions o = options;
  std::sort(o.host_ports.begin(), o.host_ports.end(), [](const network::HostPort& a, const network::HostPort& b) {
    return std::tie(a.proto, a.port) < std::tie(b.proto, b.port);
  });
  o.host_ports.erase(std::unique(o.host_ports.begin(), o.host_ports.end()), o.host_ports.end());

  std::string out =
      "# Generated by lxcprovd from its state database; rewritten as a whole at start-up and on a mismatch.\n";
  out += render_isolation_removal(o.table);
  out += bridge_table(o, elements);
  out += inet_table(o);
  return out;
}

std::string render_isolation_ruleset(const IsolationOptions& options, std::vector<IsolatedContainer> containers) {
  containers = valid_containers(options, std::move(containers));
  return render_isolation_tables(options, isolation_elements(options, containers, number_owners(containers, {})));
}

}  // namespace lxcprov::isolation
