#pragma once
// GitRemote: the pre-create repository check. Before anything is created, git itself is asked
// whether PROJECT_REPOSITORY answers, which commit PROJECT_BRANCH (or the remote's default branch)
// points at, and whether PROJECT_ROOT and every component path are directories at that commit.
// A failure names the one field that is wrong, with a one-line reason a user can act on.
//
// The interface and the pure parts of its git CLI adapter (deploy/git_cli.*) live here: URL and
// name rules, the argv and environment of each git run, parsing git's output and classifying its
// errors. The adapter only runs what these functions build (docs/security.md, "Repositories").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"

namespace lxcprov::deploy {

struct CheckRequest {
  std::string repository;  ///< PROJECT_REPOSITORY as given (checked again here)
  std::string branch;      ///< PROJECT_BRANCH; "" = the remote's default branch
  std::string root;        ///< PROJECT_ROOT, normalized as DeploySpec::root ("" = the top)
  /// Component paths relative to the root, normalized as Component::path ("" = the root itself).
  std::vector<std::string> components;
  Secret token;  ///< PROJECT_TOKEN / GITHUB_PAT; empty = none
};

struct RemoteCheck {
  std::string branch;  ///< the branch checked (the default one resolved when none was given)
  std::string commit;  ///< full object id of the commit whose tree was checked
  bool operator==(const RemoteCheck&) const = default;
};

/// Which user-given value is wrong.
enum class CheckField {
  none,        ///< none: the check itself could not run (the host's fault, not the request's)
  repository,  ///< PROJECT_REPOSITORY
  token,       ///< PROJECT_TOKEN (or the old GITHUB_PAT)
  branch,      ///< PROJECT_BRANCH
  root,        ///< PROJECT_ROOT
  component,   ///< a component path (a key of the multi-component JSON values)
};

enum class Problem {
  not_allowed,        ///< not an https URL of an allowed host (refused before git runs)
  invalid,            ///< a value breaks git's or lxcprov's rules (refused before git runs)
  unreachable,        ///< name resolution or connection failed
  tls,                ///< the server's certificate is not trusted
  not_found,          ///< the server has no repository there (HTTP 404)
  not_a_repository,   ///< the URL answers, but not as a git repository
  auth_required,      ///< the server wants credentials and no token was given
  auth_failed,        ///< the token was refused
  redirect,           ///< the server redirects elsewhere; redirects are never followed
  empty,              ///< the repository has no commits
  no_default_branch,  ///< HEAD is not a branch: PROJECT_BRANCH must be given
  no_such_branch,
  not_a_directory,  ///< the path does not exist at the commit, or is a file, link or submodule
  too_large,        ///< the tree fetch went over the size bound
  timeout,          ///< the whole check went over deploy.git.check_timeout
  failed,           ///< git failed in another way (the reason quotes it, redacted)
  internal,         ///< the check could not run (no check user, no git, no temp dir)
};

struct CheckError {
  CheckField field = CheckField::none;
  Problem problem = Problem::internal;
  std::string component;  ///< the component path, when field == component
  std::string reason;     ///< one line for the user; never the token, never a host path

  /// The request variable to name: "PROJECT_REPOSITORY", "PROJECT_TOKEN", "PROJECT_BRANCH",
  /// "PROJECT_ROOT", "START_COMMAND" for a component (every component has a start command, and
  /// the old system checked component keys with the command fields), "" for none.
  std::string variable() const;
  /// invalid_argument for what the user can fix, unavailable for an unreachable or failing
  /// server, timeout, internal for the host's own failures.
  Errc code() const;
  /// "PROJECT_BRANCH: no branch 'x' in the repository" (the request::FieldError form).
  std::string message() const;
  bool operator==(const CheckError&) const = default;
};

/// RemoteCheck or the CheckError naming the wrong field.
class [[nodiscard]] CheckResult {
 public:
  CheckResult(RemoteCheck value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  CheckResult(CheckError error) : v_(std::move(error)) {}   // NOLINT
  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  const RemoteCheck& value() const { return std::get<0>(v_); }
  const RemoteCheck* operator->() const { return &value(); }
  const CheckError& error() const { return std::get<1>(v_); }

 private:
  std::variant<RemoteCheck, CheckError> v_;
};

class GitRemote {
 public:
  virtual ~GitRemote() = default;
  /// Blocks for at most the configured check timeout (plus cleaning up). Thread-safe.
  virtual CheckResult check(const CheckRequest& request) = 0;
};

// ---- rules -------------------------------------------------------------------------------------

/// https://HOST[:PORT]/PATH as accepted by check_repository_url.
struct RepositoryUrl {
  std::string host;  ///< lowercased; an IPv6 literal keeps its brackets
  uint16_t port = 443;
  std::string path;  ///< from the first '/', at least one character after it
};

/// PROJECT_REPOSITORY: "https://" (exactly), no userinfo, query or fragment, at most 2048
/// printable ASCII characters of RFC 3986's path set, a host (name, IPv4 or [IPv6]) and port
/// that `allowed_hosts` lists ("host" allows port 443, "host:port" that port only), a path that
/// names something, no "." or ".." segment. Problem::not_allowed for a scheme or host, invalid
/// for the rest.
std::variant<RepositoryUrl, CheckError> check_repository_url(std::string_view url,
                                                             const std::vector<std::string>& allowed_hosts);

/// A branch name git accepts (git check-ref-format --branch) that cannot be read as an option:
/// 1-255 bytes, no leading '-', no control character, space, ~ ^ : ? * [ \ or "@{", no "..",
/// no "//", not "@", no segment starting with '.' or ending with ".lock", no trailing '/' or '.'.
bool valid_branch_name(std::string_view name);

/// A normalized path inside the repository ("" = the top): at most 4096 bytes, segments
/// separated by single '/', none empty, "." or "..", none starting with '-', no control
/// character or backslash, not absolute.
bool valid_repository_path(std::string_view path);

/// `root` and `component` joined ("" stays out).
std::string join_repository_path(std::string_view root, std::string_view component);

/// A full hex object id (SHA-1: 40 digits, SHA-256: 64), lowercase.
bool is_object_id(std::string_view text);

// ---- what runs ---------------------------------------------------------------------------------

struct GitRun {
  std::string git = "/usr/bin/git";
  std::string prlimit = "/usr/bin/prlimit";
  uint64_t max_file_bytes = 64ull << 20;  ///< RLIMIT_FSIZE of each git process (the pack it writes)
  std::string ca_file;                    ///< http.sslCAInfo; "" = the system store
};

/// The fixed name the fetched tree is stored under in the temporary repository.
inline constexpr std::string_view check_ref = "refs/lxcprov/check";

/// argv of one git run: prlimit --fsize=N -- git ARGS. Every user value in ARGS comes after a
/// "--" or is built so that it cannot start with '-'.
std::vector<std::string> git_argv(const GitRun& run, const std::vector<std::string>& args);
/// init --bare (into $GIT_DIR, no template: no sample hooks, nothing to copy).
std::vector<std::string> init_args();
/// ls-remote --symref -- URL PATTERN: HEAD when `branch` is "", else refs/heads/BRANCH.
std::vector<std::string> ls_remote_args(std::string_view url, std::string_view branch);
/// A blob-less, depth-1 fetch of refs/heads/BRANCH into check_ref, no tags, no submodules.
std::vector<std::string> fetch_args(std::string_view url, std::string_view branch);
/// rev-parse --verify check_ref^{commit}.
std::vector<std::string> rev_parse_args();
/// ls-tree -d COMMIT -- PATH: the entry at PATH itself, read from trees only (cat-file -t on a
/// path would read a blob's object, which a partial clone fetches lazily from the server).
std::vector<std::string> ls_tree_args(std::string_view commit, std::string_view path);

/// "Authorization: Basic base64(x-access-token:TOKEN)": GitHub's form for a token, and plain
/// HTTP basic auth for servers that take the token as the password of any user.
Secret authorization_header(const Secret& token);

/// The whole environment of a git run besides PATH (which the Host sets): HOME and GIT_DIR in
/// `temp_dir`, C locale, no terminal prompt, no system or global config, literal pathspecs, and
/// the configuration through GIT_CONFIG_COUNT/KEY_n/VALUE_n: only https, no redirects, the CA
/// file if any, no automatic gc; with `token` (network runs only) the authorization header.
/// Nothing here is ever written to a file: git reads these from its environment.
std::vector<Secret> git_environment(const GitRun& run, std::string_view temp_dir, const Secret* token);

// ---- what comes back ---------------------------------------------------------------------------

struct LsRemote {
  std::string head;                         ///< "refs/heads/main" from "ref: refs/heads/main\tHEAD"; "" = none
  std::map<std::string, std::string> refs;  ///< ref name (and "HEAD") -> object id
};
/// ls-remote --symref's lines; anything else (git's warnings share the stream) is skipped.
LsRemote parse_ls_remote(std::string_view output);

/// The result of the ls-remote run: the branch and commit, or the field error (branch not
/// found, empty repository, HEAD not a branch). `branch` is what the user gave ("" = default).
std::variant<RemoteCheck, CheckError> resolve_branch(const LsRemote& listing, std::string_view branch);

/// Whether ls-tree -d's output says `path` is a tree ("040000 tree OID\tPATH").
bool lists_tree(std::string_view output, std::string_view path);

/// A failed network run (ls-remote or fetch) as the repository's problem: git's curl and
/// protocol messages mapped to a Problem. With a `token`, a 401 means the token was refused
/// rather than missing; whatever of git's words is quoted is redacted of it. `exit_status` 153
/// (SIGXFSZ) is the size bound.
CheckError classify_git_failure(std::string_view output, int exit_status, const Secret& token);

/// `text` without the token, its base64 forms and any Authorization header, control characters
/// escaped, cut to its first line of at most 200 characters: the only form in which git's own
/// words reach a message.
std::string redact(std::string_view text, const Secret& token);

/// Base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view data);

}  // namespace lxcprov::deploy
