#include "limits/admission.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

namespace lxcprov::limits {

std::string_view refusal_text(Verdict v) {
  switch (v) {
    case Verdict::admitted:
      return "";
    case Verdict::busy:
      return "the server is busy; try again shortly";
    case Verdict::source_full:
      return "too many sessions from your address are waiting to authenticate; finish or close one and try again";
    case Verdict::unauthenticated_full:
      return "too many sessions are waiting to authenticate; try again shortly (a registered ssh key still gets in)";
  }
  return "refused";
}

std::string source_of(uid_t peer_uid, bool trusted_peer, std::string_view client_addr) {
  if (!trusted_peer || client_addr.empty() || client_addr.size() > 64) return fmt::format("uid {}", peer_uid);
  const std::string addr(client_addr);
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET, addr.c_str(), bytes.data()) == 1) return addr;
  if (::inet_pton(AF_INET6, addr.c_str(), bytes.data()) == 1) {
    // An IPv4-mapped address is the IPv4 host; anything else counts by its /64.
    static constexpr std::array<unsigned char, 12> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(bytes.data(), mapped.data(), mapped.size()) == 0)
      return fmt::format("{}.{}.{}.{}", bytes[12], bytes[13], bytes[14], bytes[15]);
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    std::array<char, INET6_ADDRSTRLEN> text{};
    ::inet_ntop(AF_INET6, bytes.data(), text.data(), text.size());
    return std::string(text.data()) + "/64";
  }
  // Not an address (sshd always gives one): counted under the caller, not under the claim.
  return fmt::format("uid {}", peer_uid);
}

Admission::Ticket Admission::accept() {
  if (sessions() >= policy_.max_sessions) return 0;
  const Ticket t = next_++;
  sessions_.emplace(t, Entry{});
  return t;
}

Verdict Admission::unauthenticated(Ticket t, const std::string& source) {
  auto it = sessions_.find(t);
  if (it == sessions_.end()) return Verdict::busy;
  if (!it->second.source.empty()) return Verdict::admitted;  // already counted
  if (unauthenticated_from(source) >= policy_.per_source) return Verdict::source_full;
  if (unauthenticated_ >= policy_.max_sessions - policy_.reserved) return Verdict::unauthenticated_full;
  it->second.source = source;
  ++per_source_[source];
  ++unauthenticated_;
  return Verdict::admitted;
}

void Admission::authenticated(Ticket t) {
  if (auto it = sessions_.find(t); it != sessions_.end()) leave_unauthenticated(it->second);
}

void Admission::release(Ticket t) {
  auto it = sessions_.find(t);
  if (it == sessions_.end()) return;
  leave_unauthenticated(it->second);
  sessions_.erase(it);
}

int Admission::unauthenticated_from(const std::string& source) const {
  auto it = per_source_.find(source);
  return it == per_source_.end() ? 0 : it->second;
}

void Admission::leave_unauthenticated(Entry& e) {
  if (e.source.empty()) return;
  if (auto it = per_source_.find(e.source); it != per_source_.end() && --it->second <= 0) per_source_.erase(it);
  --unauthenticated_;
  e.source.clear();
}

}  // namespace lxcprov::limits
