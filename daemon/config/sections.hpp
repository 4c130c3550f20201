#pragma once
// Parsing of the "ports", "http", "limits" and "deploy" sections of the config (kept apart from
// config.cpp so each section's rules sit together). Internal to config::parse().

#include <nlohmann/json.hpp>

#include "config/config.hpp"

namespace lxcprov::config::detail {

/// Reads the three sections of `j` over the defaults in `c`. `c.network` must already be parsed.
Status parse_forwarding_sections(const nlohmann::json& j, Config& c);

/// Reads the "isolation" section (config/isolation.cpp). `c.network` and `c.ports` must already be
/// parsed: the bridge name is checked for nft and the table must not be the forwards' one.
Status parse_isolation_section(const nlohmann::json& j, Config& c);

/// Reads the "deploy" section. `c.distributions` must already be parsed: deploy.distributions
/// names some of them.
Status parse_deploy_section(const nlohmann::json& j, Config& c);

}  // namespace lxcprov::config::detail
