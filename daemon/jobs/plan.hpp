#pragma once
// A job is a plan of undoable steps. run_plan() runs the steps in order, records each finished
// step in the store before the next begins, and on a failure undoes the recorded steps in reverse,
// so a failed job leaves nothing behind. After a crash, undo_recorded() does the same from what the
// store recorded. No I/O of its own: everything goes through Store and Reporter.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "state/store.hpp"

namespace lxcprov::jobs {

struct Step {
  std::string name;
  std::function<Status()> run;
  std::function<Status()> undo;  ///< may be empty: nothing to undo
  /// Adjacent steps of one non-empty group run at the same time, and the plan goes on when all
  /// have finished: none may need another's work. Each finished member is recorded then, in plan
  /// order; after a crash inside the group every unrecorded member counts as interrupted.
  std::string group = {};
};

/// Runs every task and returns when all have finished (how a group's steps run).
using Concurrently = std::function<void(const std::vector<std::function<void()>>& tasks)>;
/// One after another on the calling thread: deterministic, for tests that record call order.
void sequentially(const std::vector<std::function<void()>>& tasks);
/// The first on the calling thread, each other on a thread of its own.
void on_threads(const std::vector<std::function<void()>>& tasks);

/// Where a job tells what it does: the job log, the daemon log and the waiting client.
class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void step_started(std::string_view step) = 0;
  virtual void step_finished(std::string_view step, std::chrono::microseconds took) = 0;
  virtual void step_failed(std::string_view step, const Error& error) = 0;
  virtual void undo_failed(std::string_view step, const Error& error) = 0;
  virtual void info(std::string_view text) = 0;
  /// Output of a command the step runs (install, build), as it arrives: shown to the waiting
  /// client and kept in the job log, bounded, control characters escaped by the reporter.
  virtual void output(std::string_view step, std::string_view text) { (void)step, (void)text; }
};

/// Runs the plan, skipping the steps in `already_done` (a job resumed after a crash). On failure
/// returns the step's error after the undo; the job's state in the store is then FAILED (undo
/// incomplete) or ROLLED_BACK. On success the state is left RUNNING: the caller sets the final
/// state with its message.
/// A group's steps run through `concurrently`; the reporter and the store's job row are used from
/// the calling thread only.
Status run_plan(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                const std::vector<std::string>& already_done = {}, const Concurrently& concurrently = sequentially);

/// Undoes, in reverse, the steps of `plan` that the store recorded for `job_id` (crash recovery).
/// `interrupted` is the step the job was in when the daemon died: it may have done part of its
/// work (a clone directory, a row) without being recorded, so its undo runs first (with the other
/// unrecorded members of its group, when it has one). Undos are
/// idempotent and touch only what this job made, so undoing a step that did nothing is harmless.
Status undo_recorded(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                     const std::string& interrupted = "");

}  // namespace lxcprov::jobs
