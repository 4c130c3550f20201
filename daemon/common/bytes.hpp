#pragma once
// bytes(): the bytes of a string as unsigned char, for byte-wise checks and escapes without the
// sign surprises of char. A view: the string must outlive it. Pure.

#include <span>
#include <string_view>

namespace lxcprov {

inline std::span<const unsigned char> bytes(std::string_view s) {
  return {reinterpret_cast<const unsigned char*>(s.data()), s.size()};
}

}  // namespace lxcprov
