#include "jobs/queries.hpp"

#include <fmt/format.h>

#include "auth/access_policy.hpp"
#include "common/exit_codes.hpp"

namespace lxcprov::jobs {
namespace {

Outcome failed(const Error& error, std::string_view what) {
  return {exit_code_for(error.code), {fmt::format("{} failed: {}", what, error.message)}};
}

}  // namespace

Result<bool> Queries::name_free(const std::string& name) {
  auto rec = store_.find_container(name);
  if (!rec) return rec.error();
  return !rec->has_value() && !runtime_.exists(name);
}

Result<bool> Queries::may_manage(const std::string& user, bool admin, const std::string& name) {
  auto rec = store_.find_container(name);
  if (!rec) return rec.error();
  return rec->has_value() && (admin || (*rec)->owner == user);
}

Status Queries::admit_create(const std::string& user, const std::vector<std::string>& groups, bool admin,
                             const std::string& distribution) {
  auto owned = store_.list_containers(user);
  if (!owned) return owned.error();
  return auth::may_create(config_.access, user, groups, admin, owned->size(), distribution);
}

Outcome Queries::exists(const request::Request& req) {
  // The old client's contract (exit_codes.hpp): it creates on 0 and updates on 2.
  const std::string& name = req.container_name;
  auto rec = store_.find_container(name);
  if (!rec) return {exit_code::legacy_refused, failed(rec.error(), "exists").lines};
  if (!rec->has_value()) {
    if (runtime_.exists(name))
      return {exit_code::legacy_refused, {fmt::format("CONTAINER_NAME: {} is taken (not by lxcprov)", name)}};
    return {exit_code::ok, {fmt::format("free: there is no container {}; create it", name)}};
  }
  const auto& r = **rec;
  if (r.owner != req.username && !req.admin)
    return {exit_code::legacy_refused, {fmt::format("CONTAINER_NAME: {} is another user's container", name)}};
  auto st = runtime_.state(r.name);
  return {exit_code::legacy_update,
          {fmt::format("exists: {} is yours; update it", r.name), fmt::format("  owner: {}", r.owner),
           fmt::format("  state: {} ({})", st ? *st : "MISSING", state::to_string(r.state)),
           fmt::format("  ip:    {}", r.ip), fmt::format("  job:   {}", r.job_id)}};
}

Outcome Queries::list(const request::Request& req) {
  auto recs = store_.list_containers(req.admin ? "" : req.username);  // an admin sees every container
  if (!recs) return failed(recs.error(), "list");
  Outcome o;
  for (const auto& r : *recs)
    o.lines.push_back(fmt::format("{} {} {} {}", r.name, r.owner, state::to_string(r.state), r.ip));
  if (o.lines.empty()) o.lines.push_back("(no containers)");
  return o;
}

Outcome Queries::status(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return failed(job.error(), "status");
  if (!job->has_value() || ((*job)->user != req.username && !req.admin))
    return {exit_code::not_found, {fmt::format("no job {} of yours", req.job_id)}};
  const auto& j = **job;
  return {exit_code::ok,
          {fmt::format("job {}: {} {} {}", j.id, state::to_string(j.kind), j.container, state::to_string(j.state)),
           fmt::format("  step:    {}", j.step), fmt::format("  outcome: {}", j.message)}};
}

Outcome Queries::logs(const request::Request& req) {
  auto job = store_.find_job(req.job_id);
  if (!job) return failed(job.error(), "logs");
  if (!job->has_value() || ((*job)->user != req.username && !req.admin))
    return {exit_code::not_found, {fmt::format("no job {} of yours", req.job_id)}};
  auto lines = store_.job_log(req.job_id);
  if (!lines) return failed(lines.error(), "logs");
  Outcome o;
  for (const auto& l : *lines) o.lines.push_back(fmt::format("{} {} {}", l.at, l.level, l.text));
  return o;
}

}  // namespace lxcprov::jobs
