#include "jobs/output_lines.hpp"

#include <fmt/format.h>

#include "common/bytes.hpp"

namespace lxcprov::jobs {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(std::span<const unsigned char> s, std::size_t i) {
  const unsigned char c = s[i];
  std::size_t n = 0;
  unsigned min = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  unsigned cp = c & (0xffu >> (n + 1));
  for (std::size_t k = 1; k < n; ++k) {
    if ((s[i + k] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i + k] & 0x3fu);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not text.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return 0;
  return n;
}

}  // namespace

std::string escape_output(std::string_view text) {
  const auto b = bytes(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < b.size();) {
    const unsigned char c = b[i];
    if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
      out += static_cast<char>(c);
      ++i;
    } else if (c >= 0x80) {
      if (const std::size_t n = utf8_length(b, i)) {
        out.append(text.substr(i, n));
        i += n;
      } else {
        out += fmt::format("\\x{:02x}", c);
        ++i;
      }
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

void OutputLines::take_line(std::vector<std::string>& out) {
  std::string raw = std::move(pending_);
  pending_.clear();
  if (!raw.empty() && raw.back() == '\r') raw.pop_back();  // CRLF output
  if (capped_) return;
  std::string line = escape_output(raw);
  if (shown_ + line.size() + 1 > max_total_) {
    capped_ = true;
    out.push_back(fmt::format("[lxcprov: output beyond {} KiB is not shown]", max_total_ / 1024));
    return;
  }
  shown_ += line.size() + 1;
  out.push_back(std::move(line));
}

std::vector<std::string> OutputLines::feed(std::string_view chunk) {
  std::vector<std::string> out;
  for (char c : chunk) {
    if (c == '\n') {
      take_line(out);
      continue;
    }
    pending_ += c;
    // An endless line (a progress bar redrawn with \r, a minified file) is cut into pieces.
    if (pending_.size() >= max_line_) take_line(out);
  }
  return out;
}

std::vector<std::string> OutputLines::flush() {
  std::vector<std::string> out;
  if (!pending_.empty()) take_line(out);
  return out;
}

}  // namespace lxcprov::jobs
