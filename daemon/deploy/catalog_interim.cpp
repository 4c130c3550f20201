// INTERIM (wt-engine): a minimal implementation of deploy/catalog.hpp so the deploy engine links
// and runs before the request engineer's deploy/catalog.cpp lands. When it does, delete this file
// (and its line in daemon/CMakeLists.txt): the two define the same functions.

#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "deploy/catalog.hpp"

namespace lxcprov::deploy {
namespace {

using nlohmann::json;

bool version_matches(std::string_view want, std::string_view have) {
  return want == have || (have.size() > want.size() && have.starts_with(want) && have[want.size()] == '.');
}

Result<std::vector<std::string>> names(const json& j, const std::regex& rule, std::string_view where) {
  if (!j.is_array()) return make_error(Errc::invalid_argument, fmt::format("{}: must be an array", where));
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string() || !std::regex_match(v.get<std::string>(), rule))
      return make_error(Errc::invalid_argument, fmt::format("{}: a name breaks its rule", where));
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

Result<RuntimeVersion> Catalog::runtime(std::string_view name, std::string_view version) const {
  std::vector<std::string> available;
  for (const auto& [n, rt] : runtimes)
    for (const auto& v : rt.versions) available.push_back(fmt::format("{}@{}", n, v.version));
  auto it = runtimes.find(std::string(name));
  if (it != runtimes.end()) {
    const std::string_view want = version.empty() ? std::string_view(it->second.default_version) : version;
    for (const auto& v : it->second.versions)
      if (v.version == it->second.default_version && version_matches(want, v.version)) return v;
    for (const auto& v : it->second.versions)
      if (version_matches(want, v.version)) return v;
  }
  return make_error(Errc::invalid_argument,
                    fmt::format("RUNTIME_LANGUAGE: {}{}{} is not available; available: {}", name,
                                version.empty() ? "" : "@", version, fmt::join(available, ", ")));
}

Result<Service> Catalog::service(std::string_view name) const {
  auto it = services.find(std::string(name));
  if (it != services.end()) return it->second;
  std::vector<std::string> known;
  for (const auto& [n, s] : services) known.push_back(n);
  return make_error(Errc::invalid_argument,
                    fmt::format("SERVICES: {} is not available; available: {}", name, fmt::join(known, ", ")));
}

Result<Catalog> parse_catalog(std::string_view runtimes_json, std::string_view services_json) {
  static const std::regex package(R"(^[a-z0-9][a-z0-9+.-]+$)");
  static const std::regex unit(R"(^[A-Za-z0-9@._-]+\.service$)");
  Catalog c;
  const json r = json::parse(runtimes_json, nullptr, false);
  if (!r.is_object()) return make_error(Errc::invalid_argument, "runtimes: not a JSON object");
  for (const auto& [name, spec] : r.items()) {
    if (!spec.is_object() || !spec.contains("versions") || !spec["versions"].is_object())
      return make_error(Errc::invalid_argument, fmt::format("runtimes.{}: needs \"versions\"", name));
    Runtime rt;
    rt.name = name;
    rt.default_version = spec.value("default", "");
    for (const auto& [ver, v] : spec["versions"].items()) {
      if (!v.is_object())
        return make_error(Errc::invalid_argument, fmt::format("runtimes.{}.{}: not an object", name, ver));
      auto pk = names(v.value("packages", json::array()), package, fmt::format("runtimes.{}.{}.packages", name, ver));
      if (!pk) return pk.error();
      rt.versions.push_back({ver, *pk, v.value("venv", false)});
    }
    c.runtimes[name] = std::move(rt);
  }
  const json s = json::parse(services_json, nullptr, false);
  if (!s.is_object()) return make_error(Errc::invalid_argument, "services: not a JSON object");
  for (const auto& [name, spec] : s.items()) {
    if (!spec.is_object()) return make_error(Errc::invalid_argument, fmt::format("services.{}: not an object", name));
    auto pk = names(spec.value("packages", json::array()), package, fmt::format("services.{}.packages", name));
    if (!pk) return pk.error();
    auto un = names(spec.value("units", json::array()), unit, fmt::format("services.{}.units", name));
    if (!un) return un.error();
    c.services[name] = Service{name, *pk, *un};
  }
  return c;
}

}  // namespace lxcprov::deploy
