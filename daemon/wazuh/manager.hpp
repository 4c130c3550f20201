#pragma once
// The Wazuh manager and the record of which agent belongs to which container, as interfaces so the
// create and delete plans stay pure. Real implementations: wazuh::WazuhClient (authd + REST API
// over TLS) and wazuh::SqliteAgentRecords. Both must be safe to call from several threads.

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "wazuh/api.hpp"
#include "wazuh/enrollment.hpp"

namespace lxcprov::wazuh {

class Manager {
 public:
  virtual ~Manager() = default;
  /// Enrolls agent `name` with authd. Errc::conflict: the name is taken on the manager;
  /// Errc::unavailable / Errc::timeout: the manager is down, slow or not who it should be.
  virtual Result<Enrollment> enroll(const std::string& name) = 0;
  /// Agents of that name (the API; normally zero or one).
  virtual Result<std::vector<AgentRef>> find(const std::string& name) = 0;
  /// Deletes agent `id` (the API). Success when it is already gone.
  virtual Status remove(const std::string& id) = 0;
};

/// What lxcprov knows about a container's agent.
struct AgentRecord {
  std::string container;
  std::string agent_id;  ///< "" while pending
  std::string state;     ///< "enrolled" or "pending" (manager was unavailable; retried later)
  int attempts = 0;      ///< failed enrollment attempts so far
};

class AgentRecords {
 public:
  virtual ~AgentRecords() = default;
  /// Inserts or replaces the record of rec.container (whose container row must exist).
  virtual Status put(const AgentRecord& rec) = 0;
  virtual Result<std::optional<AgentRecord>> find(const std::string& container) = 0;
  /// Records in state "pending", oldest first.
  virtual Result<std::vector<AgentRecord>> pending() = 0;
  /// Not an error when absent. (Releasing the container row also removes it.)
  virtual Status remove(const std::string& container) = 0;
};

}  // namespace lxcprov::wazuh
