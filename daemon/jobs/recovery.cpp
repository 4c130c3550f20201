// Provisioner::recover: what a crash interrupted, finished or undone at start-up, and recorded as
// it really ended.

#include <fmt/format.h>

#include "common/exit_codes.hpp"
#include "jobs/provisioner.hpp"

namespace lxcprov::jobs {

void Provisioner::recover(Reporter& reporter) {
  auto jobs = store_.unfinished_jobs();
  if (!jobs) {
    reporter.info(fmt::format("recovery skipped: {}", jobs.error().message));
  } else {
    for (const auto& job : *jobs) {
      reporter.info(fmt::format("recovering job {} ({} {})", job.id, state::to_string(job.kind), job.container));
      if (job.kind == state::JobKind::create)
        recover_create(job, reporter);
      else if (job.kind == state::JobKind::update)
        recover_update(job, reporter);
      else
        recover_delete(job, reporter);
    }
  }
  converge(reporter);
}

// The same context a running job has, from what the store kept: the job's container name and
// user, and the container's row when it still exists.
static JobContext context_of(state::Store& store, const state::JobRecord& job, Reporter& reporter) {
  JobContext ctx;
  ctx.job_id = job.id;
  ctx.reporter = &reporter;
  ctx.request.container_name = job.container;
  ctx.request.username = job.user;
  if (auto row = store.find_container(job.container); row && row->has_value()) {
    ctx.record = **row;
    ctx.request.distribution = ctx.record.distribution;
    ctx.request.http_port = ctx.record.http_port;
  }
  return ctx;
}

void Provisioner::recover_create(const state::JobRecord& job, Reporter& reporter) {
  JobContext ctx = context_of(store_, job, reporter);
  for (auto* f : features_) f->forget(ctx, reporter);
  const auto s = undo_recorded(create_plan(ctx), store_, reporter, job.id, job.step);
  (void)store_.update_job(job.id, s ? state::JobState::rolled_back : state::JobState::failed, job.step,
                          exit_code::internal,
                          s ? "interrupted by a daemon restart; rolled back"
                            : "interrupted by a daemon restart; the roll back was incomplete: " + s.error().message);
}

void Provisioner::recover_delete(const state::JobRecord& job, Reporter& reporter) {
  JobContext ctx = context_of(store_, job, reporter);
  // Resumed after its last recorded step: the steps before it are done, and redoing them against
  // a row that is gone would report a failure for a container that was in fact deleted.
  auto done = store_.recorded_steps(job.id);
  if (!done) {
    (void)store_.update_job(job.id, state::JobState::failed, job.step, exit_code::internal, done.error().message);
    return;
  }
  const auto s = run_plan(delete_plan(ctx), store_, reporter, job.id, *done);
  (void)store_.update_job(
      job.id, s ? state::JobState::succeeded : state::JobState::failed, s ? "release" : job.step,
      s ? 0 : exit_code::internal,
      s ? fmt::format("container {} deleted (finished after a daemon restart)", job.container) : s.error().message);
}

void Provisioner::recover_update(const state::JobRecord& job, Reporter& reporter) {
  // Undone from its recorded steps, like a create: the previous release switched back in and its
  // units restarted, the new release removed, the lock released, the features converged.
  JobContext ctx = context_of(store_, job, reporter);
  const auto s = undo_recorded(update_plan(ctx), store_, reporter, job.id, job.step);
  (void)store_.update_job(job.id, s ? state::JobState::rolled_back : state::JobState::failed, job.step,
                          exit_code::internal,
                          s ? "interrupted by a daemon restart; rolled back to what served before"
                            : "interrupted by a daemon restart; the roll back was incomplete: " + s.error().message);
}

void Provisioner::converge(Reporter& reporter) {
  // Whatever a crash left outside (a half-finished job, a missed undo), installing from the store
  // makes it match again.
  for (auto* f : features_)
    if (auto s = f->converge(); !s) reporter.info(fmt::format("{} not installed: {}", f->name(), s.error().message));
}

Status Provisioner::refresh() {
  Status first;
  for (auto* f : features_)
    if (auto s = f->refresh(); !s && first)
      first = make_error(s.error().code, fmt::format("{}: {}", f->name(), s.error().message));
  return first;
}

}  // namespace lxcprov::jobs
