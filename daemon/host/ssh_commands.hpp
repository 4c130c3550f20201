#pragma once
// The shell commands SshHost (host/ssh_host.hpp) sends, and the rules that make them safe to
// build. sshd hands an exec request to the remote account's shell, so every value spliced into a
// command must be a plain word the shell takes literally: paths and argv words are checked here,
// and nothing a user typed is ever one of them (file contents travel on stdin). Pure.

#include <sys/types.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lxcprov::host {

/// A word a POSIX shell takes literally: 1-255 characters of A-Z a-z 0-9 and `_ . / = : , @ + % -`
/// (no spaces, quotes, `$`, `*`, `;`, `|`, `&`, `<`, `>`, backslash, `~`, `#` or control characters).
bool shell_safe_word(std::string_view word);

/// An absolute path of shell-safe characters without `.` or `..` components or a trailing '/'.
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

/// Exit status of the read command when the file does not exist.
constexpr int missing_file_status = 44;

/// Prints the file (a regular file, never through a final symlink), or exits
/// missing_file_status. `path` must be safe_absolute_path().
std::string read_command(const std::string& path);

/// stdin -> PATH.lxcprov-new (mode, owner), synced, renamed over PATH, the directory synced; no
/// .lxcprov-new is left on failure. `path` must be safe_absolute_path().
std::string replace_command(const std::string& path, mode_t mode, std::optional<uid_t> uid, std::optional<gid_t> gid);

/// The argv as one command line, stderr into stdout. `argv` must be safe_command().
std::string run_command(const std::vector<std::string>& argv);

}  // namespace lxcprov::host
