// lxcprovctl: the hypervisor admin's tool. Runs as root on the hypervisor and works on the same
// files lxcprovd uses (password file, state database, the templates in the lxcpath), which are
// root-only. The template commands are in template_cmd.cpp.
//
//   lxcprovctl [--config FILE] user add|passwd NAME [--password-stdin]
//   lxcprovctl [--config FILE] user del NAME | user list
//   lxcprovctl [--config FILE] containers [OWNER]
//   lxcprovctl [--config FILE] job ID | logs ID
//   lxcprovctl [--config FILE] key add NAME < KEY.pub | key del FINGERPRINT|NAME | key list [NAME] | key sync
//   lxcprovctl [--config FILE] template list | seal NAME [--force] | verify NAME | unseal NAME
//   lxcprovctl [--config FILE] template build NAME --distro busybox|debian [--force]
//   lxcprovctl [--config FILE] audit verify [--anchor SEQ:HASH] | audit show [--since TIME] [--json]
//   lxcprovctl [--config FILE] doctor [--sshd-config FILE]
//   lxcprovctl [--config FILE] node add NAME --endpoint HOST[:PORT] --subnet CIDR [--templates D1,D2]
//   lxcprovctl [--config FILE] node list | drain NAME | undrain NAME | remove NAME
//
// Every change (user, key, template seal/unseal/build) is recorded in the audit trail (ctl.hpp,
// audited()).

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "auth/key_registry.hpp"
#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"
#include "auth/ssh_key.hpp"
#include "config/config.hpp"
#include "ctl.hpp"
#include "host/local_host.hpp"
#include "request/validation.hpp"
#include "state/open_state.hpp"

namespace lxcprov::ctl {

int usage() {
  std::cerr
      << "usage: lxcprovctl [--config FILE] user add|passwd NAME [--password-stdin]\n"
         "       lxcprovctl [--config FILE] user del NAME | user list\n"
         "       lxcprovctl [--config FILE] containers [OWNER]\n"
         "       lxcprovctl [--config FILE] job ID | logs ID\n"
         "       lxcprovctl [--config FILE] key add NAME < KEY.pub | key del FINGERPRINT|NAME | key list [NAME]"
         " | key sync\n"
         "       lxcprovctl [--config FILE] template list | seal NAME [--force] | verify NAME | unseal NAME\n"
         "       lxcprovctl [--config FILE] template build NAME --distro busybox|debian [--force]\n"
         "       lxcprovctl [--config FILE] audit verify [--anchor SEQ:HASH] | audit show [--since TIME] [--json]\n"
         "       lxcprovctl [--config FILE] doctor [--sshd-config FILE]\n"
         "       lxcprovctl [--config FILE] node add NAME --endpoint HOST[:PORT] --subnet CIDR [--templates D1,D2]\n"
         "       lxcprovctl [--config FILE] node list | drain NAME | undrain NAME | remove NAME\n";
  return 2;
}

namespace {
std::string g_last_failure;
std::string g_audit_detail;
}  // namespace

int fail(const std::string& message) {
  std::cerr << "lxcprovctl: " << message << "\n";
  g_last_failure = message;
  return 1;
}

const std::string& last_failure() { return g_last_failure; }
std::string& audit_detail() { return g_audit_detail; }

}  // namespace lxcprov::ctl

namespace {

using namespace lxcprov;
using ctl::fail;
using ctl::usage;

// Every file lxcprovctl reads or writes goes through this machine's Host.
host::LocalHost& local_host() {
  static host::LocalHost local;
  return local;
}

// Reads a password without echo from the terminal (asked twice), or one line from stdin.
std::optional<Secret> read_password(bool from_stdin) {
  std::string first;
  if (from_stdin || !::isatty(STDIN_FILENO)) {
    if (!std::getline(std::cin, first)) return std::nullopt;
    return Secret(std::move(first));
  }
  termios saved{};
  ::tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  std::string second;
  std::cerr << "Password: " << std::flush;
  bool ok = static_cast<bool>(std::getline(std::cin, first));
  std::cerr << "\nAgain: " << std::flush;
  ok = ok && std::getline(std::cin, second);
  std::cerr << "\n";
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  if (!ok || first != second) return std::nullopt;
  return Secret(std::move(first));
}

int user_command(const config::Config& cfg, const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  auto users = auth::load_password_file(local_host(), cfg.passwd_file);
  if (!users) return fail(users.error().message);
  const std::string& verb = args[0];
  if (verb == "list") {
    for (const auto& [name, hash] : *users) std::cout << name << "\n";
    return 0;
  }
  if (args.size() < 2) return usage();
  auto name = request::check_username(args[1]);
  if (!name.ok()) return fail(request::format(*name.error));
  if (verb == "del") {
    if (users->erase(*name.value) == 0) return fail(fmt::format("no user {}", *name.value));
  } else if (verb == "add" || verb == "passwd") {
    if (verb == "add" && users->count(*name.value)) return fail(fmt::format("user {} exists; use passwd", *name.value));
    if (verb == "passwd" && !users->count(*name.value)) return fail(fmt::format("no user {}", *name.value));
    const bool from_stdin = args.size() > 2 && args[2] == "--password-stdin";
    auto password = read_password(from_stdin);
    if (!password) return fail("no password given, or the two entries differ");
    if (auto p = request::check_password(password->reveal()); !p.ok()) return fail(request::format(*p.error));
    auto hash = auth::hash_password(*password);
    if (!hash) return fail(hash.error().message);
    (*users)[*name.value] = *hash;
  } else {
    return usage();
  }
  if (auto s = auth::save_password_file(local_host(), cfg.passwd_file, *users); !s) return fail(s.error().message);
  return 0;
}

// Key-bound identities: the registry and the authorized_keys files rendered from it. Every change
// rewrites both atomically; `key sync` only re-renders (after a config change of shell or socket).
int key_command(const config::Config& cfg, const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  auto keys = auth::load_key_registry(local_host(), cfg.keys_file);
  if (!keys) return fail(keys.error().message);
  const std::string& verb = args[0];
  if (verb == "list") {
    for (const auto& k : *keys)
      if (args.size() < 2 || k.user == args[1])
        std::cout << fmt::format("{} {} {}{}\n", k.user, k.fingerprint, k.type,
                                 k.comment.empty() ? "" : " " + k.comment);
    return 0;
  }
  if (verb == "add") {
    if (args.size() != 2) return usage();
    auto name = request::check_username(args[1]);
    if (!name.ok()) return fail(request::format(*name.error));
    std::stringstream in;
    in << std::cin.rdbuf();
    auto parsed = auth::parse_single_key(in.str());
    if (!parsed) return fail(parsed.error().message);
    if (auto owner = auth::owner_of(*keys, parsed->fingerprint))
      return fail(fmt::format("key {} is already registered to {}", parsed->fingerprint, *owner));
    keys->push_back({*name.value, parsed->fingerprint, parsed->type, parsed->data, parsed->comment});
    std::cout << fmt::format("added {} for {}\n", parsed->fingerprint, *name.value);
    ctl::audit_detail() = parsed->fingerprint;
  } else if (verb == "del") {
    if (args.size() != 2) return usage();
    const size_t before = keys->size();
    std::erase_if(*keys, [&](const auto& k) { return k.fingerprint == args[1] || k.user == args[1]; });
    if (keys->size() == before) return fail(fmt::format("no key or user {} in the registry", args[1]));
    std::cout << fmt::format("deleted {} key{}\n", before - keys->size(), before - keys->size() == 1 ? "" : "s");
    ctl::audit_detail() = fmt::format("{} key(s) deleted", before - keys->size());
  } else if (verb != "sync") {
    return usage();
  }
  if (verb != "sync")
    if (auto s = auth::save_key_registry(local_host(), cfg.keys_file, *keys); !s) return fail(s.error().message);
  if (auto s = auth::write_authorized_keys(local_host(), cfg.authorized_keys_dir, *keys, auth::default_accounts(),
                                           cfg.shell_path, cfg.socket_path);
      !s)
    return fail(s.error().message);
  return 0;
}

int state_command(const config::Config& cfg, const std::vector<std::string>& args) {
  auto opened = state::open_state(cfg);
  if (!opened) return fail(opened.error().message);
  auto& store = opened->store;
  if (args[0] == "containers") {
    auto recs = store->list_containers(args.size() > 1 ? args[1] : "");
    if (!recs) return fail(recs.error().message);
    // A fleet's list says where each container is.
    const bool fleet = !cfg.fleet.database.empty();
    std::cout << fmt::format("{:<24} {:<16} {:<10} {:<15} {:>6} {}{}\n", "NAME", "OWNER", "STATE", "IP", "CTID",
                             fleet ? fmt::format("{:<16} ", "NODE") : "", "JOB");
    for (const auto& r : *recs)
      std::cout << fmt::format("{:<24} {:<16} {:<10} {:<15} {:>6} {}{}\n", r.name, r.owner, state::to_string(r.state),
                               r.ip, r.ctid, fleet ? fmt::format("{:<16} ", r.node) : "", r.job_id);
    return 0;
  }
  if (args.size() < 2) return usage();
  if (args[0] == "job") {
    auto job = store->find_job(args[1]);
    if (!job) return fail(job.error().message);
    if (!job->has_value()) return fail(fmt::format("no job {}", args[1]));
    const auto& j = **job;
    std::cout << fmt::format(
        "job {}\n  op:        {}\n  container: {}\n  user:      {}\n  state:     {}\n"
        "  step:      {}\n  exit code: {}\n  outcome:   {}\n",
        j.id, state::to_string(j.kind), j.container, j.user, state::to_string(j.state), j.step, j.exit_code, j.message);
    return 0;
  }
  if (args[0] == "logs") {
    auto lines = store->job_log(args[1]);
    if (!lines) return fail(lines.error().message);
    for (const auto& l : *lines) std::cout << fmt::format("{} {} {}\n", l.at, l.level, l.text);
    return 0;
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "/etc/lxcprov/lxcprovd.json";
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc)
      config_path = argv[++i];
    else
      args.emplace_back(argv[i]);
  }
  if (args.empty()) return usage();
  auto text = local_host().read_file(config_path);
  if (!text && text.error().code != Errc::not_found) return fail(text.error().message);
  auto cfg = config::parse(text ? *text : "{}");
  if (!cfg) return fail(cfg.error().message);
  ::umask(077);
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  const std::string verb = rest.empty() ? "" : rest[0];
  const std::string target = rest.size() > 1 ? rest[1] : "";
  // The changes, each recorded in the audit trail; reads (list, verify) are not.
  using audit::Kind;
  static const std::map<std::pair<std::string, std::string>, Kind> changes = {
      {{"user", "add"}, Kind::user_add},
      {{"user", "passwd"}, Kind::user_passwd},
      {{"user", "del"}, Kind::user_del},
      {{"key", "add"}, Kind::key_add},
      {{"key", "del"}, Kind::key_del},
      {{"key", "sync"}, Kind::key_sync},
      {{"template", "seal"}, Kind::template_seal},
      {{"template", "unseal"}, Kind::template_unseal},
      {{"template", "build"}, Kind::template_build},
      {{"node", "add"}, Kind::node_add},
      {{"node", "drain"}, Kind::node_drain},
      {{"node", "undrain"}, Kind::node_undrain},
      {{"node", "remove"}, Kind::node_remove}};
  std::function<int()> run;
  if (args[0] == "user") run = [&] { return user_command(*cfg, rest); };
  if (args[0] == "key") run = [&] { return key_command(*cfg, rest); };
  if (args[0] == "template") run = [&] { return ctl::template_command(*cfg, rest); };
  if (args[0] == "node") run = [&] { return ctl::node_command(*cfg, rest); };
  if (args[0] == "audit") return ctl::audit_command(*cfg, rest);
  if (args[0] == "doctor") return ctl::doctor_command(*cfg, rest);
  if (run) {
    if (auto it = changes.find({args[0], verb}); it != changes.end())
      return ctl::audited(*cfg, it->second, target, run);
    return run();
  }
  if (args[0] == "containers" || args[0] == "job" || args[0] == "logs") return state_command(*cfg, args);
  return usage();
}
