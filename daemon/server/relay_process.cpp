// RelayProcess: see relay_process.hpp.

#include "server/relay_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace lxcprov::server {

RelayProcess::RelayProcess(RelayProcess&& o) noexcept
    : pid(std::exchange(o.pid, -1)), in(std::move(o.in)), out(std::move(o.out)), err(std::move(o.err)) {}

RelayProcess::~RelayProcess() {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

Result<RelayProcess> spawn_relay(const std::vector<std::string>& argv) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return make_error(Errc::unavailable, "cannot make a pipe");
  Fd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return make_error(Errc::unavailable, "cannot make a pipe");
  Fd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return make_error(Errc::unavailable, "cannot make a pipe");
  Fd err_r(err[0]), err_w(err[1]);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char home[] = "HOME=/";
  char* envp[] = {path, home, nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(Errc::unavailable, std::string("cannot start ssh: ") + std::strerror(rc));
  RelayProcess p;
  p.pid = pid;
  p.in = std::move(in_w);
  p.out = std::move(out_r);
  p.err = std::move(err_r);
  return p;
}

std::string finish_relay(RelayProcess& p, int grace_ms) {
  p.in.reset();
  p.out.reset();
  if (p.pid > 0 && grace_ms == 0) ::kill(p.pid, SIGTERM);
  if (p.pid > 0) {
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
    while (::waitpid(p.pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() >= deadline + std::chrono::milliseconds(grace_ms == 0 ? 1000 : 0)) {
        ::kill(p.pid, SIGKILL);
        ::waitpid(p.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.pid = -1;
  }
  // What it said before it exited is in the pipe; read without waiting, as a background ssh master
  // it started (ControlPersist) may still hold the pipe's other end.
  ::fcntl(p.err.get(), F_SETFL, ::fcntl(p.err.get(), F_GETFL) | O_NONBLOCK);
  std::string text;
  char buf[4096];
  ssize_t n;
  while (text.size() < 16384 && (n = ::read(p.err.get(), buf, sizeof buf)) > 0)
    text.append(buf, static_cast<size_t>(n));
  p.err.reset();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (auto nl = text.rfind('\n'); nl != std::string::npos) text.erase(0, nl + 1);
  return text;
}

}  // namespace lxcprov::server
