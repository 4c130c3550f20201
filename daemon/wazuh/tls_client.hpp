#pragma once
// A TLS client connection with a hard deadline on everything (connect, handshake, each read and
// write), on a non-blocking socket driven by poll(): a manager that is down, slow or never answers
// costs at most the configured timeout. The server is checked against a CA file (or the system
// store) and its name or address; or, when a pin is set, its certificate's SHA-256 must match
// (for managers with self-signed certificates, such as wazuh-authd's default). Blocking: call
// from a worker thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace lxcprov::wazuh {

using Deadline = std::chrono::steady_clock::time_point;

struct TlsOptions {
  std::string host;  ///< name or address; also what the certificate must be for
  uint16_t port = 0;
  std::string ca_file;     ///< PEM CA bundle; "" = the system store
  std::string pin_sha256;  ///< 64 lowercase hex digits of the certificate's SHA-256; "" = CA check
};

class TlsConnection {
 public:
  /// Errc::timeout past `deadline`; Errc::unavailable when nothing listens or the certificate is
  /// refused (the message says which).
  static Result<std::unique_ptr<TlsConnection>> connect(const TlsOptions& options, Deadline deadline);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  Status write_all(std::string_view data, Deadline deadline);
  /// Reads until the peer closes, or (stop_at_newline) through the first '\n'. Errc::unavailable
  /// past `max` bytes.
  Result<std::string> read(size_t max, bool stop_at_newline, Deadline deadline);

 private:
  TlsConnection() = default;
  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

/// SHA-256 of a PEM certificate file as 64 lowercase hex digits (the form pins take), or "".
std::string certificate_sha256(const std::string& pem_path);

}  // namespace lxcprov::wazuh
