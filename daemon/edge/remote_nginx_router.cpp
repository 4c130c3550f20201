#include "edge/remote_nginx_router.hpp"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "edge/process.hpp"
#include "log/log.hpp"

namespace lxcprov::edge {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t output_limit = 64 * 1024;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct SessionHandle {
  ssh_session s = ssh_new();
  bool connected = false;
  SessionHandle() = default;
  SessionHandle(const SessionHandle&) = delete;
  SessionHandle& operator=(const SessionHandle&) = delete;
  ~SessionHandle() {
    if (connected) ssh_disconnect(s);
    if (s) ssh_free(s);
  }
};

struct ChannelHandle {
  ssh_channel c = nullptr;
  ChannelHandle() = default;
  ChannelHandle(const ChannelHandle&) = delete;
  ChannelHandle& operator=(const ChannelHandle&) = delete;
  ~ChannelHandle() {
    if (c) {
      ssh_channel_close(c);
      ssh_channel_free(c);
    }
  }
};

struct KeyHandle {
  ssh_key k = nullptr;
  KeyHandle() = default;
  KeyHandle(KeyHandle&& o) noexcept : k(std::exchange(o.k, nullptr)) {}
  KeyHandle& operator=(KeyHandle&&) = delete;
  ~KeyHandle() { ssh_key_free(k); }
};

struct RemoteResult {
  int exit_status = -1;
  std::string output;
};

class Deadline {
 public:
  explicit Deadline(std::chrono::milliseconds budget) : end_(Clock::now() + budget) {}
  long remaining_ms() const {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now()).count());
  }
  bool passed() const { return remaining_ms() <= 0; }

 private:
  Clock::time_point end_;
};

Error timed_out() { return make_error(Errc::timeout, "installing the HTTP route timed out (nginx host)"); }

// libssh bounds each blocking call by the session timeout; giving every call only what is left
// of the budget bounds the whole install.
Status arm(ssh_session s, const Deadline& d) {
  const long ms = d.remaining_ms();
  if (ms <= 0) return timed_out();
  long sec = ms / 1000, usec = (ms % 1000) * 1000;
  if (ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec) != SSH_OK || ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec) != SSH_OK)
    return make_error(Errc::internal, "cannot set the ssh timeout");
  return {};
}

// Read by us rather than by ssh_pki_import_privkey_file, so the checks and the read are of the
// same file (O_NOFOLLOW + fstat), and a key others can read or replace is refused.
Result<KeyHandle> load_private_key(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return make_error(Errc::io, fmt::format("cannot open the ssh key: {}", std::strerror(errno)));
  struct stat st {};
  std::string text;
  Status s;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    s = make_error(Errc::permission_denied, "the ssh key must be a regular file");
  else if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    s = make_error(Errc::permission_denied, "the ssh key must be owned by the daemon's user with mode 0600");
  else if (st.st_size > 64 * 1024)
    s = make_error(Errc::invalid_argument, "the ssh key file is too large");
  if (s) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = make_error(Errc::io, "cannot read the ssh key");
        break;
      }
      text.append(buf, static_cast<size_t>(n));
    }
    OPENSSL_cleanse(buf, sizeof buf);
  }
  ::close(fd);
  KeyHandle key;
  if (s && ssh_pki_import_privkey_base64(text.c_str(), nullptr, nullptr, nullptr, &key.k) != SSH_OK)
    s = make_error(Errc::invalid_argument, "the ssh key cannot be read (unencrypted OpenSSH or PEM private key expected)");
  OPENSSL_cleanse(text.data(), text.size());
  if (!s) return s.error();
  return key;
}

Result<std::string> server_fingerprint(ssh_session s) {
  KeyHandle key;
  if (ssh_get_server_publickey(s, &key.k) != SSH_OK) return make_error(Errc::unavailable, "no host key from the nginx host");
  unsigned char* hash = nullptr;
  size_t len = 0;
  if (ssh_get_publickey_hash(key.k, SSH_PUBLICKEY_HASH_SHA256, &hash, &len) != 0)
    return make_error(Errc::internal, "cannot hash the host key");
  char* fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, len);
  ssh_clean_pubkey_hash(&hash);
  if (!fp) return make_error(Errc::internal, "cannot format the host key fingerprint");
  std::string out(fp);
  ssh_string_free_char(fp);
  return out;
}

// One exec channel: `command` (a fixed string), `input` on its stdin, its output (stderr is
// redirected into stdout by the command itself) and exit status back.
Result<RemoteResult> run(ssh_session s, const std::string& command, const std::string& input, const Deadline& d) {
  if (auto a = arm(s, d); !a) return a.error();
  ChannelHandle ch;
  ch.c = ssh_channel_new(s);
  if (!ch.c || ssh_channel_open_session(ch.c) != SSH_OK || ssh_channel_request_exec(ch.c, command.c_str()) != SSH_OK)
    return d.passed() ? timed_out() : make_error(Errc::unavailable, fmt::format("ssh exec failed: {}", ssh_get_error(s)));
  for (size_t done = 0; done < input.size();) {
    const size_t chunk = std::min<size_t>(input.size() - done, 32 * 1024);
    const int n = ssh_channel_write(ch.c, input.data() + done, static_cast<uint32_t>(chunk));
    if (n <= 0) return d.passed() ? timed_out() : make_error(Errc::unavailable, "ssh write failed");
    done += static_cast<size_t>(n);
    if (d.passed()) return timed_out();
  }
  if (ssh_channel_send_eof(ch.c) != SSH_OK) return make_error(Errc::unavailable, "ssh eof failed");
  RemoteResult r;
  char buf[4096];
  while (!ssh_channel_is_eof(ch.c)) {
    const long ms = d.remaining_ms();
    if (ms <= 0) return timed_out();
    const int n = ssh_channel_read_timeout(ch.c, buf, sizeof buf, 0, static_cast<int>(ms));
    if (n == SSH_ERROR) return make_error(Errc::unavailable, fmt::format("ssh read failed: {}", ssh_get_error(s)));
    if (n > 0 && r.output.size() < output_limit)
      r.output.append(buf, std::min<size_t>(static_cast<size_t>(n), output_limit - r.output.size()));
  }
  if (auto a = arm(s, d); !a) return a.error();
  r.exit_status = ssh_channel_get_exit_status(ch.c);
  return r;
}

}  // namespace

RemoteNginxRouter::RemoteNginxRouter(RemoteNginxSettings settings)
    : s_(std::move(settings)),
      commands_(network::remote_nginx_commands(s_.include_file, s_.test_command, s_.reload_command)) {}

RemoteTimings RemoteNginxRouter::last_timings() const {
  std::lock_guard lock(mutex_);
  return timings_;
}

Status RemoteNginxRouter::install(const std::string& routes) {
  std::lock_guard lock(mutex_);
  if (installed_ && *installed_ == routes) return {};
  const auto t0 = Clock::now();
  const Deadline deadline(s_.timeout);
  const std::string where = fmt::format("{}@{}:{}", s_.user, s_.host, s_.port);
  const auto fail = [&](const Error& e, std::string_view detail) {
    log::error(fmt::format("remote nginx {}: {}", where, detail));
    return e;
  };

  auto key = load_private_key(s_.private_key_file);
  if (!key) return fail(key.error(), fmt::format("{}: {}", s_.private_key_file, key.error().message));

  SessionHandle session;
  if (!session.s) return make_error(Errc::internal, "cannot create an ssh session");
  // Only what is configured here: no ~/.ssh/config or /etc/ssh/ssh_config (which could add a
  // ProxyCommand or change the host), and known_hosts files that cannot vouch for anything.
  bool no = false;
  int nodelay = 1;
  unsigned int port = s_.port;
  const char* nowhere = "/dev/null";
  if (ssh_options_set(session.s, SSH_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
      ssh_options_set(session.s, SSH_OPTIONS_HOST, s_.host.c_str()) != SSH_OK ||
      ssh_options_set(session.s, SSH_OPTIONS_PORT, &port) != SSH_OK ||
      ssh_options_set(session.s, SSH_OPTIONS_USER, s_.user.c_str()) != SSH_OK ||
      ssh_options_set(session.s, SSH_OPTIONS_KNOWNHOSTS, nowhere) != SSH_OK ||
      ssh_options_set(session.s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, nowhere) != SSH_OK ||
      // Small request/reply packets: with Nagle each command waited for a delayed ACK (~40 ms).
      ssh_options_set(session.s, SSH_OPTIONS_NODELAY, &nodelay) != SSH_OK)
    return fail(make_error(Errc::internal, "cannot configure the ssh session"), ssh_get_error(session.s));
  if (auto a = arm(session.s, deadline); !a) return a.error();
  if (ssh_connect(session.s) != SSH_OK) {
    const Error e = deadline.passed() ? timed_out()
                                      : make_error(Errc::unavailable, "installing the HTTP route failed (nginx host unreachable)");
    return fail(e, fmt::format("connect: {}", ssh_get_error(session.s)));
  }
  session.connected = true;

  auto fingerprint = server_fingerprint(session.s);
  if (!fingerprint) return fail(fingerprint.error(), fingerprint.error().message);
  if (*fingerprint != s_.host_key_sha256)
    return fail(make_error(Errc::permission_denied, "installing the HTTP route failed (the nginx host's key does not match)"),
                fmt::format("host key {} is not the configured {}; refusing to send anything", *fingerprint,
                            s_.host_key_sha256));

  if (auto a = arm(session.s, deadline); !a) return a.error();
  if (ssh_userauth_publickey(session.s, nullptr, key->k) != SSH_AUTH_SUCCESS) {
    const Error e = deadline.passed() ? timed_out()
                                      : make_error(Errc::permission_denied,
                                                   "installing the HTTP route failed (the nginx host refused lxcprov's key)");
    return fail(e, fmt::format("public key authentication failed: {}", ssh_get_error(session.s)));
  }
  timings_ = {ms_since(t0), 0};

  // From here on the remote file may change, so it is no longer known to be what nginx runs.
  installed_.reset();
  auto up = run(session.s, commands_.upload, routes, deadline);
  if (!up || up->exit_status != 0)
    return fail(up ? make_error(Errc::io, "installing the HTTP route failed (cannot write the file on the nginx host)")
                   : up.error(),
                fmt::format("upload to {}: {}", s_.include_file, up ? first_line(up->output) : up.error().message));

  const auto restore = [&] {
    auto r = run(session.s, commands_.restore, "", deadline);
    if (!r || r->exit_status != 0)
      log::error(fmt::format("remote nginx {}: restoring the previous {} failed: {}", where, s_.include_file,
                             r ? first_line(r->output) : r.error().message));
  };
  auto test = run(session.s, commands_.test, "", deadline);
  if (!test || test->exit_status != 0) {
    restore();
    return fail(test ? make_error(Errc::unavailable, "installing the HTTP route failed (nginx -t refused the configuration)")
                     : test.error(),
                fmt::format("nginx -t refused the new routes: {}", test ? first_line(test->output) : test.error().message));
  }
  auto reload = run(session.s, commands_.reload, "", deadline);
  if (!reload || reload->exit_status != 0) {
    restore();
    return fail(reload ? make_error(Errc::unavailable,
                                    "installing the HTTP route failed (nginx could not reload; is it running?)")
                       : reload.error(),
                fmt::format("reload failed: {}", reload ? first_line(reload->output) : reload.error().message));
  }
  installed_ = routes;
  timings_.total_ms = ms_since(t0);
  log::debug(fmt::format("remote nginx {}: routes installed in {:.1f} ms (connect + auth {:.1f} ms)", where,
                         timings_.total_ms, timings_.connect_ms));
  return {};
}

}  // namespace lxcprov::edge
