#include "host/child_pump.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace lxcprov::host {
namespace {

using Clock = std::chrono::steady_clock;

// glibc 2.36's <sys/pidfd.h> lacks extern "C" guards, so C++ cannot link its pidfd_open.
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, 1 << 30));
}

// A write to a pipe whose reader is gone raises SIGPIPE, which would kill the daemon unless it
// ignores it. SIGPIPE from write() is directed at the writing thread: block it around the write and
// swallow the pending one, so the result is just EPIPE whatever the daemon's disposition is.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t len) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t n = ::write(fd, data, len);
  int saved = errno;
  if (n < 0 && saved == EPIPE && !sigismember(&old_set, SIGPIPE)) {
    timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return n;
}

}  // namespace

int exit_status_of(std::optional<int> wait_status) {
  if (!wait_status) return -1;
  if (WIFEXITED(*wait_status)) return WEXITSTATUS(*wait_status);
  if (WIFSIGNALED(*wait_status)) return 128 + WTERMSIG(*wait_status);
  return -1;
}

PumpResult pump_child(pid_t pid, Fd in_write, Fd out_read, const PumpOptions& o) {
  PumpResult result;
  Fd pidfd(open_pidfd(pid));
  if (out_read.valid()) ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  if (in_write.valid()) ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
  if (o.input.empty()) in_write.reset();
  std::size_t input_off = 0;
  bool exited = false;
  char buf[65536];

  auto drain = [&] {
    for (;;) {
      ssize_t n = ::read(out_read.get(), buf, sizeof buf);
      if (n > 0) {
        const auto got = static_cast<std::size_t>(n);
        const std::size_t room = o.max_output - std::min(o.max_output, result.output.size());
        const std::size_t take = std::min(room, got);
        result.output.append(buf, take);
        if (take < got) result.truncated = true;
        if (o.on_output) o.on_output(std::string_view(buf, got));
        continue;
      }
      if (n == 0) out_read.reset();  // EOF: every writer is gone
      if (n < 0 && errno == EINTR) continue;
      return;  // EAGAIN, EOF or an error
    }
  };

  while (!exited) {
    pollfd fds[3];
    nfds_t nfds = 0;
    int out_idx = -1, in_idx = -1, pid_idx = -1;
    if (out_read.valid()) {
      out_idx = static_cast<int>(nfds);
      fds[nfds++] = {out_read.get(), POLLIN, 0};
    }
    if (in_write.valid()) {
      in_idx = static_cast<int>(nfds);
      fds[nfds++] = {in_write.get(), POLLOUT, 0};
    }
    if (pidfd.valid()) {
      pid_idx = static_cast<int>(nfds);
      fds[nfds++] = {pidfd.get(), POLLIN, 0};
    }
    const int left = remaining_ms(o.deadline);
    if (left == 0) {
      result.timed_out = true;
      break;
    }
    // Without a pidfd (an old kernel), wake up every few ms to ask waitpid.
    const int wait_ms = pidfd.valid() ? left : std::min(left, 5);
    const int pr = ::poll(fds, nfds, wait_ms);
    if (pr < 0) {
      if (errno == EINTR) continue;
      result.timed_out = true;  // cannot wait any more: treated as an overrun, killed below
      break;
    }
    if (out_idx >= 0 && fds[out_idx].revents != 0) drain();
    if (in_idx >= 0 && fds[in_idx].revents != 0) {
      if (fds[in_idx].revents & (POLLERR | POLLHUP)) {
        in_write.reset();  // the child closed stdin; the rest of the input is dropped
      } else {
        const ssize_t n = write_no_sigpipe(in_write.get(), o.input.data() + input_off, o.input.size() - input_off);
        if (n > 0) input_off += static_cast<std::size_t>(n);
        if ((n < 0 && errno != EAGAIN && errno != EINTR) || input_off == o.input.size()) in_write.reset();
      }
    }
    if (pid_idx >= 0 ? fds[pid_idx].revents != 0 : true) {
      int st = 0;
      const pid_t r = ::waitpid(pid, &st, WNOHANG);
      if (r == pid) {
        exited = true;
        result.wait_status = st;
      } else if (r < 0 && errno != EINTR) {
        exited = true;  // reaped elsewhere; status unknown
      }
    }
  }

  if (result.timed_out) {
    if (o.kill_group) ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return result;
  }
  // What it wrote before exiting is in the pipe now. Background processes may still hold the
  // write end, so read what is there and stop rather than wait for EOF.
  if (out_read.valid()) drain();
  return result;
}

}  // namespace lxcprov::host
