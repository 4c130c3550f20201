#include "protocol/frame.hpp"

#include <fmt/format.h>

namespace lxcprov::protocol {

std::string encode_frame(const nlohmann::json& message) {
  // error_handler::replace: a body must always be valid UTF-8, whatever bytes a field carried.
  std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const auto n = static_cast<uint32_t>(body.size());
  std::string frame;
  frame.reserve(header_size + body.size());
  frame.push_back(static_cast<char>((n >> 24) & 0xff));
  frame.push_back(static_cast<char>((n >> 16) & 0xff));
  frame.push_back(static_cast<char>((n >> 8) & 0xff));
  frame.push_back(static_cast<char>(n & 0xff));
  frame += body;
  return frame;
}

Result<uint32_t> decode_header(const std::array<uint8_t, header_size>& header, uint32_t limit) {
  const uint32_t n =
      (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n == 0) return make_error(Errc::invalid_argument, "malformed frame: empty body");
  if (n > limit)
    return make_error(Errc::invalid_argument,
                      fmt::format("malformed frame: body of {} bytes exceeds the limit of {} bytes", n, limit));
  return n;
}

Result<nlohmann::json> decode_body(std::string_view body) {
  auto message = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) return make_error(Errc::invalid_argument, "malformed frame: body is not valid JSON");
  if (!message.is_object()) return make_error(Errc::invalid_argument, "malformed frame: body is not a JSON object");
  auto type = message.find("type");
  if (type == message.end() || !type->is_string())
    return make_error(Errc::invalid_argument, "malformed frame: no string member \"type\"");
  return message;
}

}  // namespace lxcprov::protocol
