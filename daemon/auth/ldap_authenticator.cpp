#include "auth/ldap_authenticator.hpp"

#define LDAP_DEPRECATED 0
#include <lber.h>
#include <ldap.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <condition_variable>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "auth/ldap_escape.hpp"
#include "request/validation.hpp"

namespace lxcprov::auth {
namespace {

// Messages name the LDAP result class only: never a DN, filter or password.
Error unavailable(std::string_view what, int rc) {
  return make_error(Errc::unavailable, fmt::format("LDAP {}: {}", what, ldap_err2string(rc)));
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

struct LdapDeleter {
  void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using Conn = std::unique_ptr<LDAP, LdapDeleter>;
struct MsgDeleter {
  void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Msg = std::unique_ptr<LDAPMessage, MsgDeleter>;

// libldap's timeouts cover the TCP connect and waiting for LDAP results, but with Debian 12's
// libldap (GnuTLS) not the TLS handshake of ldaps:// and StartTLS: a server that accepts and then
// stays silent held the thread forever (seen in the component test). So every call also has a
// watchdog: the connect callback records the socket, and at the call's deadline the watchdog
// shuts it down, which makes any blocked read fail at once. Fail closed, whatever libldap does.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::milliseconds budget) : deadline_(std::chrono::steady_clock::now() + budget) {
    callbacks_.lc_add = on_connect;
    callbacks_.lc_del = on_disconnect;
    callbacks_.lc_arg = this;
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      if (!cv_.wait_until(lock, deadline_, [this] { return done_; }) && fd_ >= 0) {
        fired_ = true;
        ::shutdown(fd_, SHUT_RDWR);
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  ldap_conncb* callbacks() { return &callbacks_; }
  bool fired() {
    std::lock_guard lock(mutex_);
    return fired_;
  }

 private:
  static int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* ctx) {
    auto* self = static_cast<Watchdog*>(ctx->lc_arg);
    ber_socket_t fd = -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1 || fd < 0) return -1;
    std::lock_guard lock(self->mutex_);
    self->fd_ = fd;
    return 0;
  }
  static void on_disconnect(LDAP*, Sockbuf* sb, ldap_conncb* ctx) {
    // Called before libldap closes the socket (sb is null when the handle itself goes): the
    // watchdog must never shut down a number the process may reuse for another file.
    if (sb == nullptr) return;
    auto* self = static_cast<Watchdog*>(ctx->lc_arg);
    std::lock_guard lock(self->mutex_);
    self->fd_ = -1;
  }

  std::chrono::steady_clock::time_point deadline_;
  ldap_conncb callbacks_{};
  std::mutex mutex_;
  std::condition_variable cv_;
  int fd_ = -1;
  bool done_ = false;
  bool fired_ = false;
  std::thread thread_;
};

Result<Conn> connect(const config::Ldap& c, ldap_conncb* callbacks) {
  LDAP* raw = nullptr;
  int rc = ldap_initialize(&raw, c.uri.c_str());
  if (rc != LDAP_SUCCESS || !raw) return unavailable("initialize", rc);
  Conn ld(raw);
  const int version = LDAP_VERSION3;
  const timeval net = to_timeval(c.network_timeout);
  const timeval op = to_timeval(c.operation_timeout);
  const int require = c.verify_certificate ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
  const int zero = 0;
  if ((rc = ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version)) != LDAP_OPT_SUCCESS ||
      (rc = ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &net)) != LDAP_OPT_SUCCESS ||
      (rc = ldap_set_option(ld.get(), LDAP_OPT_TIMEOUT, &op)) != LDAP_OPT_SUCCESS ||
      (rc = ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF)) != LDAP_OPT_SUCCESS ||
      (rc = ldap_set_option(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &require)) != LDAP_OPT_SUCCESS ||
      (rc = ldap_set_option(ld.get(), LDAP_OPT_CONNECT_CB, callbacks)) != LDAP_OPT_SUCCESS)
    return unavailable("options", rc);
  if (!c.ca_file.empty() &&
      (rc = ldap_set_option(ld.get(), LDAP_OPT_X_TLS_CACERTFILE, c.ca_file.c_str())) != LDAP_OPT_SUCCESS)
    return unavailable("CA file", rc);
  // The TLS options above apply to this handle only once a new context is made from them.
  if ((rc = ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &zero)) != LDAP_OPT_SUCCESS)
    return unavailable("TLS context", rc);
  if (c.starttls && (rc = ldap_start_tls_s(ld.get(), nullptr, nullptr)) != LDAP_SUCCESS)
    return unavailable("StartTLS", rc);
  return ld;
}

// A simple bind: true on success, false on invalid credentials, an error for anything else.
Result<bool> simple_bind(LDAP* ld, const std::string& dn, std::string_view password) {
  // Refused here whatever the caller checked: an empty password is an "unauthenticated bind"
  // (RFC 4513 5.1.2) that many servers answer with success.
  if (password.empty()) return false;
  berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
  const int rc = ldap_sasl_bind_s(ld, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
  if (rc == LDAP_SUCCESS) return true;
  // invalidDNSyntax: a name that cannot form a DN is simply not a user.
  if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INVALID_DN_SYNTAX || rc == LDAP_INAPPROPRIATE_AUTH ||
      rc == LDAP_UNWILLING_TO_PERFORM)
    return false;
  return unavailable("bind", rc);
}

Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::unavailable, "LDAP bind password file cannot be read");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Status service_bind(LDAP* ld, const config::Ldap& c) {
  if (c.bind_dn.empty()) return {};  // anonymous search
  auto pw = read_secret_file(c.bind_password_file);
  if (!pw) return pw.error();
  Secret secret(std::move(*pw));
  auto ok = simple_bind(ld, c.bind_dn, secret.reveal());
  if (!ok) return ok.error();
  if (!*ok) return make_error(Errc::unavailable, "LDAP service account bind was refused");
  return {};
}

// Values of `attr` (or the DNs when attr is empty) of the entries `filter` finds under `base`.
Result<std::vector<std::string>> search(LDAP* ld, const config::Ldap& c, const std::string& base,
                                        const std::string& filter, const std::string& attr, int limit) {
  timeval op = to_timeval(c.operation_timeout);
  std::string attr_z = attr.empty() ? std::string(LDAP_NO_ATTRS) : attr;
  char* attrs[] = {attr_z.data(), nullptr};
  LDAPMessage* raw = nullptr;
  int rc = ldap_search_ext_s(ld, base.c_str(), LDAP_SCOPE_SUBTREE, filter.c_str(), attrs, 0, nullptr, nullptr, &op,
                             limit, &raw);
  Msg res(raw);
  if (rc == LDAP_NO_SUCH_OBJECT) return std::vector<std::string>{};
  if (rc == LDAP_SIZELIMIT_EXCEEDED && attr.empty()) return std::vector<std::string>{"", ""};  // ambiguous
  if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) return unavailable("search", rc);
  std::vector<std::string> out;
  for (LDAPMessage* e = ldap_first_entry(ld, res.get()); e; e = ldap_next_entry(ld, e)) {
    if (attr.empty()) {
      char* dn = ldap_get_dn(ld, e);
      if (dn) out.emplace_back(dn), ldap_memfree(dn);
      continue;
    }
    berval** vals = ldap_get_values_len(ld, e, attr.c_str());
    for (int i = 0; vals && vals[i]; ++i) out.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
    ldap_value_free_len(vals);
  }
  return out;
}

// The DN of `username`: from the template, or the one entry the search finds ("" when none or
// several: an ambiguous match must never authenticate anyone).
Result<std::string> user_dn(LDAP* ld, const config::Ldap& c, const std::string& username) {
  if (!c.bind_dn_template.empty()) return auth::fill_ldap_pattern(c.bind_dn_template, auth::escape_ldap_dn(username));
  if (auto s = service_bind(ld, c); !s) return s.error();
  const std::string filter = auth::fill_ldap_pattern(c.user_filter, auth::escape_ldap_filter(username));
  auto dns = search(ld, c, c.base_dn, filter, "", 2);
  if (!dns) return dns.error();
  return dns->size() == 1 ? dns->front() : std::string();
}

}  // namespace

std::chrono::milliseconds LdapAuthenticator::budget() const {
  // Connect, StartTLS or the TLS handshake, then up to three operations (service bind, search,
  // user bind): each bounded by libldap, the whole bounded by the watchdog.
  return config_.network_timeout + 2 * config_.operation_timeout;
}

Result<bool> LdapAuthenticator::verify(const std::string& username, const Secret& password) {
  // Directory matching rules ignore case and surrounding spaces ("Alice " finds alice), while
  // lxcprov keys ownership on the exact name: only names that pass lxcprov's own rule are tried.
  if (password.empty() || !request::check_username(username).ok()) return false;
  Watchdog watchdog(budget());
  auto ld = connect(config_, watchdog.callbacks());
  if (!ld) return ld.error();
  auto dn = user_dn(ld->get(), config_, username);
  if (!dn) return dn.error();
  if (dn->empty()) {
    // Same round trip as a wrong password, on a DN no entry has (invalid credentials).
    (void)simple_bind(ld->get(), "cn=lxcprov-no-such-user," + config_.base_dn, password.reveal());
    return false;
  }
  return simple_bind(ld->get(), *dn, password.reveal());
}

Result<std::vector<std::string>> LdapAuthenticator::groups(const std::string& username) {
  if (!request::check_username(username).ok()) return std::vector<std::string>{};
  Watchdog watchdog(budget());
  auto ld = connect(config_, watchdog.callbacks());
  if (!ld) return ld.error();
  auto dn = user_dn(ld->get(), config_, username);
  if (!dn) return dn.error();
  if (dn->empty()) return std::vector<std::string>{};
  // Template mode never bound as the service account: bind now if one is configured.
  if (!config_.bind_dn_template.empty())
    if (auto s = service_bind(ld->get(), config_); !s) return s.error();
  const std::string base = config_.group_base_dn.empty() ? config_.base_dn : config_.group_base_dn;
  if (base.empty()) return std::vector<std::string>{};
  const std::string filter =
      auth::fill_ldap_pattern(config_.group_filter, auth::escape_ldap_filter(username), auth::escape_ldap_filter(*dn));
  return search(ld->get(), config_, base, filter, config_.group_attr, 1000);
}

}  // namespace lxcprov::auth
