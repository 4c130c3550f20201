#include "deploy/catalog.hpp"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/bytes.hpp"

namespace lxcprov::deploy {
namespace {

using nlohmann::json;

bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

Error bad(std::string_view file, std::string_view key, std::string_view rule) {
  return make_error(Errc::invalid_argument, fmt::format("{} {}: {}", file, key, rule));
}

}  // namespace

bool valid_catalog_name(std::string_view name) {
  if (name.empty() || name.size() > 32 || !is_lower(static_cast<unsigned char>(name.front()))) return false;
  for (unsigned char c : bytes(name))
    if (!(is_lower(c) || is_digit(c) || c == '-' || c == '_')) return false;
  return true;
}

bool valid_version(std::string_view version) {
  // N, N.N or N.N.N: what RUNTIME_LANGUAGE's "@version" may say, and what the catalog lists.
  if (version.empty() || version.size() > 32) return false;
  int dots = 0;
  bool digit_before = false;
  for (unsigned char c : bytes(version)) {
    if (c == '.') {
      if (!digit_before || ++dots > 2) return false;
      digit_before = false;
    } else if (is_digit(c)) {
      digit_before = true;
    } else {
      return false;
    }
  }
  return digit_before;
}

bool version_matches(std::string_view requested, std::string_view full) {
  // A prefix at a dot boundary: "18" and "18.19" match "18.19.0", "18.1" does not.
  if (!full.starts_with(requested)) return false;
  return full.size() == requested.size() || full[requested.size()] == '.';
}

namespace {

// Numeric, part by part: "18.9" is older than "18.10".
bool older(std::string_view a, std::string_view b) {
  auto next = [](std::string_view& v) {
    uint64_t n = 0;
    while (!v.empty() && v.front() != '.') {
      n = n * 10 + static_cast<uint64_t>(v.front() - '0');
      v.remove_prefix(1);
    }
    if (!v.empty()) v.remove_prefix(1);
    return n;
  };
  while (!a.empty() || !b.empty()) {
    const uint64_t x = next(a), y = next(b);
    if (x != y) return x < y;
  }
  return false;
}

bool package_name(std::string_view name) {
  // Debian policy 5.6.1: lower case letters, digits, + - . ; at least two, starting alphanumeric.
  if (name.size() < 2 || name.size() > 128) return false;
  if (!is_lower(static_cast<unsigned char>(name.front())) && !is_digit(static_cast<unsigned char>(name.front())))
    return false;
  for (unsigned char c : bytes(name))
    if (!(is_lower(c) || is_digit(c) || c == '+' || c == '.' || c == '-')) return false;
  return true;
}

bool unit_name(std::string_view name) {
  constexpr std::string_view suffix = ".service";
  if (name.size() <= suffix.size() || name.size() > 256 || !name.ends_with(suffix) || name.front() == '-') return false;
  for (unsigned char c : bytes(name))
    if (!(is_lower(c) || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '@' || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

// Each file is an operator's data: a key that is not understood is a typo (e.g. "unit" for
// "units") that would silently drop a check, so it is refused.
Status only_keys(const json& j, std::initializer_list<std::string_view> keys, std::string_view file,
                 const std::string& where) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return bad(file, where, fmt::format("unknown key \"{}\"", key));
  }
  return {};
}

Result<std::vector<std::string>> names(const json& j, const char* key, bool (*valid)(std::string_view),
                                       std::string_view file, const std::string& where, std::string_view rule) {
  const auto it = j.find(key);
  const std::string name = where + "." + key;
  if (it == j.end() || !it->is_array() || it->empty() || it->size() > 32)
    return bad(file, name, "must be an array of 1 to 32 names");
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (!v.is_string() || !valid(v.get_ref<const std::string&>())) return bad(file, name, rule);
    out.push_back(v.get<std::string>());
  }
  return out;
}

constexpr std::string_view runtimes_file = "runtimes.json";
constexpr std::string_view services_file = "services.json";
constexpr std::string_view name_rule = "names must be 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter";
constexpr std::string_view package_rule = "must hold Debian package names (^[a-z0-9][a-z0-9+.-]+$)";
constexpr std::string_view unit_rule = "must hold systemd service names (^[A-Za-z0-9@._-]+\\.service$)";

Result<Runtime> parse_runtime(const std::string& name, const json& j) {
  if (!valid_catalog_name(name)) return bad(runtimes_file, name, name_rule);
  if (!j.is_object()) return bad(runtimes_file, name, "must be an object {\"default\": VERSION, \"versions\": {...}}");
  if (auto s = only_keys(j, {"default", "versions"}, runtimes_file, name); !s) return s.error();
  Runtime r;
  r.name = name;
  const auto def = j.find("default");
  if (def == j.end() || !def->is_string()) return bad(runtimes_file, name + ".default", "must be a version string");
  r.default_version = def->get<std::string>();
  const auto versions = j.find("versions");
  if (versions == j.end() || !versions->is_object() || versions->empty())
    return bad(runtimes_file, name + ".versions", "must be a non-empty object VERSION -> {\"packages\": [...]}");
  for (const auto& [version, entry] : versions->items()) {
    const std::string where = name + ".versions." + version;
    if (!valid_version(version)) return bad(runtimes_file, where, "versions must be N, N.N or N.N.N");
    if (!entry.is_object()) return bad(runtimes_file, where, "must be an object");
    if (auto s = only_keys(entry, {"packages", "venv"}, runtimes_file, where); !s) return s.error();
    RuntimeVersion v;
    v.version = version;
    auto packages = names(entry, "packages", package_name, runtimes_file, where, package_rule);
    if (!packages) return packages.error();
    v.packages = std::move(*packages);
    if (const auto venv = entry.find("venv"); venv != entry.end()) {
      if (!venv->is_boolean()) return bad(runtimes_file, where + ".venv", "must be true or false");
      v.venv = venv->get<bool>();
    }
    r.versions.push_back(std::move(v));
  }
  const bool known = std::any_of(r.versions.begin(), r.versions.end(),
                                 [&](const RuntimeVersion& v) { return v.version == r.default_version; });
  if (!known) return bad(runtimes_file, name + ".default", "must be one of the versions listed under \"versions\"");
  return r;
}

Result<Service> parse_service(const std::string& name, const json& j) {
  if (!valid_catalog_name(name)) return bad(services_file, name, name_rule);
  if (!j.is_object()) return bad(services_file, name, "must be an object {\"packages\": [...], \"units\": [...]}");
  if (auto s = only_keys(j, {"packages", "units"}, services_file, name); !s) return s.error();
  Service service;
  service.name = name;
  auto packages = names(j, "packages", package_name, services_file, name, package_rule);
  if (!packages) return packages.error();
  service.packages = std::move(*packages);
  auto units = names(j, "units", unit_name, services_file, name, unit_rule);
  if (!units) return units.error();
  service.units = std::move(*units);
  return service;
}

std::string available_runtimes(const Catalog& catalog) {
  std::string out;
  for (const auto& [name, runtime] : catalog.runtimes) {
    for (const auto& v : runtime.versions) {
      if (!out.empty()) out += ", ";
      out += name + "@" + v.version;
    }
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Result<RuntimeVersion> Catalog::runtime(std::string_view name, std::string_view version) const {
  // The message repeats only a name of the catalog and a version of digits and dots: anything
  // else may be whatever was typed into the wrong prompt (a password, a token).
  const auto it = runtimes.find(std::string(name));
  const bool printable = it != runtimes.end() && (version.empty() || valid_version(version));
  const std::string asked =
      printable ? (version.empty() ? std::string(name) : fmt::format("{}@{}", name, version)) : "that runtime";
  const auto unavailable = [&] {
    return make_error(Errc::invalid_argument,
                      fmt::format("{} is not available; available: {}", asked, available_runtimes(*this)));
  };
  if (!printable) return unavailable();
  const Runtime& r = it->second;
  const RuntimeVersion* best = nullptr;
  for (const auto& v : r.versions) {
    if (!version.empty() && !version_matches(version, v.version)) continue;
    // The operator's default wins among matches: it is the version they test and mean.
    if (v.version == r.default_version) return v;
    if (best == nullptr || older(best->version, v.version)) best = &v;
  }
  if (best == nullptr) return unavailable();
  return *best;
}

Result<Service> Catalog::service(std::string_view name) const {
  if (const auto it = services.find(std::string(name)); it != services.end()) return it->second;
  std::string known;
  for (const auto& [n, s] : services) known += (known.empty() ? "" : ", ") + n;
  // As above: an unknown name is not repeated.
  const std::string asked = "that service";
  return make_error(Errc::invalid_argument,
                    fmt::format("{} is not available; available: {}", asked, known.empty() ? "none" : known));
}

std::vector<std::string> Catalog::runtime_names() const {
  std::vector<std::string> out;
  for (const auto& [name, r] : runtimes) out.push_back(name);
  return out;
}

std::vector<std::string> Catalog::service_names() const {
  std::vector<std::string> out;
  for (const auto& [name, s] : services) out.push_back(name);
  return out;
}

Result<Catalog> parse_catalog(std::string_view runtimes_json, std::string_view services_json) {
  Catalog catalog;
  const json runtimes = json::parse(runtimes_json, nullptr, false);
  if (runtimes.is_discarded() || !runtimes.is_object())
    return bad(runtimes_file, "file", "is not a JSON object NAME -> {\"default\": ..., \"versions\": {...}}");
  for (const auto& [name, entry] : runtimes.items()) {
    auto r = parse_runtime(name, entry);
    if (!r) return r.error();
    catalog.runtimes.emplace(name, std::move(*r));
  }
  const json services = json::parse(services_json, nullptr, false);
  if (services.is_discarded() || !services.is_object())
    return bad(services_file, "file", "is not a JSON object NAME -> {\"packages\": [...], \"units\": [...]}");
  for (const auto& [name, entry] : services.items()) {
    auto s = parse_service(name, entry);
    if (!s) return s.error();
    catalog.services.emplace(name, std::move(*s));
  }
  return catalog;
}

}  // namespace lxcprov::deploy
