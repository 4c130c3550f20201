// A fleet node's heartbeat facts (see heartbeat.hpp).

#include "fleet/heartbeat.hpp"

#include <charconv>

#include <fmt/format.h>

namespace lxcprov::fleet {

namespace {

std::optional<int64_t> field_kb(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view rest = line.substr(key.size() + 1);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      int64_t v = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
      if (ec != std::errc() || p == rest.data()) return std::nullopt;
      return v;
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Memory> parse_meminfo(std::string_view text) {
  auto total = field_kb(text, "MemTotal");
  auto available = field_kb(text, "MemAvailable");
  if (!total || !available) return std::nullopt;
  return Memory{*total, *available};
}

std::string registration_mismatch(const state::NodeRecord& registered, std::string_view subnet) {
  if (registered.subnet == subnet) return "";
  return fmt::format("node {} is registered with subnet {} but this lxcprovd's bridge subnet is {}", registered.name,
                     registered.subnet, subnet);
}

}  // namespace lxcprov::fleet
