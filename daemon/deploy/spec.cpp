#include "deploy/spec.hpp"

#include <nlohmann/json.hpp>

namespace lxcprov::deploy {

using nlohmann::json;

std::string to_stored_json(const DeploySpec& spec) {
  json components = json::array();
  for (const auto& c : spec.components) {
    components.push_back({{"path", c.path},
                          {"runtime", c.runtime},
                          {"version", c.version},
                          {"install", c.install},
                          {"build", c.build},
                          {"start", c.start}});
  }
  json j = {{"version", 1},
            {"repository", spec.repository},
            {"branch", spec.branch},
            {"root", spec.root},
            {"multi", spec.multi},
            {"components", components},
            {"root_start", spec.root_start},
            {"services", spec.services},
            {"custom_services", spec.custom_services},
            {"commit", spec.commit}};
  return j.dump();
}

Result<DeploySpec> from_stored_json(const std::string& text) {
  // Written by to_stored_json only, so any deviation means a damaged row: refuse it whole.
  const json j = json::parse(text, nullptr, false);
  auto bad = [] { return make_error(Errc::invalid_argument, "the stored deployment is not readable"); };
  if (!j.is_object()) return bad();
  // Not j.value("version", 0): it throws when the member is there but not a number.
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer() || version->get<int64_t>() != 1) return bad();
  try {
    DeploySpec spec;
    spec.repository = j.at("repository").get<std::string>();
    spec.branch = j.at("branch").get<std::string>();
    spec.root = j.at("root").get<std::string>();
    spec.multi = j.at("multi").get<bool>();
    for (const auto& c : j.at("components")) {
      spec.components.push_back({c.at("path").get<std::string>(), c.at("runtime").get<std::string>(),
                                 c.at("version").get<std::string>(), c.at("install").get<std::string>(),
                                 c.at("build").get<std::string>(), c.at("start").get<std::string>()});
    }
    spec.root_start = j.at("root_start").get<std::string>();
    spec.services = j.at("services").get<std::vector<std::string>>();
    spec.custom_services = j.at("custom_services").get<std::vector<std::string>>();
    spec.commit = j.at("commit").get<std::string>();
    return spec;
  } catch (const json::exception&) {
    return bad();
  }
}

}  // namespace lxcprov::deploy
