// lxcprov-shell: the forced command of the lxcprov ssh accounts. It has no policy of its own: it
// collects the operation, the allow-listed variables, the session's key and whether there is a
// terminal, hands them to lxcprovd over its Unix socket, relays prompts and answers (hidden for
// secrets), prints progress, and exits with the daemon's exit code (docs/protocol.md).
//
//   command="lxcprov-shell [--socket PATH] [--key-id FP] OP"
//   OP: create|exists|delete|update|status|logs|list|info|app-logs
//   command="lxcprov-shell [--socket PATH] --relay"   (a fleet node's relay account: a byte pump)
//
// The socket path comes only from argv (the admin's sshd config), never from the environment,
// which the client controls. SSH_ORIGINAL_COMMAND may name status JOB, logs JOB, list, info NAME
// or app-logs NAME [LINES]; anything else is refused before the daemon is contacted.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/exit_codes.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "protocol/operations.hpp"

namespace {

using namespace lxcprov;

termios g_saved_termios;
bool g_echo_off = false;

void restore_echo() {
  if (g_echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_termios);
    g_echo_off = false;
  }
}

void on_signal(int sig) {
  restore_echo();
  ::_exit(128 + sig);
}

[[noreturn]] void die(int code, const std::string& message) {
  restore_echo();
  std::cerr << "lxcprov: " << message << "\n";
  std::exit(code);
}

// Text from the daemon may quote what a user or a container produced: only printable ASCII, tabs
// and UTF-8 bytes reach the terminal, so no escape sequence can repaint it.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : bytes(s))
    out.push_back((c >= 0x20 && c != 0x7f) || c == '\t' || c >= 0x80 ? static_cast<char>(c) : '?');
  return out;
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

bool read_all(int fd, char* buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = ::read(fd, buf + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::optional<nlohmann::json> read_frame(int fd) {
  std::array<uint8_t, protocol::header_size> header{};
  if (!read_all(fd, reinterpret_cast<char*>(header.data()), header.size())) return std::nullopt;
  auto len = protocol::decode_header(header, protocol::default_frame_limit);
  if (!len) die(exit_code::protocol, len.error().message);
  std::string body(*len, '\0');
  if (!read_all(fd, body.data(), body.size())) return std::nullopt;
  auto msg = protocol::decode_body(body);
  if (!msg) die(exit_code::protocol, msg.error().message);
  return *msg;
}

// The key this ssh session authenticated with, from sshd's ExposeAuthInfo file.
std::string session_key() {
  const char* path = std::getenv("SSH_USER_AUTH");
  if (!path) return "";
  std::ifstream in(path);
  std::string line;
  for (int i = 0; i < 64 && std::getline(in, line); ++i)
    if (line.rfind("publickey ", 0) == 0) return line.substr(10);
  return "";
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == '\t') {
      if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) words.push_back(cur);
  return words;
}

std::string ask(const protocol::PromptMsg& p) {
  std::string label = p.text;
  if (!p.default_value.empty() && !p.secret) {
    std::string shown = p.default_value.size() > 48 ? p.default_value.substr(0, 45) + "..." : p.default_value;
    label += " [" + shown + "]";
  }
  // Echo goes off before the prompt shows: a secret typed as soon as the prompt appears must
  // never meet a terminal that still echoes.
  if (p.secret && ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &g_saved_termios) == 0) {
    termios t = g_saved_termios;
    t.c_lflag &= static_cast<tcflag_t>(~ECHO);
    g_echo_off = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  std::cerr << printable(label) << ": " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) die(exit_code::bad_input, "input ended before every question was answered");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (g_echo_off) {
    restore_echo();
    std::cerr << "\n";
  }
  return line;
}

// The daemon's socket, connected; exits 6 when the daemon is not there.
int connect_daemon(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) die(exit_code::protocol, "socket path too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    die(exit_code::unavailable, "the provisioning service is not running; try again later");
  return fd;
}

// --relay: the forced command of a fleet node's relay account (setup-sshd.sh --fleet-entry-key).
// The entry speaks the protocol itself; this only carries bytes between ssh and the daemon's
// socket, both ways, until the daemon closes the session. The daemon, which sees this account as
// the peer, decides everything.
[[noreturn]] void relay(int fd) {
  std::array<pollfd, 2> fds{pollfd{STDIN_FILENO, POLLIN, 0}, pollfd{fd, POLLIN, 0}};
  std::array<char, 65536> buf{};
  bool stdin_open = true;
  for (;;) {
    fds[0].fd = stdin_open ? STDIN_FILENO : -1;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      ::_exit(exit_code::protocol);
    }
    if (fds[1].revents != 0) {
      const ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n <= 0) ::_exit(0);  // the daemon ended the session
      if (!write_all(STDOUT_FILENO, std::string(buf.data(), static_cast<size_t>(n)))) ::_exit(exit_code::protocol);
    }
    if (stdin_open && fds[0].revents != 0) {
      const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
      // The entry closing its side is not the end: the daemon's answer still comes back. The
      // daemon sees the close, so a session still asking questions ends instead of waiting.
      if (n <= 0) {
        stdin_open = false;
        ::shutdown(fd, SHUT_WR);
      } else if (!write_all(fd, std::string(buf.data(), static_cast<size_t>(n))))
        ::_exit(exit_code::protocol);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = "/run/lxcprov/lxcprovd.sock";
  std::string op_word;
  std::string key_id;  // from the authorized_keys command= line; a cross-check for the daemon
  bool relaying = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--socket" && i + 1 < argc)
      socket_path = argv[++i];
    else if (a == "--key-id" && i + 1 < argc)
      key_id = argv[++i];
    else if (a == "--relay")
      relaying = true;
    else if (op_word.empty() && a.rfind("-", 0) != 0)
      op_word = a;
    else
      die(exit_code::bad_input,
          "usage: lxcprov-shell [--socket PATH] [--key-id FINGERPRINT] "
          "create|exists|delete|update|status|logs|list|info|app-logs | lxcprov-shell [--socket PATH] --relay");
  }
  if (relaying) {
    ::clearenv();
    ::signal(SIGPIPE, SIG_IGN);
    relay(connect_daemon(socket_path));
  }

  std::vector<std::string> args;
  if (const char* original = std::getenv("SSH_ORIGINAL_COMMAND"); original && *original) {
    std::string_view cmd = original;
    for (unsigned char c : bytes(cmd))
      if (c < 0x20 && c != '\t') die(exit_code::bad_input, "command: control characters are not allowed");
    if (cmd.size() > 256) die(exit_code::bad_input, "command: longer than 256 characters");
    auto words = split_words(cmd);
    if (!words.empty()) {
      const std::string& verb = words.front();
      if (verb != "status" && verb != "logs" && verb != "list" && verb != "info" && verb != "app-logs" &&
          verb != op_word)
        die(exit_code::bad_input,
            "command: only 'status JOB', 'logs JOB', 'list', 'info NAME' and 'app-logs NAME [LINES]' may be given "
            "here");
      op_word = verb;
      args.assign(words.begin() + 1, words.end());
    }
  }
  auto op = protocol::parse_operation(op_word);
  if (!op)
    die(exit_code::bad_input,
        "operation: must be one of create, exists, delete, update, status, logs, list, info, app-logs");

  protocol::Hello hello;
  hello.op = std::string(protocol::to_string(*op));
  hello.tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  hello.args = args;
  hello.session_key = session_key();
  hello.key_id = key_id;
  // sshd sets SSH_CLIENT after the client's variables, so it is sshd's; only the address is kept.
  if (const char* client = std::getenv("SSH_CLIENT")) {
    std::string_view c = client;
    hello.client_addr = std::string(c.substr(0, std::min<size_t>(c.find(' '), 64)));
  }
  auto names = protocol::accepted_env(*op);
  for (const auto& name : names)
    if (const char* v = std::getenv(name.c_str())) hello.env[name] = v;
  // Nothing the client sent in the environment may influence anything this process runs later.
  ::clearenv();

  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGHUP, on_signal);
  ::signal(SIGPIPE, SIG_IGN);

  const int fd = connect_daemon(socket_path);

  if (!write_all(fd, protocol::encode_frame(protocol::to_json(hello))))
    die(exit_code::protocol, "lost the connection to the provisioning service");

  std::string job;
  for (;;) {
    auto msg = read_frame(fd);
    if (!msg) {
      if (!job.empty())
        die(exit_code::protocol, "lost the connection to the provisioning service; job " + job +
                                     " goes on: check it with 'status " + job + "'");
      die(exit_code::protocol, "lost the connection to the provisioning service");
    }
    const std::string type = (*msg)["type"];
    if (type == "prompt") {
      auto p = protocol::prompt_from_json(*msg);
      if (!p) die(exit_code::protocol, p.error().message);
      if (!hello.tty) die(exit_code::protocol, "the service asked a question without a terminal");
      std::string answer = ask(*p);
      if (!write_all(fd, protocol::encode_frame(protocol::to_json(protocol::Answer{std::move(answer)}))))
        die(exit_code::protocol, "lost the connection to the provisioning service");
    } else if (type == "notice") {
      auto n = protocol::notice_from_json(*msg);
      if (n) std::cerr << printable(n->text) << "\n";
    } else if (type == "progress") {
      auto p = protocol::progress_from_json(*msg);
      if (!p) continue;
      if (job.empty()) job = p->job;
      std::cerr << "  " << printable(p->text) << "\n";
    } else if (type == "output") {
      // A command's own output (install, build): indented under its step, on stderr so that
      // stdout carries only the result.
      auto o = protocol::output_from_json(*msg);
      if (!o) continue;
      for (const auto& line : o->lines) std::cerr << "    | " << printable(line) << "\n";
    } else if (type == "final") {
      auto f = protocol::final_from_json(*msg);
      if (!f) die(exit_code::protocol, f.error().message);
      std::ostream& out = f->exit_code == 0 ? std::cout : std::cerr;
      for (const auto& line : f->lines) out << printable(line) << "\n";
      out.flush();
      return f->exit_code;
    }
  }
}
