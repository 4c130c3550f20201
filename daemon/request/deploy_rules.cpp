#include "request/deploy_rules.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "common/bytes.hpp"
#include "deploy/git_hosts.hpp"

namespace lxcprov::request {
namespace {

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }
bool is_alnum(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// '/'-separated parts of `text`, empty ones included.
std::vector<std::string_view> segments(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = text.find('/', start);
    out.push_back(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

}  // namespace

Checked<bool> check_yes_no(std::string_view field, std::string_view text) {
  if (text == "y" || text == "Y") return accept(true);
  if (text == "n" || text == "N") return accept(false);
  return reject<bool>(field, "must be y or n");
}

Checked<std::string> check_repository(std::string_view text, const std::vector<std::string>& allowed_hosts) {
  constexpr std::string_view field = "PROJECT_REPOSITORY";
  constexpr std::string_view form = "https://HOST/OWNER/REPO";
  if (text.size() > 2048) return reject<std::string>(field, "must be at most 2048 bytes");
  constexpr std::string_view scheme = "https://";
  // Only https: git's other transports (ssh, git://, file://, ext::) would reach things the
  // allowed hosts do not describe, or run commands.
  if (text.size() < scheme.size() || lowered(text.substr(0, scheme.size())) != scheme)
    return reject<std::string>(field, fmt::format("must be an https:// URL ({})", form));
  const std::string_view rest = text.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return reject<std::string>(field, "must not contain a query (?) or a fragment (#)");
  const size_t slash = rest.find('/');
  const std::string authority = lowered(rest.substr(0, slash));
  if (authority.find('@') != std::string::npos)
    return reject<std::string>(field, "must not contain a user name or password; give a token in PROJECT_TOKEN");
  const auto host = deploy::parse_git_host(authority);
  if (!host) return reject<std::string>(field, "must name its host as HOST or HOST:PORT (a DNS name or IPv4 address)");
  if (!deploy::git_host_allowed(*host, allowed_hosts)) {
    if (allowed_hosts.empty()) return reject<std::string>(field, "no repository host is allowed on this server");
    return reject<std::string>(
        field, "the host must be one of: " + joined(allowed_hosts) + " (a plain host name means port 443)");
  }
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  if (path.ends_with('/')) path.remove_suffix(1);
  if (path.empty()) return reject<std::string>(field, fmt::format("must name a repository ({})", form));
  for (const auto part : segments(path)) {
    const bool chars = std::all_of(part.begin(), part.end(), [](char c) {
      return is_alnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' || c == '-';
    });
    if (!chars || part.empty() || part == "." || part == "..")
      return reject<std::string>(field,
                                 "the path may contain only A-Z a-z 0-9 . _ ~ - and '/', without empty, . or .. parts");
  }
  return accept(fmt::format("https://{}/{}", authority, path));
}

Checked<std::string> check_branch(std::string_view text) {
  constexpr std::string_view field = "PROJECT_BRANCH";
  if (text.empty()) return accept(std::string());
  if (text.size() > 255) return reject<std::string>(field, "must be at most 255 bytes");
  // Read as an option by git otherwise (`git clone --branch -x` is argv, but a branch can reach
  // other commands too).
  if (text.front() == '-') return reject<std::string>(field, "must not start with '-'");
  for (unsigned char c : bytes(text)) {
    if (is_control(c) || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' || c == '[' || c == '\\')
      return reject<std::string>(field, "must not contain spaces, control characters or any of ~ ^ : ? * [ \\");
  }
  if (text.find("..") != std::string_view::npos) return reject<std::string>(field, "must not contain '..'");
  if (text.find("@{") != std::string_view::npos) return reject<std::string>(field, "must not contain '@{'");
  if (text == "@") return reject<std::string>(field, "must not be '@'");
  if (text == "HEAD") return reject<std::string>(field, "must not be HEAD");
  if (text.front() == '/' || text.back() == '/' || text.find("//") != std::string_view::npos)
    return reject<std::string>(field, "must not start or end with '/' or contain '//'");
  if (text.back() == '.') return reject<std::string>(field, "must not end with '.'");
  for (const auto part : segments(text)) {
    if (part.front() == '.') return reject<std::string>(field, "no part between slashes may start with '.'");
    if (part.ends_with(".lock")) return reject<std::string>(field, "no part between slashes may end with '.lock'");
  }
  return accept(std::string(text));
}

Checked<std::string> check_repo_path(std::string_view field, std::string_view text, std::string_view subject) {
  const auto rule = [&](std::string_view r) {
    return reject<std::string>(field, std::string(subject) + std::string(r));
  };
  if (text.size() > 255) return rule("must be at most 255 bytes");
  if (std::any_of(text.begin(), text.end(), [](char c) { return is_control(static_cast<unsigned char>(c)); }))
    return rule("must not contain control characters");
  if (text.starts_with('/')) return rule("must be relative (no leading '/')");
  while (text.starts_with("./")) text.remove_prefix(2);
  if (text == ".") text = {};
  if (text.ends_with('/')) text.remove_suffix(1);
  if (text.empty()) return accept(std::string());
  for (const auto part : segments(text)) {
    if (part.empty()) return rule("must not contain empty parts ('//')");
    if (part == "..") return rule("must not contain '..'");
    if (part == ".") return rule("must not contain '.' parts");
    // A directory named "-x" would be an option to every program it is handed to.
    if (part.front() == '-') return rule("must not have a part starting with '-'");
  }
  return accept(std::string(text));
}

Checked<std::string> check_command(std::string_view field, std::string_view text) {
  if (text.size() > max_command_bytes) return reject<std::string>(field, "must be at most 8192 bytes");
  for (unsigned char c : bytes(text)) {
    if (is_control(c) && c != '\t' && c != '\n')
      return reject<std::string>(field, "must not contain control characters other than tab and newline");
  }
  const bool blank = std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n'; });
  return accept(blank ? std::string() : std::string(text));
}

Checked<RuntimeChoice> check_runtime(std::string_view text, const deploy::Catalog& catalog) {
  constexpr std::string_view field = "RUNTIME_LANGUAGE";
  const std::string spec = lowered(text.substr(0, std::min<size_t>(text.size(), 80)));
  const size_t at = spec.find('@');
  RuntimeChoice choice{spec.substr(0, at), at == std::string::npos ? std::string() : spec.substr(at + 1)};
  const bool form = text.size() <= 80 && deploy::valid_catalog_name(choice.name) &&
                    (at == std::string::npos || deploy::valid_version(choice.version));
  if (!form) {
    return reject<RuntimeChoice>(
        field, "must be NAME or NAME@VERSION (e.g. nodejs@18), NAME one of: " + joined(catalog.runtime_names()));
  }
  if (auto r = catalog.runtime(choice.name, choice.version); !r) return reject<RuntimeChoice>(field, r.error().message);
  return accept(std::move(choice));
}

Checked<Secret> check_token(std::string_view field, std::string_view text) {
  if (text.empty()) return reject<Secret>(field, "must not be empty");
  if (text.size() > 1024) return reject<Secret>(field, "must be at most 1024 bytes");
  for (unsigned char c : bytes(text)) {
    if (c <= 0x20 || c >= 0x7f) return reject<Secret>(field, "must be printable ASCII without spaces");
  }
  return accept(Secret(std::string(text)));
}

std::optional<FieldError> check_env_name(std::string_view name) {
  const bool ok =
      !name.empty() && name.size() <= 255 && !(name.front() >= '0' && name.front() <= '9') &&
      std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(static_cast<unsigned char>(c)) || c == '_'; });
  if (ok) return std::nullopt;
  return FieldError{"CONTAINER_ENV_VARS",
                    "variable names must match ^[A-Za-z_][A-Za-z0-9_]*$ (at most 255 characters)"};
}

std::optional<FieldError> check_env_value(std::string_view name, std::string_view value) {
  if (value.size() > max_env_value_bytes)
    return FieldError{"CONTAINER_ENV_VARS", fmt::format("the value of {} must be at most 32768 bytes", name)};
  if (value.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
    return FieldError{"CONTAINER_ENV_VARS", fmt::format("the value of {} must not contain NUL, CR or LF", name)};
  return std::nullopt;
}

Checked<std::string> check_service(std::string_view text, const deploy::Catalog& catalog,
                                   const std::vector<std::string>& chosen) {
  constexpr std::string_view field = "SERVICES";
  const std::string name = lowered(text.substr(0, std::min<size_t>(text.size(), 64)));
  auto service = catalog.service(text.size() > 64 ? std::string_view("\x01") : std::string_view(name));
  if (!service) return reject<std::string>(field, service.error().message);
  if (std::find(chosen.begin(), chosen.end(), name) != chosen.end())
    return reject<std::string>(field, fmt::format("lists {} twice", name));
  return accept(name);
}

Checked<std::string> check_custom_command(std::string_view text) {
  constexpr std::string_view field = "CUSTOM_SERVICES";
  if (text.size() > max_command_bytes) return reject<std::string>(field, "each command must be at most 8192 bytes");
  for (unsigned char c : bytes(text)) {
    if (is_control(c) && c != '\t')
      return reject<std::string>(field, "each command must be one line without control characters");
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t'; }))
    return reject<std::string>(field, "commands must not be empty");
  return accept(std::string(text));
}

}  // namespace lxcprov::request
