#pragma once
// CallLog: the record of every call the job logic made to its edges (runtime, appliers, installers,
// manager), shared by the recording fakes of tests/fakes/, and the place faults are injected, as in
// LevelDB's fault-injecting Env: the Nth call fails (an error), or crashes (an exception that
// leaves the job where a killed daemon would: mid-plan, its finished steps recorded).

#include <stdexcept>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::testing {

/// What a fake throws to stand for the daemon being killed mid-call.
struct Crash : std::runtime_error {
  Crash() : std::runtime_error("crash injected") {}
};

class CallLog {
 public:
  enum class Fault { none, error, crash };

  /// Records `call`; returns the injected error when this is the call to fail.
  Status record(std::string call) {
    calls.push_back(std::move(call));
    if (static_cast<int>(calls.size()) != fault_at || fault == Fault::none) return {};
    if (fault == Fault::crash) throw Crash();
    return make_error(Errc::io, "injected failure at call " + std::to_string(fault_at) + ": " + calls.back());
  }
  /// The `n`th call from now on (1 = the next) fails with `how`.
  void fail_at(int n, Fault how = Fault::error) {
    fault_at = static_cast<int>(calls.size()) + n;
    fault = how;
  }
  void clear_fault() { fault = Fault::none; }

  std::vector<std::string> calls;
  int fault_at = 0;
  Fault fault = Fault::none;
};

}  // namespace lxcprov::testing
