#pragma once
// The HTTP routes as one nginx include file, rendered from state: a map `NAME.<domain> ->
// IP:HTTP_PORT` (one entry per container) and one server for `.<domain>` that proxies to the mapped
// address with WebSocket upgrades passed through, and answers 404 for a name that is no route.
// Parsing a map entry costs nginx far less than a server block, so testing and reloading the
// configuration costs about the same with 1000 routes as with one (docs/benchmarks.md). Pure: the file is
// installed by a RouteInstaller (routing/route_installer.hpp). The include is self-contained (its own map
// variable, prefixed so it cannot clash with one the admin defines) and belongs in an http {}.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::routing {

struct Route {
  std::string name;   ///< validated DNS label
  uint32_t ip = 0;    ///< from the pool
  uint16_t port = 0;  ///< HTTP_PORT (validated 80-60000)
};

/// A wildcard certificate for *.<domain>. With it each route is served over https on
/// `listen_port`, and its plain-http server only redirects there (308, so a POST stays a POST):
/// one certificate covers every route, and no route is reachable unencrypted by mistake.
struct NginxTls {
  std::string certificate;  ///< path on the nginx host, validated (safe_absolute_path)
  std::string key;          ///< ditto
  uint16_t listen_port = 443;
};

struct NginxOptions {
  std::string domain = "lxcprov.localhost";  ///< validated DNS name
  uint32_t listen_address = 0;               ///< host order; 0 = every address
  uint16_t listen_port = 80;
  std::optional<NginxTls> tls = std::nullopt;  ///< absent: plain http only
};

/// Routes sorted by name, so equal state gives equal text. No routes: no server at all.
std::string render_nginx_routes(const NginxOptions& options, std::vector<Route> routes);

/// Where nginx keeps its master's pid: the `pid` directive of its main configuration `conf_text`,
/// relative to `prefix` when it is a relative path. "" when the configuration names none (nginx's
/// compiled-in default is not known without running it) or it is relative without a prefix.
std::string nginx_pid_path(std::string_view conf_text, const std::string& prefix);

}  // namespace lxcprov::routing
