#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace lxcprov::it {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int status_to_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The child's environment: ours with `env` laid over it and `unset` removed. Built before fork()
// so the child only calls async-signal-safe functions.
std::vector<std::string> make_env(const Env& env, const std::vector<std::string>& unset) {
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string_view kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    merged[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  for (const auto& name : unset) merged.erase(name);
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : merged) out.push_back(k + "=" + v);
  return out;
}

struct CStrings {
  explicit CStrings(std::vector<std::string> v) : storage(std::move(v)) {
    for (auto& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Appends what `fd` has to `out`; false on EOF or error.
bool drain(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;
  }
}

}  // namespace

ProcResult run(const std::vector<std::string>& argv, const RunOptions& options) {
  ProcResult result;
  const auto t0 = Clock::now();
  const auto deadline = t0 + options.timeout;
  CStrings args(argv);
  CStrings envp(make_env(options.env, options.unset));

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    result.err = "fork failed";
    return result;
  }
  if (pid == 0) {
    // Own process group, so a timeout kills the program and whatever it started.
    ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  int in_fd = in[1], out_fd = out[0], err_fd = err[0];
  set_nonblock(in_fd);
  set_nonblock(out_fd);
  set_nonblock(err_fd);
  size_t input_off = 0;
  if (options.input.empty()) {
    ::close(in_fd);
    in_fd = -1;
  }
  int pidfd = pidfd_open(pid);
  bool out_open = true, err_open = true, exited = false;
  int status = 0;
  // Stop when the program has exited and its pipes are at EOF; a daemon it left behind may keep
  // the pipes open, so after the exit only what is already there is read.
  while (!exited || out_open || err_open) {
    if (exited) {
      if (out_open) drain(out_fd, result.out);
      if (err_open) drain(err_fd, result.err);
      break;
    }
    pollfd fds[4];
    nfds_t n = 0;
    int i_out = -1, i_err = -1, i_in = -1;
    if (out_open) i_out = static_cast<int>(n), fds[n++] = {out_fd, POLLIN, 0};
    if (err_open) i_err = static_cast<int>(n), fds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) i_in = static_cast<int>(n), fds[n++] = {in_fd, POLLOUT, 0};
    if (pidfd >= 0) fds[n++] = {pidfd, POLLIN, 0};
    int left = remaining_ms(deadline);
    if (left == 0) {
      result.timed_out = true;
      break;
    }
    int pr = ::poll(fds, n, pidfd >= 0 ? left : std::min(left, 20));
    if (pr < 0 && errno != EINTR) break;
    if (i_out >= 0 && fds[i_out].revents) out_open = drain(out_fd, result.out);
    if (i_err >= 0 && fds[i_err].revents) err_open = drain(err_fd, result.err);
    if (i_in >= 0 && fds[i_in].revents) {
      ssize_t w = fds[i_in].revents & (POLLERR | POLLHUP)
                      ? -1
                      : ::write(in_fd, options.input.data() + input_off, options.input.size() - input_off);
      if (w > 0) input_off += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || input_off == options.input.size()) {
        ::close(in_fd);
        in_fd = -1;
      }
    }
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) exited = true;
  }
  if (!exited) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = -1;
  } else {
    result.exit_code = status_to_code(status);
  }
  for (int fd : {in_fd, out_fd, err_fd, pidfd})
    if (fd >= 0) ::close(fd);
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  return result;
}

ProcResult run_for(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  RunOptions o;
  o.timeout = timeout;
  return run(argv, o);
}

std::string describe(const ProcResult& r) {
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout\n" + r.out +
         "\n--- stderr\n" + r.err;
}

ProcResult sh(const std::string& script, std::chrono::milliseconds timeout) {
  RunOptions o;
  o.timeout = timeout;
  return run({"/bin/sh", "-c", script}, o);
}

PtySession::PtySession(const std::vector<std::string>& argv, const Env& env) {
  CStrings args(argv);
  CStrings envp(make_env(env, {}));
  winsize ws{};
  ws.ws_row = 50;
  ws.ws_col = 200;  // wide enough that no prompt or key line wraps
  pid_ = ::forkpty(&master_, nullptr, nullptr, &ws);
  if (pid_ == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(args.ptrs[0], args.ptrs.data(), envp.ptrs.data());
    ::_exit(127);
  }
  if (pid_ < 0) {
    closed_ = true;
    return;
  }
  ::fcntl(master_, F_SETFD, FD_CLOEXEC);
  set_nonblock(master_);
}

PtySession::~PtySession() {
  if (pid_ > 0 && !exit_code_) kill_now();
  if (master_ >= 0) ::close(master_);
}

bool PtySession::read_some(std::chrono::milliseconds timeout) {
  if (closed_) return false;
  pollfd p{master_, POLLIN, 0};
  int pr = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (pr <= 0) return true;
  // EIO: every holder of the slave side closed it, i.e. the program is gone.
  if (!drain(master_, output_)) closed_ = true;
  return !closed_;
}

bool PtySession::expect(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (auto at = output_.find(needle, cursor_); at != std::string::npos) {
      cursor_ = at + needle.size();
      return true;
    }
    int left = remaining_ms(deadline);
    if (left == 0 || closed_) return false;
    read_some(std::chrono::milliseconds(std::min(left, 200)));
  }
}

void PtySession::send_line(std::string_view line) {
  std::string data(line);
  data += '\r';
  size_t off = 0;
  const auto deadline = Clock::now() + 10s;
  while (off < data.size() && Clock::now() < deadline) {
    ssize_t n = ::write(master_, data.data() + off, data.size() - off);
    if (n > 0)
      off += static_cast<size_t>(n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
      return;
    else
      read_some(10ms);  // the program may need to read before it can take more input
  }
}

int PtySession::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return *exit_code_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      read_some(0ms);
      exit_code_ = status_to_code(status);
      return *exit_code_;
    }
    int left = remaining_ms(deadline);
    if (left == 0) return -1;
    // While the terminal is open, reading is also the wait; once closed, poll waitpid briefly.
    if (!read_some(std::chrono::milliseconds(std::min(left, 50)))) {
      struct timespec ts {
        0, 10'000'000
      };
      ::nanosleep(&ts, nullptr);
    }
  }
}

void PtySession::kill_now() {
  if (pid_ <= 0 || exit_code_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_code_ = status_to_code(status);
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(std::move(line));
    start = end + 1;
  }
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace lxcprov::it
