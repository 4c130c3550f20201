#include "host/local_host.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "host/child_pump.hpp"

namespace lxcprov::host {
namespace {

constexpr const char* setpriv_path = "/usr/bin/setpriv";

// File names in messages, never whole host paths: errors may reach users.
std::string base_name(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

Error io_error(std::string_view what, const std::string& path, int err) {
  return make_error(err == ENOENT ? Errc::not_found : Errc::io,
                    fmt::format("{} {}: {}", what, base_name(path), std::strerror(err)));
}

Status write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(Errc::io, std::string("write failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::string first_line(std::string_view output) {
  std::string line(output.substr(0, output.find('\n')));
  if (line.size() > 200) line.resize(200);
  return line;
}

Result<std::string> LocalHost::read_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return io_error("cannot read", path, errno);
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read", path, errno);
    if (n == 0) return text;
    text.append(buf, static_cast<std::size_t>(n));
  }
}

Status LocalHost::replace_file(const std::string& path, std::string_view content, const FileMode& mode) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 == path.size())
    return make_error(Errc::internal, "replace_file needs an absolute file path");
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  static std::atomic<unsigned> counter{0};
  const std::string tmp = fmt::format("{}/.{}.lxcprov-{}-{}", dir, base_name(path), ::getpid(), counter++);
  // O_EXCL: a file (or a symlink planted there) of that name is never written through.
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return io_error("cannot write", path, errno);
  Status s = write_all(fd.get(), content);
  if (s && (mode.uid || mode.gid) &&
      ::fchown(fd.get(), mode.uid.value_or(static_cast<uid_t>(-1)), mode.gid.value_or(static_cast<gid_t>(-1))) != 0)
    s = io_error("cannot set the owner of", path, errno);
  if (s && ::fchmod(fd.get(), mode.mode) != 0) s = io_error("cannot set the mode of", path, errno);
  if (s && ::fsync(fd.get()) != 0) s = io_error("cannot sync", path, errno);
  fd.reset();
  if (s && ::rename(tmp.c_str(), path.c_str()) != 0) s = io_error("cannot replace", path, errno);
  if (!s) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename itself survives a power cut only once the directory is on disk.
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid() || ::fsync(d.get()) != 0) return io_error("cannot sync the directory of", path, errno);
  return {};
}

Result<ProcessResult> LocalHost::run(const std::vector<std::string>& argv, std::string_view input,
                                     std::chrono::milliseconds timeout) {
  RunAsOptions o;
  o.input = input;
  o.timeout = timeout;
  o.max_output = max_output;
  return run_as(argv, o);
}

Result<ProcessResult> LocalHost::run_as(const std::vector<std::string>& argv, const RunAsOptions& options) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return make_error(Errc::internal, "Host::run: the program must be an absolute path");
  for (const auto& e : options.env) {
    const auto v = e.reveal();
    const auto eq = v.find('=');
    // No message names the entry: it may be a secret.
    if (eq == std::string_view::npos || eq == 0 || v.find('\0') != std::string_view::npos || v.substr(0, eq) == "PATH")
      return make_error(Errc::internal, "Host::run_as: malformed environment entry");
  }

  // posix_spawn cannot change credentials, and a fork of the threaded daemon followed by
  // setuid is what this class avoids. setpriv (util-linux, essential on Debian) drops groups,
  // gid, uid, capabilities and the bounding set in the right order, sets no_new_privs and
  // execs the program: the pid waited for and the process group killed stay the same.
  std::vector<std::string> full;
  if (!options.user.empty()) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    const int rc = ::getpwnam_r(options.user.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != 0 || found == nullptr) return make_error(Errc::not_found, fmt::format("no host user {}", options.user));
    if (pw.pw_uid == 0) return make_error(Errc::permission_denied, fmt::format("host user {} is root", options.user));
    full = {setpriv_path,
            fmt::format("--reuid={}", pw.pw_uid),
            fmt::format("--regid={}", pw.pw_gid),
            "--clear-groups",
            "--no-new-privs",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--"};
  }
  full.insert(full.end(), argv.begin(), argv.end());

  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return make_error(Errc::io, "cannot create a pipe");
  Fd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(Errc::io, "cannot create a pipe");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, out_w.get(), 2);
  // Whatever a library opened without O_CLOEXEC (nftables' netlink socket, say) stays here.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // A fixed working directory: the daemon's own may not be reachable by another user.
  const std::string cwd = options.cwd.empty() ? "/" : options.cwd;
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The daemon ignores SIGPIPE; the child should not inherit that, nor a blocked signal mask. Its
  // own process group, so a timeout kills what it started as well.
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> args;
  for (const auto& a : full) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  std::vector<char*> envp{path_env};
  // Pointers into the Secrets themselves (a std::string's data() is NUL-terminated): the values
  // are not copied, so no copy is left to wipe.
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.reveal().data()));
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, full[0].c_str(), &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(Errc::io, fmt::format("cannot start {}: {}", base_name(full[0]), std::strerror(rc)));
  in_r.reset();
  out_w.reset();

  PumpOptions o;
  o.input = options.input;
  o.deadline = std::chrono::steady_clock::now() + options.timeout;
  o.max_output = options.max_output;
  auto r = pump_child(pid, std::move(in_w), std::move(out_r), o);
  if (r.timed_out) return make_error(Errc::timeout, fmt::format("{} did not finish in time", base_name(argv[0])));
  return ProcessResult{exit_status_of(r.wait_status), std::move(r.output), r.truncated};
}

}  // namespace lxcprov::host
