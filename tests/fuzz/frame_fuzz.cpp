// The frame decoder (protocol/frame.*): what any local peer of the daemon's socket, or a daemon
// to lxcprov-shell, can send before a single message is understood. Invariants: a header is
// accepted only within (0, limit]; a body is accepted only as a JSON object with a string "type";
// an accepted message survives encode_frame and decodes to the same value.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "protocol/frame.hpp"

namespace protocol = lxcprov::protocol;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // The limit comes from the input's end (FuzzedDataProvider takes integers from there), the header
  // and body from its start, so a seed is a real frame followed by one byte.
  const uint32_t limit = in.ConsumeBool() ? protocol::default_frame_limit : in.ConsumeIntegral<uint32_t>();
  std::array<uint8_t, protocol::header_size> header{};
  const auto head = in.ConsumeBytes<uint8_t>(protocol::header_size);
  std::copy(head.begin(), head.end(), header.begin());
  const auto n = protocol::decode_header(header, limit);
  const uint32_t raw =
      (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (n.has_value() != (raw != 0 && raw <= limit)) std::abort();
  if (n && *n != raw) std::abort();

  const std::string body = in.ConsumeRemainingBytesAsString();
  auto message = protocol::decode_body(body);
  if (!message) {
    if (message.error().message.empty()) std::abort();
    return 0;
  }
  if (!message->is_object() || !message->contains("type") || !(*message)["type"].is_string()) std::abort();

  const std::string frame = protocol::encode_frame(*message);
  if (frame.size() < protocol::header_size) std::abort();
  std::array<uint8_t, protocol::header_size> again{};
  for (size_t i = 0; i < again.size(); ++i) again[i] = static_cast<uint8_t>(frame[i]);
  const auto len = protocol::decode_header(again, UINT32_MAX);
  if (!len || *len != frame.size() - protocol::header_size) std::abort();
  const auto back = protocol::decode_body(std::string_view(frame).substr(protocol::header_size));
  if (!back || *back != *message) std::abort();
  return 0;
}
