#pragma once
// A TCP port on 127.0.0.1 that was free a moment ago, for test servers that take a port number
// (slapd, nginx, sshd). The kernel picks it, so parallel runs do not collide.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace lxcprov::testing {

inline uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// True once something accepts connections on 127.0.0.1:`port`, within `tries` x 20 ms. A server
/// that listens has finished starting (nginx has its signal handlers and its pid file then, so a
/// stop right after cannot kill it half-started and leave a stale pid file behind).
inline bool wait_until_listening(uint16_t port, int tries = 500) {
  for (int i = 0; i < tries; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    ::usleep(20 * 1000);
  }
  return false;
}

}  // namespace lxcprov::testing
