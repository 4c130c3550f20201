#include "wazuh/wazuh_client.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <boost/beast/http.hpp>
#include "common/asio.hpp"  // first: see the note there

namespace lxcprov::wazuh {
namespace {

namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

std::string base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

void wipe(std::string& s) {
  volatile char* p = s.data();
  for (size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

}  // namespace

Result<Secret> read_secret_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return make_error(Errc::unavailable, "a Wazuh secret file cannot be read");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return make_error(Errc::permission_denied, "a Wazuh secret file is accessible to group or others (chmod 600)");
  }
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (auto nl = text.find_first_of("\r\n"); nl != std::string::npos) text.resize(nl);
  Secret s(text);
  wipe(text);
  if (s.empty()) return make_error(Errc::unavailable, "a Wazuh secret file is empty");
  return s;
}

Result<wazuh::Enrollment> WazuhClient::enroll(const std::string& name) {
  const Deadline deadline = Clock::now() + s_.timeout;
  Secret password;
  if (!s_.enrollment_password_file.empty()) {
    auto p = read_secret_file(s_.enrollment_password_file);
    if (!p) return p.error();
    password = std::move(*p);
  }
  // No IP field: authd registers the agent as "any" (the container reaches the manager through
  // the host's NAT, so its own address would not match anyway).
  auto line = wazuh::render_request(name, "", password);
  if (!line) return line.error();
  auto conn = TlsConnection::connect({s_.manager, s_.enrollment_port, s_.ca_file, s_.pin_sha256}, deadline);
  if (!conn) return make_error(conn.error().code, "Wazuh enrollment: " + conn.error().message);
  if (auto w = (*conn)->write_all(line->reveal(), deadline); !w)
    return make_error(w.error().code, "Wazuh enrollment: " + w.error().message);
  auto reply = (*conn)->read(4096, true, deadline);
  if (!reply) return make_error(reply.error().code, "Wazuh enrollment: " + reply.error().message);
  auto parsed = wazuh::parse_reply(*reply, name);
  wipe(*reply);  // it held the key
  return parsed;
}

Result<TlsOptions> WazuhClient::api_endpoint() const {
  // https://HOST[:PORT][/]; config parsing already required https:// and a plain host.
  std::string rest = s_.api_url.substr(8);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return make_error(Errc::invalid_argument, "wazuh.api_url: no path allowed");
  TlsOptions o{rest, 443, s_.ca_file, s_.api_pin_sha256};
  if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(':') == colon) {
    o.host = rest.substr(0, colon);
    int port = std::atoi(rest.c_str() + colon + 1);
    if (port <= 0 || port > 65535) return make_error(Errc::invalid_argument, "wazuh.api_url: bad port");
    o.port = static_cast<uint16_t>(port);
  }
  return o;
}

Result<WazuhClient::Response> WazuhClient::http(const std::string& method, const std::string& target,
                                                const std::string& authorization, Deadline deadline) {
  auto ep = api_endpoint();
  if (!ep) return ep.error();
  auto conn = TlsConnection::connect(*ep, deadline);
  if (!conn) return make_error(conn.error().code, "Wazuh API: " + conn.error().message);
  std::string req = fmt::format(
      "{} {} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nConnection: close\r\n"
      "Content-Length: 0\r\nAuthorization: ",
      method, target, ep->host);
  req += authorization;
  req += "\r\n\r\n";
  auto w = (*conn)->write_all(req, deadline);
  wipe(req);  // it held the credentials
  if (!w) return make_error(w.error().code, "Wazuh API: " + w.error().message);
  auto raw = (*conn)->read(1 << 20, false, deadline);
  if (!raw) return make_error(raw.error().code, "Wazuh API: " + raw.error().message);
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  parser.eager(true);
  boost::system::error_code ec;
  // put() stops after the header; feed it the rest until the message is complete.
  size_t off = 0;
  while (!ec && !parser.is_done() && off < raw->size()) {
    size_t used = parser.put(asio::buffer(raw->data() + off, raw->size() - off), ec);
    if (used == 0 && !ec) break;
    off += used;
  }
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return make_error(Errc::unavailable, "Wazuh API: the answer is not HTTP");
  Response r{static_cast<int>(parser.get().result_int()), parser.get().body()};
  return r;
}

Result<Secret> WazuhClient::login(Deadline deadline) {
  auto password = read_secret_file(s_.api_password_file);
  if (!password) return password.error();
  std::string pair = s_.api_user + ":";
  pair += password->reveal();
  std::string auth = "Basic " + base64(pair);
  wipe(pair);
  auto r = http("POST", "/security/user/authenticate", auth, deadline);
  wipe(auth);
  if (!r) return r.error();
  if (r->status != 200)
    return make_error(r->status == 401 ? Errc::permission_denied : Errc::unavailable,
                      fmt::format("Wazuh API: login refused (HTTP {}: {})", r->status, wazuh::error_reason(r->body)));
  return wazuh::parse_token(r->body);
}

Result<std::vector<wazuh::AgentRef>> WazuhClient::find(const std::string& name) {
  if (!wazuh::valid_agent_name(name)) return make_error(Errc::invalid_argument, "not a valid Wazuh agent name");
  const Deadline deadline = Clock::now() + s_.timeout;
  auto token = login(deadline);
  if (!token) return token.error();
  std::string auth = "Bearer ";
  auth += token->reveal();
  auto r = http("GET", wazuh::find_target(name), auth, deadline);
  wipe(auth);
  if (!r) return r.error();
  if (r->status != 200)
    return make_error(Errc::unavailable, fmt::format("Wazuh API: agent look-up failed (HTTP {}: {})", r->status,
                                                     wazuh::error_reason(r->body)));
  auto agents = wazuh::parse_agents(r->body);
  if (!agents) return agents.error();
  // The API's name filter is exact in Wazuh; keep only exact matches all the same.
  std::vector<wazuh::AgentRef> out;
  for (auto& a : *agents)
    if (a.name == name) out.push_back(std::move(a));
  return out;
}

Status WazuhClient::remove(const std::string& id) {
  if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos)
    return make_error(Errc::invalid_argument, "not a Wazuh agent id");
  const Deadline deadline = Clock::now() + s_.timeout;
  auto token = login(deadline);
  if (!token) return token.error();
  std::string auth = "Bearer ";
  auth += token->reveal();
  auto r = http("DELETE", wazuh::delete_target(id), auth, deadline);
  wipe(auth);
  if (!r) return r.error();
  if (r->status != 200)
    return make_error(Errc::unavailable, fmt::format("Wazuh API: agent delete failed (HTTP {}: {})", r->status,
                                                     wazuh::error_reason(r->body)));
  return wazuh::parse_delete(r->body, id);
}

}  // namespace lxcprov::wazuh
