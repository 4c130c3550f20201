#pragma once
// Provisioner: builds and runs the plans of lxcprov's operations (create, delete) and answers the
// read-only ones (exists, list, status, logs). Blocking: call from a worker thread. Thread-safe as
// long as Store and ContainerRuntime are.

#include <string>
#include <vector>

#include "config/config.hpp"
#include "jobs/plan.hpp"
#include "lxc/runtime.hpp"
#include "request/request.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

/// What the client is told at the end.
struct Outcome {
  int exit_code = 0;
  std::vector<std::string> lines;
};

class Provisioner {
 public:
  Provisioner(const config::Config& config, state::Store& store, lxc::ContainerRuntime& runtime)
      : config_(config), store_(store), runtime_(runtime) {}

  /// reserve -> clone -> start -> configure -> ready; undone step by step on failure.
  Outcome create(const request::Request& req, const std::string& job_id, Reporter& reporter,
                 const std::string& fail_at = "");
  /// The caller's own container: mark deleting -> destroy -> release name, CTID and IP.
  Outcome destroy(const request::Request& req, const std::string& job_id, Reporter& reporter,
                  const std::string& fail_at = "");

  Outcome exists(const request::Request& req);
  Outcome list(const request::Request& req);
  Outcome status(const request::Request& req);
  Outcome logs(const request::Request& req);

  /// At start-up: roll back creates and finish deletes that a crash interrupted.
  void recover(Reporter& reporter);

  /// True when `name` is free for `user` to create (the authoritative check is the reservation).
  Result<bool> name_free(const std::string& name);
  /// True when `name` exists and belongs to `user`. An existing container of someone else is
  /// reported exactly like an absent one, so refusals reveal nothing.
  Result<bool> owns(const std::string& user, const std::string& name);

 private:
  std::vector<Step> create_plan(const request::Request& req, const std::string& job_id, state::ContainerRecord& rec);
  std::vector<Step> delete_plan(const std::string& name, const std::string& job_id);
  Outcome fail(const std::string& job_id, const Error& error, std::string_view what);

  const config::Config& config_;
  state::Store& store_;
  lxc::ContainerRuntime& runtime_;
};

/// "00:16:3e:xx:xx:xx" from the low 24 bits of the address: unique within the pool.
std::string hwaddr_for(uint32_t address);
/// A fresh random job id: 16 lowercase hex digits.
std::string new_job_id();

}  // namespace lxcprov::jobs
