#pragma once
// Process harness of the integration tests: run a program with argv, environment and stdin and
// capture stdout, stderr and its exit code within a deadline; or drive one through a pseudo
// terminal (PtySession) the way a person at a terminal would. No sleeps as synchronisation: every
// wait is a poll() on the process's pipes/pidfd with a deadline.

#include <sys/types.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::it {

using namespace std::chrono_literals;
using Env = std::map<std::string, std::string>;

struct ProcResult {
  int exit_code = -1;      ///< exit status, 128+N when killed by signal N, -1 when it could not start
  bool timed_out = false;  ///< killed at the deadline
  std::string out;
  std::string err;
  std::chrono::milliseconds took{0};
};

struct RunOptions {
  Env env;                         ///< added to (or replacing entries of) the inherited environment
  std::vector<std::string> unset;  ///< removed from the inherited environment
  std::string input;               ///< written to stdin, then stdin is closed
  std::chrono::milliseconds timeout = 120s;
};

/// Runs argv[0] (searched in PATH) and waits for it to exit. Kills its process group at the
/// deadline. Thread-safe (several threads may run processes at once).
ProcResult run(const std::vector<std::string>& argv, const RunOptions& options = {});

/// run() with only a timeout.
ProcResult run_for(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

/// Runs `/bin/sh -c script` (for small host-side checks such as `lxc-ls`).
ProcResult sh(const std::string& script, std::chrono::milliseconds timeout = 60s);

/// Exit code, whether it timed out, stdout and stderr: what an assertion on a run prints.
std::string describe(const ProcResult& r);

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

/// One program on a pseudo terminal (forkpty). Everything it writes is kept in output().
class PtySession {
 public:
  PtySession(const std::vector<std::string>& argv, const Env& env = {});
  ~PtySession();
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  /// Reads until `needle` appears after the read cursor; moves the cursor past it. False at the
  /// deadline or when the program closed the terminal first.
  bool expect(std::string_view needle, std::chrono::milliseconds timeout = 30s);
  /// Types `line` followed by Enter (CR, what a terminal sends).
  void send_line(std::string_view line);
  /// Waits for the program to exit, reading what it still writes. -1 at the deadline.
  int wait_exit(std::chrono::milliseconds timeout = 60s);
  /// Kills the program at once (a client that vanishes mid-dialogue).
  void kill_now();

  const std::string& output() const { return output_; }
  /// What was read after the cursor (for failure messages).
  std::string rest() const { return output_.substr(cursor_); }
  pid_t pid() const { return pid_; }

 private:
  // Reads what is available within `timeout`; false when the terminal was closed.
  bool read_some(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int master_ = -1;
  bool closed_ = false;
  std::optional<int> exit_code_;
  std::string output_;
  size_t cursor_ = 0;
};

/// Polls `pred` every few milliseconds until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (auto step = 5ms;; step = std::min(step * 2, std::chrono::milliseconds(200))) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec ts {
      0, static_cast<long>(std::chrono::nanoseconds(step).count())
    };
    ::nanosleep(&ts, nullptr);
  }
}

/// Lines of `text`, without empty ones.
std::vector<std::string> lines_of(std::string_view text);
/// The file's contents, or "" when it cannot be read.
std::string read_text(const std::string& path);

}  // namespace lxcprov::it
