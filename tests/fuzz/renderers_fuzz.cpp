// Renderer round trips: the nginx include (routing/nginx_routes.*: the route map and its servers) and
// the forwards table (its DNAT maps)
// (forwarding/nft_ruleset.*) rendered from fuzzer-chosen state, read back by the small strict
// parsers below (only the subset lxcprovd writes: anything else is a failure), must give the same
// state. Names go through the same rule the daemon applies (check_container_name) first: the
// renderers are documented to take validated values only.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "forwarding/nft_ruleset.hpp"
#include "fuzz_support.hpp"
#include "request/validation.hpp"
#include "routing/nginx_routes.hpp"

using namespace lxcprov;

namespace {

[[noreturn]] void fail(const char* what = "the text does not parse back") { lxcprov::fuzz::fail(what); }

uint64_t number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) fail("parse 1");
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') fail("parse 2");
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > max) fail("parse 3");
  return n;
}

uint32_t ipv4(std::string_view s) {
  uint32_t a = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) fail("parse 4");
    a = (a << 8) | static_cast<uint32_t>(number(s.substr(0, dot), 255));
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return a;
}

// "A.B.C.D:PORT"
std::pair<uint32_t, uint16_t> endpoint(std::string_view s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) fail("parse 5");
  return {ipv4(s.substr(0, colon)), static_cast<uint16_t>(number(s.substr(colon + 1), 65535))};
}

// ---- nginx: tokens, then blocks --------------------------------------------------------------

struct Directive {
  std::vector<std::string> words;
  std::vector<Directive> block;  // for "name args { ... }"
  bool has_block = false;
};

std::vector<std::string> nginx_tokens(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == ' ' || c == '\n') {
      ++i;
    } else if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == ';' || c == '{' || c == '}') {
      out.emplace_back(1, c);
      ++i;
    } else if (c == '\'') {
      const size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos) fail("parse 6");
      out.emplace_back(text.substr(i, end - i + 1));
      i = end + 1;
    } else {
      const size_t start = i;
      while (i < text.size() && std::string_view(" \n;{}'#").find(text[i]) == std::string_view::npos) {
        if (static_cast<unsigned char>(text[i]) < 0x21 || static_cast<unsigned char>(text[i]) > 0x7e) fail("parse 7");
        ++i;
      }
      out.emplace_back(text.substr(start, i - start));
    }
  }
  return out;
}

std::vector<Directive> nginx_block(const std::vector<std::string>& t, size_t& i, bool top) {
  std::vector<Directive> out;
  Directive d;
  while (i < t.size()) {
    const std::string& w = t[i++];
    if (w == ";") {
      if (d.words.empty()) fail("parse 8");
      out.push_back(std::move(d));
      d = {};
    } else if (w == "{") {
      if (d.words.empty()) fail("parse 9");
      d.block = nginx_block(t, i, false);
      d.has_block = true;
      out.push_back(std::move(d));
      d = {};
    } else if (w == "}") {
      if (top || !d.words.empty()) fail("parse 10");
      return out;
    } else {
      d.words.push_back(w);
    }
  }
  if (!top || !d.words.empty()) fail("parse 11");
  return out;
}

using RouteKey = std::tuple<std::string, uint32_t, uint16_t>;

std::multiset<RouteKey> parse_nginx(std::string_view text, const routing::NginxOptions& o) {
  const auto tokens = nginx_tokens(text);
  size_t i = 0;
  const auto top = nginx_block(tokens, i, true);
  std::multiset<RouteKey> routes;
  const std::string suffix = "." + o.domain;
  size_t redirects = 0, proxies = 0;
  for (const auto& d : top) {
    if (d.words[0] == "map") {
      if (d.words.size() != 3 || !d.has_block) fail("parse 12");
      if (d.words[1] != "$host") continue;  // the upgrade map
      if (d.words[2] != "$lxcprov_upstream") fail("parse 12");
      for (const auto& e : d.block) {
        if (e.words.size() != 2 || e.has_block) fail("parse 13");
        if (e.words[0] == "default") continue;
        if (!e.words[0].ends_with(suffix)) fail("parse 13");
        const auto [ip, port] = endpoint(e.words[1]);
        routes.emplace(e.words[0].substr(0, e.words[0].size() - suffix.size()), ip, port);
      }
      continue;
    }
    if (d.words.size() != 1 || d.words[0] != "server" || !d.has_block) fail("parse 12");
    bool named = false, redirect = false, upstream = false;
    for (const auto& s : d.block) {
      if (s.words[0] == "server_name") {
        if (s.words.size() != 2 || s.words[1] != suffix || named) fail("parse 13");
        named = true;
      } else if (s.words[0] == "return" && !s.has_block) {
        if (s.words.size() != 3 || s.words[1] != "308") fail("parse 14");
        redirect = true;
      } else if (s.words[0] == "location") {
        for (const auto& l : s.block)
          if (l.words[0] == "proxy_pass") {
            if (l.words.size() != 2 || l.words[1] != "http://$lxcprov_upstream" || upstream) fail("parse 15");
            upstream = true;
          }
      }
    }
    if (!named) fail("parse 16");
    if (redirect) {
      if (!o.tls || upstream) fail("parse 17");
      ++redirects;
      continue;
    }
    if (!upstream) fail("parse 18");
    ++proxies;
  }
  // One proxying server (and with TLS one redirecting) when there are routes, none without.
  if (proxies != (routes.empty() ? 0u : 1u)) fail("parse 19");
  if (redirects != (o.tls ? proxies : 0u)) fail("parse 19");
  return routes;
}

// ---- nft: the forwards chain, line by line ------------------------------------------------------

using ForwardKey = std::tuple<std::string, uint16_t, uint32_t, uint16_t, std::string, std::string>;

std::multiset<ForwardKey> parse_nft(std::string_view text, const std::string& table) {
  std::multiset<ForwardKey> out;
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) fail("parse 20");  // every line ends with a newline
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  size_t i = 0;
  while (i < lines.size() && lines[i].starts_with("#")) ++i;
  if (i + 3 > lines.size() || lines[i] != "add table inet " + table || lines[i + 1] != "delete table inet " + table ||
      lines[i + 2] != "table inet " + table + " {")
    fail("parse 21");
  i += 3;
  // "  map PROTO_forwards {", its type, then "      PORT comment \"CONTAINER SERVICE\" : A.B.C.D . P[,]"
  for (const char* proto : {"tcp", "udp"}) {
    if (i + 2 > lines.size() || lines[i] != std::string("  map ") + proto + "_forwards {" ||
        lines[i + 1] != "    type inet_service : ipv4_addr . inet_service")
      fail("parse 22");
    i += 2;
    if (i < lines.size() && lines[i] == "    elements = {") {
      for (++i; i < lines.size() && lines[i] != "    }"; ++i) {
        std::string_view l = lines[i];
        if (!l.starts_with("      ")) fail("parse 23");
        l.remove_prefix(6);
        if (l.ends_with(",")) l.remove_suffix(1);
        const size_t sp = l.find(' ');
        if (sp == std::string_view::npos) fail("parse 24");
        const auto port = static_cast<uint16_t>(number(l.substr(0, sp), 65535));
        l.remove_prefix(sp + 1);
        if (!l.starts_with("comment \"")) fail("parse 26");
        l.remove_prefix(9);
        const size_t q = l.find('"');
        if (q == std::string_view::npos) fail("parse 27");
        std::string_view comment = l.substr(0, q);
        l.remove_prefix(q + 1);
        if (!l.starts_with(" : ")) fail("parse 28");
        l.remove_prefix(3);
        const size_t dot = l.find(" . ");
        if (dot == std::string_view::npos) fail("parse 29");
        const uint32_t ip = ipv4(l.substr(0, dot));
        const auto to_port = static_cast<uint16_t>(number(l.substr(dot + 3), 65535));
        const size_t sp4 = comment.find(' ');
        if (sp4 == std::string_view::npos || comment.find('\\') != std::string_view::npos) fail("parse 31");
        out.emplace(proto, port, ip, to_port, std::string(comment.substr(0, sp4)),
                    std::string(comment.substr(sp4 + 1)));
      }
      if (i >= lines.size()) fail("parse 30");
      ++i;
    }
    if (i >= lines.size() || lines[i] != "  }") fail("parse 30");
    ++i;
  }
  if (i >= lines.size() || lines[i] != "  chain forwards {") fail("parse 22");
  for (++i; i < lines.size() && lines[i] != "  }"; ++i)
    if (!lines[i].starts_with("    meta nfproto ipv4 dnat ip to ")) fail("parse 25");
  if (i >= lines.size()) fail("parse 32");
  if (lines.back() != "}") fail("parse 33");
  return out;
}

std::string valid_name(FuzzedDataProvider& in) {
  auto c = request::check_container_name(in.ConsumeRandomLengthString(70));
  return c.ok() ? *c.value : "web-1";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  if (in.ConsumeBool()) {
    routing::NginxOptions o;
    static const char* domains[] = {"lxcprov.localhost", "apps.example.org", "a.b"};
    o.domain = in.PickValueInArray(domains);
    o.listen_address = in.ConsumeBool() ? 0 : in.ConsumeIntegral<uint32_t>();
    o.listen_port = in.ConsumeIntegralInRange<uint16_t>(1, 65535);
    if (in.ConsumeBool())
      o.tls = routing::NginxTls{"/etc/ssl/lxcprov/wildcard.pem", "/etc/ssl/lxcprov/wildcard.key",
                                in.ConsumeIntegralInRange<uint16_t>(1, 65535)};
    std::vector<routing::Route> routes;
    std::multiset<RouteKey> want;
    for (int n = in.ConsumeIntegralInRange(0, 20); n > 0; --n) {
      routing::Route r{valid_name(in), in.ConsumeIntegral<uint32_t>(), in.ConsumeIntegralInRange<uint16_t>(80, 60000)};
      // State holds each name once (UNIQUE): the renderer sorts by name only.
      if (std::any_of(routes.begin(), routes.end(), [&](const auto& other) { return other.name == r.name; })) continue;
      want.emplace(r.name, r.ip, r.port);
      routes.push_back(r);
    }
    const std::string text = routing::render_nginx_routes(o, routes);
    if (parse_nginx(text, o) != want) fail("nginx routes differ after the round trip");
    if (routing::render_nginx_routes(o, {routes.rbegin(), routes.rend()}) != text)
      fail("the order of routes changed the text");  // order-free
  } else {
    forwarding::NftOptions o;
    static const char* tables[] = {"lxcprov", "lxcprov_fw", "t1"};
    o.table = in.PickValueInArray(tables);
    o.public_address = in.ConsumeBool() ? 0 : in.ConsumeIntegral<uint32_t>();
    o.prefix = in.ConsumeIntegralInRange(8, 30);
    o.subnet = in.ConsumeIntegral<uint32_t>() & ~((1u << (32 - o.prefix)) - 1);
    o.masquerade = in.ConsumeBool();
    o.masquerade_egress = in.ConsumeBool();
    std::vector<forwarding::Forward> forwards;
    std::multiset<ForwardKey> want;
    static const char* services[] = {"SSH", "MYSQL", "NTP", "DNS"};
    for (int n = in.ConsumeIntegralInRange(0, 20); n > 0; --n) {
      forwarding::Forward f{valid_name(in),
                            in.PickValueInArray(services),
                            in.ConsumeBool() ? "tcp" : "udp",
                            in.ConsumeIntegralInRange<uint16_t>(1, 65535),
                            in.ConsumeIntegral<uint32_t>(),
                            in.ConsumeIntegralInRange<uint16_t>(1, 65535)};
      // State holds each (protocol, public port) once (UNIQUE).
      if (std::any_of(forwards.begin(), forwards.end(),
                      [&](const auto& other) { return other.proto == f.proto && other.public_port == f.public_port; }))
        continue;
      want.emplace(f.proto, f.public_port, f.ip, f.container_port, f.container, f.service);
      forwards.push_back(f);
    }
    const std::string text = forwarding::render_nft_ruleset(o, forwards);
    if (parse_nft(text, o.table) != want) fail("nft forwards differ after the round trip");
  }
  return 0;
}
