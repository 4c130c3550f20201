#include "config/sections.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "config/json_read.hpp"
#include "container/limits.hpp"
#include "deploy/git_hosts.hpp"
#include "forwarding/nft_ruleset.hpp"
#include "host/ssh_commands.hpp"
#include "routing/nginx_routes.hpp"

namespace lxcprov::config::detail {
namespace {

using nlohmann::json;

Error bad(std::string_view key, std::string_view rule) { return config_error(key, rule); }

Status read_port(const json& j, const char* key, uint16_t& out, std::string_view path) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > 65535)
    return bad(fmt::format("{}.{}", path, key), "must be a port from 1 to 65535");
  out = static_cast<uint16_t>(it->get<int64_t>());
  return {};
}

// "ssh_pool": [first, last]
Status read_pool(const json& j, const char* key, uint16_t& first, uint16_t& last) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  const std::string name = fmt::format("ports.{}", key);
  if (!it->is_array() || it->size() != 2 || !(*it)[0].is_number_integer() || !(*it)[1].is_number_integer())
    return bad(name, "must be [first, last]");
  const int64_t a = (*it)[0].get<int64_t>(), b = (*it)[1].get<int64_t>();
  if (a < 1 || b > 65535 || a > b) return bad(name, "must be [first, last] with 1 <= first <= last <= 65535");
  first = static_cast<uint16_t>(a);
  last = static_cast<uint16_t>(b);
  return {};
}

bool is_absolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

// "test_command": ["/usr/sbin/nginx", "-t"]: run by the remote account's shell, so only plain words.
Status read_command(const json& j, const char* key, std::vector<std::string>& out, std::string_view path) {
  auto it = j.find(key);
  if (it == j.end()) return {};
  const std::string name = fmt::format("{}.{}", path, key);
  std::vector<std::string> argv;
  if (it->is_array())
    for (const auto& a : *it) {
      if (!a.is_string()) return bad(name, "must be an array of strings");
      argv.push_back(a.get<std::string>());
    }
  if (!it->is_array() || !host::safe_command(argv))
    return bad(name,
               "must be a non-empty array of at most 32 words of A-Z a-z 0-9 _ . / = : , @ + % - "
               "(no spaces, quotes or shell characters), the first not starting with '-'");
  out = std::move(argv);
  return {};
}

// "http.tls": the certificate paths are written unquoted into the nginx file.
Status read_http_tls(const json& j, config::Http& h) {
  if (!j.is_object()) return bad("http.tls", "must be an object");
  config::Http::Tls t;
  Status s;
  if (!(s = read_text(j, "certificate", t.certificate, "http.tls", false))) return s;
  if (!(s = read_text(j, "key", t.key, "http.tls", false))) return s;
  if (!(s = read_port(j, "listen_port", t.listen_port, "http.tls"))) return s;
  for (auto [key, value] : {std::pair{"http.tls.certificate", &t.certificate}, {"http.tls.key", &t.key}})
    if (!host::safe_absolute_path(*value))
      return bad(key, "must be an absolute path of A-Z a-z 0-9 _ . / = : , @ + % - (no spaces or quotes)");
  h.tls = std::move(t);
  return {};
}

// "http.remote": every value ends up in an ssh option or a remote shell command.
Status read_http_remote(const json& j, config::Http& h) {
  if (!j.is_object()) return bad("http.remote", "must be an object");
  config::Http::Remote r;
  Status s;
  constexpr std::string_view p = "http.remote";
  if (!(s = read_text(j, "host", r.host, p, false))) return s;
  if (!(s = read_port(j, "port", r.port, p))) return s;
  if (!(s = read_text(j, "user", r.user, p, false))) return s;
  if (!(s = read_text(j, "private_key_file", r.private_key_file, p, false))) return s;
  if (!(s = read_text(j, "host_key_sha256", r.host_key_sha256, p, false))) return s;
  if (!(s = read_text(j, "include_file", r.include_file, p, false))) return s;
  if (!(s = read_command(j, "test_command", r.test_command, p))) return s;
  if (!(s = read_command(j, "reload_command", r.reload_command, p))) return s;
  if (!(s = read_int(j, "timeout_ms", r.timeout_ms, 100, 600000, p))) return s;
  if (!host::valid_ssh_host(r.host)) return bad("http.remote.host", "must be an IPv4 address or a host name");
  if (!host::valid_ssh_user(r.user)) return bad("http.remote.user", "must be a login name (a-z 0-9 _ -)");
  if (!host::valid_host_key_pin(r.host_key_sha256))
    return bad("http.remote.host_key_sha256",
               "must be the server's host key fingerprint \"SHA256:...\" as printed by ssh-keygen -lf");
  if (!is_absolute(r.private_key_file)) return bad("http.remote.private_key_file", "must be an absolute path");
  if (!host::safe_absolute_path(r.include_file))
    return bad("http.remote.include_file",
               "must be an absolute path of A-Z a-z 0-9 _ . / = : , @ + % - (no spaces, quotes or shell characters)");
  h.remote = std::move(r);
  return {};
}

}  // namespace

Status parse_forwarding_sections(const json& j, Config& c) {
  Status s;
  if (auto it = j.find("ports"); it != j.end()) {
    if (!it->is_object()) return bad("ports", "must be an object");
    auto& p = c.ports;
    if (!(s = read_bool(*it, "enabled", p.enabled, "ports"))) return s;
    if (!(s = read_bool(*it, "masquerade", p.masquerade, "ports"))) return s;
    if (!(s = read_text(*it, "table", p.table, "ports", false))) return s;
    if (!(s = read_text(*it, "public_address", p.public_address, "ports", true))) return s;
    if (!(s = read_text(*it, "catalog", p.catalog, "ports", false))) return s;
    if (!(s = read_text(*it, "nft", p.nft, "ports", false))) return s;
    if (!(s = read_pool(*it, "ssh_pool", p.ssh_first, p.ssh_last))) return s;
    if (!(s = read_pool(*it, "extra_pool", p.extra_first, p.extra_last))) return s;
  }
  if (!network::valid_nft_table_name(c.ports.table))
    return bad("ports.table", "must be 1-32 characters of a-z, 0-9 and '_'");
  if (!c.ports.public_address.empty() && !network::parse_ipv4(c.ports.public_address))
    return bad("ports.public_address", "must be an IPv4 address or \"\"");
  // Overlapping pools would let one public port be handed out twice (the UNIQUE constraint
  // would then make creates fail instead of picking another port).
  if (c.ports.ssh_first <= c.ports.extra_last && c.ports.extra_first <= c.ports.ssh_last)
    return bad("ports.ssh_pool", "must not overlap ports.extra_pool");
  if (!is_absolute(c.ports.nft)) return bad("ports.nft", "must be an absolute path");

  if (auto it = j.find("http"); it != j.end()) {
    if (!it->is_object()) return bad("http", "must be an object");
    auto& h = c.http;
    if (!(s = read_bool(*it, "enabled", h.enabled, "http"))) return s;
    if (!(s = read_text(*it, "domain", h.domain, "http", false))) return s;
    if (!(s = read_text(*it, "listen_address", h.listen_address, "http", true))) return s;
    if (!(s = read_port(*it, "listen_port", h.listen_port, "http"))) return s;
    if (!(s = read_text(*it, "include_file", h.include_file, "http", false))) return s;
    if (!(s = read_text(*it, "nginx_conf", h.nginx_conf, "http", false))) return s;
    if (!(s = read_text(*it, "nginx_prefix", h.nginx_prefix, "http", true))) return s;
    if (!(s = read_text(*it, "nginx", h.nginx, "http", false))) return s;
    if (auto t = it->find("tls"); t != it->end())
      if (!(s = read_http_tls(*t, h))) return s;
    if (auto r = it->find("remote"); r != it->end())
      if (!(s = read_http_remote(*r, h))) return s;
  }
  if (!network::valid_domain(c.http.domain))
    return bad("http.domain", "must be a lower-case DNS name (labels of a-z, 0-9 and '-'), at most 190 characters");
  if (!c.http.listen_address.empty() && !network::parse_ipv4(c.http.listen_address))
    return bad("http.listen_address", "must be an IPv4 address or \"\"");
  for (auto [key, value] : {std::pair{"http.include_file", &c.http.include_file},
                            {"http.nginx_conf", &c.http.nginx_conf},
                            {"http.nginx", &c.http.nginx}})
    if (!is_absolute(*value)) return bad(key, "must be an absolute path");
  if (!c.http.nginx_prefix.empty() && !is_absolute(c.http.nginx_prefix))
    return bad("http.nginx_prefix", "must be an absolute path or \"\"");
  if (c.http.tls && c.http.tls->listen_port == c.http.listen_port)
    return bad("http.tls.listen_port", "must differ from http.listen_port (that one redirects to it)");

  if (auto it = j.find("limits"); it != j.end()) {
    if (!it->is_object()) return bad("limits", "must be an object");
    auto& l = c.limits;
    if (!(s = read_text(*it, "memory", l.memory, "limits", true))) return s;
    if (!(s = read_text(*it, "cpus", l.cpus, "limits", true))) return s;
    if (!(s = read_text(*it, "cgroup", l.cgroup, "limits", false))) return s;
    if (auto p = it->find("pids"); p != it->end()) {
      if (!p->is_number_integer()) return bad("limits.pids", "must be an integer (0: no limit)");
      l.pids = p->get<int64_t>();
    }
  }
  return container::check_limits(c.limits);
}

}  // namespace lxcprov::config::detail

namespace lxcprov::config::detail {
namespace {

// Durations and sizes: positive, and bounded so that a typo (an extra zero or three) is refused
// rather than turned into a job that never times out.
Status read_seconds(const json& j, const char* key, std::chrono::seconds& out, int64_t max, std::string_view path) {
  int64_t v = out.count();
  if (auto s = read_int(j, key, v, 1, max, path); !s) return s;
  out = std::chrono::seconds(v);
  return {};
}

Status read_bytes(const json& j, const char* key, uint64_t& out, int64_t min, int64_t max, std::string_view path) {
  auto v = static_cast<int64_t>(out);
  if (auto s = read_int(j, key, v, min, max, path); !s) return s;
  out = static_cast<uint64_t>(v);
  return {};
}

// A key the section does not know is a typo that would leave a default in place unnoticed
// (e.g. "allow_custom_service"); "//" keys are comments.
Status known_keys(const json& j, std::initializer_list<std::string_view> keys, std::string_view path) {
  for (const auto& [key, value] : j.items()) {
    if (key.starts_with("//")) continue;
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) return bad(key_name(path, key), "is not a known key");
  }
  return {};
}

Result<std::vector<std::string>> read_strings(const json& j, const char* key, std::string_view path) {
  std::vector<std::string> out;
  const auto it = j.find(key);
  const std::string name = key_name(path, key);
  if (it == j.end()) return out;
  if (!it->is_array()) return bad(name, "must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(name, "must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

Status parse_deploy_git(const json& g, config::Deploy::Git& git) {
  constexpr std::string_view p = "deploy.git";
  if (!g.is_object()) return bad(p, "must be an object");
  Status s;
  if (!(s = known_keys(
            g, {"allowed_hosts", "ca_file", "check_user", "check_timeout_s", "fetch_timeout_s", "max_repository_bytes"},
            p)))
    return s;
  if (g.contains("allowed_hosts")) {
    auto hosts = read_strings(g, "allowed_hosts", p);
    if (!hosts) return hosts.error();
    for (const auto& h : *hosts) {
      // Lower case only: the URL's host is lowered before the comparison, so an upper-case entry
      // could never match and would only look as if it allowed something.
      if (!deploy::parse_git_host(h))
        return bad("deploy.git.allowed_hosts",
                   "entries must be lower-case DNS names or IPv4 addresses, each with an optional :port (1-65535)");
    }
    git.allowed_hosts = std::move(*hosts);
  }
  if (!(s = read_text(g, "ca_file", git.ca_file, p, true))) return s;
  if (!git.ca_file.empty() && git.ca_file.front() != '/')
    return bad("deploy.git.ca_file", "must be an absolute path or \"\"");
  if (!(s = read_text(g, "check_user", git.check_user, p, false))) return s;
  if (!host::valid_ssh_user(git.check_user) || git.check_user == "root")
    return bad("deploy.git.check_user", "must be a login name (a-z 0-9 _ -) other than root: git talks to the network");
  if (!(s = read_seconds(g, "check_timeout_s", git.check_timeout, 600, p))) return s;
  if (!(s = read_seconds(g, "fetch_timeout_s", git.fetch_timeout, 86'400, p))) return s;
  if (!(s = read_bytes(g, "max_repository_bytes", git.max_repository_bytes, 1 << 20, int64_t{1} << 40, p))) return s;
  return {};
}

}  // namespace

Status parse_deploy_section(const json& j, Config& c) {
  auto& d = c.deploy;
  const auto it = j.find("deploy");
  const bool distributions_given = it != j.end() && it->is_object() && it->contains("distributions");
  if (it != j.end()) {
    constexpr std::string_view p = "deploy";
    if (!it->is_object()) return bad(p, "must be an object");
    Status s;
    if (!(s = known_keys(
              *it,
              {"enabled", "distributions", "runtimes_catalog", "services_catalog", "git", "allow_custom_services",
               "app_uid", "install_timeout_s", "health_timeout_s", "keep_releases", "max_output_bytes"},
              p)))
      return s;
    if (!(s = read_bool(*it, "enabled", d.enabled, p))) return s;
    if (distributions_given) {
      auto names = read_strings(*it, "distributions", p);
      if (!names) return names.error();
      for (const auto& name : *names)
        if (!c.find_distribution(name))
          return bad("deploy.distributions", fmt::format("{} is not a configured distribution", name));
      d.distributions = std::move(*names);
    }
    if (!(s = read_text(*it, "runtimes_catalog", d.runtimes_catalog, p, false))) return s;
    if (!(s = read_text(*it, "services_catalog", d.services_catalog, p, false))) return s;
    for (auto [key, path] :
         {std::pair{"deploy.runtimes_catalog", &d.runtimes_catalog}, {"deploy.services_catalog", &d.services_catalog}})
      if (!is_absolute(*path)) return bad(key, "must be an absolute path");
    if (auto g = it->find("git"); g != it->end())
      if (!(s = parse_deploy_git(*g, d.git))) return s;
    if (!(s = read_bool(*it, "allow_custom_services", d.allow_custom_services, p))) return s;
    int64_t uid = d.app_uid, keep = d.keep_releases;
    // Below 1000: Debian's system accounts; above 60000: nobody and the dynamic ranges.
    if (!(s = read_int(*it, "app_uid", uid, 1000, 60000, p))) return s;
    if (!(s = read_int(*it, "keep_releases", keep, 1, 10, p))) return s;
    d.app_uid = static_cast<uint32_t>(uid);
    d.keep_releases = static_cast<int>(keep);
    if (!(s = read_seconds(*it, "install_timeout_s", d.install_timeout, 86'400, p))) return s;
    if (!(s = read_seconds(*it, "health_timeout_s", d.health_timeout, 3600, p))) return s;
    if (!(s = read_bytes(*it, "max_output_bytes", d.max_output_bytes, 64 << 10, int64_t{1} << 30, p))) return s;
  }
  if (!distributions_given) {
    // The embedded default names "debian"; where the operator configured no such distribution,
    // the default shrinks to what exists instead of making every such config invalid.
    std::vector<std::string> kept;
    for (const auto& name : d.distributions)
      if (c.find_distribution(name)) kept.push_back(name);
    d.distributions = std::move(kept);
  }
  return {};
}

}  // namespace lxcprov::config::detail
