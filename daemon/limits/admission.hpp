#pragma once
// Admission: who may hold one of the daemon's sessions (docs/security.md, "Denial of service
// before authentication"). Pure and single-threaded (the server's io thread owns it); the caller
// says what happened, nothing here reads a clock or a socket.
//
// A session goes through three states:
//   pending          accepted, `hello` not read yet (counts against max_sessions only);
//   unauthenticated  `hello` read, no identity yet: counted per source and in total, and the
//                    unauthenticated sessions together may hold at most max_sessions - reserved;
//   authenticated    a registered key or a checked password: counts against max_sessions only.
// So one source cannot hold more than `per_source` sessions that have proved nothing, all
// sources together cannot take the last `reserved` places, and someone with a key (or, from
// another source, a password) always finds room while an attacker holds idle sessions open.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace lxcprov::limits {

struct AdmissionPolicy {
  int max_sessions = 256;  ///< every session, whatever its state
  int reserved = 32;       ///< places only authenticated sessions may use
  int per_source = 32;     ///< unauthenticated sessions of one source
};

enum class Verdict {
  admitted,
  busy,                  ///< max_sessions reached
  source_full,           ///< this source already holds per_source unauthenticated sessions
  unauthenticated_full,  ///< the unauthenticated sessions hold max_sessions - reserved places
};

/// A sentence for the client (and the log) saying why a session was refused.
std::string_view refusal_text(Verdict v);

/// Who a session comes from, for counting: the ssh client's address when an ssh account (or root,
/// trusted anyway) forwarded one, IPv6 reduced to its /64 (one host usually owns a whole /64, as
/// sshd's PerSourceNetBlockSize 32:64 assumes); otherwise the local caller's uid ("uid 1234"),
/// whose own claims about an address are not believed.
std::string source_of(uid_t peer_uid, bool trusted_peer, std::string_view client_addr);

class Admission {
 public:
  using Ticket = uint64_t;  ///< 0 = none

  explicit Admission(AdmissionPolicy policy) : policy_(policy) {}

  /// A connection was accepted: a pending ticket, or 0 when every place is taken.
  Ticket accept();
  /// `hello` named the source and no key bound an identity: counted as unauthenticated, or
  /// refused (the ticket then stays pending until released).
  Verdict unauthenticated(Ticket t, const std::string& source);
  /// A registered key or a checked password: out of the unauthenticated counts.
  void authenticated(Ticket t);
  /// The session ended (in any state).
  void release(Ticket t);

  int sessions() const { return static_cast<int>(sessions_.size()); }
  int unauthenticated_total() const { return unauthenticated_; }
  int unauthenticated_from(const std::string& source) const;
  /// Distinct sources with unauthenticated sessions (bounded by the sessions themselves).
  size_t sources() const { return per_source_.size(); }
  const AdmissionPolicy& policy() const { return policy_; }

 private:
  struct Entry {
    std::string source;  ///< "" unless unauthenticated
  };
  void leave_unauthenticated(Entry& e);

  AdmissionPolicy policy_;
  Ticket next_ = 1;
  std::map<Ticket, Entry> sessions_;
  std::map<std::string, int, std::less<>> per_source_;
  int unauthenticated_ = 0;
};

}  // namespace lxcprov::limits
