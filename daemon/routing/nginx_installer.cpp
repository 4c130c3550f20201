#include "routing/nginx_installer.hpp"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <fmt/format.h>

#include "common/fd.hpp"
#include "log/log.hpp"

namespace lxcprov::routing {

NginxInstallerSettings local_nginx_settings(const std::string& nginx, const std::string& prefix,
                                            const std::string& conf, const std::string& include_file,
                                            std::chrono::milliseconds timeout) {
  std::vector<std::string> base{nginx};
  if (!prefix.empty()) base.insert(base.end(), {"-p", prefix});
  base.insert(base.end(), {"-c", conf});
  NginxInstallerSettings s{include_file, base, base, timeout, {}};
  s.test_command.insert(s.test_command.end(), {"-t", "-q"});
  s.reload_command.insert(s.reload_command.end(), {"-s", "reload"});
  return s;
}

bool NginxInstaller::signal_master() {
  auto text = host_.read_file(s_.pid_file);
  if (!text) return false;
  const std::string digits = text->substr(0, text->find_first_not_of("0123456789"));
  if (digits.empty() || digits.size() > 9) return false;
  const pid_t pid = static_cast<pid_t>(std::stoi(digits));
  if (pid <= 1) return false;
  // A pidfd pins the process: if it exits after this and its pid is reused, the checks below may
  // read the newcomer, but the signal goes to the pidfd's process and fails (ESRCH).
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd.valid()) return false;
  // A stale file may name anything: only an nginx master that is this host's own gets the signal,
  // by its title, real uid 0 and lxcprovd's pid namespace (a container's nginx has its own, and its
  // root is not uid 0 here).
  const std::string proc = "/proc/" + digits;
  auto cmdline = host_.read_file(proc + "/cmdline");
  if (!cmdline || cmdline->rfind("nginx: master process", 0) != 0) return false;
  auto status = host_.read_file(proc + "/status");
  if (!status || status->find("\nUid:\t0\t") == std::string::npos) return false;
  char ours[64] = {}, theirs[64] = {};
  if (::readlink("/proc/self/ns/pid", ours, sizeof ours - 1) <= 0 ||
      ::readlink((proc + "/ns/pid").c_str(), theirs, sizeof theirs - 1) <= 0 || std::string_view(ours) != theirs)
    return false;
  return ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGHUP, nullptr, 0) == 0;
}

Result<host::ProcessResult> NginxInstaller::reload() {
  if (!s_.pid_file.empty() && signal_master()) return host::ProcessResult{0, "", false};
  return host_.run(s_.reload_command, "", s_.timeout);
}

void NginxInstaller::restore(const std::string& previous) {
  // Without a previous file, an empty one: the main config's `include` of it then still works and
  // routes nothing, which is what nginx ran before.
  if (auto r = host_.replace_file(s_.include_file, previous, {0644, {}, {}}); !r)
    log::error(fmt::format("nginx routes: restoring the previous {} failed: {}", s_.include_file, r.error().message));
}

Status NginxInstaller::install(const std::string& routes) {
  std::lock_guard lock(mutex_);
  if (installed_ && *installed_ == routes) return {};
  // What nginx runs is known when the last install went through; read the file only otherwise.
  std::string old;
  if (installed_) {
    old = *installed_;
  } else {
    auto previous = host_.read_file(s_.include_file);
    if (!previous && previous.error().code != Errc::not_found) return previous.error();
    if (previous) old = std::move(*previous);
  }
  // From here on the file may differ from what nginx runs.
  installed_.reset();
  if (auto w = host_.replace_file(s_.include_file, routes, {0644, {}, {}}); !w) {
    log::error(fmt::format("nginx routes: {}: {}", s_.include_file, w.error().message));
    return w.error().code == Errc::io ? make_error(Errc::io, "installing the HTTP route failed (cannot write the file)")
                                      : w.error();
  }
  auto test = host_.run(s_.test_command, "", s_.timeout);
  if (!test || test->exit_status != 0) {
    log::error(fmt::format("nginx -t refused the new routes in {}: {}", s_.include_file,
                           test ? host::first_line(test->output) : test.error().message));
    restore(old);
    if (!test && test.error().code != Errc::io) return test.error();
    return make_error(Errc::unavailable, "installing the HTTP route failed (nginx -t refused the configuration)");
  }
  auto reload = this->reload();
  if (!reload || reload->exit_status != 0) {
    log::error(
        fmt::format("nginx reload failed: {}", reload ? host::first_line(reload->output) : reload.error().message));
    restore(old);
    if (!reload && reload.error().code != Errc::io) return reload.error();
    return make_error(Errc::unavailable, "installing the HTTP route failed (nginx could not reload; is it running?)");
  }
  installed_ = routes;
  return {};
}

}  // namespace lxcprov::routing
