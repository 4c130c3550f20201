#pragma once
// LDAP login inside containers as a feature (jobs/feature.hpp): the directory's users log in to a
// container with their directory password. After configure, the client's configuration (sssd or
// nslcd, per distribution, rendered from the operator's template) and the directory's CA are
// written from inside the container, the client turned on and restarted. No undo: the files go
// with the container. No I/O of its own: the runtime runs the commands.

#include <map>
#include <string>

#include "config/config.hpp"
#include "container/runtime.hpp"
#include "jobs/feature.hpp"

namespace lxcprov::ldap_login {

class LdapLoginFeature final : public jobs::Feature {
 public:
  /// `templates`: client ("sssd", "nslcd") -> template text; `ca_pem`: the directory's CA.
  LdapLoginFeature(const config::Config& config, container::ContainerRuntime& runtime,
                   std::map<std::string, std::string> templates, std::string ca_pem)
      : config_(config), runtime_(runtime), templates_(std::move(templates)), ca_pem_(std::move(ca_pem)) {}

  std::string_view name() const override { return "ldap-login"; }
  /// after_configure "ldap-login".
  void create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) override;
  void delete_steps(jobs::JobContext&, std::vector<jobs::PhasedStep>&) override {}

 private:
  Status write_login(const std::string& name, const std::string& distribution);

  const config::Config& config_;
  container::ContainerRuntime& runtime_;
  std::map<std::string, std::string> templates_;
  std::string ca_pem_;
};

}  // namespace lxcprov::ldap_login
