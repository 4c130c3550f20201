#pragma once
// Host: the operating system lxcprov touches outside its containers, as LevelDB's Env is for
// files. Three operations: read a file, replace a file durably, run a program. Everything that
// writes a host file or runs a host program goes through one, so the durable-write rules live in
// one place and tests swap in a recording or fault-injecting fake (tests/fakes/).
// Implementations: LocalHost (this machine), SshHost (another machine over ssh, for a remote
// nginx). Every method blocks; every implementation is safe to call from several threads.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::host {

/// Mode and owner a replaced file gets; no owner: the writer's.
struct FileMode {
  mode_t mode = 0600;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

struct ProcessResult {
  int exit_status = -1;    ///< 128+N when killed by signal N
  std::string output;      ///< stdout and stderr together, bounded by the implementation
  bool truncated = false;  ///< the program wrote more than the bound; the rest was dropped
};

/// How run_as() runs a program.
struct RunAsOptions {
  std::string_view input;  ///< written to stdin, then stdin is closed
  std::chrono::milliseconds timeout{30000};
  /// A host account to run as: its uid and primary gid, no supplementary groups, no capabilities
  /// (bounding set emptied too) and no_new_privs, so nothing it runs can regain root. "" = as the
  /// daemon. An account whose uid is 0 is refused: this exists to drop privileges.
  std::string user;
  /// "NAME=value" entries added to the environment after PATH (which the host sets; PATH here is
  /// refused). Secrets because they may hold one (a git token in a GIT_CONFIG_VALUE_n): the host
  /// never logs, echoes or writes them anywhere but into the new process's environment.
  std::vector<Secret> env;
  std::string cwd;                     ///< "" = "/"
  std::size_t max_output = 64 * 1024;  ///< output kept in ProcessResult::output; the rest is dropped
};

class Host {
 public:
  virtual ~Host() = default;

  /// The whole file. Errc::not_found when it does not exist; never follows a final symlink.
  virtual Result<std::string> read_file(const std::string& path) = 0;

  /// Replaces `path` so that readers see the old file or the new one, never a part, and the new
  /// one survives a power cut: a temporary file in the same directory, written, mode and owner
  /// set, fsynced, renamed over `path`, then the directory fsynced. On failure the old file is
  /// untouched and no temporary file is left.
  virtual Status replace_file(const std::string& path, std::string_view content, const FileMode& mode) = 0;

  /// Runs argv (no shell: nothing is split or expanded; argv[0] absolute) with `input` on stdin,
  /// an environment holding only PATH, and stdout and stderr captured together. Errc::io when it
  /// cannot start, Errc::timeout (after killing it) when it runs past `timeout`.
  virtual Result<ProcessResult> run(const std::vector<std::string>& argv, std::string_view input,
                                    std::chrono::milliseconds timeout) = 0;

  /// Like run(), as another user, with more environment and a working directory (RunAsOptions).
  /// The whole process group is killed at the timeout. Errc::not_found when `user` does not
  /// exist, Errc::permission_denied when it is root, Errc::internal for a malformed env entry.
  /// Implementations that cannot do this (SshHost) refuse with Errc::internal.
  virtual Result<ProcessResult> run_as(const std::vector<std::string>& argv, const RunAsOptions& options) = 0;
};

/// The first line of `output` without its newline, at most 200 characters (for messages).
std::string first_line(std::string_view output);

}  // namespace lxcprov::host
