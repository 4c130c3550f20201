#include "container/template_seals.hpp"

#include <fmt/format.h>

namespace lxcprov::container {

Error not_sealed(std::string_view name) {
  return make_error(Errc::unavailable,
                    fmt::format("template {0} is not sealed; an admin must run: lxcprovctl template seal {0}", name));
}

Error mismatch(std::string_view name) {
  return make_error(Errc::unavailable,
                    fmt::format("template {0} does not match its seal (changed since it was sealed); nothing was "
                                "created — an admin can run: lxcprovctl template verify {0}",
                                name));
}

Error unreadable(std::string_view name) {
  return make_error(Errc::unavailable, fmt::format("template {0} could not be checked against its seal; nothing was "
                                                   "created — an admin can run: lxcprovctl template verify {0}",
                                                   name));
}

}  // namespace lxcprov::container
