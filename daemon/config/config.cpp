#include "config/config.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lxcprov::config {
namespace {

using nlohmann::json;

Error bad(std::string_view key, std::string_view rule) {
  return make_error(Errc::invalid_argument, fmt::format("config {}: {}", key, rule));
}

// Each reader leaves the default in place when the key is absent.
Status read_string(const json& j, const char* key, std::string& out, std::string_view path) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return bad(fmt::format("{}{}", path, key), "must be a non-empty string");
  out = it->get<std::string>();
  return {};
}

template <class Int>
Status read_int(const json& j, const char* key, Int& out, int64_t min, int64_t max) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_number_integer() || it->get<int64_t>() < min || it->get<int64_t>() > max)
    return bad(key, fmt::format("must be an integer from {} to {}", min, max));
  out = static_cast<Int>(it->get<int64_t>());
  return {};
}

bool plain_value(std::string_view s) {
  for (char c : s)
    if (c == '\n' || c == '\r' || c == '\0') return false;
  return true;
}

}  // namespace

std::vector<std::string> Config::distribution_names() const {
  std::vector<std::string> names;
  for (const auto& d : distributions) names.push_back(d.name);
  return names;
}

const Distribution* Config::find_distribution(std::string_view name) const {
  for (const auto& d : distributions)
    if (d.name == name) return &d;
  return nullptr;
}

Result<Config> parse(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) return bad("file", "is not a JSON object");
  Config c;
  Status s;
  if (!(s = read_string(j, "socket", c.socket_path, ""))) return s.error();
  if (!(s = read_string(j, "database", c.database, ""))) return s.error();
  if (!(s = read_string(j, "lxcpath", c.lxcpath, ""))) return s.error();
  if (!(s = read_string(j, "passwd_file", c.passwd_file, ""))) return s.error();
  if (!(s = read_string(j, "public_host", c.public_host, ""))) return s.error();
  if (!(s = read_int(j, "workers", c.workers, 1, 256))) return s.error();
  if (!(s = read_int(j, "max_sessions", c.max_sessions, 1, 65536))) return s.error();
  if (!(s = read_int(j, "frame_limit", c.frame_limit, 4096, 16 << 20))) return s.error();
  if (!(s = read_int(j, "ctid_min", c.ctid_min, 1, 1'000'000'000))) return s.error();
  if (!(s = read_int(j, "default_http_port", c.default_http_port, 80, 60000))) return s.error();
  int64_t answer_s = c.answer_timeout.count(), start_ms = c.start_timeout.count();
  if (!(s = read_int(j, "answer_timeout_s", answer_s, 1, 3600))) return s.error();
  if (!(s = read_int(j, "start_timeout_ms", start_ms, 100, 600'000))) return s.error();
  c.answer_timeout = std::chrono::seconds(answer_s);
  c.start_timeout = std::chrono::milliseconds(start_ms);
  if (auto it = j.find("allow_fault_injection"); it != j.end()) {
    if (!it->is_boolean()) return bad("allow_fault_injection", "must be true or false");
    c.allow_fault_injection = it->get<bool>();
  }
  if (auto it = j.find("allowed_peers"); it != j.end()) {
    if (!it->is_array()) return bad("allowed_peers", "must be an array of user names");
    c.allowed_peers.clear();
    for (const auto& v : *it) {
      if (!v.is_string() || v.get_ref<const std::string&>().empty())
        return bad("allowed_peers", "must be an array of user names");
      c.allowed_peers.push_back(v.get<std::string>());
    }
  }
  if (auto it = j.find("network"); it != j.end()) {
    if (!it->is_object()) return bad("network", "must be an object");
    for (auto [key, field] : {std::pair{"bridge", &c.network.bridge}, {"subnet", &c.network.subnet},
                              {"gateway", &c.network.gateway}, {"first", &c.network.first},
                              {"last", &c.network.last}})
      if (!(s = read_string(*it, key, *field, "network."))) return s.error();
  }
  if (c.network.bridge.size() > 15 || !plain_value(c.network.bridge))
    return bad("network.bridge", "must be an interface name of at most 15 characters");
  auto pool = network::IpPool::parse(c.network.subnet, c.network.gateway, c.network.first, c.network.last);
  if (!pool) return pool.error();
  c.pool = *pool;
  if (auto it = j.find("distributions"); it != j.end()) {
    if (!it->is_object() || it->empty()) return bad("distributions", "must be a non-empty object name -> {\"template\": NAME}");
    c.distributions.clear();
    for (const auto& [name, value] : it->items()) {
      std::string tpl;
      if (!value.is_object() || !(s = read_string(value, "template", tpl, "distributions.")) || tpl.empty())
        return bad(fmt::format("distributions.{}", name), "must be an object with a \"template\" string");
      c.distributions.push_back({name, tpl});
    }
    c.default_distribution = c.distributions.front().name;
  }
  if (!(s = read_string(j, "default_distribution", c.default_distribution, ""))) return s.error();
  if (!c.find_distribution(c.default_distribution))
    return bad("default_distribution", "must name one of the configured distributions");
  if (auto it = j.find("lxc_config"); it != j.end()) {
    if (!it->is_object()) return bad("lxc_config", "must be an object of lxc.* keys to values");
    for (const auto& [key, value] : it->items()) {
      if (key.rfind("lxc.", 0) != 0 || !value.is_string() || !plain_value(key) ||
          !plain_value(value.get_ref<const std::string&>()))
        return bad(fmt::format("lxc_config.{}", key), "must be an lxc.* key with a one-line string value");
      // lxc.include and lxc.hook.* would let a config value run arbitrary code or config.
      if (key.rfind("lxc.include", 0) == 0 || key.rfind("lxc.hook", 0) == 0)
        return bad(fmt::format("lxc_config.{}", key), "is not allowed");
      c.lxc_config.emplace_back(key, value.get<std::string>());
    }
  }
  return c;
}

Config defaults() { return std::move(parse("{}").value()); }

}  // namespace lxcprov::config
