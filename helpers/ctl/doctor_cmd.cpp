// `lxcprovctl doctor [--sshd-config FILE]`: the probe. Gathers doctor::Facts from this host (ip,
// nft, nginx, the state database, the templates, the lxcprov sshd's config and pid, /etc/subuid,
// /proc/sys) through host::Host, then prints doctor::judge's verdicts, one line each. Exit 1 if
// any check failed. Read-only: nothing on the host is changed.

#include <algorithm>
#include <ctime>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "container/template_seal.hpp"
#include "ctl.hpp"
#include "doctor/checks.hpp"
#include "host/local_host.hpp"
#include "routing/nginx_routes.hpp"
#include "state/open_state.hpp"

namespace lxcprov::ctl {
namespace {

using namespace std::chrono_literals;

std::optional<std::string> read(host::Host& host, const std::string& path) {
  auto text = host.read_file(path);
  if (!text) return std::nullopt;
  return *text;
}

std::optional<host::ProcessResult> run(host::Host& host, const std::vector<std::string>& argv) {
  auto r = host.run(argv, "", 20s);
  if (!r) return std::nullopt;
  return *r;
}

std::optional<int64_t> number_in(host::Host& host, const std::string& path) {
  auto text = read(host, path);
  if (!text) return std::nullopt;
  try {
    return std::stoll(*text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// /proc/PID/cmdline with its NULs as spaces, when PID (from a pid file) is a live process.
std::optional<std::string> process_of(host::Host& host, const std::string& pid_file) {
  auto pid = read(host, pid_file);
  if (!pid) return std::nullopt;
  auto n = pid->find_first_not_of("0123456789");
  std::string digits = pid->substr(0, n);
  if (digits.empty()) return std::nullopt;
  auto cmdline = read(host, "/proc/" + digits + "/cmdline");
  if (!cmdline) return std::nullopt;
  for (char& c : *cmdline)
    if (c == '\0') c = ' ';
  return *cmdline;
}

std::optional<doctor::BridgeFacts> probe_bridge(host::Host& host, const std::string& bridge) {
  doctor::BridgeFacts b;
  auto r = run(host, {"/usr/sbin/ip", "-j", "addr", "show", "dev", bridge});
  if (!r) return std::nullopt;
  if (r->exit_status != 0) return b;  // "Device ... does not exist."
  auto j = nlohmann::json::parse(r->output, nullptr, false);
  if (!j.is_array() || j.empty()) return b;
  b.exists = true;
  for (const auto& flag : j[0].value("flags", nlohmann::json::array()))
    if (flag == "UP") b.up = true;
  for (const auto& a : j[0].value("addr_info", nlohmann::json::array()))
    if (a.contains("local") && a.contains("prefixlen"))
      b.addresses.push_back(fmt::format("{}/{}", a["local"].get<std::string>(), a["prefixlen"].get<int>()));
  return b;
}

std::optional<std::set<std::string>> probe_tables(host::Host& host, const std::string& nft) {
  auto r = run(host, {nft, "list", "tables"});
  if (!r || r->exit_status != 0) return std::nullopt;
  std::set<std::string> tables;
  std::istringstream in(r->output);
  for (std::string word, family, name; in >> word >> family >> name;)
    if (word == "table") tables.insert(family + " " + name);
  return tables;
}

doctor::NginxFacts probe_nginx(host::Host& host, const config::Config& cfg) {
  doctor::NginxFacts n;
  std::vector<std::string> test = {cfg.http.nginx, "-t", "-q", "-c", cfg.http.nginx_conf};
  if (!cfg.http.nginx_prefix.empty()) test.insert(test.begin() + 1, {"-p", cfg.http.nginx_prefix});
  auto r = run(host, test);
  n.test_ok = r && r->exit_status == 0;
  if (!n.test_ok) n.test_output = r ? host::first_line(r->output) : "could not run " + cfg.http.nginx;
  if (auto conf = read(host, cfg.http.nginx_conf)) n.pid_file = routing::nginx_pid_path(*conf, cfg.http.nginx_prefix);
  if (!n.pid_file.empty())
    if (auto cmd = process_of(host, n.pid_file)) n.running = cmd->rfind("nginx", 0) == 0;
  return n;
}

}  // namespace

int doctor_command(const config::Config& cfg, const std::vector<std::string>& args) {
  std::string sshd_config = "/etc/lxcprov/sshd/sshd_config";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--sshd-config" && i + 1 < args.size())
      sshd_config = args[++i];
    else
      return usage();
  }
  host::LocalHost host;
  doctor::Facts f;
  f.bridge = probe_bridge(host, cfg.network.bridge);
  f.nft_tables = probe_tables(host, cfg.ports.nft);
  auto opened = state::open_state(cfg);
  auto store = opened ? std::move(opened->store) : nullptr;
  if (cfg.ports.enabled && f.nft_tables && f.nft_tables->count("inet " + cfg.ports.table)) {
    if (auto r = run(host, {cfg.ports.nft, "list", "table", "inet", cfg.ports.table})) f.ports_listing = r->output;
  }
  if (store) {
    std::map<std::string, std::string> ip_of;
    if (auto cs = store->list_containers("")) {
      for (const auto& c : *cs) {
        ip_of[c.name] = c.ip;
        f.newest_recorded = std::max(f.newest_recorded, c.created_at);
      }
    }
    if (auto ports = store->list_ports())
      for (const auto& p : *ports)
        f.expected_forwards.push_back(
            doctor::forward_line(p.proto, p.public_port, ip_of[p.container], p.container_port));
  }
  if (cfg.http.enabled && !cfg.http.remote) f.nginx = probe_nginx(host, cfg);

  for (const auto& d : cfg.distributions) {
    doctor::TemplateFacts t{d.name, d.template_name, false, false, false, ""};
    const std::string dir = cfg.lxcpath + "/" + d.template_name;
    t.exists = read(host, dir + "/config").has_value();
    if (!opened) {
      t.error = opened.error().message;
    } else if (auto seal = store->find_template_seal(d.template_name); !seal) {
      t.error = seal.error().message;
    } else if (seal->has_value()) {
      t.sealed = true;
      f.newest_recorded = std::max(f.newest_recorded, (*seal)->sealed_at);
      if (t.exists) {
        auto m = container::measure_template(dir, container::WalkMode::fingerprint);
        if (!m)
          t.error = m.error().message;
        else
          t.matches = container::to_hex(m->fingerprint) == (*seal)->fingerprint_sha256;
      }
    }
    f.templates.push_back(t);
  }

  f.sshd.config_path = sshd_config;
  f.sshd.config_text = read(host, sshd_config);
  if (f.sshd.config_text) {
    if (auto pid_file = doctor::sshd_global(*f.sshd.config_text, "PidFile"); !pid_file.empty())
      if (auto cmd = process_of(host, pid_file)) {
        f.sshd.running = true;
        f.sshd.cmdline = *cmd;
      }
  }
  f.subuid = read(host, "/etc/subuid");
  f.subgid = read(host, "/etc/subgid");
  f.inotify_instances = number_in(host, "/proc/sys/fs/inotify/max_user_instances");
  f.inotify_watches = number_in(host, "/proc/sys/fs/inotify/max_user_watches");
  f.now = static_cast<int64_t>(std::time(nullptr));

  int failures = 0;
  for (const auto& v : doctor::judge(cfg, f)) {
    std::cout << doctor::render(v) << "\n";
    if (!v.ok) ++failures;
  }
  if (failures) std::cout << fmt::format("{} check(s) failed\n", failures);
  return failures ? 1 : 0;
}

}  // namespace lxcprov::ctl
