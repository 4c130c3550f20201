#include "deploy/git_remote.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/bytes.hpp"
#include "deploy/git_hosts.hpp"

namespace lxcprov::deploy {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

CheckError error(CheckField field, Problem problem, std::string reason) {
  return CheckError{field, problem, "", std::move(reason)};
}

CheckError url_error(Problem problem, std::string reason) {
  return error(CheckField::repository, problem, std::move(reason));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// RFC 3986 pchar plus '/': unreserved, pct-encoded (checked separately), sub-delims, ':' and '@'.
bool is_path_char(char c) { return is_alnum(c) || contains("-._~%!$&'()*+,;=:@/", std::string_view(&c, 1)); }

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5 || text[0] == '0') return std::nullopt;
  unsigned v = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

// A DNS name (labels of letters, digits and '-'), a dotted IPv4 address, or a bracketed IPv6
// literal: enough for curl to treat it as a host and nothing else.
bool valid_host(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  if (h.front() == '[') {
    if (h.size() < 4 || h.back() != ']') return false;
    for (char c : h.substr(1, h.size() - 2))
      if (!(is_digit(c) || (c >= 'a' && c <= 'f') || c == ':' || c == '.')) return false;
    return true;
  }
  std::size_t start = 0;
  while (start <= h.size()) {
    const auto dot = h.find('.', start);
    const auto label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!(is_alnum(c) || c == '-')) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

// "host" or "host:port" (IPv6 in brackets) from the allowed_hosts list.
// Overwrites a string that held a secret before its memory is freed (as Secret does).
void wipe(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

void base64_append(std::string& out, std::string_view data) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto in = bytes(data);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8) | in[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = unsigned{in[i]} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned{in[i]} << 16) | (unsigned{in[i + 1]} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
}

// The token as it travels: base64("x-access-token:" + token), built in place.
Secret encoded_credentials(const Secret& token) {
  std::string credentials;
  credentials.reserve(15 + token.size());
  credentials = "x-access-token:";
  credentials.append(token.reveal());
  std::string encoded;
  encoded.reserve((credentials.size() + 2) / 3 * 4);
  base64_append(encoded, credentials);
  wipe(credentials);
  return Secret(std::move(encoded));
}

// The message part of git's first "fatal:" (or "error:") line, else its first non-empty line.
std::string_view git_message(std::string_view output) {
  std::string_view first;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    auto line = output.substr(start, end - start);
    start = end + 1;
    if (starts_with(line, "fatal: ")) return line.substr(7);
    if (first.empty() && !line.empty() && !starts_with(line, "warning: ") && !starts_with(line, "hint: ")) first = line;
  }
  for (const char* p : {"error: "})
    if (starts_with(first, p)) return first.substr(std::string_view(p).size());
  return first;
}

// curl's cause after git's "unable to access 'URL': ".
std::string_view curl_cause(std::string_view message) {
  const auto at = message.find("': ");
  return at == std::string_view::npos ? message : message.substr(at + 3);
}

std::string http_code(std::string_view message) {
  const auto at = message.find("returned error: ");
  if (at == std::string_view::npos) return "";
  auto code = message.substr(at + 16, 3);
  return std::all_of(code.begin(), code.end(), is_digit) && code.size() == 3 ? std::string(code) : "";
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

}  // namespace

// ---- CheckError --------------------------------------------------------------------------------

std::string CheckError::variable() const {
  switch (field) {
    case CheckField::repository:
      return "PROJECT_REPOSITORY";
    case CheckField::token:
      return "PROJECT_TOKEN";
    case CheckField::branch:
      return "PROJECT_BRANCH";
    case CheckField::root:
      return "PROJECT_ROOT";
    case CheckField::component:
      return "START_COMMAND";
    case CheckField::none:
      break;
  }
  return "";
}

Errc CheckError::code() const {
  switch (problem) {
    case Problem::unreachable:
    case Problem::tls:
    case Problem::failed:
      return Errc::unavailable;
    case Problem::timeout:
      return Errc::timeout;
    case Problem::internal:
      return Errc::internal;
    default:
      return Errc::invalid_argument;
  }
}

std::string CheckError::message() const {
  const auto var = variable();
  return var.empty() ? reason : var + ": " + reason;
}

// ---- rules -------------------------------------------------------------------------------------

std::variant<RepositoryUrl, CheckError> check_repository_url(std::string_view url,
                                                             const std::vector<std::string>& allowed_hosts) {
  constexpr std::string_view scheme = "https://";
  if (!starts_with(url, scheme))
    return url_error(Problem::not_allowed, "must be an https:// URL (no http, ssh, git or file URLs)");
  if (url.size() > 2048) return url_error(Problem::invalid, "must be at most 2048 characters");
  for (unsigned char c : bytes(url))
    if (c <= 0x20 || c >= 0x7f) return url_error(Problem::invalid, "must not contain spaces or control characters");
  const auto rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  if (contains(authority, "@")) return url_error(Problem::invalid, "must not contain a user name or password");
  if (contains(url, "?") || contains(url, "#")) return url_error(Problem::invalid, "must not contain '?' or '#'");

  RepositoryUrl out;
  std::string_view host = authority;
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    auto port = parse_port(authority.substr(colon + 1));
    if (!port) return url_error(Problem::invalid, "has a bad port number");
    out.port = *port;
    host = authority.substr(0, colon);
  }
  if (!valid_host(host)) return url_error(Problem::invalid, "has no valid host name");
  out.host = lower(host);

  // The config's entries are matched as the request's rules match them (deploy/git_hosts.hpp).
  if (!git_host_allowed(GitHost{out.host, out.port}, allowed_hosts)) {
    std::string list;
    for (const auto& h : allowed_hosts) list += (list.empty() ? "" : ", ") + h;
    const auto shown = out.port == 443 ? out.host : fmt::format("{}:{}", out.host, out.port);
    return url_error(Problem::not_allowed,
                     fmt::format("host {} is not allowed (allowed: {})", shown, list.empty() ? "none" : list));
  }

  if (slash == std::string_view::npos || slash + 1 == rest.size())
    return url_error(Problem::invalid, "must name a repository (https://host/owner/name)");
  out.path = std::string(rest.substr(slash));
  for (std::size_t i = 0; i < out.path.size(); ++i) {
    const char c = out.path[i];
    if (!is_path_char(c)) return url_error(Problem::invalid, fmt::format("must not contain '{}'", c));
    if (c == '%' && (i + 2 >= out.path.size() || !std::isxdigit(static_cast<unsigned char>(out.path[i + 1])) ||
                     !std::isxdigit(static_cast<unsigned char>(out.path[i + 2]))))
      return url_error(Problem::invalid, "has a '%' that is not followed by two hex digits");
  }
  std::size_t start = 1;
  while (start <= out.path.size()) {
    auto end = out.path.find('/', start);
    if (end == std::string::npos) end = out.path.size();
    const auto seg = std::string_view(out.path).substr(start, end - start);
    if (seg == "." || seg == "..") return url_error(Problem::invalid, "must not contain '.' or '..' segments");
    start = end + 1;
  }
  return out;
}

bool valid_branch_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '-' || name == "@") return false;
  if (name.front() == '/' || name.back() == '/' || name.back() == '.') return false;
  if (contains(name, "..") || contains(name, "//") || contains(name, "@{")) return false;
  for (unsigned char c : bytes(name))
    if (c < 0x20 || c == 0x7f || c == ' ' || contains("~^:?*[\\", std::string_view(reinterpret_cast<char*>(&c), 1)))
      return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    const auto seg = name.substr(start, end - start);
    if (seg.empty() || seg.front() == '.' || ends_with(seg, ".lock")) return false;
    start = end + 1;
  }
  return true;
}

bool valid_repository_path(std::string_view path) {
  if (path.empty()) return true;
  if (path.size() > 4096 || path.front() == '/' || path.back() == '/') return false;
  for (unsigned char c : bytes(path))
    if (c < 0x20 || c == 0x7f || c == '\\') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const auto seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.front() == '-') return false;
    start = end + 1;
  }
  return true;
}

std::string join_repository_path(std::string_view root, std::string_view component) {
  if (root.empty()) return std::string(component);
  if (component.empty()) return std::string(root);
  return fmt::format("{}/{}", root, component);
}

bool is_object_id(std::string_view text) {
  if (text.size() != 40 && text.size() != 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

// ---- what runs ---------------------------------------------------------------------------------

std::vector<std::string> git_argv(const GitRun& run, const std::vector<std::string>& args) {
  // RLIMIT_FSIZE bounds every file git writes (the received pack above all): a tree too big for
  // the check kills git with SIGXFSZ rather than filling the disk.
  std::vector<std::string> argv{run.prlimit, fmt::format("--fsize={}", run.max_file_bytes), "--", run.git};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> init_args() { return {"init", "--bare", "--quiet", "--template="}; }

std::vector<std::string> ls_remote_args(std::string_view url, std::string_view branch) {
  return {"ls-remote", "--symref", "--", std::string(url),
          branch.empty() ? std::string("HEAD") : fmt::format("refs/heads/{}", branch)};
}

std::vector<std::string> fetch_args(std::string_view url, std::string_view branch) {
  // The refspec starts with '+': never an option, whatever the branch.
  return {"fetch",
          "--quiet",
          "--depth=1",
          "--filter=blob:none",
          "--no-tags",
          "--no-recurse-submodules",
          "--no-write-fetch-head",
          "--",
          std::string(url),
          fmt::format("+refs/heads/{}:{}", branch, check_ref)};
}

std::vector<std::string> rev_parse_args() {
  return {"rev-parse", "--verify", "--quiet", "--end-of-options", fmt::format("{}^{{commit}}", check_ref)};
}

std::vector<std::string> ls_tree_args(std::string_view commit, std::string_view path) {
  return {"ls-tree", "-d", std::string(commit), "--", std::string(path)};
}

Secret authorization_header(const Secret& token) {
  const Secret encoded = encoded_credentials(token);
  std::string header;
  header.reserve(21 + encoded.size());
  header = "Authorization: Basic ";
  header.append(encoded.reveal());
  return Secret(std::move(header));
}

std::vector<Secret> git_environment(const GitRun& run, std::string_view temp_dir, const Secret* token) {
  std::vector<Secret> env;
  auto add = [&](std::string_view name, std::string_view value) {
    env.emplace_back(fmt::format("{}={}", name, value));
  };
  add("HOME", temp_dir);
  add("GIT_DIR", fmt::format("{}/repo.git", temp_dir));
  add("LC_ALL", "C");
  // No prompt on a terminal: a server that wants credentials gets none and git fails at once.
  // GIT_ASKPASS stays unset: the environment is built from nothing here, so no askpass program
  // can be inherited, and core.askPass could only come from config, which is all given below.
  add("GIT_TERMINAL_PROMPT", "0");
  add("GIT_CONFIG_NOSYSTEM", "1");
  add("GIT_CONFIG_GLOBAL", "/dev/null");
  add("GIT_ATTR_NOSYSTEM", "1");
  add("GIT_LITERAL_PATHSPECS", "1");
  add("GIT_NO_REPLACE_OBJECTS", "1");
  std::vector<std::pair<std::string, std::string>> config{
      {"protocol.allow", "never"},
      {"protocol.https.allow", "always"},
      {"http.followRedirects", "false"},
      {"core.hooksPath", "/dev/null"},
      {"gc.auto", "0"},
      // Everything fetched goes into one pack file, never loose objects: prlimit's file size
      // bound then bounds the check's disk use (a million small tree objects would each pass).
      {"fetch.unpackLimit", "1"},
      {"transfer.unpackLimit", "1"},
  };
  if (!run.ca_file.empty()) config.emplace_back("http.sslCAInfo", run.ca_file);
  std::size_t n = config.size();
  for (std::size_t i = 0; i < config.size(); ++i) {
    add(fmt::format("GIT_CONFIG_KEY_{}", i), config[i].first);
    add(fmt::format("GIT_CONFIG_VALUE_{}", i), config[i].second);
  }
  if (token != nullptr && !token->empty()) {
    add(fmt::format("GIT_CONFIG_KEY_{}", n), "http.extraHeader");
    const Secret header = authorization_header(*token);
    std::string entry = fmt::format("GIT_CONFIG_VALUE_{}=", n);
    entry.reserve(entry.size() + header.size());
    entry.append(header.reveal());
    env.emplace_back(std::move(entry));
    ++n;
  }
  add("GIT_CONFIG_COUNT", std::to_string(n));
  return env;
}

// ---- what comes back ---------------------------------------------------------------------------

LsRemote parse_ls_remote(std::string_view output) {
  LsRemote out;
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    const auto line = output.substr(start, end - start);
    start = end + 1;
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos) continue;
    const auto left = line.substr(0, tab);
    const auto name = line.substr(tab + 1);
    if (name.empty() || contains(name, "\t")) continue;
    if (starts_with(left, "ref: ")) {
      if (name == "HEAD") out.head = std::string(left.substr(5));
    } else if (is_object_id(left)) {
      out.refs.emplace(std::string(name), std::string(left));
    }
  }
  return out;
}

std::variant<RemoteCheck, CheckError> resolve_branch(const LsRemote& listing, std::string_view branch) {
  if (!branch.empty()) {
    auto it = listing.refs.find(fmt::format("refs/heads/{}", branch));
    if (it == listing.refs.end())
      return error(CheckField::branch, Problem::no_such_branch,
                   fmt::format("no branch '{}' in the repository", branch));
    return RemoteCheck{std::string(branch), it->second};
  }
  auto head = listing.refs.find("HEAD");
  if (listing.head.empty()) {
    if (head == listing.refs.end())
      return error(CheckField::repository, Problem::empty, "the repository is empty (it has no commits)");
    return error(CheckField::branch, Problem::no_default_branch,
                 "the repository's HEAD is not a branch: give PROJECT_BRANCH");
  }
  if (head == listing.refs.end())
    return error(CheckField::repository, Problem::empty, "the repository is empty (its default branch has no commits)");
  constexpr std::string_view heads = "refs/heads/";
  const std::string_view target = listing.head;
  if (!starts_with(target, heads) || !valid_branch_name(target.substr(heads.size())))
    return error(CheckField::branch, Problem::no_default_branch,
                 "the repository's default branch is not a branch name lxcprov accepts: give PROJECT_BRANCH");
  return RemoteCheck{std::string(target.substr(heads.size())), head->second};
}

bool lists_tree(std::string_view output, std::string_view path) {
  std::size_t start = 0;
  while (start < output.size()) {
    auto end = output.find('\n', start);
    if (end == std::string_view::npos) end = output.size();
    const auto line = output.substr(start, end - start);
    start = end + 1;
    // "040000 tree <oid>\t<path>": a symlink (120000 blob) or a submodule (160000 commit) is not
    // a directory the app can run in.
    const auto tab = line.find('\t');
    if (tab == std::string_view::npos || line.substr(tab + 1) != path) continue;
    const auto meta = line.substr(0, tab);
    if (starts_with(meta, "040000 tree ") && is_object_id(meta.substr(12))) return true;
  }
  return false;
}

CheckError classify_git_failure(std::string_view output, int exit_status, const Secret& token) {
  const bool token_given = !token.empty();
  const auto message = git_message(output);
  const auto repo = [](Problem p, std::string reason) { return error(CheckField::repository, p, std::move(reason)); };
  // SIGXFSZ (25): git itself, or the index-pack it runs, wrote past prlimit's bound. git 2.39
  // reports a killed index-pack only as "fetch-pack: invalid index-pack output".
  if (exit_status == 128 + 25 || contains(output, "died of signal 25") ||
      contains(output, "File size limit exceeded") || contains(output, "invalid index-pack output"))
    return repo(Problem::too_large, "the repository's tree is larger than the check allows");
  const auto code = http_code(message);
  const bool auth = code == "401" || contains(message, "could not read Username") ||
                    contains(message, "could not read Password") || contains(message, "Authentication failed") ||
                    contains(message, "terminal prompts disabled");
  if (auth || code == "403") {
    if (token_given)
      return error(CheckField::token, Problem::auth_failed,
                   code == "403" ? "the server refused access with this token (HTTP 403)"
                                 : "the server refused the token (wrong or expired?)");
    return repo(Problem::auth_required,
                code == "403" ? "the server refused access (HTTP 403); a private repository needs PROJECT_TOKEN"
                              : "the repository needs authentication (or does not exist): give PROJECT_TOKEN");
  }
  if (!code.empty() && code[0] == '3')
    return repo(Problem::redirect, fmt::format("the server redirects elsewhere (HTTP {}); redirects are not followed, "
                                               "give the repository's own URL",
                                               code));
  if (code == "404" || (contains(message, "repository '") && contains(message, "' not found")))
    return repo(Problem::not_found, token_given ? "no repository at this URL"
                                                : "no repository at this URL (a private one needs PROJECT_TOKEN)");
  if (contains(message, "is this a git repository") || contains(message, "not a git repository") ||
      contains(message, "invalid server response") || contains(message, "not valid:"))
    return repo(Problem::not_a_repository, "the URL does not serve a git repository");
  if (contains(message, "Could not resolve host"))
    return repo(Problem::unreachable, "cannot resolve the repository's host name");
  if (contains(message, "Failed to connect") || contains(message, "Couldn't connect") ||
      contains(message, "Connection refused") || contains(message, "Connection timed out") ||
      contains(message, "Network is unreachable") || contains(message, "No route to host"))
    return repo(Problem::unreachable,
                fmt::format("cannot connect to the repository's host ({})", redact(curl_cause(message), token)));
  if (contains(message, "SSL") || contains(message, "certificate") || contains(message, "TLS"))
    return repo(Problem::tls, fmt::format("the server's TLS certificate is not trusted or TLS failed ({})",
                                          redact(curl_cause(message), token)));
  if (contains(message, "transport '") && contains(message, "not allowed"))
    return repo(Problem::not_allowed, "must be an https:// URL");
  if (!code.empty()) return repo(Problem::failed, fmt::format("the server answered HTTP {}", code));
  if (message.empty())
    return repo(Problem::failed, exit_status > 128 ? fmt::format("git was killed by signal {}", exit_status - 128)
                                                   : fmt::format("git failed with exit status {}", exit_status));
  return repo(Problem::failed, fmt::format("git failed: {}", redact(message, token)));
}

std::string redact(std::string_view text, const Secret& token) {
  std::string s(text.substr(0, text.find('\n')));
  // A header line could only appear in git's trace output, which is never enabled; cut it anyway.
  if (const auto at = lower(s).find("authorization:"); at != std::string::npos) s = s.substr(0, at) + "[redacted]";
  const Secret encoded = token.empty() ? Secret() : encoded_credentials(token);
  std::string alone;
  if (!token.empty()) base64_append(alone, token.reveal());
  auto cut_token = [&](std::string& t) {
    if (token.empty()) return;
    replace_all(t, encoded.reveal(), "[redacted]");
    replace_all(t, alone, "[redacted]");
    replace_all(t, token.reveal(), "[redacted]");
  };
  cut_token(s);
  std::string out;
  for (unsigned char c : bytes(s)) {
    if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += static_cast<char>(c);
  }
  // Again after escaping: "\x1a" followed by the rest of the token's base64 spells all of it when
  // the base64 starts with "a" (found by the git_remote fuzz target).
  cut_token(out);
  wipe(alone);
  if (out.size() > 200) out.resize(200);
  return out;
}

std::string base64_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  base64_append(out, data);
  return out;
}

}  // namespace lxcprov::deploy
