#include "ldap_login/ldap_login_feature.hpp"

#include <fmt/format.h>

#include "config/templates.hpp"
#include "container/container_files.hpp"

namespace lxcprov::ldap_login {
namespace {

using namespace std::chrono_literals;

// Turns the LDAP client on where the tools exist (Rocky: authselect; Debian: pam-auth-update, with
// home directories made at first login) and restarts it so it reads the configuration just
// written. A template without the client still gets its configuration (exit 0); a client that is
// installed but does not come up is exit 3: that container's LDAP login would not work.
// The container was started a moment ago, so systemd may not answer yet: wait for it (bounded)
// instead of letting the restart fail, and bound the restart itself (it waits for boot ordering).
constexpr const char* activate_script = R"sh(
export DEBIAN_FRONTEND=noninteractive
if command -v authselect >/dev/null 2>&1; then authselect select sssd with-mkhomedir --force >/dev/null 2>&1 || true; fi
if command -v pam-auth-update >/dev/null 2>&1; then pam-auth-update --enable mkhomedir >/dev/null 2>&1 || true; fi
command -v systemctl >/dev/null 2>&1 && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || exit 0
i=0
until systemctl show -p Version >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 150 ] || exit 3
  sleep 0.2
done
systemctl cat "$1.service" >/dev/null 2>&1 || exit 0
timeout 45 systemctl restart "$1.service" >/dev/null 2>&1 || exit 3
)sh";

}  // namespace

void LdapLoginFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  out.push_back({jobs::Phase::after_configure,
                 {"ldap-login", [this, &ctx] { return write_login(ctx.record.name, ctx.request.distribution); }, {}}});
}

Status LdapLoginFeature::write_login(const std::string& name, const std::string& distribution) {
  const auto& L = config_.container_ldap;
  auto it = L.clients.find(distribution);
  const std::string client = it != L.clients.end() ? it->second : L.default_client;
  auto tpl = templates_.find(client);
  if (tpl == templates_.end()) return make_error(Errc::unavailable, fmt::format("no {} template is installed", client));
  auto files = config::render_ldap_client(client, tpl->second, L.uri, L.base_dn);
  if (!files) return files.error();
  if (auto s = container::write_file(runtime_, name, files->ca_path, "644", ca_pem_); !s) return s;
  if (auto s = container::write_file(runtime_, name, files->config_path, "600", files->config_text); !s) return s;
  auto r = runtime_.run(name, {"/bin/sh", "-c", activate_script, "lxcprov-ldap", client}, "", 90s);
  if (!r) return r.error();
  if (r->exit_status != 0)
    return make_error(Errc::internal,
                      fmt::format("{} did not start in the container (exit {})", client, r->exit_status));
  return {};
}

}  // namespace lxcprov::ldap_login
