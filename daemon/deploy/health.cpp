#include "deploy/health.hpp"

#include <fmt/format.h>

namespace lxcprov::deploy {

ProbeTarget probe_target(const config::Config& config, const state::ContainerRecord& record) {
  ProbeTarget t;
  if (!config.http.enabled) {
    t.address = record.ip;
    t.port = record.http_port;
    t.host = record.ip;
    t.via_nginx = false;
    return t;
  }
  t.host = fmt::format("{}.{}", record.name, config.http.domain);
  if (config.http.remote)
    t.address = config.http.remote->host;
  else
    t.address = config.http.listen_address.empty() ? "127.0.0.1" : config.http.listen_address;
  t.tls = config.http.tls.has_value();
  t.port = t.tls ? config.http.tls->listen_port : config.http.listen_port;
  return t;
}

std::string probe_request(std::string_view host) {
  return fmt::format(
      "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: lxcprov-health\r\nAccept: */*\r\nConnection: close\r\n\r\n", host);
}

std::optional<int> status_of(std::string_view line) {
  // "HTTP/1.1 200 OK": the version, one space, three digits, then a space or the end.
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ') return std::nullopt;
  int code = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return std::nullopt;
    code = code * 10 + (line[i] - '0');
  }
  if (line.size() > 12 && line[12] != ' ' && line[12] != '\r' && line[12] != '\n') return std::nullopt;
  if (code < 100) return std::nullopt;
  return code;
}

bool app_answers(std::string_view status_line, bool via_nginx) {
  const auto code = status_of(status_line);
  if (!code) return false;
  return !via_nginx || (*code != 502 && *code != 503 && *code != 504);
}

}  // namespace lxcprov::deploy
