#pragma once
// Framing of the lxcprov-shell <-> lxcprovd protocol (docs/protocol.md): each message is a 4-byte
// big-endian length followed by that many bytes of UTF-8 JSON holding one object with a string
// member "type". Pure: encoding and checking only; the sockets live in server/ and helpers/.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace lxcprov::protocol {

inline constexpr size_t header_size = 4;
/// Largest body either side accepts. Big enough for every accepted variable at its cap.
inline constexpr uint32_t default_frame_limit = 1u << 20;

/// Header + body for `message`.
std::string encode_frame(const nlohmann::json& message);
/// The body length from a header; Errc::invalid_argument when 0 or above `limit`.
Result<uint32_t> decode_header(const std::array<uint8_t, header_size>& header, uint32_t limit);
/// The message in a body: a JSON object with a string "type"; Errc::invalid_argument otherwise.
Result<nlohmann::json> decode_body(std::string_view body);

}  // namespace lxcprov::protocol
