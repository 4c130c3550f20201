#pragma once
// The fixed shell commands the remote nginx installer (edge/remote_nginx_router.hpp) runs over
// SSH, and the rules that make them safe to build. sshd hands an exec request to the account's
// shell, so every value spliced into a command must be a plain word: these checks run at config
// parse time, and the commands are built only from config values, never from user input (container
// names reach the remote host only inside the uploaded file). Pure.

#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::network {

/// A word a POSIX shell takes literally: 1-255 characters of A-Z a-z 0-9 and `_ . / = : , @ + % -`
/// (no spaces, quotes, `$`, `*`, `;`, `|`, `&`, `<`, `>`, backslash, `~`, `#` or control characters).
bool shell_safe_word(std::string_view word);

/// An absolute path of shell-safe characters without `.` or `..` components or a trailing '/'.
/// Also what the nginx renderer may write unquoted (certificate paths).
bool safe_absolute_path(std::string_view path);

/// A command argv for the remote shell: 1-32 shell-safe words, the first not starting with '-'.
bool safe_command(const std::vector<std::string>& argv);

/// "SHA256:" and 43 characters of unpadded base64: what `ssh-keygen -lf KEY.pub` prints and
/// libssh's ssh_get_fingerprint_hash() returns.
bool valid_host_key_pin(std::string_view pin);

/// A login name: 1-32 characters of a-z 0-9 '_' '-', starting with a letter or '_'.
bool valid_ssh_user(std::string_view user);

/// An IPv4 address or a host name (labels of A-Z a-z 0-9 '-', at most 253 characters).
bool valid_ssh_host(std::string_view host);

struct RemoteNginxCommands {
  /// stdin -> INCLUDE.lxcprov-new, synced; the current file copied to INCLUDE.lxcprov-old (an empty
  /// one when there is none); then the new one renamed over INCLUDE, so nginx never sees a partial
  /// file. Leaves no .lxcprov-new behind on failure.
  std::string upload;
  std::string test;     ///< the configured test command
  std::string restore;  ///< INCLUDE.lxcprov-old back over INCLUDE
  std::string reload;   ///< the configured reload command, then the backup removed
};

/// Each command's stderr goes to its stdout, so one stream carries the messages. The inputs must
/// have passed safe_absolute_path() and safe_command().
RemoteNginxCommands remote_nginx_commands(const std::string& include_file, const std::vector<std::string>& test_command,
                                          const std::vector<std::string>& reload_command);

}  // namespace lxcprov::network
