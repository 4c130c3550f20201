#include "request/request.hpp"

#include <array>
#include <utility>

namespace lxcprov::request {

namespace {

// "delete" maps to Operation::destroy because `delete` is a C++ keyword; the wire name is the one
// users type after `ssh`, so it stays "delete".
constexpr std::array<std::pair<Operation, std::string_view>, 6> operation_names{{
    {Operation::create, "create"},
    {Operation::exists, "exists"},
    {Operation::destroy, "delete"},
    {Operation::status, "status"},
    {Operation::logs, "logs"},
    {Operation::list, "list"},
}};

}  // namespace

std::string_view to_string(Operation op) {
  for (const auto& [value, name] : operation_names) {
    if (value == op) return name;
  }
  return "unknown";
}

std::optional<Operation> parse_operation(std::string_view text) {
  // Exact match only: the verb comes from SSH_ORIGINAL_COMMAND, and accepting variants
  // ("Create", " create") would widen what an attacker can smuggle through that channel.
  for (const auto& [value, name] : operation_names) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::string format(const FieldError& error) { return error.field + ": " + error.message; }

}  // namespace lxcprov::request
