#include "edge/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lxcprov::edge {
namespace {

constexpr size_t output_limit = 64 * 1024;

struct Fd {
  int fd = -1;
  ~Fd() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

}  // namespace

std::string first_line(const std::string& output) {
  std::string line = output.substr(0, output.find('\n'));
  if (line.size() > 200) line.resize(200);
  return line;
}

Result<ProcessResult> run_process(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    return make_error(Errc::internal, "run_process: the program must be an absolute path");
  int in_pipe[2], out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return make_error(Errc::io, "cannot create a pipe");
  Fd in_r{in_pipe[0]}, in_w{in_pipe[1]};
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return make_error(Errc::io, "cannot create a pipe");
  Fd out_r{out_pipe[0]}, out_w{out_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_r.fd, 0);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_w.fd, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The daemon ignores SIGPIPE; the child should not inherit that, nor a blocked signal mask.
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {path_env, nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return make_error(Errc::io, "cannot start " + argv[0] + ": " + std::strerror(rc));
  in_r.reset();
  out_w.reset();
  ::fcntl(in_w.fd, F_SETFL, O_NONBLOCK);

  ProcessResult result;
  size_t written = 0;
  if (input.empty()) in_w.reset();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timed_out = false;
  while (out_r.fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out_r.fd, POLLIN, 0}, {in_w.fd, POLLOUT, 0}};
    const int n = ::poll(fds, in_w.fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[0].revents != 0) {
      char buf[4096];
      const ssize_t got = ::read(out_r.fd, buf, sizeof buf);
      if (got > 0) {
        if (result.output.size() < output_limit)
          result.output.append(buf, std::min(static_cast<size_t>(got), output_limit - result.output.size()));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        out_r.reset();
      }
    }
    if (in_w.fd >= 0 && fds[1].revents != 0) {
      const ssize_t put = ::write(in_w.fd, input.data() + written, input.size() - written);
      if (put > 0) written += static_cast<size_t>(put);
      // Done, or the program stopped reading (EPIPE): either way it gets EOF now.
      if (written == input.size() || (put < 0 && errno != EAGAIN && errno != EINTR)) in_w.reset();
    }
  }
  in_w.reset();
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return make_error(Errc::timeout, argv[0] + " did not finish in time");
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace lxcprov::edge
