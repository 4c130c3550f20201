#include "deploy/git_cli.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

namespace lxcprov::deploy {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

CheckError fail(CheckField field, Problem problem, std::string reason) {
  return CheckError{field, problem, "", std::move(reason)};
}

CheckError internal(std::string reason) { return fail(CheckField::none, Problem::internal, std::move(reason)); }

// Removes the check's directory as the user that made it, on every way out of check(). Never
// as root: the directory and all in it belong to the check user, who could have replaced any
// part of it with a link by the time root walked it.
class TempDir {
 public:
  TempDir(host::Host& host, const GitCliSettings& s, std::string path) : host_(host), s_(s), path_(std::move(path)) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    host::RunAsOptions o;
    o.user = s_.user;
    o.timeout = milliseconds(30000);
    (void)host_.run_as({s_.rm, "-rf", "--one-file-system", "--", path_}, o);
  }
  const std::string& path() const { return path_; }

 private:
  host::Host& host_;
  const GitCliSettings& s_;
  std::string path_;
};

}  // namespace

GitCliSettings git_cli_settings(const config::Deploy& deploy) {
  GitCliSettings s;
  s.allowed_hosts = deploy.git.allowed_hosts;
  s.run.ca_file = deploy.git.ca_file;
  s.user = deploy.git.check_user;
  s.timeout = std::chrono::duration_cast<milliseconds>(deploy.git.check_timeout);
  return s;
}

CheckResult GitCli::check(const CheckRequest& request) {
  // 1. Everything that can be refused without running anything.
  auto url = check_repository_url(request.repository, s_.allowed_hosts);
  if (auto* e = std::get_if<CheckError>(&url)) return *e;
  if (!request.branch.empty() && !valid_branch_name(request.branch))
    return fail(CheckField::branch, Problem::invalid, "is not a valid git branch name");
  if (!valid_repository_path(request.root))
    return fail(CheckField::root, Problem::invalid, "must be a relative path inside the repository");
  for (const auto& c : request.components)
    if (!valid_repository_path(c)) {
      auto e = fail(CheckField::component, Problem::invalid, "must be a relative path inside the project root");
      e.component = c;
      return e;
    }
  if (request.token.size() > 4096) return fail(CheckField::token, Problem::invalid, "must be at most 4096 bytes");

  const auto deadline = Clock::now() + s_.timeout;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(s_.timeout).count();
  const auto timed_out = [&] {
    return fail(CheckField::repository, Problem::timeout,
                fmt::format("the repository did not answer within {} s", seconds));
  };
  // One run as the check user, bounded by what is left of the check's time.
  auto run = [&](const std::vector<std::string>& argv, std::vector<Secret> env,
                 const std::string& cwd) -> std::optional<Result<host::ProcessResult>> {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) return std::nullopt;
    host::RunAsOptions o;
    o.user = s_.user;
    o.timeout = left;
    o.env = std::move(env);
    o.cwd = cwd;
    o.max_output = s_.max_listing;
    return host_.run_as(argv, o);
  };
  auto run_failure = [&](const Error& e) {
    if (e.code == Errc::timeout) return timed_out();
    if (e.code == Errc::not_found)
      return internal(
          fmt::format("the repository check's host user {} does not exist (scripts/setup-host.sh makes it)", s_.user));
    return internal("the repository check could not run git: " + e.message);
  };

  // 2. The private directory: made by the check user, so it is 0700 and its own from the start.
  host::RunAsOptions mk;
  mk.user = s_.user;
  mk.timeout = std::min(s_.timeout, milliseconds(10000));
  auto made = host_.run_as({s_.mktemp, "-d", "-p", s_.temp_parent, "lxcprov-git.XXXXXXXXXX"}, mk);
  if (!made) return run_failure(made.error());
  std::string path = made->output.substr(0, made->output.find('\n'));
  const std::string expected_prefix = s_.temp_parent + "/lxcprov-git.";
  if (made->exit_status != 0 || path.size() != expected_prefix.size() + 10 || path.rfind(expected_prefix, 0) != 0 ||
      path.find('/', expected_prefix.size()) != std::string::npos)
    return internal("the repository check could not make its temporary directory");
  TempDir dir(host_, s_, std::move(path));

  const auto plain_env = [&] { return git_environment(s_.run, dir.path(), nullptr); };
  const auto network_env = [&] { return git_environment(s_.run, dir.path(), &request.token); };

  // 3. An empty repository first: every run has a GIT_DIR, so none searches the directories
  // above for one (a /tmp/.git planted by someone else).
  auto init = run(git_argv(s_.run, init_args()), plain_env(), dir.path());
  if (!init) return timed_out();
  if (!*init) return run_failure(init->error());
  if ((*init)->exit_status != 0) return internal("git init failed: " + redact((*init)->output, request.token));

  auto listing = run(git_argv(s_.run, ls_remote_args(request.repository, request.branch)), network_env(), dir.path());
  if (!listing) return timed_out();
  if (!*listing) return run_failure(listing->error());
  const auto& ls = listing->value();
  if (ls.exit_status != 0) return classify_git_failure(ls.output, ls.exit_status, request.token);
  if (ls.truncated) return fail(CheckField::repository, Problem::too_large, "the repository's answer is too large");
  auto resolved = resolve_branch(parse_ls_remote(ls.output), request.branch);
  if (auto* e = std::get_if<CheckError>(&resolved)) return *e;
  RemoteCheck result = std::get<RemoteCheck>(resolved);

  // 4. The paths, read from the trees of one fetched commit.
  std::vector<std::pair<std::string, std::string>> paths;  // repository path, component ("" = the root)
  if (!request.root.empty()) paths.emplace_back(request.root, "");
  for (const auto& c : request.components) {
    if (c.empty()) continue;
    auto full = join_repository_path(request.root, c);
    if (std::none_of(paths.begin(), paths.end(), [&](const auto& p) { return p.first == full; }))
      paths.emplace_back(std::move(full), c);
  }
  if (paths.empty()) return result;

  auto fetched = run(git_argv(s_.run, fetch_args(request.repository, result.branch)), network_env(), dir.path());
  if (!fetched) return timed_out();
  if (!*fetched) return run_failure(fetched->error());
  if ((*fetched)->exit_status != 0)
    return classify_git_failure((*fetched)->output, (*fetched)->exit_status, request.token);

  // The branch may have moved since ls-remote: the commit reported is the one whose tree is
  // checked, so the clone can ask for exactly it.
  auto parsed = run(git_argv(s_.run, rev_parse_args()), plain_env(), dir.path());
  if (!parsed) return timed_out();
  if (!*parsed) return run_failure(parsed->error());
  const auto commit = (*parsed)->output.substr(0, (*parsed)->output.find('\n'));
  if ((*parsed)->exit_status != 0 || !is_object_id(commit))
    return fail(CheckField::repository, Problem::failed, "the fetched branch has no commit");
  result.commit = commit;

  for (const auto& [full, component] : paths) {
    auto listed = run(git_argv(s_.run, ls_tree_args(result.commit, full)), plain_env(), dir.path());
    if (!listed) return timed_out();
    if (!*listed) return run_failure(listed->error());
    if ((*listed)->exit_status != 0)
      return fail(CheckField::repository, Problem::failed,
                  "git could not read the fetched tree: " + redact((*listed)->output, request.token));
    if (lists_tree((*listed)->output, full)) continue;
    const auto where = fmt::format("at commit {} of branch '{}'", result.commit.substr(0, 12), result.branch);
    if (component.empty())
      return fail(CheckField::root, Problem::not_a_directory,
                  fmt::format("'{}' is not a directory in the repository {}", full, where));
    auto e = fail(CheckField::component, Problem::not_a_directory,
                  fmt::format("component '{}' is not a directory under the project root {}", component, where));
    e.component = component;
    return e;
  }
  return result;
}

}  // namespace lxcprov::deploy
