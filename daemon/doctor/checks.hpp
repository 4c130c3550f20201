#pragma once
// `lxcprovctl doctor`: verdicts on what a probe of the host found (issue 12, item 8). Pure: the
// probe (helpers/ctl/doctor_cmd.cpp) gathers Facts through host::Host and the state store; this
// file decides, one Verdict per check, what is wrong, why it matters and how to fix it.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace lxcprov::doctor {

struct Verdict {
  std::string check;  ///< "bridge", "nft ports", ...
  bool ok = false;
  std::string detail;  ///< ok: what was seen; failed: "what, why; fix: how"
};

/// "CHECK: ok (DETAIL)" or "CHECK: FAIL: DETAIL".
std::string render(const Verdict& v);

struct BridgeFacts {
  bool exists = false;
  bool up = false;                     ///< administratively up (IFF_UP); no carrier is fine
  std::vector<std::string> addresses;  ///< "10.47.0.1/24"
};

struct NginxFacts {
  bool test_ok = false;
  std::string test_output;  ///< first line of `nginx -t` output when it failed
  bool running = false;     ///< the pid in the pid file is a live nginx
  std::string pid_file;     ///< "" when the main config names none
};

struct TemplateFacts {
  std::string distribution, name;
  bool exists = false;   ///< the template's config is readable in the lxcpath
  bool sealed = false;   ///< a seal is recorded in the state database
  bool matches = false;  ///< the fingerprint walk equals the seal
  std::string error;     ///< why the walk or the look-up failed
};

struct SshdFacts {
  std::string config_path;
  std::optional<std::string> config_text;  ///< nullopt: unreadable
  bool running = false;                    ///< the PidFile's process is alive
  std::string cmdline;                     ///< its argv, space-separated
};

struct Facts {
  std::optional<BridgeFacts> bridge;                ///< nullopt: `ip` could not be run
  std::optional<std::set<std::string>> nft_tables;  ///< "inet lxcprov", "bridge lxcprov_iso"; nullopt: nft failed
  std::string ports_listing;                        ///< `nft list table inet <ports.table>`
  std::vector<std::string> expected_forwards;       ///< from state: forward_line() of every reserved port
  std::optional<NginxFacts> nginx;                  ///< nullopt: http disabled or remote (not checked here)
  std::vector<TemplateFacts> templates;
  SshdFacts sshd;
  std::optional<std::string> subuid, subgid;
  std::optional<int64_t> inotify_instances, inotify_watches;
  int64_t now = 0;              ///< unix seconds
  int64_t newest_recorded = 0;  ///< the latest time in the state database (creates, seals)
};

/// The one form both the state and an `nft list` line are brought to:
/// "tcp dport 2223 dnat ip to 10.47.0.10:22".
std::string forward_line(std::string_view proto, uint16_t public_port, std::string_view ip, uint16_t container_port);
/// The forwards (elements of the tcp_forwards / udp_forwards maps) of an `nft list table` output,
/// each as forward_line() gives it.
std::set<std::string> listed_forwards(std::string_view listing);
/// The value of `key` in an sshd_config outside any Match block (first wins, as sshd reads it).
std::string sshd_global(std::string_view config, std::string_view key);

/// Minimums the doctor asks of the host.
inline constexpr int64_t min_inotify_instances = 1024;  ///< tens of systemd containers (lxc-baseline.md)
inline constexpr int64_t min_inotify_watches = 65536;
inline constexpr int64_t earliest_sane_time = 1704067200;  ///< 2024-01-01: anything before is a reset clock
inline constexpr int64_t clock_slack_s = 300;

/// Every verdict, in a fixed order: bridge, nft ports, nft isolation, nginx, one per template,
/// sshd, idmap, inotify, clock. sshd must run as a link named lxcprov-sshd (its PAM service).
std::vector<Verdict> judge(const config::Config& cfg, const Facts& facts);

}  // namespace lxcprov::doctor
