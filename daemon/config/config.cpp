#include "config/config.hpp"

#include "network/addresses.hpp"

#include "config/json_read.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/integrations.hpp"
#include "config/sections.hpp"
#include "container/confinement.hpp"
#include "fleet/node_input.hpp"

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

namespace {

// The identity and access keys: auth, access, throttle, keys_file, authorized_keys_dir, shell_path.
Result<std::vector<std::string>> read_names(const json& j, const char* key, std::string_view path) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return bad(fmt::format("{}{}", path, key), "must be an array of names");
  for (const auto& v : *it) {
    if (!v.is_string() || v.get_ref<const std::string&>().empty() || !plain_value(v.get_ref<const std::string&>()))
      return bad(fmt::format("{}{}", path, key), "must be an array of non-empty one-line names");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::map<std::string, std::vector<std::string>>> read_name_lists(const json& j, const char* key,
                                                                        std::string_view path) {
  std::map<std::string, std::vector<std::string>> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_object()) return bad(fmt::format("{}{}", path, key), "must be an object of name -> [names]");
  for (const auto& [name, value] : it->items()) {
    auto names = read_names(*it, name.c_str(), fmt::format("{}{}.", path, key));
    if (!names) return names.error();
    out[name] = std::move(*names);
  }
  return out;
}

Status read_ms(const json& j, const char* key, std::chrono::milliseconds& out, int64_t min, int64_t max) {
  int64_t v = out.count();
  if (auto s = read_int(j, key, v, min, max); !s) return s;
  out = std::chrono::milliseconds(v);
  return {};
}

Status parse_access(const json& j, Config& c) {
  Status s;
  if (!(s = read_string(j, "keys_file", c.keys_file, ""))) return s;
  if (!(s = read_string(j, "authorized_keys_dir", c.authorized_keys_dir, ""))) return s;
  if (!(s = read_string(j, "shell_path", c.shell_path, ""))) return s;
  for (const std::string* p : {&c.keys_file, &c.authorized_keys_dir, &c.shell_path, &c.socket_path})
    if (p->front() != '/' || p->find_first_of("\"\\ \t\r\n") != std::string::npos)
      return bad("keys_file/authorized_keys_dir/shell_path/socket", "must be absolute paths without spaces or quotes");
  if (auto it = j.find("auth"); it != j.end()) {
    if (!it->is_object()) return bad("auth", "must be an object");
    if (!(s = read_string(*it, "backend", c.auth.backend, "auth."))) return s;
    if (c.auth.backend != "file" && c.auth.backend != "ldap")
      return bad("auth.backend", "must be \"file\" or \"ldap\"");
    if (auto l = it->find("ldap"); l != it->end()) {
      if (!l->is_object()) return bad("auth.ldap", "must be an object");
      auto& L = c.auth.ldap;
      for (auto [key, field] : {std::pair{"uri", &L.uri},
                                {"ca_file", &L.ca_file},
                                {"bind_dn_template", &L.bind_dn_template},
                                {"base_dn", &L.base_dn},
                                {"user_filter", &L.user_filter},
                                {"bind_dn", &L.bind_dn},
                                {"bind_password_file", &L.bind_password_file},
                                {"group_base_dn", &L.group_base_dn},
                                {"group_filter", &L.group_filter},
                                {"group_attr", &L.group_attr}})
        if (!(s = read_string(*l, key, *field, "auth.ldap."))) return s;
      if (!(s = detail::read_bool(*l, "starttls", L.starttls, "auth.ldap"))) return s;
      if (!(s = detail::read_bool(*l, "verify_certificate", L.verify_certificate, "auth.ldap"))) return s;
      if (!(s = read_ms(*l, "network_timeout_ms", L.network_timeout, 100, 60'000))) return s;
      if (!(s = read_ms(*l, "operation_timeout_ms", L.operation_timeout, 100, 60'000))) return s;
    }
    if (c.auth.backend == "ldap") {
      const auto& L = c.auth.ldap;
      if (!L.uri.starts_with("ldap://") && !L.uri.starts_with("ldaps://"))
        return bad("auth.ldap.uri", "must start with ldap:// or ldaps://");
      if (L.uri.starts_with("ldap://") && !L.starttls)
        return bad("auth.ldap.starttls", "must be true for an ldap:// uri: passwords never cross the network in clear");
      if (L.bind_dn_template.empty() == L.base_dn.empty())
        return bad("auth.ldap", "set exactly one of bind_dn_template and base_dn (search-then-bind)");
      if (!L.bind_dn_template.empty() && L.bind_dn_template.find("%u") == std::string::npos)
        return bad("auth.ldap.bind_dn_template", "must contain %u");
      if (!L.base_dn.empty() && L.user_filter.find("%u") == std::string::npos)
        return bad("auth.ldap.user_filter", "must contain %u");
      if (!L.bind_dn.empty() && L.bind_password_file.empty())
        return bad("auth.ldap.bind_password_file", "is required with bind_dn");
    }
  }
  if (auto it = j.find("access"); it != j.end()) {
    if (!it->is_object()) return bad("access", "must be an object");
    auto admins = read_names(*it, "admins", "access.");
    if (!admins) return admins.error();
    c.access.admins = std::move(*admins);
    auto admin_groups = read_names(*it, "admin_groups", "access.");
    if (!admin_groups) return admin_groups.error();
    c.access.admin_groups = std::move(*admin_groups);
    if (!(s = read_int(*it, "quota_per_user", c.access.quota_per_user, 0, 100000))) return s;
    auto gd = read_name_lists(*it, "group_distributions", "access.");
    if (!gd) return gd.error();
    c.access.group_distributions = std::move(*gd);
    for (const auto& [group, dists] : c.access.group_distributions)
      for (const auto& d : dists)
        if (!c.find_distribution(d))
          return bad(fmt::format("access.group_distributions.{}", group),
                     fmt::format("{} is not a configured distribution", d));
    auto groups = read_name_lists(*it, "groups", "access.");
    if (!groups) return groups.error();
    c.access.groups = std::move(*groups);
  }
  if (auto it = j.find("throttle"); it != j.end()) {
    if (!it->is_object()) return bad("throttle", "must be an object");
    auto& T = c.throttle;
    if (!(s = read_int(*it, "free_failures", T.free_failures, 0, 1000))) return s;
    if (!(s = read_int(*it, "lockout_failures", T.lockout_failures, 1, 100000))) return s;
    if (!(s = read_ms(*it, "base_delay_ms", T.base_delay, 0, 60'000))) return s;
    if (!(s = read_ms(*it, "max_delay_ms", T.max_delay, 0, 60'000))) return s;
    int64_t lockout = T.lockout.count(), window = T.window.count();
    if (!(s = read_int(*it, "lockout_s", lockout, 0, 86400))) return s;
    if (!(s = read_int(*it, "window_s", window, 1, 86400))) return s;
    T.lockout = std::chrono::seconds(lockout);
    T.window = std::chrono::seconds(window);
  }
  return {};
}

}  // namespace

Result<Config> parse(std::string_view json_text) {
  json j = json::parse(json_text, nullptr, false, /*ignore_comments=*/true);
  if (j.is_discarded() || !j.is_object()) return bad("file", "is not a JSON object");
  Config c;
  Status s;
  if (!(s = read_string(j, "socket", c.socket_path, ""))) return s.error();
  if (!(s = read_string(j, "database", c.database, ""))) return s.error();
  if (!(s = read_string(j, "lxcpath", c.lxcpath, ""))) return s.error();
  if (!(s = read_string(j, "passwd_file", c.passwd_file, ""))) return s.error();
  if (!(s = read_string(j, "audit_log", c.audit_log, ""))) return s.error();
  if (c.audit_log.empty() || c.audit_log.front() != '/') return bad("audit_log", "must be an absolute path");
  if (!(s = read_string(j, "public_host", c.public_host, ""))) return s.error();
  if (!(s = read_int(j, "workers", c.workers, 1, 256))) return s.error();
  if (!(s = read_int(j, "max_sessions", c.max_sessions, 1, 65536))) return s.error();
  if (!(s = read_int(j, "reserved_sessions", c.reserved_sessions, 0, 65536))) return s.error();
  if (c.reserved_sessions >= c.max_sessions)
    return bad("reserved_sessions", "must be less than max_sessions (else no one could start to authenticate)");
  if (!(s = read_int(j, "max_unauthenticated_per_source", c.max_unauthenticated_per_source, 1, 65536)))
    return s.error();
  if (!(s = read_string(j, "socket_group", c.socket_group, ""))) return s.error();
  if (!(s = read_int(j, "frame_limit", c.frame_limit, 4096, 16 << 20))) return s.error();
  if (!(s = read_int(j, "ctid_min", c.ctid_min, 1, 1'000'000'000))) return s.error();
  if (!(s = read_int(j, "default_http_port", c.default_http_port, 80, 60000))) return s.error();
  int64_t answer_s = c.answer_timeout.count(), start_ms = c.start_timeout.count();
  if (!(s = read_int(j, "answer_timeout_s", answer_s, 1, 3600))) return s.error();
  int64_t auth_s = c.auth_timeout.count(), refusal_s = c.refusal_log_interval.count();
  if (!(s = read_int(j, "auth_timeout_s", auth_s, 1, 3600))) return s.error();
  if (!(s = read_int(j, "refusal_log_interval_s", refusal_s, 1, 86400))) return s.error();
  c.auth_timeout = std::chrono::seconds(auth_s);
  c.refusal_log_interval = std::chrono::seconds(refusal_s);
  if (!(s = read_int(j, "start_timeout_ms", start_ms, 100, 600'000))) return s.error();
  c.answer_timeout = std::chrono::seconds(answer_s);
  c.start_timeout = std::chrono::milliseconds(start_ms);
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
    for (auto [key, field] : {std::pair{"bridge", &c.network.bridge},
                              {"subnet", &c.network.subnet},
                              {"gateway", &c.network.gateway},
                              {"first", &c.network.first},
                              {"last", &c.network.last}})
      if (!(s = read_string(*it, key, *field, "network."))) return s.error();
    if (it->contains("dns")) {
      auto dns = read_names(*it, "dns", "network.");
      if (!dns) return dns.error();
      for (const auto& a : *dns)
        if (!network::parse_ipv4(a)) return bad("network.dns", fmt::format("{} is not an IPv4 address", a));
      c.network.dns = std::move(*dns);
      c.network.dns_from_host = false;
    }
  }
  if (c.network.bridge.size() > 15 || !plain_value(c.network.bridge))
    return bad("network.bridge", "must be an interface name of at most 15 characters");
  auto pool = network::IpPool::parse(c.network.subnet, c.network.gateway, c.network.first, c.network.last);
  if (!pool) return pool.error();
  c.pool = *pool;
  if (auto it = j.find("distributions"); it != j.end()) {
    if (!it->is_object() || it->empty())
      return bad("distributions", "must be a non-empty object name -> {\"template\": NAME}");
    c.distributions.clear();
    for (const auto& [name, value] : it->items()) {
      std::string tpl;
      if (!value.is_object() || !(s = read_string(value, "template", tpl, "distributions.")) || tpl.empty())
        return bad(fmt::format("distributions.{}", name), "must be an object with a \"template\" string");
      c.distributions.push_back({name, tpl});
    }
    if (!c.find_distribution(c.default_distribution)) c.default_distribution = c.distributions.front().name;
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
      // lxc.include and lxc.hook.* would let a config value run arbitrary code or config; the
      // confinement and network keys are lxcprov's to set.
      if (container::confinement_key(key))
        return bad(fmt::format("lxc_config.{}", key), "is not allowed: it would change the confinement or the network");
      c.lxc_config.emplace_back(key, value.get<std::string>());
    }
  }
  if (auto it = j.find("confinement"); it != j.end()) {
    if (!it->is_object()) return bad("confinement", "must be an object");
    auto& C = c.confinement;
    if (auto m = it->find("idmap"); m != it->end()) {
      if (!m->is_object()) return bad("confinement.idmap", "must be an object {\"host_first\": N, \"count\": N}");
      for (auto [key, field] : {std::pair{"host_first", &C.idmap_first}, {"count", &C.idmap_count}}) {
        auto v = m->find(key);
        if (v == m->end()) continue;
        if (!v->is_number_unsigned() || v->get<uint64_t>() > 4294967294u)
          return bad(fmt::format("confinement.idmap.{}", key), "must be a non-negative integer below 4294967295");
        *field = static_cast<uint32_t>(v->get<uint64_t>());
      }
    }
    auto denied = read_names(*it, "denied_syscalls", "confinement.");
    if (!denied) return denied.error();
    C.denied_syscalls = std::move(*denied);
    if (!(s = read_string(*it, "apparmor_profile", C.apparmor_profile, "confinement."))) return s.error();
  }
  if (auto st = container::check_confinement(c.confinement); !st) return st.error();
  if (auto it = j.find("templates"); it != j.end()) {
    if (!it->is_object()) return bad("templates", "must be an object");
    if (!(s = detail::read_bool(*it, "require_seal", c.templates.require_seal, "templates"))) return s.error();
    if (!(s = detail::read_text(*it, "build_script", c.templates.build_script, "templates"))) return s.error();
    if (c.templates.build_script.front() != '/') return bad("templates.build_script", "must be an absolute path");
  }
  if (auto it = j.find("fleet"); it != j.end()) {
    if (!it->is_object()) return bad("fleet", "must be an object");
    if (!(s = read_string(*it, "database", c.fleet.database, "fleet."))) return s.error();
    if (!(s = read_string(*it, "node", c.fleet.node, "fleet."))) return s.error();
    int64_t beat = c.fleet.heartbeat.count();
    if (!(s = read_int(*it, "heartbeat_s", beat, 1, 60))) return s.error();
    c.fleet.heartbeat = std::chrono::seconds(beat);
    if (auto r = it->find("relay_account"); r != it->end()) {
      if (!r->is_string()) return bad("fleet.relay_account", "must be a string (\"\" = no entry relays here)");
      c.fleet.relay_account = r->get<std::string>();
    }
    if (auto e = it->find("entry"); e != it->end()) {
      if (!e->is_object()) return bad("fleet.entry", "must be an object");
      auto& E = c.fleet.entry;
      E.enabled = true;
      if (!(s = read_string(*e, "ssh", E.ssh, "fleet.entry."))) return s.error();
      if (!(s = read_string(*e, "key", E.key, "fleet.entry."))) return s.error();
      if (!(s = read_string(*e, "known_hosts", E.known_hosts, "fleet.entry."))) return s.error();
      if (!(s = read_string(*e, "user", E.user, "fleet.entry."))) return s.error();
      if (!(s = read_string(*e, "control_dir", E.control_dir, "fleet.entry."))) return s.error();
      int64_t persist = E.persist.count();
      if (!(s = read_int(*e, "persist_s", persist, 0, 86400))) return s.error();
      E.persist = std::chrono::seconds(persist);
      for (auto [key, value] : {std::pair{"fleet.entry.ssh", &E.ssh},
                                {"fleet.entry.key", &E.key},
                                {"fleet.entry.known_hosts", &E.known_hosts},
                                {"fleet.entry.control_dir", &E.control_dir}})
        if (value->empty() || value->front() != '/') return bad(key, "must be an absolute path");
      if (!fleet::valid_node_name(E.user))
        return bad("fleet.entry.user", "must be an account name of a-z, 0-9 and '-'");
      if (c.fleet.database.empty()) return bad("fleet.entry", "needs fleet.database");
    }
    if (!c.fleet.database.empty() && !fleet::valid_node_name(c.fleet.node))
      return bad("fleet.node", "must be 1-32 of a-z, 0-9 and '-', not starting with '-', when fleet.database is set");
  }
  if (auto a = parse_access(j, c); !a) return a.error();
  if (auto st = detail::parse_forwarding_sections(j, c); !st) return st.error();
  if (auto st = detail::parse_isolation_section(j, c); !st) return st.error();
  if (auto st = detail::parse_integration_sections(j, c); !st) return st.error();
  if (auto st = detail::parse_deploy_section(j, c); !st) return st.error();
  return c;
}

std::vector<std::string> usable_name_servers(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    constexpr std::string_view key = "nameserver";
    if (!line.starts_with(key) || line.size() == key.size() || (line[key.size()] != ' ' && line[key.size()] != '\t'))
      continue;
    line.remove_prefix(key.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
    auto ip = network::parse_ipv4(line);
    if (ip && !network::is_loopback(*ip) && *ip != 0) out.emplace_back(line);
  }
  return out;
}

Config defaults() { return std::move(parse("{}").value()); }

}  // namespace lxcprov::config
