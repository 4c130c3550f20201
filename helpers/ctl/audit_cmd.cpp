// lxcprovctl's audit commands and the recording of its own changes (ctl.hpp). lxcprovctl appends
// to the trail itself, under the same flock as lxcprovd (audit/file_trail.hpp), rather than asking
// the daemon: admin changes are made while the daemon is stopped too (templates before the first
// start, passwords during an outage), and they must be recorded then as well.

#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "audit/chain.hpp"
#include "audit/file_trail.hpp"
#include "ctl.hpp"
#include "host/local_host.hpp"

namespace lxcprov::ctl {
namespace {

std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return "uid " + std::to_string(uid);
}

// The login uid (pam_loginuid) survives sudo and su and cannot be changed by the process itself:
// it names the person behind a root shell, where SUDO_USER would be the environment's word.
std::string source() {
  std::ifstream in("/proc/self/loginuid");
  long long login = -1;
  if (in >> login && login >= 0 && login != 4294967295LL)
    return fmt::format("lxcprovctl loginuid {} ({})", login, user_name(static_cast<uid_t>(login)));
  return "lxcprovctl";
}

Result<std::string> read_trail(const config::Config& cfg) {
  host::LocalHost local;
  auto text = local.read_file(cfg.audit_log);
  if (!text && text.error().code == Errc::not_found) return std::string();
  return text;
}

std::vector<std::string_view> split_lines(const std::string& text) {
  std::vector<std::string_view> lines;
  for (std::size_t b = 0; b < text.size();) {
    std::size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    lines.push_back(std::string_view(text).substr(b, e - b));
    b = e + 1;
  }
  return lines;
}

int verify_command(const config::Config& cfg, const std::vector<std::string>& args) {
  std::optional<audit::Anchor> anchor;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--anchor" && i + 1 < args.size()) {
      auto a = audit::parse_anchor(args[++i]);
      if (!a) return fail(a.error().message);
      anchor = *a;
    } else {
      return usage();
    }
  }
  auto text = read_trail(cfg);
  if (!text) return fail(text.error().message);
  const audit::Report r = audit::verify(split_lines(*text), anchor);
  for (const auto& f : r.findings) std::cout << fmt::format("{}: {}\n", audit::to_string(f.kind), f.message);
  if (!r.ok()) {
    std::cout << fmt::format("FAILED: {} finding{} in {} lines of {}\n", r.findings.size(),
                             r.findings.size() == 1 ? "" : "s", r.lines, cfg.audit_log);
    return 1;
  }
  std::cout << fmt::format("ok: {} entries, head {}:{}{}\n", r.head.seq, r.head.seq, r.head.hash,
                           anchor ? fmt::format(" (anchor {} matches)", anchor->seq) : "");
  return 0;
}

int show_command(const config::Config& cfg, const std::vector<std::string>& args) {
  std::string since;
  bool as_json = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--since" && i + 1 < args.size())
      since = args[++i];
    else if (args[i] == "--json")
      as_json = true;
    else
      return usage();
  }
  // Times are UTC ISO 8601 of one width, so a prefix such as "2026-12-02" or "2026-12-02T10:00"
  // compares as text.
  auto text = read_trail(cfg);
  if (!text) return fail(text.error().message);
  std::size_t n = 0;
  for (auto line : split_lines(*text)) {
    ++n;
    auto e = audit::parse_line(line);
    if (!e) {
      std::cout << fmt::format("line {}: not an audit entry ({})\n", n, e.error().message);
      continue;
    }
    if (!since.empty() && e->time.compare(0, since.size(), since) < 0) continue;
    if (as_json) {
      std::cout << line << "\n";
      continue;
    }
    std::cout << fmt::format("{:>6} {} {:<16} {:<10} actor={} source=\"{}\" uid={} target={}{}\n", e->seq, e->time,
                             e->event, e->result, e->actor.empty() ? "-" : e->actor, e->source, e->uid,
                             e->target.empty() ? "-" : e->target, e->detail.empty() ? "" : " (" + e->detail + ")");
  }
  return 0;
}

}  // namespace

int audit_command(const config::Config& cfg, const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  if (args[0] == "verify") return verify_command(cfg, args);
  if (args[0] == "show") return show_command(cfg, args);
  return usage();
}

int audited(const config::Config& cfg, audit::Kind kind, const std::string& target,
            const std::function<int()>& change) {
  auto trail = audit::FileTrail::open(cfg.audit_log, audit::FileTrail::Mirror::journal);
  if (!trail) return fail(fmt::format("{}; nothing was changed", trail.error().message));
  const int rc = change();
  if (rc == 2) return rc;  // usage: nothing was attempted
  const uid_t uid = ::getuid();
  audit::Event event{kind,
                     user_name(uid),
                     source(),
                     static_cast<int64_t>(uid),
                     target,
                     rc == 0 ? "success" : "failure",
                     rc == 0 ? audit_detail() : last_failure()};
  if (auto s = (*trail)->record(event); !s) {
    std::cerr << "lxcprovctl: the change was made but could not be recorded: " << s.error().message << "\n";
    return rc == 0 ? 1 : rc;
  }
  return rc;
}

}  // namespace lxcprov::ctl
