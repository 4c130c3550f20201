#pragma once
// Fault-injecting decorators of the real store and runtime, for the test-only daemon
// (tests/support/faulty_lxcprovd.cpp) the end-to-end tests drive through ssh: a create of a
// container whose name ends in "-fail-<step>" fails at that step's edge call, everything else
// passes through untouched. The fault is chosen by the request itself, so one daemon serves every
// case and nothing in lxcprovd reads a test switch.
//   -fail-reserve    the reservation transaction        -fail-start      the container's start
//   -fail-clone      the snapshot clone                 -fail-configure  the first command in it
//   -fail-ready      marking the row ready
//
// A crash point (CrashPoint, from lxcprovd_faulty's --crash-at) instead SIGKILLs the whole daemon
// at a step boundary of whatever job reaches it, the way a power cut or an OOM kill would:
//   before:<step>  the step's effect is done but not recorded (the job row names it as running)
//   after:<step>   the step is recorded, the next one not begun
//   after:finish   a job has recorded its terminal outcome, the client has not been told

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "container/runtime.hpp"
#include "state/store.hpp"

namespace lxcprov::testing {

inline bool fails_at(std::string_view name, std::string_view step) {
  const std::string suffix = "-fail-" + std::string(step);
  return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
}

inline Error injected(std::string_view step) {
  return make_error(Errc::internal, "injected failure at step " + std::string(step));
}

struct CrashPoint {
  bool before = false;
  std::string step;  ///< a recorded step's name, or "finish"
  /// SIGSTOP instead of SIGKILL, the first time only (--pause-at): a daemon frozen mid-job, which
  /// the test continues with SIGCONT once it has done what it needs done meanwhile.
  bool pause = false;
};

/// "before:clone", "after:ready", "after:finish"; nullopt for anything else.
inline std::optional<CrashPoint> parse_crash_point(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return std::nullopt;
  const auto when = text.substr(0, colon);
  if (when != "before" && when != "after") return std::nullopt;
  CrashPoint p{when == "before", std::string(text.substr(colon + 1))};
  if (p.before && p.step == "finish") return std::nullopt;
  return p;
}

// SIGKILL cannot be caught or delayed: no destructor, flush or atexit handler runs, exactly as in a
// real crash.
[[noreturn]] inline void crash_now() {
  ::kill(::getpid(), SIGKILL);
  for (;;) ::pause();
}

// The crash point is reached: a crash, or the first time a pause (every thread stops).
inline void reached(const CrashPoint& p) {
  if (!p.pause) crash_now();
  static std::atomic<bool> paused{false};
  if (!paused.exchange(true)) ::kill(::getpid(), SIGSTOP);
}

class FaultyRuntime final : public container::ContainerRuntime {
 public:
  explicit FaultyRuntime(container::ContainerRuntime& real) : real_(real) {}
  bool exists(const std::string& name) override { return real_.exists(name); }
  Result<std::string> state(const std::string& name) override { return real_.state(name); }
  Result<std::vector<std::string>> list() override { return real_.list(); }
  Status clone(const container::CloneSpec& spec) override {
    if (fails_at(spec.name, "clone")) return injected("clone");
    return real_.clone(spec);
  }
  Status seed(const std::string& name, const container::FirstBoot& boot) override {
    if (fails_at(name, "configure")) return injected("configure");
    return real_.seed(name, boot);
  }
  Status start(const std::string& name, std::chrono::milliseconds timeout) override {
    if (fails_at(name, "start")) return injected("start");
    return real_.start(name, timeout);
  }
  Result<container::RunResult> run(const std::string& name, const std::vector<std::string>& argv,
                                   const std::string& input, std::chrono::milliseconds timeout) override {
    if (fails_at(name, "configure")) return injected("configure");
    return real_.run(name, argv, input, timeout);
  }
  Result<container::RunResult> run_as(const std::string& name, const std::vector<std::string>& argv,
                                      const container::RunOptions& options) override {
    if (fails_at(name, "configure")) return injected("configure");
    return real_.run_as(name, argv, options);
  }
  Status stop(const std::string& name) override { return real_.stop(name); }
  Status destroy(const std::string& name) override { return real_.destroy(name); }

 private:
  container::ContainerRuntime& real_;
};

class FaultyStore final : public state::Store {
 public:
  explicit FaultyStore(state::Store& real, std::optional<CrashPoint> crash = std::nullopt)
      : real_(real), crash_(std::move(crash)) {}
  Result<state::ContainerRecord> reserve_container(const state::NewContainer& c, const network::IpPool& pool,
                                                   int64_t ctid_min) override {
    if (fails_at(c.name, "reserve")) return injected("reserve");
    return real_.reserve_container(c, pool, ctid_min);
  }
  Status set_container_state(const std::string& name, state::ContainerState s, const std::string& job_id) override {
    if (s == state::ContainerState::ready && fails_at(name, "ready")) return injected("ready");
    return real_.set_container_state(name, s, job_id);
  }
  Result<std::optional<state::ContainerRecord>> find_container(const std::string& name) override {
    return real_.find_container(name);
  }
  Result<std::vector<state::ContainerRecord>> list_containers(const std::string& owner) override {
    return real_.list_containers(owner);
  }
  Status transition_container(const std::string& name, state::ContainerState from, state::ContainerState to,
                              const std::string& job_id) override {
    return real_.transition_container(name, from, to, job_id);
  }
  Status release_container(const std::string& name) override { return real_.release_container(name); }
  Status put_deployment(const state::DeploymentRecord& d) override { return real_.put_deployment(d); }
  Result<std::optional<state::DeploymentRecord>> find_deployment(const std::string& name) override {
    return real_.find_deployment(name);
  }
  Status remove_deployment(const std::string& name, uint16_t http_port) override {
    return real_.remove_deployment(name, http_port);
  }
  Result<std::vector<state::PortRecord>> list_ports() override { return real_.list_ports(); }
  Status release_ports(const std::string& container) override { return real_.release_ports(container); }
  Status create_job(const state::JobRecord& job) override { return real_.create_job(job); }
  Status update_job(const std::string& id, state::JobState s, const std::string& step, int exit_code,
                    const std::string& message) override {
    auto r = real_.update_job(id, s, step, exit_code, message);
    if (crash_ && crash_->step == "finish" && s != state::JobState::running && s != state::JobState::pending)
      reached(*crash_);
    return r;
  }
  Result<std::optional<state::JobRecord>> find_job(const std::string& id) override { return real_.find_job(id); }
  Result<std::vector<state::JobRecord>> unfinished_jobs() override { return real_.unfinished_jobs(); }
  Status append_job_log(const std::string& id, const std::string& level, const std::string& text) override {
    return real_.append_job_log(id, level, text);
  }
  Result<std::vector<state::JobLogLine>> job_log(const std::string& id) override { return real_.job_log(id); }
  Status record_step(const std::string& id, const std::string& step) override {
    const bool here = crash_ && crash_->step == step;
    if (here && crash_->before) reached(*crash_);
    auto r = real_.record_step(id, step);
    if (here && !crash_->before) reached(*crash_);
    return r;
  }
  Result<std::vector<std::string>> recorded_steps(const std::string& id) override { return real_.recorded_steps(id); }
  Status put_template_seal(const state::TemplateSealRecord& seal, const std::string& manifest) override {
    return real_.put_template_seal(seal, manifest);
  }
  Result<std::optional<state::TemplateSealRecord>> find_template_seal(const std::string& name) override {
    return real_.find_template_seal(name);
  }
  Result<std::optional<std::string>> template_seal_manifest(const std::string& name) override {
    return real_.template_seal_manifest(name);
  }
  Result<std::vector<state::TemplateSealRecord>> list_template_seals() override { return real_.list_template_seals(); }
  Status remove_template_seal(const std::string& name) override { return real_.remove_template_seal(name); }

 private:
  state::Store& real_;
  std::optional<CrashPoint> crash_;
};

}  // namespace lxcprov::testing
