#pragma once
// Queries: the read-only operations (exists, list, status, logs) and the checks a session makes
// before it hands a job over (is the name free, may this user manage that container, may this
// user create one more). Blocking (the store): call from a worker thread. Thread-safe as long as
// the store and the runtime are.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "container/runtime.hpp"
#include "jobs/provisioner.hpp"
#include "request/request.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

class Queries {
 public:
  Queries(const config::Config& config, state::Store& store, container::ContainerRuntime& runtime)
      : config_(config), store_(store), runtime_(runtime) {}

  /// The old container-exists contract: 0 free, 2 exists and yours, 1 otherwise (exit_codes.hpp).
  Outcome exists(const request::Request& req);
  Outcome list(const request::Request& req);
  Outcome status(const request::Request& req);
  Outcome logs(const request::Request& req);

  /// True when `name` is free to create (the authoritative check is the reservation).
  Result<bool> name_free(const std::string& name);
  /// True when `name` exists and `user` owns it, or `admin` and it exists. Someone else's
  /// container is reported exactly like an absent one, so refusals reveal nothing.
  Result<bool> may_manage(const std::string& user, bool admin, const std::string& name);
  /// Quota and per-group distributions (jobs/policy.hpp) for a create by `user`.
  Status admit_create(const std::string& user, const std::vector<std::string>& groups, bool admin,
                      const std::string& distribution);

 private:
  const config::Config& config_;
  state::Store& store_;
  container::ContainerRuntime& runtime_;
};

}  // namespace lxcprov::jobs
