#include "request/request.hpp"

namespace lxcprov::request {

std::string format(const FieldError& error) { return error.field + ": " + error.message; }

}  // namespace lxcprov::request
