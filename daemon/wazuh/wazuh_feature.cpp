#include "wazuh/wazuh_feature.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/secret.hpp"
#include "config/templates.hpp"

namespace lxcprov::wazuh {
namespace {

using namespace std::chrono_literals;

// The agent's client.keys (first line of stdin: the secret key never is an argument) and ossec.conf
// (the rest), root:wazuh 0640 as the agent package installs them (root:root without that group).
constexpr const char* agent_files_script = R"sh(set -eu
umask 077
mkdir -p /var/ossec/etc
IFS= read -r key
g=root
if grep -q '^wazuh:' /etc/group 2>/dev/null; then g=wazuh; fi
printf '%s\n' "$key" > /var/ossec/etc/.client.keys.lxcprov
key=
chown "root:$g" /var/ossec/etc/.client.keys.lxcprov
chmod 640 /var/ossec/etc/.client.keys.lxcprov
mv -f /var/ossec/etc/.client.keys.lxcprov /var/ossec/etc/client.keys
cat > /var/ossec/etc/.ossec.conf.lxcprov
chown "root:$g" /var/ossec/etc/.ossec.conf.lxcprov
chmod 640 /var/ossec/etc/.ossec.conf.lxcprov
mv -f /var/ossec/etc/.ossec.conf.lxcprov /var/ossec/etc/ossec.conf
if [ -x /var/ossec/bin/wazuh-control ]; then (/var/ossec/bin/wazuh-control restart >/dev/null 2>&1 &); fi
)sh";

}  // namespace

void WazuhFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_configure,
                 {"wazuh", [this, &ctx] { return enroll(ctx.record.name); },
                  [this, &ctx] {
                    std::lock_guard lock(mutex_);
                    return forget_agent(ctx.request.container_name);
                  }}});
}

void WazuhFeature::delete_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  // Before "destroy": the agent must leave the manager while its record still says which one it
  // is, or a re-created name would meet a duplicate agent.
  out.push_back({jobs::Phase::before_destroy,
                 {"unenroll",
                  [this, &ctx]() -> Status {
                    std::lock_guard lock(mutex_);
                    auto s = forget_agent(ctx.request.container_name);
                    if (s || config_.wazuh.on_unavailable == "fail") return s;
                    // pending: the container goes; the stale agent is removed by name when the
                    // name is created again (enroll_agent).
                    return Status();
                  },
                  {}}});
}

void WazuhFeature::forget(const jobs::JobContext& ctx, jobs::Reporter& reporter) {
  std::lock_guard lock(mutex_);
  if (auto f = forget_agent(ctx.request.container_name); !f)
    reporter.info(fmt::format("Wazuh agent of {} not removed: {}", ctx.request.container_name, f.error().message));
}

void WazuhFeature::describe(const state::ContainerRecord& rec, std::vector<std::string>& lines) const {
  if (auto a = records_.find(rec.name); a && a->has_value() && (*a)->state == "pending")
    lines.push_back("  wazuh: the manager is unavailable; the agent is enrolled later (pending)");
}

Status WazuhFeature::enroll(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto e = enroll_agent(name);
  if (!e) {
    const bool down = e.error().code == Errc::unavailable || e.error().code == Errc::timeout;
    if (down && config_.wazuh.on_unavailable == "pending") return records_.put({name, "", "pending", 1});
    return e.error();
  }
  // Recorded before anything else can fail, so every later undo finds the agent.
  if (auto s = records_.put({name, e->id, "enrolled", 0}); !s) {
    (void)manager_.remove(e->id);
    return s;
  }
  if (auto s = write_agent_files(name, *e); !s) {
    (void)forget_agent(name);  // this step's own partial work
    return s;
  }
  return {};
}

Result<Enrollment> WazuhFeature::enroll_agent(const std::string& name) {
  auto e = manager_.enroll(name);
  if (e || e.error().code != Errc::conflict) return e;
  // authd refuses a name it knows. We hold the reservation of `name`, so that agent belongs to an
  // earlier container of the same name that is gone: remove it and enroll once more.
  auto stale = manager_.find(name);
  if (!stale) return stale.error();
  for (const auto& a : *stale)
    if (auto s = manager_.remove(a.id); !s) return s.error();
  return manager_.enroll(name);
}

Status WazuhFeature::write_agent_files(const std::string& name, const Enrollment& e) {
  auto conf =
      config::render_wazuh_agent_config(agent_config_template_, config_.wazuh.manager, config_.wazuh.agent_port, name);
  if (!conf) return conf.error();
  Secret keys = client_keys(e);
  std::string input(keys.reveal());
  input += *conf;
  auto r = runtime_.run(name, {"/bin/sh", "-c", agent_files_script, "lxcprov-wazuh"}, input, 30s);
  std::fill(input.begin(), input.end(), '\0');  // the key was in it
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal, fmt::format("writing the Wazuh agent files failed (exit {})", r->exit_status));
  return {};
}

Status WazuhFeature::forget_agent(const std::string& name) {
  auto rec = records_.find(name);
  if (!rec) return rec.error();
  if (rec->has_value() && !(*rec)->agent_id.empty()) {
    if (auto s = manager_.remove((*rec)->agent_id); !s) return s;
  } else if (rec->has_value() && (*rec)->state == "pending") {
    // Never enrolled by this container: nothing on the manager to remove (a stale agent of the
    // name is removed when the name is enrolled again).
  } else {
    // A record lost to a crash: whatever agent carries the name is this container's.
    auto found = manager_.find(name);
    if (!found) return found.error();
    for (const auto& a : *found)
      if (auto s = manager_.remove(a.id); !s) return s;
  }
  return records_.remove(name);
}

void WazuhFeature::retry_pending(jobs::Reporter& reporter) {
  auto pending = records_.pending();
  if (!pending) {
    reporter.info(fmt::format("pending Wazuh agents not read: {}", pending.error().message));
    return;
  }
  for (const auto& p : *pending) {
    if (p.attempts >= config_.wazuh.retry_attempts) continue;  // given up: logged when it happened
    std::lock_guard lock(mutex_);
    // Re-read under the lock: a delete may have removed it, or the container may not be ready.
    auto c = store_.find_container(p.container);
    auto cur = records_.find(p.container);
    if (!c || !c->has_value() || (*c)->state != state::ContainerState::ready || !cur || !cur->has_value() ||
        (*cur)->state != "pending")
      continue;
    auto e = enroll_agent(p.container);
    Status s = e ? records_.put({p.container, e->id, "enrolled", 0}) : Status(e.error());
    if (e && s) {
      if (s = write_agent_files(p.container, *e); !s) (void)forget_agent(p.container);
    }
    if (s) {
      reporter.info(fmt::format("Wazuh agent of {} enrolled (id {})", p.container, e->id));
      continue;
    }
    const int attempts = p.attempts + 1;
    (void)records_.put({p.container, "", "pending", attempts});
    reporter.info(fmt::format("Wazuh agent of {} still pending (attempt {} of {}): {}", p.container, attempts,
                              config_.wazuh.retry_attempts, s.error().message));
    if (attempts >= config_.wazuh.retry_attempts)
      reporter.info(
          fmt::format("Wazuh agent of {}: retries given up; delete and re-create the container, or "
                      "enroll it by hand",
                      p.container));
  }
}

}  // namespace lxcprov::wazuh
