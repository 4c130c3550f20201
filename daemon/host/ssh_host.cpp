#include "host/ssh_host.hpp"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "host/ssh_commands.hpp"
#include "log/log.hpp"

namespace lxcprov::host {
namespace {

using Clock = std::chrono::steady_clock;

struct KeyHandle {
  ssh_key k = nullptr;
  KeyHandle() = default;
  KeyHandle(KeyHandle&& o) noexcept : k(std::exchange(o.k, nullptr)) {}
  KeyHandle& operator=(KeyHandle&&) = delete;
  ~KeyHandle() { ssh_key_free(k); }
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

Error timed_out() { return make_error(Errc::timeout, "the remote host did not answer in time"); }

// libssh bounds each blocking call by the session timeout; giving every call only what is left
// of the budget bounds the whole operation.
Status arm(ssh_session s, const Deadline& d) {
  const long ms = d.remaining_ms();
  if (ms <= 0) return timed_out();
  long sec = ms / 1000, usec = (ms % 1000) * 1000;
  if (ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &sec) != SSH_OK ||
      ssh_options_set(s, SSH_OPTIONS_TIMEOUT_USEC, &usec) != SSH_OK)
    return make_error(Errc::internal, "cannot set the ssh timeout");
  return {};
}

// Read by us rather than by ssh_pki_import_privkey_file, so the checks and the read are of the
// same file (O_NOFOLLOW + fstat), and a key others can read or replace is refused.
Result<KeyHandle> load_private_key(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return make_error(Errc::permission_denied, fmt::format("cannot open the ssh key: {}", std::strerror(errno)));
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
    s = make_error(Errc::invalid_argument,
                   "the ssh key cannot be read (unencrypted OpenSSH or PEM private key expected)");
  OPENSSL_cleanse(text.data(), text.size());
  if (!s) return s.error();
  return key;
}

Result<std::string> server_fingerprint(ssh_session s) {
  KeyHandle key;
  if (ssh_get_server_publickey(s, &key.k) != SSH_OK)
    return make_error(Errc::unavailable, "no host key from the remote host");
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

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

struct SshHost::Session {
  ssh_session s = ssh_new();
  bool connected = false;
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() {
    if (connected) ssh_disconnect(s);
    if (s) ssh_free(s);
  }
};

SshHost::SshHost(SshHostSettings settings) : s_(std::move(settings)) {}
SshHost::~SshHost() = default;

Status SshHost::connect_now() {
  std::lock_guard lock(mutex_);
  return connect_locked();
}

Status SshHost::connect_locked() {
  const Deadline d(s_.timeout);
  const std::string where = fmt::format("{}@{}:{}", s_.user, s_.host, s_.port);
  const auto fail = [&](const Error& e, std::string_view detail) {
    log::error(fmt::format("ssh {}: {}", where, detail));
    session_.reset();
    return e;
  };
  auto key = load_private_key(s_.private_key_file);
  if (!key) return fail(key.error(), fmt::format("{}: {}", s_.private_key_file, key.error().message));

  auto session = std::make_unique<Session>();
  if (!session->s) return make_error(Errc::internal, "cannot create an ssh session");
  // Only what is configured here: no ~/.ssh/config or /etc/ssh/ssh_config (which could add a
  // ProxyCommand or change the host), and known_hosts files that cannot vouch for anything.
  bool no = false;
  int nodelay = 1;
  unsigned int port = s_.port;
  const char* nowhere = "/dev/null";
  if (ssh_options_set(session->s, SSH_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
      ssh_options_set(session->s, SSH_OPTIONS_HOST, s_.host.c_str()) != SSH_OK ||
      ssh_options_set(session->s, SSH_OPTIONS_PORT, &port) != SSH_OK ||
      ssh_options_set(session->s, SSH_OPTIONS_USER, s_.user.c_str()) != SSH_OK ||
      ssh_options_set(session->s, SSH_OPTIONS_KNOWNHOSTS, nowhere) != SSH_OK ||
      ssh_options_set(session->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, nowhere) != SSH_OK ||
      // Small request/reply packets: with Nagle each command waited for a delayed ACK (~40 ms).
      ssh_options_set(session->s, SSH_OPTIONS_NODELAY, &nodelay) != SSH_OK)
    return fail(make_error(Errc::internal, "cannot configure the ssh session"), ssh_get_error(session->s));
  if (auto a = arm(session->s, d); !a) return a.error();
  if (ssh_connect(session->s) != SSH_OK) {
    const Error e = d.passed() ? timed_out() : make_error(Errc::unavailable, "the remote host is unreachable");
    return fail(e, fmt::format("connect: {}", ssh_get_error(session->s)));
  }
  session->connected = true;

  auto fingerprint = server_fingerprint(session->s);
  if (!fingerprint) return fail(fingerprint.error(), fingerprint.error().message);
  if (*fingerprint != s_.host_key_sha256)
    return fail(make_error(Errc::permission_denied, "the remote host's key does not match the configured one"),
                fmt::format("host key {} is not the configured {}; refusing to send anything", *fingerprint,
                            s_.host_key_sha256));
  if (auto a = arm(session->s, d); !a) return a.error();
  if (ssh_userauth_publickey(session->s, nullptr, key->k) != SSH_AUTH_SUCCESS) {
    const Error e =
        d.passed() ? timed_out() : make_error(Errc::permission_denied, "the remote host refused lxcprov's key");
    return fail(e, fmt::format("public key authentication failed: {}", ssh_get_error(session->s)));
  }
  session_ = std::move(session);
  return {};
}

Result<ProcessResult> SshHost::exec(const std::string& command, std::string_view input,
                                    std::chrono::milliseconds timeout) {
  // A kept connection may have been closed by the other side since: one fresh try then.
  for (int attempt = 0;; ++attempt) {
    const bool reused = session_ != nullptr;
    if (!session_)
      if (Status c = connect_locked(); !c) return c.error();
    const Deadline d(timeout);
    ssh_session s = session_->s;
    if (auto a = arm(s, d); !a) return a.error();
    ChannelHandle ch;
    ch.c = ssh_channel_new(s);
    if (!ch.c || ssh_channel_open_session(ch.c) != SSH_OK ||
        ssh_channel_request_exec(ch.c, command.c_str()) != SSH_OK) {
      const std::string why = ssh_get_error(s);
      session_.reset();
      if (reused && attempt == 0 && !d.passed()) continue;
      log::error(fmt::format("ssh {}@{}:{}: exec failed: {}", s_.user, s_.host, s_.port, why));
      return d.passed() ? timed_out() : make_error(Errc::unavailable, "the remote host closed the connection");
    }
    const auto broken = [&](Error e) {
      session_.reset();
      return e;
    };
    for (size_t done = 0; done < input.size();) {
      const size_t chunk = std::min<size_t>(input.size() - done, 32 * 1024);
      const int n = ssh_channel_write(ch.c, input.data() + done, static_cast<uint32_t>(chunk));
      if (n <= 0) return broken(d.passed() ? timed_out() : make_error(Errc::unavailable, "ssh write failed"));
      done += static_cast<size_t>(n);
      if (d.passed()) return broken(timed_out());
    }
    if (ssh_channel_send_eof(ch.c) != SSH_OK) return broken(make_error(Errc::unavailable, "ssh eof failed"));
    ProcessResult r;
    char buf[4096];
    while (!ssh_channel_is_eof(ch.c)) {
      const long ms = d.remaining_ms();
      if (ms <= 0) return broken(timed_out());
      const int n = ssh_channel_read_timeout(ch.c, buf, sizeof buf, 0, static_cast<int>(ms));
      if (n == SSH_ERROR) return broken(make_error(Errc::unavailable, "ssh read failed"));
      if (n > 0 && r.output.size() < max_output)
        r.output.append(buf, std::min<size_t>(static_cast<size_t>(n), max_output - r.output.size()));
    }
    if (auto a = arm(s, d); !a) return broken(a.error());
    r.exit_status = ssh_channel_get_exit_status(ch.c);
    return r;
  }
}

Result<std::string> SshHost::read_file(const std::string& path) {
  if (!safe_absolute_path(path)) return make_error(Errc::internal, "SshHost: unsafe path");
  std::lock_guard lock(mutex_);
  auto r = exec(read_command(path), "", s_.timeout);
  if (!r) return r.error();
  if (r->exit_status == missing_file_status)
    return make_error(Errc::not_found, fmt::format("no file {} on the remote host", base_name(path)));
  if (r->exit_status != 0)
    return make_error(Errc::io,
                      fmt::format("cannot read {} on the remote host: {}", base_name(path), first_line(r->output)));
  return std::move(r->output);
}

Status SshHost::replace_file(const std::string& path, std::string_view content, const FileMode& mode) {
  if (!safe_absolute_path(path)) return make_error(Errc::internal, "SshHost: unsafe path");
  std::lock_guard lock(mutex_);
  auto r = exec(replace_command(path, mode.mode, mode.uid, mode.gid), content, s_.timeout);
  if (!r) return r.error();
  if (r->exit_status != 0) {
    log::error(fmt::format("ssh {}@{}: writing {} failed: {}", s_.user, s_.host, path, first_line(r->output)));
    return make_error(Errc::io, fmt::format("cannot write {} on the remote host", base_name(path)));
  }
  return {};
}

Result<ProcessResult> SshHost::run(const std::vector<std::string>& argv, std::string_view input,
                                   std::chrono::milliseconds timeout) {
  if (!safe_command(argv)) return make_error(Errc::internal, "SshHost: unsafe command");
  std::lock_guard lock(mutex_);
  return exec(run_command(argv), input, timeout);
}

Result<ProcessResult> SshHost::run_as(const std::vector<std::string>&, const RunAsOptions&) {
  // The remote account's shell would see the environment on its command line (or needs sshd's
  // AcceptEnv): nothing secret may travel that way, and nothing remote needs it.
  return make_error(Errc::internal, "SshHost: run_as is not supported on a remote host");
}

}  // namespace lxcprov::host
