#include "doctor/checks.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "forwarding/nft_ruleset.hpp"
#include "network/ip_pool.hpp"

namespace lxcprov::doctor {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

Verdict ok(std::string check, std::string detail) { return {std::move(check), true, std::move(detail)}; }
Verdict fail(std::string check, std::string detail) { return {std::move(check), false, std::move(detail)}; }

std::string first_few(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < 3; ++i) out += (i ? "; " : "") + items[i];
  if (items.size() > 3) out += fmt::format("; and {} more", items.size() - 3);
  return out;
}

Verdict bridge_verdict(const config::Config& cfg, const Facts& f) {
  const std::string check = "bridge " + cfg.network.bridge;
  const std::string fix = "fix: scripts/setup-host.sh (or ip link/addr for " + cfg.network.bridge + ")";
  auto pool = network::IpPool::parse(cfg.network.subnet, cfg.network.gateway, cfg.network.first, cfg.network.last);
  const std::string want =
      pool ? fmt::format("{}/{}", cfg.network.gateway, pool->prefix_length()) : cfg.network.gateway + "/?";
  if (!f.bridge) return fail(check, "could not be inspected (`ip -j addr` failed); " + fix);
  if (!f.bridge->exists) return fail(check, "does not exist, so no container can start on its network; " + fix);
  if (!f.bridge->up)
    return fail(check, "is down, so containers on it reach nothing; fix: ip link set " + cfg.network.bridge + " up");
  if (std::find(f.bridge->addresses.begin(), f.bridge->addresses.end(), want) == f.bridge->addresses.end())
    return fail(check, fmt::format("lacks the gateway address {} (has: {}), so containers have no gateway; {}", want,
                                   f.bridge->addresses.empty() ? "none" : first_few(f.bridge->addresses), fix));
  return ok(check, "up with " + want);
}

Verdict ports_verdict(const config::Config& cfg, const Facts& f) {
  const std::string table = "inet " + cfg.ports.table;
  const std::string check = "nft " + table;
  const std::string fix = "fix: restart lxcprovd (it applies the table from state at start-up)";
  if (!cfg.ports.enabled) return ok(check, "port forwards disabled in the config");
  if (!f.nft_tables) return fail(check, "could not be listed (`nft list tables` failed); run as root");
  if (!f.nft_tables->count(table)) return fail(check, "is missing, so no port forward works; " + fix);
  const std::set<std::string> listed = listed_forwards(f.ports_listing);
  std::vector<std::string> missing, extra;
  for (const auto& want : f.expected_forwards)
    if (!listed.count(want)) missing.push_back(want);
  const std::set<std::string> expected(f.expected_forwards.begin(), f.expected_forwards.end());
  for (const auto& have : listed)
    if (!expected.count(have)) extra.push_back(have);
  if (!missing.empty())
    return fail(check,
                fmt::format("lacks {} forward(s) the state holds ({}), so they do not reach their containers; {}",
                            missing.size(), first_few(missing), fix));
  if (!extra.empty())
    return fail(check,
                fmt::format("has {} forward(s) the state does not hold ({}), which lead to released addresses; {}",
                            extra.size(), first_few(extra), fix));
  return ok(check, fmt::format("{} forward(s), equal to state", listed.size()));
}

Verdict isolation_verdict(const config::Config& cfg, const Facts& f) {
  const std::string check = "nft isolation " + cfg.isolation.table;
  if (!cfg.isolation.enabled) return ok(check, "isolation disabled in the config");
  if (!f.nft_tables) return fail(check, "could not be listed (`nft list tables` failed); run as root");
  std::vector<std::string> missing;
  for (const char* family : {"bridge", "inet"})
    if (!f.nft_tables->count(std::string(family) + " " + cfg.isolation.table))
      missing.push_back(std::string(family) + " " + cfg.isolation.table);
  if (!missing.empty())
    return fail(check, "table(s) " + first_few(missing) +
                           " missing, so containers are not isolated from each other or the host; fix: restart "
                           "lxcprovd (it applies the tables from state at start-up)");
  return ok(check, "bridge and inet tables present");
}

Verdict nginx_verdict(const config::Config& cfg, const Facts& f) {
  const std::string check = "nginx";
  if (!cfg.http.enabled) return ok(check, "HTTP routes disabled in the config");
  if (!f.nginx) return ok(check, "routes go to a remote nginx (not checked from here)");
  if (!f.nginx->test_ok)
    return fail(check, fmt::format("`nginx -t -c {}` fails ({}), so no route can be added; fix: correct the config "
                                   "nginx names",
                                   cfg.http.nginx_conf, f.nginx->test_output));
  if (!f.nginx->running)
    return fail(check, fmt::format("is not running ({}), so no HTTP route answers; fix: nginx -c {}",
                                   f.nginx->pid_file.empty() ? "its main config names no pid file"
                                                             : "no live nginx in " + f.nginx->pid_file,
                                   cfg.http.nginx_conf));
  return ok(check, "config valid, running");
}

Verdict template_verdict(const TemplateFacts& t) {
  const std::string check = fmt::format("template {} ({})", t.name, t.distribution);
  if (!t.exists)
    return fail(check, fmt::format("does not exist, so {} creates fail; fix: lxcprovctl template build {} --distro {}",
                                   t.distribution, t.name, t.distribution));
  if (!t.sealed)
    return fail(check,
                fmt::format("is not sealed, so creates from it are refused; fix: lxcprovctl template seal {}", t.name));
  if (!t.matches)
    return fail(check, fmt::format("does not match its seal{}, so creates from it are refused; fix: lxcprovctl "
                                   "template verify {} (then rebuild or re-seal it)",
                                   t.error.empty() ? "" : " (" + t.error + ")", t.name));
  return ok(check, "sealed, seal verified");
}

struct AccountOp {
  const char* account;
  const char* op;
};
// The accounts scripts/setup-sshd.sh renders, and the operation each one's forced command runs.
constexpr AccountOp accounts[] = {{"create-container", "create"},
                                  {"container-exists", "exists"},
                                  {"delete-container", "delete"},
                                  {"update-container", "update"}};

// ForceCommand of `account`'s Match block, "" when it has none.
std::string force_command(std::string_view config, std::string_view account) {
  bool in_block = false;
  for (auto line : lines(config)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto w = words(line);
    if (iequals(w[0], "Match")) {
      in_block = w.size() == 3 && iequals(w[1], "User") && w[2] == account;
      continue;
    }
    if (in_block && iequals(w[0], "ForceCommand")) return std::string(trim(line.substr(w[0].size())));
  }
  return "";
}

// Whether `cmdline` (argv, space-separated; sshd's title prefixes "NAME: " and appends a status) is sshd
// run as a link named lxcprov-sshd (its PAM service comes from argv[0]: /usr/local/sbin from
// run.sh, /usr/sbin from the package) with `-f config`, whatever other options it has (-D -e
// under systemd).
bool runs_as_lxcprov_sshd(std::string_view cmdline, std::string_view config) {
  auto w = words(cmdline);
  if (!w.empty() && w.front().ends_with(':')) w.erase(w.begin());  // sshd's process title
  if (w.empty()) return false;
  const auto slash = w.front().rfind('/');
  if (w.front().substr(slash == std::string_view::npos ? 0 : slash + 1) != "lxcprov-sshd") return false;
  // sshd reads the last -f it is given ("-f FILE" or "-fFILE").
  std::string_view used;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] == "-f" && i + 1 < w.size())
      used = w[++i];
    else if (w[i].starts_with("-f") && w[i].size() > 2)
      used = w[i].substr(2);
  }
  return !used.empty() && used == config;
}

Verdict sshd_verdict(const config::Config& cfg, const Facts& f) {
  const std::string check = "sshd " + f.sshd.config_path;
  const std::string fix = "fix: scripts/setup-sshd.sh --dir DIR --port PORT --shell " + cfg.shell_path + " --socket " +
                          cfg.socket_path + " --authorized-keys-dir " + cfg.authorized_keys_dir + " --start";
  if (!f.sshd.config_text) return fail(check, "cannot be read, so users have no way in; " + fix);
  const std::string& text = *f.sshd.config_text;
  std::vector<std::string> wrong;
  for (const auto& a : accounts) {
    const std::string want = fmt::format("{} --socket {} {}", cfg.shell_path, cfg.socket_path, a.op);
    if (auto have = force_command(text, a.account); have != want)
      wrong.push_back(fmt::format("ForceCommand of {} is \"{}\", not \"{}\"", a.account, have, want));
  }
  struct Want {
    const char* key;
    std::string value;
  };
  for (const Want& w :
       {Want{"AuthorizedKeysFile", cfg.authorized_keys_dir + "/%u"}, Want{"ExposeAuthInfo", "yes"},
        Want{"DisableForwarding", "yes"}, Want{"AuthenticationMethods", "publickey keyboard-interactive"}})
    if (auto have = sshd_global(text, w.key); have != w.value)
      wrong.push_back(fmt::format("{} is \"{}\", not \"{}\"", w.key, have, w.value));
  if (!wrong.empty())
    return fail(check, "does not match the daemon's config (" + first_few(wrong) +
                           "), so sessions reach the wrong socket or lose their key identity; " + fix);
  if (!f.sshd.running)
    return fail(check, "no sshd runs with it (no live process in its PidFile), so users have no way in; " + fix);
  if (!runs_as_lxcprov_sshd(f.sshd.cmdline, f.sshd.config_path))
    return fail(check, fmt::format("the running sshd is \"{}\", not lxcprov-sshd ... -f {} (its PAM service comes "
                                   "from argv[0]); {}",
                                   f.sshd.cmdline, f.sshd.config_path, fix));
  return ok(check, "running, config matches");
}

// Entries of `text` (an /etc/subuid or /etc/subgid) of accounts other than root that overlap
// [first, first+count), as "NAME:START:COUNT". Root's own entries are lxcprovd's (it runs as root
// and maps ids without any delegation); anyone else's means a second user of those host ids.
std::vector<std::string> overlapping(std::string_view text, uint32_t first, uint32_t count) {
  std::vector<std::string> out;
  for (auto line : lines(text)) {
    line = trim(line);
    size_t a = line.find(':'), b = line.rfind(':');
    if (a == std::string_view::npos || a == b) continue;
    auto owner = line.substr(0, a);
    if (owner == "root" || owner == "0") continue;
    uint64_t start = 0, n = 0;
    auto s = line.substr(a + 1, b - a - 1), c = line.substr(b + 1);
    if (std::from_chars(s.data(), s.data() + s.size(), start).ec != std::errc{} ||
        std::from_chars(c.data(), c.data() + c.size(), n).ec != std::errc{})
      continue;
    if (start < uint64_t{first} + count && first < start + n) out.emplace_back(line);
  }
  return out;
}

Verdict idmap_verdict(const config::Config& cfg, const Facts& f) {
  const auto first = cfg.confinement.idmap_first, count = cfg.confinement.idmap_count;
  const std::string check = fmt::format("idmap {}+{}", first, count);
  std::vector<std::string> clashes;
  for (auto [file, text] : {std::pair{"/etc/subuid", &f.subuid}, {"/etc/subgid", &f.subgid}}) {
    if (!*text) return fail(check, fmt::format("{} cannot be read; fix: create it (it may be empty)", file));
    for (const auto& e : overlapping(**text, first, count)) clashes.push_back(fmt::format("{} in {}", e, file));
  }
  if (!clashes.empty())
    return fail(check, fmt::format("overlaps {}, so that account's containers or user namespaces get the same host "
                                   "ids as lxcprov's containers; fix: move that entry past {} or change "
                                   "confinement.idmap",
                                   first_few(clashes), uint64_t{first} + count));
  return ok(check, "no other account's subordinate ids in /etc/subuid or /etc/subgid overlap it");
}

Verdict inotify_verdict(const Facts& f) {
  const std::string check = "inotify";
  std::vector<std::string> low;
  if (!f.inotify_instances || *f.inotify_instances < min_inotify_instances)
    low.push_back(fmt::format("fs.inotify.max_user_instances={} (< {})",
                              f.inotify_instances ? std::to_string(*f.inotify_instances) : "?", min_inotify_instances));
  if (!f.inotify_watches || *f.inotify_watches < min_inotify_watches)
    low.push_back(fmt::format("fs.inotify.max_user_watches={} (< {})",
                              f.inotify_watches ? std::to_string(*f.inotify_watches) : "?", min_inotify_watches));
  if (!low.empty())
    return fail(check, first_few(low) +
                           ", so systemd in the containers fails once there are tens of them; fix: sysctl -w for each "
                           "and a file in /etc/sysctl.d");
  return ok(check, fmt::format("max_user_instances {}, max_user_watches {}", *f.inotify_instances, *f.inotify_watches));
}

Verdict clock_verdict(const Facts& f) {
  const std::string check = "clock";
  if (f.now < earliest_sane_time)
    return fail(check, fmt::format("reads unix time {} (before 2024), so job times, seals and TLS checks are wrong; "
                                   "fix: set the clock (NTP)",
                                   f.now));
  if (f.now + clock_slack_s < f.newest_recorded)
    return fail(check, fmt::format("is {} s behind the newest time the state database recorded, so it went backwards; "
                                   "fix: set the clock (NTP)",
                                   f.newest_recorded - f.now));
  return ok(check, "not behind anything the state recorded");
}

}  // namespace

std::string render(const Verdict& v) {
  return v.ok ? fmt::format("{}: ok ({})", v.check, v.detail) : fmt::format("{}: FAIL: {}", v.check, v.detail);
}

std::string forward_line(std::string_view proto, uint16_t public_port, std::string_view ip, uint16_t container_port) {
  return fmt::format("{} dport {} dnat ip to {}:{}", proto, public_port, ip, container_port);
}

std::set<std::string> listed_forwards(std::string_view listing) {
  std::set<std::string> out;
  for (const auto& f : forwarding::listed_forwards(listing))
    out.insert(forward_line(f.proto, f.public_port, network::format_ipv4(f.ip), f.container_port));
  return out;
}

std::string sshd_global(std::string_view config, std::string_view key) {
  for (auto line : lines(config)) {
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto w = words(line);
    if (iequals(w[0], "Match")) break;
    if (iequals(w[0], key)) return std::string(trim(line.substr(w[0].size())));
  }
  return "";
}

std::vector<Verdict> judge(const config::Config& cfg, const Facts& facts) {
  std::vector<Verdict> out;
  out.push_back(bridge_verdict(cfg, facts));
  out.push_back(ports_verdict(cfg, facts));
  out.push_back(isolation_verdict(cfg, facts));
  out.push_back(nginx_verdict(cfg, facts));
  for (const auto& t : facts.templates) out.push_back(template_verdict(t));
  out.push_back(sshd_verdict(cfg, facts));
  out.push_back(idmap_verdict(cfg, facts));
  out.push_back(inotify_verdict(facts));
  out.push_back(clock_verdict(facts));
  return out;
}

}  // namespace lxcprov::doctor
