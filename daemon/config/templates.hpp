#pragma once
// Rendering of the files lxcprov writes into a container (sssd.conf, nslcd.conf, the Wazuh
// agent's ossec.conf) from operator-owned templates (config/templates/ in the source tree,
// /etc/lxcprov/templates/ when installed). A template is text with {{name}} placeholders; only
// validated values are substituted, and a value with a control character (a newline would add a
// line of config: injection) is refused, as is a placeholder nobody supplied. Pure.

#include <map>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::config {

/// Replaces every {{name}} of `text` with values[name]. Errc::invalid_argument for an unknown
/// or unterminated placeholder, or a value containing a control character or "{{".
Result<std::string> render_template(std::string_view text, const std::map<std::string, std::string>& values);

/// One LDAP client configuration for a container: what to write where.
struct LdapClientFiles {
  std::string config_path;  ///< /etc/sssd/sssd.conf or /etc/nslcd.conf (written 0600)
  std::string config_text;
  std::string ca_path;  ///< where the directory's CA goes in the container (0644)
};

/// `client`: "sssd" or "nslcd". Placeholders: {{uri}}, {{base_dn}}, {{ca_file}} (the path in
/// the container), {{starttls}} ("true"/"false", sssd) and {{nslcd_ssl}} ("on"/"start_tls").
Result<LdapClientFiles> render_ldap_client(std::string_view client, std::string_view template_text,
                                           std::string_view uri, std::string_view base_dn);

/// The Wazuh agent's ossec.conf. Placeholders: {{manager}}, {{agent_port}}, {{agent_name}}.
Result<std::string> render_wazuh_agent_config(std::string_view template_text, std::string_view manager,
                                              uint16_t agent_port, std::string_view agent_name);

}  // namespace lxcprov::config
