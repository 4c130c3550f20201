#pragma once
// GitCli: the GitRemote that runs the host's git (deploy/git_remote.hpp builds every argv and
// environment; this runs them through a Host and decides what comes next). One check:
//   1. the URL, branch, paths and token checked by the pure rules (nothing runs for a refusal);
//   2. mktemp -d as the check user: a 0700 directory owned by it, HOME and GIT_DIR of every run;
//   3. git init --bare there; git ls-remote --symref (branch or default, and its commit);
//   4. only when a path is to be checked: a blob-less depth-1 fetch of the branch, rev-parse of
//      what arrived, one ls-tree -d per path;
//   5. rm -rf of the directory as the check user, whatever happened.
// Every git runs as `user` (never root: Host::run_as through setpriv, no capabilities,
// no_new_privs), under prlimit's file size bound, with the token only in the environment of
// the two network runs. All runs share one deadline (`timeout`); the process group of a run
// still going at the deadline is killed. Thread-safe: no state besides the settings.

#include <chrono>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "deploy/git_remote.hpp"
#include "host/host.hpp"

namespace lxcprov::deploy {

struct GitCliSettings {
  std::vector<std::string> allowed_hosts;    ///< deploy.git.allowed_hosts
  GitRun run;                                ///< git, prlimit, the file size bound, deploy.git.ca_file
  std::string user = "lxcprov-git";          ///< deploy.git.check_user
  std::chrono::milliseconds timeout{20000};  ///< deploy.git.check_timeout, for the whole check
  std::string mktemp = "/usr/bin/mktemp";
  std::string rm = "/usr/bin/rm";
  /// Where the per-check directories are made (writable by `user`; /tmp is, with its sticky bit).
  std::string temp_parent = "/tmp";
  std::size_t max_listing = 64 * 1024;  ///< ls-remote output kept; more is an error
};

/// The settings lxcprovd runs with, from its config.
GitCliSettings git_cli_settings(const config::Deploy& deploy);

class GitCli final : public GitRemote {
 public:
  /// `host` runs the programs: a LocalHost (an SshHost refuses run_as).
  GitCli(host::Host& host, GitCliSettings settings) : host_(host), s_(std::move(settings)) {}
  CheckResult check(const CheckRequest& request) override;

 private:
  host::Host& host_;
  GitCliSettings s_;
};

}  // namespace lxcprov::deploy
