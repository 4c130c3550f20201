#pragma once
// Runs a host program (nft, nginx) with an explicit argv: no shell, so no word splitting or
// expansion of anything, an empty environment apart from PATH, `input` on stdin, and stdout and
// stderr captured together (bounded). Thread-safe: posix_spawn, no fork of the threaded daemon.

#include <chrono>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace lxcprov::edge {

struct ProcessResult {
  int exit_status = -1;  ///< 128+N when killed by signal N
  std::string output;    ///< stdout and stderr, at most 64 KiB
};

/// argv[0] must be an absolute path. Errc::io when it cannot be started, Errc::timeout (after a
/// SIGKILL) when it runs past `timeout`.
Result<ProcessResult> run_process(const std::vector<std::string>& argv, const std::string& input,
                                  std::chrono::milliseconds timeout);

/// The first line of `output` without the trailing newline, at most 200 characters (for logs).
std::string first_line(const std::string& output);

}  // namespace lxcprov::edge
