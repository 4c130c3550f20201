#pragma once
// Where audit events go: the server and lxcprovctl see only this interface (tests record events
// in memory; lxcprovd and lxcprovctl use FileTrail).

#include "audit/event.hpp"
#include "common/result.hpp"

namespace lxcprov::audit {

class Trail {
 public:
  virtual ~Trail() = default;
  /// Appends the event durably (written and synced before it returns). An error means it was not
  /// recorded: the caller decides whether to go on without it.
  virtual Status record(const Event& event) = 0;
};

}  // namespace lxcprov::audit
