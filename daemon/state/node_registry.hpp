#pragma once
// NodeRegistry: the hypervisors of a fleet (lxcprovctl node add|list|drain|undrain; placement in
// fleet/placement.hpp reads it). Only the PostgreSQL state has nodes: a single host on SQLite is
// one implicit node. Every method is safe to call from any thread.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::state {

struct NodeRecord {
  std::string name;                    ///< [a-z0-9-], what containers and jobs record as their node
  std::string endpoint;                ///< how the entry reaches this node's lxcprovd (host or host:port)
  std::string subnet;                  ///< its containers' bridge subnet, CIDR; unique in the fleet
  std::vector<std::string> templates;  ///< the distributions it can create
  bool draining = false;               ///< no new container is placed on it
  int64_t memory_total_kb = 0, memory_available_kb = 0;  ///< from its last heartbeat
  int64_t seen_at = 0;                                   ///< its last heartbeat, unix s; 0 = never
  int64_t added_at = 0;                                  ///< unix s
  int64_t containers = 0;                                ///< containers recorded on it (list_nodes only)
  bool operator==(const NodeRecord&) const = default;
};

class NodeRegistry {
 public:
  virtual ~NodeRegistry() = default;
  /// Errc::conflict when the name or the subnet is already a node's.
  virtual Status add_node(const NodeRecord& node) = 0;
  /// Every node with its container count, ordered by name.
  virtual Result<std::vector<NodeRecord>> list_nodes() = 0;
  /// Errc::not_found when there is no such node.
  virtual Status set_node_draining(const std::string& name, bool draining) = 0;
  /// Errc::not_found when absent; Errc::conflict while containers are recorded on it.
  virtual Status remove_node(const std::string& name) = 0;
  /// For the daemon that runs as the registry's own node (PgStore's): held as long as the
  /// registry's connection, so a second daemon configured as the same node (a copied config)
  /// refuses to start instead of undoing the first one's jobs at its start-up. Errc::conflict
  /// when another daemon holds it.
  virtual Status claim_node() = 0;
  /// A node's heartbeat: its memory now, and seen_at = now. Errc::not_found when absent.
  virtual Status node_seen(const std::string& name, int64_t memory_total_kb, int64_t memory_available_kb) = 0;
};

}  // namespace lxcprov::state
