#include "jobs/queries.hpp"

#include "fleet/placement.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "auth/access_policy.hpp"
#include "common/exit_codes.hpp"
#include "deploy/layout.hpp"

namespace lxcprov::jobs {
namespace {

Outcome failed(const Error& error, std::string_view what) {
  return {exit_code_for(error.code), {fmt::format("{} failed: {}", what, error.message)}};
}

// Someone else's container is answered exactly like an absent one.
Result<std::optional<state::ContainerRecord>> own_container(state::Store& store, const request::Request& req) {
  auto rec = store.find_container(req.container_name);
  if (!rec) return rec.error();
  if (!rec->has_value() || ((*rec)->owner != req.username && !req.admin))
    return std::optional<state::ContainerRecord>();
  return rec;
}

std::string url_of(const config::Config& config, const state::ContainerRecord& rec) {
  if (!config.http.enabled) return "";
  const bool tls = config.http.tls.has_value();
  const uint16_t listen = tls ? config.http.tls->listen_port : config.http.listen_port;
  const std::string port = listen == (tls ? 443 : 80) ? "" : fmt::format(":{}", listen);
  return fmt::format("{}://{}.{}{}/", tls ? "https" : "http", rec.name, config.http.domain, port);
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
  if (nodes_ != nullptr) {
    auto nodes = nodes_->list_nodes();
    if (!nodes) return nodes.error();
    if (auto s = fleet::may_take_here(*nodes, config_.fleet.node, config_.network.subnet); !s) return s;
  }
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
  // In a fleet each line also names the node the container is on.
  const bool fleet = !config_.fleet.database.empty();
  for (const auto& r : *recs)
    o.lines.push_back(
        fmt::format("{} {} {} {}{}", r.name, r.owner, state::to_string(r.state), r.ip, fleet ? " " + r.node : ""));
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

namespace lxcprov::jobs {

Outcome Queries::info(const request::Request& req) {
  using nlohmann::json;
  auto rec = own_container(store_, req);
  if (!rec) return failed(rec.error(), "info");
  if (!rec->has_value()) return {exit_code::not_found, {fmt::format("no container {} of yours", req.container_name)}};
  const auto& r = **rec;
  auto ports = store_.list_ports();
  if (!ports) return failed(ports.error(), "info");
  json j = {{"name", r.name},
            {"owner", r.owner},
            {"state", state::to_string(r.state)},
            {"ip", r.ip},
            {"http_port", r.http_port},
            {"url", url_of(config_, r)},
            {"ports", json::array()},
            {"distribution", r.distribution},
            {"deployment", nullptr}};
  for (const auto& p : *ports)
    if (p.container == r.name)
      j["ports"].push_back({{"service", p.service},
                            {"proto", p.proto},
                            {"public_port", p.public_port},
                            {"container_port", p.container_port}});
  auto row = store_.find_deployment(r.name);
  if (!row) return failed(row.error(), "info");
  if (row->has_value()) {
    auto spec = deploy::from_stored_json((*row)->spec);
    if (!spec) return failed(spec.error(), "info");
    json components = json::array();
    for (const auto& c : spec->components)
      components.push_back({{"path", c.path}, {"runtime", c.runtime}, {"version", c.version}});
    json units = json::array();
    if (auto plans = deploy::plan_units(*spec, nullptr))
      for (const auto& u : deploy::unit_names(*plans)) units.push_back(u);
    j["deployment"] = {{"repository", spec->repository},
                       {"branch", spec->branch},
                       {"root", spec->root},
                       {"commit", (*row)->commit},
                       {"release", (*row)->release},
                       {"previous_release", (*row)->previous_release},
                       {"services", spec->services},
                       {"custom_services", spec->custom_services.size()},
                       {"root_start", !spec->root_start.empty()},
                       {"units", units},
                       {"components", components}};
  }
  // Values that are not UTF-8 (a path) are replaced rather than failing the whole answer.
  return {exit_code::ok, {j.dump(-1, ' ', false, json::error_handler_t::replace)}};
}

Outcome Queries::app_logs(const request::Request& req) {
  auto rec = own_container(store_, req);
  if (!rec) return failed(rec.error(), "app-logs");
  if (!rec->has_value()) return {exit_code::not_found, {fmt::format("no container {} of yours", req.container_name)}};
  const unsigned lines = std::clamp(req.log_lines, 1u, 10000u);
  container::RunOptions o;
  o.timeout = std::chrono::seconds(30);
  o.max_output = 256 * 1024;
  auto r = runtime_.run_as((*rec)->name,
                           {"journalctl", "-u", std::string(deploy::unit_prefix) + "*", "-n", std::to_string(lines),
                            "--no-pager", "-o", "short-iso"},
                           o);
  if (!r) return failed(r.error(), "app-logs");
  if (r->exit_status != 0)
    return {exit_code::internal, {fmt::format("app-logs failed: journalctl exited with {}", r->exit_status)}};
  Outcome out;
  std::string_view text = r->output;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.lines.emplace_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

Result<std::optional<deploy::DeploySpec>> Queries::deployment(const std::string& name) {
  auto row = store_.find_deployment(name);
  if (!row) return row.error();
  if (!row->has_value()) return std::optional<deploy::DeploySpec>();
  auto spec = deploy::from_stored_json((*row)->spec);
  if (!spec) return spec.error();
  return std::optional<deploy::DeploySpec>(std::move(*spec));
}

}  // namespace lxcprov::jobs
