// LiblxcRuntime: see liblxc_runtime.hpp. liblxc `false`/-1 returns and errno become Error here,
// once, with messages that name the container but never a host path of the daemon.

#include "container/liblxc_runtime.hpp"

#include "common/fd.hpp"
#include "container/confinement.hpp"
#include "container/overlay_seed.hpp"
#include "container/template_policy.hpp"
#include "host/child_pump.hpp"
#include "host/local_host.hpp"
#include "log/log.hpp"

#include <fcntl.h>
#include <lxc/attach_options.h>
#include <lxc/lxccontainer.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace lxcprov::container {
namespace {

using Clock = std::chrono::steady_clock;

struct ContainerPut {
  void operator()(lxc_container* c) const { lxc_container_put(c); }
};
using ContainerPtr = std::unique_ptr<lxc_container, ContainerPut>;

bool has_forbidden_char(const std::string& s) { return s.find_first_of(std::string("\n\r\0", 3)) != std::string::npos; }

// liblxc builds <lxcpath>/<name>/config from the name with no check at all (threats.md, liblxc
// fact 1), so a name must never be able to leave the lxcpath.
bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.front() == '.' || name.front() == '-') return false;
  if (name.find("..") != std::string::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
           ch == '.';
  });
}

// Keys in CloneSpec::extra that would undo what clone() guarantees: the network and hostname it
// writes, the rootfs snapshot, the confinement, host commands (hooks), includes of other files, and
// lxc.environment, whose value without '=' copies the daemon's own variable (liblxc fact 3).
bool refused_extra_key(const std::string& key) {
  if (key.rfind("lxc.", 0) != 0 || key.size() > 128) return true;
  for (char ch : key) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_';
    if (!ok) return true;
  }
  return container::confinement_key(key);
}

ContainerPtr open_container(const std::string& name, const std::string& lxcpath) {
  return ContainerPtr(lxc_container_new(name.c_str(), lxcpath.c_str()));
}

std::optional<std::string> get_config(lxc_container* c, const std::string& key) {
  int len = c->get_config_item(c, key.c_str(), nullptr, 0);
  if (len < 0) return std::nullopt;
  std::string value(static_cast<std::size_t>(len) + 1, '\0');
  int got = c->get_config_item(c, key.c_str(), value.data(), len + 1);
  if (got < 0) return std::nullopt;
  value.resize(static_cast<std::size_t>(std::min(got, len)));
  return value;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// liblxc reads some list keys back in its own layout (lxc.cap.drop: one line of words).
bool same_words(const std::string& a, const std::string& b) {
  auto words = [](const std::string& s) {
    std::vector<std::string> w;
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t j = s.find_first_of(" \n", i);
      if (j == std::string::npos) j = s.size();
      if (j > i) w.push_back(s.substr(i, j - i));
      i = j + 1;
    }
    return w;
  };
  return words(a) == words(b);
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

// Signal state a child must not inherit from the daemon: an ignored SIGPIPE or a blocked SIGTERM
// survive exec and would change how the container's processes behave.
void reset_signals_in_child() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::sigaction(sig, &dfl, nullptr);  // fails harmlessly for the reserved RT signals
  }
  sigset_t empty;
  sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

struct ExecPayload {
  char** argv;
};

// Runs in the attached process inside the container, after liblxc has set up namespaces, the
// cgroup, the environment and fds 0-2.
int exec_in_container(void* payload) {
  auto* p = static_cast<ExecPayload*>(payload);
  reset_signals_in_child();
  // Own process group, so a timeout can kill the command and what it spawned in one kill().
  ::setpgid(0, 0);
  // Whatever liblxc or the daemon left open must not reach the command (CVE-2016-8649 class).
  ::close_range(3, ~0U, 0);
  ::execvp(p->argv[0], p->argv);
  return errno == ENOENT ? 127 : 126;
}

// Environment of attached commands: nothing of the daemon's (LXC_ATTACH_CLEAR_ENV).
char env_path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
char env_home[] = "HOME=/root";
char env_term[] = "TERM=dumb";
char* attach_env[] = {env_path, env_home, env_term, nullptr};

constexpr const char* truncated_marker = "\n[lxcprov: output truncated]\n";

}  // namespace

class LiblxcRuntime::NameReservation {
 public:
  NameReservation(LiblxcRuntime& rt, std::string name) : rt_(rt), name_(std::move(name)) {}
  NameReservation(const NameReservation&) = delete;
  NameReservation& operator=(const NameReservation&) = delete;
  ~NameReservation() { rt_.release_name(name_); }

 private:
  LiblxcRuntime& rt_;
  std::string name_;
};

LiblxcRuntime::LiblxcRuntime(std::string lxcpath, Confinement confinement)
    : lxcpath_(std::move(lxcpath)), confinement_(std::move(confinement)) {}

Confinement LiblxcRuntime::confinement_for(const config::Confinement& config, container::CgroupVersion version,
                                           const std::string& lxcpath) {
  Confinement c;
  c.seccomp_policy_path = lxcpath + "/lxcprov.seccomp";
  c.seccomp_policy = container::seccomp_policy(config);
  c.keys = container::confinement_keys(config, version, c.seccomp_policy_path);
  c.idmap = container::idmap_lines(config);
  return c;
}

Status LiblxcRuntime::prepare() {
  if (confinement_.idmap.empty()) return make_error(Errc::invalid_argument, "the confinement has no id mapping");
  if (::access(lxc_start_.c_str(), X_OK) != 0)
    return make_error(Errc::unavailable, "lxc-start is not installed (Debian package lxc)");
  const std::string& path = confinement_.seccomp_policy_path;
  const std::string tmp = path + ".lxcprov-new";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  const Error failed = make_error(Errc::io, "cannot install the seccomp policy");
  if (fd.get() < 0) return failed;
  std::size_t off = 0;
  const std::string& text = confinement_.seccomp_policy;
  while (off < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed;
    off += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) return failed;
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failed;
  return {};
}

namespace {

// A user namespace that maps container root (and every other id) away from host root: each
// lxc.idmap line is "u|g NSID HOSTID RANGE", and no host range may contain id 0.
bool has_user_namespace(lxc_container* c) {
  auto map = get_config(c, "lxc.idmap");
  if (!map) return false;
  bool uid_root = false, gid_root = false;
  for (const auto& line : lines(*map)) {
    char kind = 0;
    unsigned long ns = 0, host = 0, range = 0;
    if (std::sscanf(line.c_str(), "%c %lu %lu %lu", &kind, &ns, &host, &range) != 4) return false;
    if (host == 0) return false;
    if (ns == 0 && kind == 'u') uid_root = true;
    if (ns == 0 && kind == 'g') gid_root = true;
  }
  return uid_root && gid_root;
}

}  // namespace

std::vector<std::string> LiblxcRuntime::privileged_containers() {
  std::vector<std::string> out;
  auto names = list();
  if (!names) return out;
  for (const auto& name : *names) {
    auto c = open_container(name, lxcpath_);
    if (c && c->is_defined(c.get()) && !has_user_namespace(c.get())) out.push_back(name);
  }
  return out;
}

Status LiblxcRuntime::reserve_name(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (!creating_.insert(name).second) {
    return make_error(Errc::conflict, "container " + name + " already exists");
  }
  return {};
}

void LiblxcRuntime::release_name(const std::string& name) {
  std::lock_guard lock(mutex_);
  creating_.erase(name);
}

bool LiblxcRuntime::exists(const std::string& name) {
  if (!valid_name(name)) return false;
  auto c = open_container(name, lxcpath_);
  return c && c->is_defined(c.get());
}

Result<std::string> LiblxcRuntime::state(const std::string& name) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  auto c = open_container(name, lxcpath_);
  if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
  if (!c->is_defined(c.get())) return make_error(Errc::not_found, "no container " + name);
  const char* s = c->state(c.get());
  if (!s) return make_error(Errc::io, "container " + name + ": state unknown");
  return std::string(s);
}

Result<std::vector<std::string>> LiblxcRuntime::list() {
  char** names = nullptr;
  int n = list_defined_containers(lxcpath_.c_str(), &names, nullptr);
  if (n < 0) return make_error(Errc::io, "cannot list containers");
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    out.emplace_back(names[i]);
    std::free(names[i]);
  }
  std::free(names);
  return out;
}

Status LiblxcRuntime::clone(const CloneSpec& spec) {
  // Config injection guard, part 1: set_config_item writes values verbatim, so a newline would
  // smuggle extra lines into the saved config (liblxc fact 2).
  std::vector<const std::string*> values = {&spec.name,         &spec.template_name, &spec.bridge, &spec.ipv4_cidr,
                                            &spec.ipv4_gateway, &spec.hwaddr,        &spec.veth};
  for (const auto& [k, v] : spec.extra) {
    values.push_back(&k);
    values.push_back(&v);
  }
  for (const std::string* v : values) {
    if (has_forbidden_char(*v)) {
      return make_error(Errc::invalid_argument, "a container setting contains a line break or NUL");
    }
  }
  if (!valid_name(spec.name)) return make_error(Errc::invalid_argument, "invalid container name");
  if (!valid_name(spec.template_name)) {
    return make_error(Errc::invalid_argument, "invalid template name");
  }
  if (spec.bridge.empty() || spec.bridge.size() > 15 || spec.ipv4_cidr.find('/') == std::string::npos ||
      spec.ipv4_gateway.empty() || spec.hwaddr.empty()) {
    return make_error(Errc::invalid_argument, "container " + spec.name + ": incomplete network settings");
  }
  // An interface name (IFNAMSIZ) of characters nft and ip(8) take without quoting.
  if (spec.veth.size() > 15 || !std::all_of(spec.veth.begin(), spec.veth.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
      })) {
    return make_error(Errc::invalid_argument, "container " + spec.name + ": invalid veth name");
  }
  for (const auto& [k, v] : spec.extra) {
    if (refused_extra_key(k)) {
      return make_error(Errc::invalid_argument, "container setting not allowed: " + k);
    }
  }

  // liblxc's clone checks for an existing target and then creates it without O_EXCL (liblxc
  // fact 5): two clones to one name would race. Reserve the name in-process first.
  if (auto r = reserve_name(spec.name); !r) return r;
  NameReservation reservation(*this, spec.name);
  // A directory without a config (a leftover) also counts as taken: failure cleanup removes the
  // directory, which must only ever be one this call created.
  if (path_exists(lxcpath_ + "/" + spec.name)) {
    return make_error(Errc::conflict, "container " + spec.name + " already exists");
  }

  auto tpl = open_container(spec.template_name, lxcpath_);
  if (!tpl || !tpl->is_defined(tpl.get())) {
    return make_error(Errc::not_found, "template " + spec.template_name + " not found");
  }
  // The clone shares the template's files as its lower layer: they must be owned by the mapped
  // ids, which a template built for this mapping (and only such a one) guarantees.
  if (lines(get_config(tpl.get(), "lxc.idmap").value_or("")) != confinement_.idmap) {
    return make_error(Errc::unavailable, "template " + spec.template_name +
                                             " is not built for this host's id mapping (a privileged or older "
                                             "template); an admin must rebuild it");
  }
  ContainerPtr copy(
      tpl->clone(tpl.get(), spec.name.c_str(), lxcpath_.c_str(), LXC_CLONE_SNAPSHOT, "overlayfs", nullptr, 0, nullptr));
  if (!copy) {
    remove_partial(spec.name);
    return make_error(Errc::io,
                      "container " + spec.name + ": snapshot clone of template " + spec.template_name + " failed");
  }
  copy.reset();
  if (auto r = write_config(spec); !r) {
    remove_partial(spec.name);
    return r;
  }
  return {};
}

Status LiblxcRuntime::write_config(const CloneSpec& spec) {
  std::vector<std::pair<std::string, std::string>> items = {
      {"lxc.uts.name", spec.name},
      {"lxc.net.0.type", "veth"},
      {"lxc.net.0.link", spec.bridge},
      {"lxc.net.0.flags", "up"},
      {"lxc.net.0.hwaddr", spec.hwaddr},
      {"lxc.net.0.ipv4.address", spec.ipv4_cidr},
      {"lxc.net.0.ipv4.gateway", spec.ipv4_gateway},
      // An overlay mounted in a user namespace cannot write trusted.overlay.* attributes, and
      // without them renaming a directory fails with EXDEV (dpkg does that for every package
      // that brings one): user.overlay.* attributes it may write.
      {"lxc.rootfs.options", "userxattr"},
  };
  if (!spec.veth.empty()) items.emplace_back("lxc.net.0.veth.pair", spec.veth);
  for (const auto& kv : confinement_.keys) items.push_back(kv);
  for (const auto& kv : spec.extra) items.push_back(kv);

  // Every key is written once, replacing what the template had. A key may carry several values
  // (lxc.idmap, device rules): they are set in order after one clear.
  std::vector<std::string> keys;
  std::map<std::string, std::string> expected;  // key -> what get_config_item must read back
  for (const auto& [key, value] : items) {
    if (!expected.count(key)) keys.push_back(key);
    expected[key] += value + "\n";
  }

  const std::string fail = "container " + spec.name + ": writing the config failed";
  {
    // The object clone() returned keeps stale paths (baseline finding 5): load it afresh.
    auto c = open_container(spec.name, lxcpath_);
    if (!c || !c->is_defined(c.get())) return make_error(Errc::io, fail);
    // The template's own network entries (type empty) go; ours replace them. Nothing of the host
    // is ever mounted into a container, and no hook runs host commands for one.
    for (const char* key : {"lxc.net", "lxc.mount.entry", "lxc.mount.fstab", "lxc.hook"})
      c->clear_config_item(c.get(), key);
    for (const auto& key : keys)
      if (key.rfind("lxc.net.", 0) != 0) c->clear_config_item(c.get(), key.c_str());
    for (const auto& [key, value] : items) {
      if (!c->set_config_item(c.get(), key.c_str(), value.c_str())) {
        return make_error(Errc::invalid_argument, "container " + spec.name + ": invalid value for " + key);
      }
    }
    if (!c->save_config(c.get(), nullptr)) return make_error(Errc::io, fail);
  }

  // Config injection guard, part 2: reload from disk and check every value came back exactly,
  // that no second network device appeared, and that the container is unprivileged with no
  // mount of a host path.
  auto check = open_container(spec.name, lxcpath_);
  if (!check || !check->is_defined(check.get())) return make_error(Errc::io, fail);
  for (const auto& key : keys) {
    // Scalar keys read back without the newline, list keys with one per value.
    auto got = get_config(check.get(), key);
    const std::string& want = expected[key];
    if (!got || (*got != want && *got + "\n" != want && !same_words(*got, want))) {
      return make_error(Errc::internal, "container " + spec.name + ": config read-back mismatch for " + key);
    }
  }
  if (auto extra_net = get_config(check.get(), "lxc.net.1.type"); extra_net && !extra_net->empty()) {
    return make_error(Errc::internal, "container " + spec.name + ": unexpected second network device");
  }
  if (!has_user_namespace(check.get()) || !get_config(check.get(), "lxc.mount.entry").value_or("").empty()) {
    return make_error(Errc::internal, "container " + spec.name + ": the confinement did not take");
  }
  return {};
}

// Best-effort removal of a half-made container. Only called for a name this process reserved and
// that did not exist before, so removing the directory cannot hit anything else.
void LiblxcRuntime::remove_partial(const std::string& name) {
  if (auto c = open_container(name, lxcpath_); c && c->is_defined(c.get())) {
    if (c->is_running(c.get())) c->stop(c.get());
    c->destroy(c.get());
  }
  std::error_code ec;
  std::filesystem::remove_all(lxcpath_ + "/" + name, ec);
}

Status LiblxcRuntime::seed(const std::string& name, const FirstBoot& boot) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  const auto uid = mapped_root(confinement_.idmap, 'u');
  const auto gid = mapped_root(confinement_.idmap, 'g');
  if (!uid || !gid) return make_error(Errc::unavailable, "the confinement does not map root");
  std::optional<OverlayLayers> layers;
  {
    auto c = open_container(name, lxcpath_);
    if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
    if (!c->is_defined(c.get())) return make_error(Errc::not_found, "no container " + name);
    // Mounted, the overlay must not have its layers changed underneath it.
    if (c->is_running(c.get())) return make_error(Errc::unavailable, "container " + name + " is running");
  }
  // liblxc reads lxc.rootfs.path back without its type ("LOWER:UPPER"), so from the file it saved.
  {
    std::ifstream config(lxcpath_ + "/" + name + "/config");
    const std::string text((std::istreambuf_iterator<char>(config)), std::istreambuf_iterator<char>());
    if (auto value = rootfs_value(text)) layers = overlay_layers(*value);
  }
  if (!layers) return make_error(Errc::unavailable, "container " + name + ": the rootfs is not a two-layer overlay");
  return seed_first_boot(*layers, boot, *uid, *gid);
}

std::string LiblxcRuntime::start_log(const std::string& name) const { return lxcpath_ + "/" + name + "/start.log"; }

void LiblxcRuntime::log_start_failure(const std::string& name) const {
  std::ifstream in(start_log(name));
  std::vector<std::string> lines;
  // The cause comes first; what follows is liblxc unwinding ("failed to spawn", "run in foreground").
  for (std::string line; lines.size() < 8 && std::getline(in, line);) lines.push_back(std::move(line));
  // Host paths and interface names, no secrets (those only travel in attach environments): for
  // the admin's log, not the user's message.
  for (const auto& l : lines) log::error(fmt::format("lxc-start {}: {}", name, l));
}

Status LiblxcRuntime::start(const std::string& name, std::chrono::milliseconds timeout) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  const auto deadline = Clock::now() + timeout;
  {
    auto c = open_container(name, lxcpath_);
    if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
    if (!c->is_defined(c.get())) return make_error(Errc::not_found, "no container " + name);
    if (!has_user_namespace(c.get())) {
      return make_error(Errc::permission_denied,
                        "container " + name +
                            " is privileged (made before lxcprov confined containers): root in "
                            "it would be root on the host, so lxcprov does not start it; delete and re-create it");
    }
    if (!c->is_running(c.get())) {
      // lxc-start, in a process of its own: a daemonized start() moves its caller into the
      // lxc.monitor.<name> cgroup (baseline finding 6), and liblxc forks that caller for the monitor
      // and the container's init. Spawned, not forked from lxcprovd: every one of those forks then
      // copied (and copy-on-wrote) the daemon's address space (busybox `start` step, median of 7 in
      // the daemon: ~43 ms forked, ~33 ms spawned; docs/benchmarks.md).
      // The monitor reports why a start failed only to its log (its stdio is /dev/null by then):
      // one in the container's directory, emptied first, read back when the start fails.
      const std::string log = start_log(name);
      if (Fd fd(::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600)); !fd.valid())
        return make_error(Errc::io, "container " + name + ": cannot prepare its start log");
      host::LocalHost local;
      auto r = local.run({lxc_start_, "-P", lxcpath_, "-n", name, "-o", log, "-l", "ERROR"}, "",
                         std::chrono::milliseconds(remaining_ms(deadline)));
      if (!r && r.error().code == Errc::timeout)
        return make_error(Errc::timeout, "container " + name + ": start timed out");
      if (!r || r->exit_status != 0) {
        log_start_failure(name);
        return make_error(Errc::io, "container " + name + ": start failed");
      }
    }
    int secs = std::max(1, (remaining_ms(deadline) + 999) / 1000);
    if (!c->wait(c.get(), "RUNNING", secs)) {
      return make_error(Errc::timeout, "container " + name + ": not running in time");
    }
  }

  // RUNNING is reported before init can take an attach; poll `true` until it works.
  auto step = std::chrono::milliseconds(1);
  for (;;) {
    auto r = run_until(name, {"true"}, "", deadline);
    if (r && r->exit_status == 0) return {};
    if (Clock::now() + step >= deadline) {
      return make_error(Errc::timeout, "container " + name + ": not ready for commands in time");
    }
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(5));
  }
}

Result<RunResult> LiblxcRuntime::run(const std::string& name, const std::vector<std::string>& argv,
                                     const std::string& input, std::chrono::milliseconds timeout) {
  RunOptions o;
  o.input = input;
  o.timeout = timeout;
  o.max_output = max_output_bytes;
  return run_as(name, argv, o);
}

Result<RunResult> LiblxcRuntime::run_as(const std::string& name, const std::vector<std::string>& argv,
                                        const RunOptions& options) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  if (argv.empty()) return make_error(Errc::invalid_argument, "empty command");
  for (const auto& a : argv) {
    if (a.find('\0') != std::string::npos) return make_error(Errc::invalid_argument, "NUL in command");
  }
  for (const auto& e : options.env) {
    // Never echo the value: it may be a token.
    if (e.find('\0') != std::string::npos || e.find('=') == std::string::npos || e.front() == '=')
      return make_error(Errc::invalid_argument, "malformed environment entry for a command");
  }
  if (options.cwd.find('\0') != std::string::npos) return make_error(Errc::invalid_argument, "NUL in directory");
  {
    auto c = open_container(name, lxcpath_);
    if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
    if (!c->is_defined(c.get())) return make_error(Errc::not_found, "no container " + name);
    if (!c->is_running(c.get())) return make_error(Errc::unavailable, "container " + name + " is not running");
  }
  return run_until(name, argv, options, Clock::now() + options.timeout);
}

Result<RunResult> LiblxcRuntime::run_until(const std::string& name, const std::vector<std::string>& argv,
                                           const std::string& input, Clock::time_point deadline) {
  RunOptions o;
  o.input = input;
  o.max_output = max_output_bytes;
  return run_until(name, argv, o, deadline);
}

Result<RunResult> LiblxcRuntime::run_until(const std::string& name, const std::vector<std::string>& argv,
                                           const RunOptions& options, Clock::time_point deadline) {
  auto c = open_container(name, lxcpath_);
  if (!c || !c->is_defined(c.get())) return make_error(Errc::not_found, "no container " + name);

  // O_CLOEXEC: other threads fork too (clones, concurrent runs); a copy of a write end held by
  // an unrelated child would keep our reader from ever seeing EOF.
  int in_fds[2], out_fds[2];
  if (::pipe2(in_fds, O_CLOEXEC) < 0) return make_error(Errc::io, "container " + name + ": pipe failed");
  Fd in_read(in_fds[0]), in_write(in_fds[1]);
  if (::pipe2(out_fds, O_CLOEXEC) < 0) return make_error(Errc::io, "container " + name + ": pipe failed");
  Fd out_read(out_fds[0]), out_write(out_fds[1]);

  std::vector<std::string> args_copy(argv);
  std::vector<char*> args;
  for (auto& a : args_copy) args.push_back(a.data());
  args.push_back(nullptr);
  ExecPayload payload{args.data()};

  // The clean environment, then the caller's entries (which replace a base entry of the same name).
  std::vector<std::string> env_copy;
  for (char** e = attach_env; *e; ++e) {
    const std::string_view base(*e);
    const auto key = base.substr(0, base.find('=') + 1);
    bool replaced = false;
    for (const auto& x : options.env) replaced = replaced || std::string_view(x).starts_with(key);
    if (!replaced) env_copy.emplace_back(base);
  }
  env_copy.insert(env_copy.end(), options.env.begin(), options.env.end());
  std::vector<char*> env;
  for (auto& e : env_copy) env.push_back(e.data());
  env.push_back(nullptr);
  std::string cwd = options.cwd.empty() ? std::string("/") : options.cwd;

  lxc_attach_options_t opts = LXC_ATTACH_OPTIONS_DEFAULT;
  opts.attach_flags = LXC_ATTACH_DEFAULT;
  // The default keeps the daemon's environment (liblxc fact 4).
  opts.env_policy = LXC_ATTACH_CLEAR_ENV;
  opts.extra_env_vars = env.data();
  opts.initial_cwd = cwd.data();
  opts.uid = options.uid;
  opts.gid = options.gid;
  opts.stdin_fd = in_read.get();
  opts.stdout_fd = out_write.get();
  opts.stderr_fd = out_write.get();

  pid_t pid = -1;
  const int attached = c->attach(c.get(), exec_in_container, &payload, &opts, &pid);
  // The token may be in the environment: do not leave copies in freed memory.
  for (auto& e : env_copy) std::fill(e.begin(), e.end(), '\0');
  if (attached < 0 || pid <= 0) return make_error(Errc::io, "container " + name + ": attach failed");
  // The child has its copies; ours would hide EOF.
  in_read.reset();
  out_write.reset();

  // liblxc clones the attached process with CLONE_PARENT, so it is our child and its pid stays
  // valid until we reap it; it leads its own process group (exec_in_container).
  host::PumpOptions o;
  o.input = options.input;
  o.deadline = deadline;
  o.max_output = options.max_output;
  o.on_output = options.on_output;
  auto r = host::pump_child(pid, std::move(in_write), std::move(out_read), o);
  if (r.timed_out) return make_error(Errc::timeout, "container " + name + ": command timed out");
  RunResult result{host::exit_status_of(r.wait_status), std::move(r.output)};
  if (r.truncated) result.output += truncated_marker;
  return result;
}

Status LiblxcRuntime::stop(const std::string& name) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  auto c = open_container(name, lxcpath_);
  if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
  if (!c->is_defined(c.get()) || !c->is_running(c.get())) return {};
  // A kill, not shutdown(): busybox and Debian graceful stops are slow or never finish
  // (baseline findings 2-4), and the container is disposable.
  if (!c->stop(c.get()) && c->is_running(c.get())) {
    return make_error(Errc::io, "container " + name + ": stop failed");
  }
  if (!c->wait(c.get(), "STOPPED", 10)) {
    return make_error(Errc::timeout, "container " + name + ": did not stop in time");
  }
  return {};
}

Status LiblxcRuntime::destroy(const std::string& name) {
  if (!valid_name(name)) return make_error(Errc::invalid_argument, "invalid container name");
  if (auto r = stop(name); !r) return r;
  auto c = open_container(name, lxcpath_);
  if (!c) return make_error(Errc::io, "container " + name + ": cannot open");
  if (!c->is_defined(c.get())) return {};

  bool ok = c->destroy(c.get());
  if (!ok) return make_error(Errc::io, "container " + name + ": destroy failed");
  return {};
}

}  // namespace lxcprov::container
