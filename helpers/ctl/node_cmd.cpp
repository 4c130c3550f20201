// lxcprovctl node add|list|drain|undrain|remove: the fleet's node registry (docs/operations.md,
// "A fleet"). Works on the fleet's PostgreSQL named by fleet.database; a single host on SQLite has
// no registry.

#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "ctl.hpp"
#include "fleet/node_input.hpp"
#include "fleet/placement.hpp"
#include "state/open_state.hpp"

namespace lxcprov::ctl {

namespace {

std::string memory(int64_t kb) {
  return kb > 0 ? fmt::format("{:.1f}G", static_cast<double>(kb) / (1024 * 1024)) : "-";
}

std::string words(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& w : v) out += (out.empty() ? "" : ",") + w;
  return out.empty() ? "-" : out;
}

int list(const config::Config& cfg, state::NodeRegistry& nodes) {
  auto all = nodes.list_nodes();
  if (!all) return fail(all.error().message);
  const int64_t now = std::time(nullptr);
  std::cout << fmt::format("{:<16} {:<24} {:<18} {:>10} {:>9} {:<16} {}\n", "NAME", "ENDPOINT", "SUBNET", "CONTAINERS",
                           "MEM-FREE", "STATE", "TEMPLATES");
  for (const auto& n : *all) {
    std::string why = n.draining ? "draining" : fleet::liveness(n, now, cfg.fleet.node_down_after().count());
    std::cout << fmt::format("{:<16} {:<24} {:<18} {:>10} {:>9} {:<16} {}\n", n.name, n.endpoint, n.subnet,
                             n.containers, memory(n.memory_available_kb), why.empty() ? "up" : why, words(n.templates));
  }
  // What the next create of each distribution would get: placement's answer, for the admin.
  for (const auto& d : cfg.distributions) {
    auto where = fleet::place(*all, d.name, now, cfg.fleet.node_down_after().count());
    std::cout << fmt::format("next {}: {}\n", d.name, where ? *where : where.error().message);
  }
  return 0;
}

}  // namespace

int node_command(const config::Config& cfg, const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  if (cfg.fleet.database.empty())
    return fail("nodes belong to a fleet: set fleet.database (and fleet.node) in the config first");
  auto opened = state::open_state(cfg);
  if (!opened) return fail(opened.error().message);
  state::NodeRegistry& nodes = *opened->nodes;
  const std::string& verb = args[0];
  if (verb == "list") return args.size() == 1 ? list(cfg, nodes) : usage();
  if (args.size() < 2) return usage();
  const std::string& name = args[1];
  if (verb == "add") {
    fleet::NodeInput in;
    in.name = name;
    for (size_t i = 2; i < args.size(); ++i) {
      if (i + 1 >= args.size()) return usage();
      if (args[i] == "--endpoint") {
        in.endpoint = args[++i];
      } else if (args[i] == "--subnet") {
        in.subnet = args[++i];
      } else if (args[i] == "--templates") {
        std::string list = args[++i];
        for (size_t at = 0; at <= list.size();) {
          const size_t comma = std::min(list.find(',', at), list.size());
          if (comma > at) in.templates.push_back(list.substr(at, comma - at));
          at = comma + 1;
        }
      } else {
        return usage();
      }
    }
    std::vector<std::string> distributions;
    for (const auto& d : cfg.distributions) distributions.push_back(d.name);
    auto record = fleet::node_from_input(in, distributions);
    if (!record) return fail(record.error().message);
    if (auto s = nodes.add_node(*record); !s) return fail(s.error().message);
    audit_detail() =
        fmt::format("endpoint {} subnet {} templates {}", record->endpoint, record->subnet, words(record->templates));
    std::cout << fmt::format("added node {} ({}); containers are placed on it once its lxcprovd reports in\n", name,
                             record->subnet);
    return 0;
  }
  if (args.size() != 2) return usage();
  if (verb == "drain" || verb == "undrain") {
    if (auto s = nodes.set_node_draining(name, verb == "drain"); !s)
      return fail(s.error().code == Errc::not_found ? fmt::format("no node {}", name) : s.error().message);
    std::cout << (verb == "drain" ? fmt::format("node {} is draining: no new container is placed on it\n", name)
                                  : fmt::format("node {} takes new containers again\n", name));
    return 0;
  }
  if (verb == "remove") {
    if (auto s = nodes.remove_node(name); !s)
      return fail(s.error().code == Errc::not_found ? fmt::format("no node {}", name) : s.error().message);
    std::cout << fmt::format("removed node {}\n", name);
    return 0;
  }
  return usage();
}

}  // namespace lxcprov::ctl
