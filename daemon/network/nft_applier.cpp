#include "network/nft_applier.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <nftables/libnftables.h>

#include "log/log.hpp"

namespace lxcprov::network {
namespace {

// libnftables keeps state in its contexts and its globals are not documented as thread-safe, so
// every use of it in the process, whatever the context, takes this one lock. A call is ~0.1 ms.
std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

// nftables 1.0.6 opens its netlink socket without SOCK_CLOEXEC. A NETLINK_NETFILTER socket opened
// by root keeps root's right to change the ruleset in whoever holds it (the kernel checks the
// opener's capabilities), so it must not survive into a child that drops privileges.
void close_netlink_sockets_on_exec() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return;
  while (const dirent* e = ::readdir(dir)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == ::dirfd(dir)) continue;
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_NETLINK) continue;
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
  ::closedir(dir);
}

// The buffers hold what the last command printed; reading them also empties them for the next.
std::string take_error(nft_ctx* ctx) {
  const char* e = nft_ctx_get_error_buffer(ctx);
  (void)nft_ctx_get_output_buffer(ctx);
  std::string out = e ? e : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

NftApplier::NftApplier(std::string what) : what_(std::move(what)) {
  std::lock_guard lock(library_mutex());
  // nft_ctx_new calls exit() when it cannot open its netlink socket (no nf_tables, no descriptor
  // left, a sandbox refusing AF_NETLINK): try one first, so lxcprovd reports it instead of vanishing.
  if (const int probe = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER); probe < 0) {
    log::error(fmt::format("nftables: cannot open a netlink socket: {}", std::strerror(errno)));
    return;
  } else {
    ::close(probe);
  }
  ctx_ = nft_ctx_new(NFT_CTX_DEFAULT);
  if (ctx_ == nullptr) return;
  close_netlink_sockets_on_exec();
  // Captured, not printed: the daemon's stdout and stderr are the journal.
  if (nft_ctx_buffer_output(ctx_) != 0 || nft_ctx_buffer_error(ctx_) != 0) {
    nft_ctx_free(ctx_);
    ctx_ = nullptr;
  }
}

NftApplier::~NftApplier() {
  std::lock_guard lock(library_mutex());
  if (ctx_ != nullptr) nft_ctx_free(ctx_);
}

Status NftApplier::apply(const std::string& ruleset) {
  std::lock_guard lock(library_mutex());
  if (ctx_ == nullptr) {
    log::error(fmt::format("nftables: not set up (see the start-up log), cannot install {}", what_));
    return make_error(Errc::unavailable, fmt::format("installing {} failed (nftables could not start)", what_));
  }
  const int rc = nft_run_cmd_from_buffer(ctx_, ruleset.c_str());
  const std::string message = take_error(ctx_);
  if (rc != 0) {
    log::error(fmt::format("nftables refused the ruleset for {}: {}", what_, message));
    return make_error(Errc::unavailable, fmt::format("installing {} failed (nft refused the ruleset)", what_));
  }
  return {};
}

}  // namespace lxcprov::network
