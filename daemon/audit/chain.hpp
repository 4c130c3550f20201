#pragma once
// The audit trail's hash chain, without I/O: how an entry becomes one line of JSON, and how a
// sequence of lines is checked.
//
// A line is one JSON object with the fields, in this order,
//   seq time event actor source uid target result detail prev hash
// `hash` is always last: it is the SHA-256 (hex) of the line with that last field removed, i.e.
// of the bytes up to `,"hash":"` followed by `}`. `prev` is the previous entry's `hash`; entry 1's
// is genesis(). `seq` counts from 1. Hashing the bytes as written (not a re-serialization) means
// any change to a line, even of white space or key order, is a change of its content.
//
// What the chain proves, and what it does not, is in docs/security.md ("Audit trail"): without a
// copy of a recent head kept elsewhere (journald has one per entry), someone who can write the
// file can rewrite it from any point on, or cut its tail, and recompute every hash.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.hpp"
#include "common/result.hpp"

namespace lxcprov::audit {

/// SHA-256 of "lxcprov-audit-v1", hex: the `prev` of entry 1.
const std::string& genesis();
std::string sha256_hex(std::string_view bytes);

/// Each text field is cut to this many bytes before encoding: one line stays small whatever a
/// client typed as a user name.
inline constexpr std::size_t max_field_bytes = 256;

/// Where a chain stands: the last entry's number and hash (0 and genesis() before the first).
struct Head {
  uint64_t seq = 0;
  std::string hash = genesis();
  bool operator==(const Head&) const = default;
};

/// One line, parsed.
struct Entry {
  uint64_t seq = 0;
  std::string time, event, actor, source;
  int64_t uid = -1;
  std::string target, result, detail, prev, hash;
  std::string content_hash;  ///< recomputed from the line's bytes; != hash means it was changed
};

/// Parses one line (without its newline). An error says what is wrong with it.
Result<Entry> parse_line(std::string_view line);

/// "2026-12-02T01:59:19.123Z"
std::string format_time(std::chrono::system_clock::time_point at);

/// Appends entries: knows only the head, so the file's writer can resume from its last line.
class Chain {
 public:
  explicit Chain(Head head = {}) : head_(std::move(head)) {}
  /// The line for `event` (no newline); the head moves to it.
  std::string append(const Event& event, std::chrono::system_clock::time_point at);
  const Head& head() const { return head_; }

 private:
  Head head_;
};

/// A copy of an entry's hash kept outside the file (journald, a ticket, a remote log): what
/// detects a cut tail or a whole rewrite.
struct Anchor {
  uint64_t seq = 0;
  std::string hash;
};
/// "SEQ:HASH" as `audit verify --anchor` takes it.
Result<Anchor> parse_anchor(std::string_view text);

struct Finding {
  enum class Kind { malformed, edited, broken_link, missing, inserted, reordered, truncated, anchor_mismatch };
  Kind kind;
  std::size_t line = 0;  ///< 1-based line of the file; 0 for the end of the trail
  uint64_t seq = 0;      ///< the entry concerned, 0 when the line has none
  std::string message;   ///< one sentence naming the entry and what is wrong
};
std::string_view to_string(Finding::Kind kind);

struct Report {
  std::size_t lines = 0;
  Head head;  ///< the last entry in chain order
  std::vector<Finding> findings;
  bool ok() const { return findings.empty(); }
};

/// Checks `lines` (the file split at newlines, without a final empty piece). Every finding names
/// the line and entry; one tampering is reported once where the evidence allows.
Report verify(const std::vector<std::string_view>& lines, const std::optional<Anchor>& anchor = std::nullopt);

}  // namespace lxcprov::audit
