#pragma once
// Readers for the sections of lxcprovd.json. Each leaves `out` untouched when the key is absent
// (the embedded default stays) and otherwise checks the value, returning an error that names the
// full key ("section.key") and the rule. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace lxcprov::config::detail {

/// "config KEY: RULE".
Error config_error(std::string_view key, std::string_view rule);
/// "section.key", or "key" for the top level.
std::string key_name(std::string_view section, std::string_view key);
/// No control characters at all: values end up in rendered files, config lines and TLS names.
bool one_line(std::string_view s);

Status read_bool(const nlohmann::json& j, const char* key, bool& out, std::string_view section);
/// `allow_empty`: "" is a meaningful value (e.g. "no limit", "every address").
Status read_text(const nlohmann::json& j, const char* key, std::string& out, std::string_view section,
                 bool allow_empty = false);
Status read_int(const nlohmann::json& j, const char* key, int64_t& out, int64_t min, int64_t max,
                std::string_view section);

}  // namespace lxcprov::config::detail
