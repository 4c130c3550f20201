#include "jobs/plan.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace lxcprov::jobs {
namespace {

const Step* find_step(const std::vector<Step>& plan, std::string_view name) {
  for (const auto& s : plan)
    if (s.name == name) return &s;
  return nullptr;
}

// Undo every recorded step, newest first; keep going past a failed undo so as much as possible
// is cleaned, and report whether all of it was.
bool undo_steps(const std::vector<Step>& plan, const std::vector<std::string>& done, Reporter& reporter) {
  bool clean = true;
  for (auto it = done.rbegin(); it != done.rend(); ++it) {
    const Step* step = find_step(plan, *it);
    if (!step || !step->undo) continue;
    reporter.info(fmt::format("undoing {}", step->name));
    if (auto s = step->undo(); !s) {
      reporter.undo_failed(step->name, s.error());
      clean = false;
    }
  }
  return clean;
}

}  // namespace

Status run_plan(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                const std::vector<std::string>& already_done) {
  std::vector<std::string> done = already_done;
  for (const auto& step : plan) {
    if (std::find(already_done.begin(), already_done.end(), step.name) != already_done.end()) continue;
    (void)store.update_job(job_id, state::JobState::running, step.name, 0, "");
    reporter.step_started(step.name);
    const auto t0 = std::chrono::steady_clock::now();
    Status s = step.run();
    if (s) {
      // Recorded before the next step begins: a crash from here on knows this step needs undoing.
      if (auto r = store.record_step(job_id, step.name); !r) {
        done.push_back(step.name);  // it happened even though the record did not
        s = r;
      }
    }
    if (!s) {
      reporter.step_failed(step.name, s.error());
      // The failing step itself is not undone: a step cleans up its own partial work (a clone
      // removes its directory), and undoing a reserve that lost a race would free the winner's row.
      const bool clean = undo_steps(plan, done, reporter);
      (void)store.update_job(job_id, clean ? state::JobState::rolled_back : state::JobState::failed, step.name, 0,
                             s.error().message);
      return s;
    }
    done.push_back(step.name);
    reporter.step_finished(
        step.name, std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0));
  }
  return {};
}

Status undo_recorded(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                     const std::string& interrupted) {
  auto done = store.recorded_steps(job_id);
  if (!done) return done.error();
  if (!interrupted.empty() && find_step(plan, interrupted) &&
      std::find(done->begin(), done->end(), interrupted) == done->end())
    done->push_back(interrupted);
  if (!undo_steps(plan, *done, reporter)) return make_error(Errc::internal, "some steps could not be undone");
  return {};
}

}  // namespace lxcprov::jobs
