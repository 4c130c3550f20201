#include "jobs/plan.hpp"

#include <algorithm>
#include <exception>
#include <thread>

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

void sequentially(const std::vector<std::function<void()>>& tasks) {
  for (const auto& t : tasks) t();
}

void on_threads(const std::vector<std::function<void()>>& tasks) {
  // An exception must reach the caller as it would from a step run there (the session logs it),
  // not end the daemon from a thread of its own: caught on the thread, thrown again after the join.
  std::vector<std::exception_ptr> thrown(tasks.size());
  {
    std::vector<std::jthread> others;
    for (size_t i = 1; i < tasks.size(); ++i)
      others.emplace_back([&, i] {
        try {
          tasks[i]();
        } catch (...) {
          thrown[i] = std::current_exception();
        }
      });
    if (!tasks.empty()) {
      try {
        tasks[0]();
      } catch (...) {
        thrown[0] = std::current_exception();
      }
    }
  }  // the jthreads join here
  for (const auto& e : thrown)
    if (e) std::rethrow_exception(e);
}

Status run_plan(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                const std::vector<std::string>& already_done, const Concurrently& concurrently) {
  auto skipped = [&](const Step& s) {
    return std::find(already_done.begin(), already_done.end(), s.name) != already_done.end();
  };
  std::vector<std::string> done = already_done;
  for (size_t i = 0; i < plan.size();) {
    // The next batch: one step, or the run of adjacent steps of its group.
    size_t end = i + 1;
    if (!plan[i].group.empty())
      while (end < plan.size() && plan[end].group == plan[i].group) ++end;
    std::vector<const Step*> batch;
    for (size_t k = i; k < end; ++k)
      if (!skipped(plan[k])) batch.push_back(&plan[k]);
    i = end;
    if (batch.empty()) continue;

    (void)store.update_job(job_id, state::JobState::running, batch.front()->name, 0, "");
    for (const Step* step : batch) reporter.step_started(step->name);
    std::vector<Status> results(batch.size());
    std::vector<std::chrono::microseconds> took(batch.size());
    std::vector<std::function<void()>> tasks;
    for (size_t k = 0; k < batch.size(); ++k)
      tasks.emplace_back([&, k] {
        const auto t0 = std::chrono::steady_clock::now();
        results[k] = batch[k]->run();
        took[k] = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
      });
    if (tasks.size() == 1)
      tasks.front()();
    else
      concurrently(tasks);

    const Step* failed = nullptr;
    Status error;
    for (size_t k = 0; k < batch.size(); ++k) {
      Status s = results[k];
      if (s) {
        // Recorded before the next batch begins: a crash from here on knows this step needs undoing.
        if (auto r = store.record_step(job_id, batch[k]->name); !r) s = r;
        done.push_back(batch[k]->name);  // it happened even if the record did not
      }
      if (!s) {
        if (!failed) failed = batch[k], error = s;
        reporter.step_failed(batch[k]->name, s.error());
        if (results[k]) continue;
      } else {
        reporter.step_finished(batch[k]->name, took[k]);
      }
    }
    if (failed) {
      // A failing step itself is not undone: a step cleans up its own partial work (a clone
      // removes its directory), and undoing a reserve that lost a race would free the winner's row.
      // Its group's members that finished are undone with the rest.
      const bool clean = undo_steps(plan, done, reporter);
      (void)store.update_job(job_id, clean ? state::JobState::rolled_back : state::JobState::failed, failed->name, 0,
                             error.error().message);
      return error;
    }
  }
  return {};
}

Status undo_recorded(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                     const std::string& interrupted) {
  auto done = store.recorded_steps(job_id);
  if (!done) return done.error();
  // The interrupted step, or every member of its group: they ran at the same time.
  if (const Step* step = interrupted.empty() ? nullptr : find_step(plan, interrupted)) {
    for (const auto& s : plan) {
      const bool member = &s == step || (!step->group.empty() && s.group == step->group);
      if (member && std::find(done->begin(), done->end(), s.name) == done->end()) done->push_back(s.name);
    }
  }
  if (!undo_steps(plan, *done, reporter)) return make_error(Errc::internal, "some steps could not be undone");
  return {};
}

}  // namespace lxcprov::jobs
