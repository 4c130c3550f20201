#include "config/json_read.hpp"
#include "common/bytes.hpp"

#include <fmt/format.h>

namespace lxcprov::config::detail {

Error config_error(std::string_view key, std::string_view rule) {
  return make_error(Errc::invalid_argument, fmt::format("config {}: {}", key, rule));
}

std::string key_name(std::string_view section, std::string_view key) {
  return section.empty() ? std::string(key) : fmt::format("{}.{}", section, key);
}

bool one_line(std::string_view s) {
  for (unsigned char ch : bytes(s))
    if (ch < 0x20 || ch == 0x7f) return false;
  return true;
}

Status read_bool(const nlohmann::json& j, const char* key, bool& out, std::string_view section) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_boolean()) return config_error(key_name(section, key), "must be true or false");
  out = it->get<bool>();
  return {};
}

Status read_text(const nlohmann::json& j, const char* key, std::string& out, std::string_view section,
                 bool allow_empty) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string() || (!allow_empty && it->get_ref<const std::string&>().empty()))
    return config_error(key_name(section, key), allow_empty ? "must be a string" : "must be a non-empty string");
  const auto& s = it->get_ref<const std::string&>();
  if (!one_line(s)) return config_error(key_name(section, key), "must be one line without control characters");
  out = s;
  return {};
}

Status read_int(const nlohmann::json& j, const char* key, int64_t& out, int64_t min, int64_t max,
                std::string_view section) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max)
    return config_error(key_name(section, key), fmt::format("must be an integer from {} to {}", min, max));
  out = it->get<int64_t>();
  return {};
}

}  // namespace lxcprov::config::detail
