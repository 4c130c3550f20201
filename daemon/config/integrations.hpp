#pragma once
// Parsing of the "wazuh" and "container_ldap" sections of the config (what lxcprov sets up inside
// each container besides its network). Internal to config::parse().

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace lxcprov::config::detail {

/// Reads both sections of `j` over the defaults in `c`. `c.auth` and `c.distributions` must
/// already be parsed (container_ldap falls back to auth.ldap and names distributions).
Status parse_integration_sections(const nlohmann::json& j, Config& c);

/// True for a host name or IP literal safe to put into a config file unquoted: letters, digits,
/// '.', '-', ':' (IPv6), 1..253 characters.
bool plain_host(std::string_view host);

}  // namespace lxcprov::config::detail
