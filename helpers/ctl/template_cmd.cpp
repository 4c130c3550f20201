// lxcprovctl template ...: the admin's side of sealed templates (container/template_digest.hpp). The seal lives
// in the state database, never next to the template. Walks the templates in the lxcpath and runs
// the build script; single-threaded.
//
//   template list                  every configured template and every sealed one, with the fast
//                                  (per-create) check: sealed | unsealed | MISMATCH | missing
//   template seal NAME [--force]   content walk, stores both digests and the manifest
//   template verify NAME           content walk against the seal; exit 0 matches, 1 differs
//   template unseal NAME           removes the seal (creates from it are refused again)
//   template build NAME --distro D [--force]
//                                  runs templates.build_script, then seals

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "container/liblxc_runtime.hpp"
#include "container/template_policy.hpp"
#include "container/template_seal.hpp"
#include "ctl.hpp"
#include "state/open_state.hpp"

namespace lxcprov::ctl {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t max_changes_shown = 20;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string utc(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string template_dir(const config::Config& cfg, const std::string& name) { return cfg.lxcpath + "/" + name; }

Result<std::unique_ptr<state::Store>> open_store(const config::Config& cfg) {
  auto opened = state::open_state(cfg);
  if (!opened) return opened.error();
  return std::move(opened->store);
}

// A template is sealed stopped: a running container writes its rootfs (logs, pid files...).
Status stopped_template(const config::Config& cfg, const std::string& name) {
  // Only asked for the state: no confinement is written or needed.
  container::LiblxcRuntime runtime(cfg.lxcpath, {});
  auto st = runtime.state(name);
  if (!st) {
    if (st.error().code == Errc::not_found)
      return make_error(Errc::not_found, fmt::format("no container {} in {}", name, cfg.lxcpath));
    return st.error();
  }
  if (*st != "STOPPED")
    return make_error(Errc::conflict, fmt::format("template {} is {}: stop it first (a running container changes "
                                                  "its rootfs)",
                                                  name, *st));
  return {};
}

int seal(const config::Config& cfg, const std::string& name, bool force, const std::string& note_prefix) {
  if (auto s = stopped_template(cfg, name); !s) return fail(s.error().message);
  const std::string dir = template_dir(cfg, name);
  auto store = open_store(cfg);
  if (!store) return fail(store.error().message);
  const auto t0 = Clock::now();
  auto m = container::measure_for_seal(dir);
  if (!m) return fail(fmt::format("template {}: {}", name, m.error().message));
  const double took = ms_since(t0);

  auto old = (*store)->find_template_seal(name);
  if (!old) return fail(old.error().message);
  auto clones = container::snapshot_clones(dir);
  if (!clones) return fail(fmt::format("template {}: {}", name, clones.error().message));
  const std::string content = container::to_hex(m->content);
  std::optional<std::string> old_content;
  if (old->has_value()) old_content = (*old)->content_sha256;
  if (auto s = container::may_seal(name, old_content, content, *clones, force); !s) return fail(s.error().message);

  std::string note = note_prefix;
  if (std::string built = container::build_note(dir); !built.empty()) note += (note.empty() ? "" : "; ") + built;
  state::TemplateSealRecord rec{name,
                                content,
                                container::to_hex(m->fingerprint),
                                container::to_hex(m->config_sha256),
                                static_cast<int64_t>(m->entries),
                                note,
                                0};
  if (auto s = (*store)->put_template_seal(rec, m->manifest); !s) return fail(s.error().message);
  audit_detail() = fmt::format("content sha256 {}{}", content, force ? " (--force)" : "");

  std::string what = fmt::format("sealed {}", name);
  if (old_content && *old_content == content)
    what = fmt::format("re-sealed {} (content unchanged; fingerprint refreshed)", name);
  else if (old_content)
    what = fmt::format("re-sealed {} with new content{}", name,
                       clones->empty() ? ""
                                       : fmt::format(" (--force: {} snapshot clone(s) still depend on the old "
                                                     "content)",
                                                     clones->size()));
  std::cout << fmt::format(
      "{}\n  content:     sha256:{}\n  fingerprint: sha256:{}\n  config:      sha256:{}\n"
      "  entries:     {}\n  sealed in:   {:.0f} ms\n",
      what, content, rec.fingerprint_sha256, rec.config_sha256, m->entries, took);
  return 0;
}

int verify(const config::Config& cfg, const std::string& name) {
  auto store = open_store(cfg);
  if (!store) return fail(store.error().message);
  auto sealed = (*store)->find_template_seal(name);
  if (!sealed) return fail(sealed.error().message);
  if (!sealed->has_value()) return fail(container::not_sealed(name).message);
  const auto& rec = **sealed;
  const auto t0 = Clock::now();
  auto m = container::measure_template(template_dir(cfg, name), container::WalkMode::content);
  if (!m) return fail(fmt::format("template {}: {}", name, m.error().message));
  const double took = ms_since(t0);
  if (container::to_hex(m->content) == rec.content_sha256) {
    std::cout << fmt::format("{} matches its seal: content sha256:{}, {} entries, sealed {} (verified in {:.0f} ms)\n",
                             name, rec.content_sha256, m->entries, utc(rec.sealed_at), took);
    if (container::to_hex(m->fingerprint) != rec.fingerprint_sha256)
      std::cout << fmt::format(
          "  note: its metadata changed since sealing (a copy, a touch, a restore), so creates "
          "from it are refused until: lxcprovctl template seal {}\n",
          name);
    return 0;
  }
  std::cout << fmt::format("{} does NOT match its seal: content differs (sealed sha256:{}, now sha256:{})\n", name,
                           rec.content_sha256, container::to_hex(m->content));
  auto manifest = (*store)->template_seal_manifest(name);
  std::optional<std::vector<container::ManifestItem>> sealed_items;
  if (manifest && manifest->has_value())
    if (auto items = container::decode_manifest(**manifest)) sealed_items = std::move(*items);
  auto now_items = container::decode_manifest(m->manifest);
  if (!sealed_items || !now_items) {
    std::cout << "  (no usable manifest stored with the seal: the changed paths cannot be named)\n";
    return 1;
  }
  const auto changes = container::diff_manifests(*sealed_items, *now_items);
  for (std::size_t i = 0; i < changes.size() && i < max_changes_shown; ++i)
    std::cout << fmt::format("  {:<8} {}\n", container::to_string(changes[i].kind), changes[i].path);
  if (changes.size() > max_changes_shown)
    std::cout << fmt::format("  ... and {} more\n", changes.size() - max_changes_shown);
  return 1;
}

int list(const config::Config& cfg) {
  auto store = open_store(cfg);
  if (!store) return fail(store.error().message);
  auto seals = (*store)->list_template_seals();
  if (!seals) return fail(seals.error().message);
  std::map<std::string, std::string> distribution_of;  // template -> distributions using it
  for (const auto& d : cfg.distributions) {
    auto& v = distribution_of[d.template_name];
    v += (v.empty() ? "" : ",") + d.name;
  }
  std::map<std::string, const state::TemplateSealRecord*> seal_of;
  for (const auto& s : *seals) seal_of[s.name] = &s;
  std::set<std::string> names;
  for (const auto& [t, d] : distribution_of) names.insert(t);
  for (const auto& [t, s] : seal_of) names.insert(t);

  std::cout << fmt::format("{:<20} {:<14} {:<9} {:<20} {:<12} {}\n", "NAME", "DISTRIBUTION", "SEAL", "SEALED_AT",
                           "CONTENT", "CLONES");
  for (const auto& name : names) {
    const std::string dir = template_dir(cfg, name);
    auto it = seal_of.find(name);
    const state::TemplateSealRecord* rec = it == seal_of.end() ? nullptr : it->second;
    std::string status = "unsealed";
    std::string clones = "-";
    if (::access(dir.c_str(), F_OK) != 0) {
      status = "missing";
    } else {
      if (auto c = container::snapshot_clones(dir)) clones = std::to_string(c->size());
      if (rec) {
        // The same fast check a create runs.
        auto m = container::measure_template(dir, container::WalkMode::fingerprint);
        status = m && container::to_hex(m->fingerprint) == rec->fingerprint_sha256 ? "sealed" : "MISMATCH";
      }
    }
    auto d = distribution_of.find(name);
    std::cout << fmt::format("{:<20} {:<14} {:<9} {:<20} {:<12} {}\n", name,
                             d == distribution_of.end() ? "-" : d->second, status, rec ? utc(rec->sealed_at) : "-",
                             rec ? rec->content_sha256.substr(0, 12) : "-", clones);
  }
  return 0;
}

int unseal(const config::Config& cfg, const std::string& name) {
  auto store = open_store(cfg);
  if (!store) return fail(store.error().message);
  auto sealed = (*store)->find_template_seal(name);
  if (!sealed) return fail(sealed.error().message);
  if (!sealed->has_value()) return fail(fmt::format("template {} is not sealed", name));
  if (auto s = (*store)->remove_template_seal(name); !s) return fail(s.error().message);
  std::cout << fmt::format("removed the seal of {}; creates from it are refused until it is sealed again\n", name);
  return 0;
}

// Runs the build script with the admin's terminal (debootstrap takes minutes; its progress and
// errors are the admin's to see), then seals what it built.
int build(const config::Config& cfg, const std::string& name, const std::string& distro, bool force) {
  for (char c : distro)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return fail("--distro must be a distribution name such as busybox or debian");
  const std::string& script = cfg.templates.build_script;
  if (::access(script.c_str(), X_OK) != 0)
    return fail(
        fmt::format("the build script {} is not there or not executable (config templates.build_script; "
                    "scripts/run.sh installs it)",
                    script));
  // Built for the configured id mapping (confinement.idmap): the daemon clones no other.
  std::vector<std::string> argv = {
      script,   "--lxcpath", cfg.lxcpath,
      "--name", name,        "--distro",
      distro,   "--idmap",   fmt::format("{}:{}", cfg.confinement.idmap_first, cfg.confinement.idmap_count)};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::cout.flush();
  const pid_t pid = ::fork();
  if (pid < 0) return fail("cannot start the build script");
  if (pid == 0) {
    ::umask(022);  // lxcprovctl's own 077 would make the rootfs unreadable to the container's users
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return fail("lost the build script");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return fail(fmt::format("the build script failed (exit {}); nothing was sealed",
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  return seal(cfg, name, force, "distro=" + distro);
}

}  // namespace

int template_command(const config::Config& cfg, const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  const std::string& verb = args[0];
  if (verb == "list") return args.size() == 1 ? list(cfg) : usage();
  if (args.size() < 2) return usage();
  const std::string& name = args[1];
  if (!container::valid_template_name(name)) return fail(fmt::format("{} is not a container name", name));
  bool force = false;
  std::string distro;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--force" && (verb == "seal" || verb == "build"))
      force = true;
    else if (args[i] == "--distro" && verb == "build" && i + 1 < args.size())
      distro = args[++i];
    else
      return usage();
  }
  if (verb == "seal") return seal(cfg, name, force, "");
  if (verb == "verify") return args.size() == 2 ? verify(cfg, name) : usage();
  if (verb == "unseal") return args.size() == 2 ? unseal(cfg, name) : usage();
  if (verb == "build") return distro.empty() ? usage() : build(cfg, name, distro, force);
  return usage();
}

}  // namespace lxcprov::ctl
