#pragma once
// WazuhClient: wazuh::Manager over the network. Enrollment speaks wazuh-authd's protocol
// (wazuh/enrollment.hpp) over TLS to manager:enrollment_port; look-ups and deletes use the manager
// REST API (wazuh/api.hpp) over HTTPS with a JWT from POST /security/user/authenticate. Each call
// is bounded by `timeout` as a whole. Passwords are read from their root-only files at each call
// (so a rotation needs no restart), live in Secret, and never reach argv, logs or error messages.

#include <string>

#include "config/config.hpp"
#include "wazuh/manager.hpp"
#include "wazuh/tls_client.hpp"

namespace lxcprov::wazuh {

class WazuhClient : public wazuh::Manager {
 public:
  explicit WazuhClient(config::Wazuh settings) : s_(std::move(settings)) {}

  Result<wazuh::Enrollment> enroll(const std::string& name) override;
  Result<std::vector<wazuh::AgentRef>> find(const std::string& name) override;
  Status remove(const std::string& id) override;

 private:
  struct Response {
    int status = 0;
    std::string body;
  };
  /// One HTTPS request (Connection: close) within `deadline`.
  Result<Response> http(const std::string& method, const std::string& target, const std::string& authorization,
                        Deadline deadline);
  Result<Secret> login(Deadline deadline);
  Result<TlsOptions> api_endpoint() const;

  config::Wazuh s_;
};

/// The secret in `path`: its first line. Errc::permission_denied when the file is readable or
/// writable by group or others (a secret in a world-readable file is already leaked).
Result<Secret> read_secret_file(const std::string& path);

}  // namespace lxcprov::wazuh
