#include "network/protocols.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lxcprov::network {
namespace {

char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

std::optional<std::string> canonical_name(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  std::string out;
  for (char c : text) {
    c = upper(c);
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return std::nullopt;
    out += c;
  }
  if (out.front() < 'A' || out.front() > 'Z') return std::nullopt;
  return out;
}

}  // namespace

Result<std::vector<Protocol>> parse_protocol_catalog(std::string_view json_text) {
  using nlohmann::json;
  const auto bad = [](std::string what) { return make_error(Errc::invalid_argument, "protocol catalog: " + what); };
  json j = json::parse(json_text, nullptr, false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object() || !j.contains("protocols") || !j["protocols"].is_array())
    return bad("must be an object with a \"protocols\" array");
  std::vector<Protocol> out;
  size_t index = 0;
  for (const auto& e : j["protocols"]) {
    const std::string where = fmt::format("entry {}", index++);
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("port") ||
        !e["port"].is_number_integer() || !e.contains("proto") || !e["proto"].is_string())
      return bad(where + ": must be {\"name\": STRING, \"port\": INTEGER, \"proto\": \"tcp\"|\"udp\"}");
    auto name = canonical_name(e["name"].get<std::string>());
    if (!name) return bad(where + ": name must be 1-16 characters of A-Z, 0-9, '_' and '-', starting with a letter");
    const int64_t port = e["port"].get<int64_t>();
    if (port < 1 || port > 65535) return bad(where + ": port must be from 1 to 65535");
    const std::string proto = e["proto"].get<std::string>();
    if (proto != "tcp" && proto != "udp") return bad(where + ": proto must be \"tcp\" or \"udp\"");
    ProtocolPort pp{static_cast<uint16_t>(port), proto};
    Protocol* p = nullptr;
    for (auto& existing : out)
      if (existing.name == *name) p = &existing;
    if (!p) p = &out.emplace_back(Protocol{*name, {}});
    for (const auto& seen : p->ports)
      if (seen == pp) return bad(where + ": repeats " + *name + " " + std::to_string(port) + "/" + proto);
    p->ports.push_back(pp);
  }
  return out;
}

const Protocol* find_protocol(const std::vector<Protocol>& catalog, std::string_view name) {
  auto canonical = canonical_name(name);
  if (!canonical) return nullptr;
  for (const auto& p : catalog)
    if (p.name == *canonical) return &p;
  return nullptr;
}

}  // namespace lxcprov::network
