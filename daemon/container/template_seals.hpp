#pragma once
// TemplateSeals: the per-create check of a template against its seal, as the create plan's
// "clone" step sees it. Real implementation: container::StoredTemplateSeals (the fingerprint walk of
// container/template_seal.hpp against the seal in the state database). Fake: tests/fakes. Blocking;
// called from job worker threads, so implementations are thread-safe.
//
// The messages a refusal carries are made here, once, so the daemon, lxcprovctl and the tests
// agree on them. They name the template and the admin command, never a host path.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace lxcprov::container {

class TemplateSeals {
 public:
  virtual ~TemplateSeals() = default;
  /// OK when `template_name` is sealed and its fingerprint matches the seal. Errc::unavailable
  /// with not_sealed(), mismatch() or unreadable() otherwise; nothing else is ever returned, so a
  /// clone never starts from a template that was not shown to match.
  virtual Status check(const std::string& template_name) = 0;
};

/// "template NAME is not sealed; an admin must run: lxcprovctl template seal NAME"
Error not_sealed(std::string_view template_name);
/// "template NAME does not match its seal (changed since it was sealed); nothing was created — an
/// admin can run: lxcprovctl template verify NAME"
Error mismatch(std::string_view template_name);
/// The template could not be walked (missing, unreadable, a mount inside): refused like a mismatch.
Error unreadable(std::string_view template_name);

}  // namespace lxcprov::container
