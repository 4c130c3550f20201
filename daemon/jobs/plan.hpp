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
};

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
Status run_plan(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                const std::vector<std::string>& already_done = {});

/// Undoes, in reverse, the steps of `plan` that the store recorded for `job_id` (crash recovery).
/// `interrupted` is the step the job was in when the daemon died: it may have done part of its
/// work (a clone directory, a row) without being recorded, so its undo runs first. Undos are
/// idempotent and touch only what this job made, so undoing a step that did nothing is harmless.
Status undo_recorded(const std::vector<Step>& plan, state::Store& store, Reporter& reporter, const std::string& job_id,
                     const std::string& interrupted = "");

}  // namespace lxcprov::jobs
