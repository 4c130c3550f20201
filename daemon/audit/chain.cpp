#include "audit/chain.hpp"

#include <time.h>

#include <map>
#include <set>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>

namespace lxcprov::audit {
namespace {

using json = nlohmann::json;

constexpr std::string_view hash_key = ",\"hash\":\"";
constexpr std::size_t hash_hex_len = 64;

bool is_hex_hash(std::string_view s) {
  if (s.size() != hash_hex_len) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string cut(const std::string& s) { return s.size() <= max_field_bytes ? s : s.substr(0, max_field_bytes); }

Error bad(std::string why) { return make_error(Errc::invalid_argument, std::move(why)); }

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0xf]);
  }
  return out;
}

const std::string& genesis() {
  static const std::string g = sha256_hex("lxcprov-audit-v1");
  return g;
}

std::string format_time(std::chrono::system_clock::time_point at) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  tm utc{};
  gmtime_r(&secs, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, ms % 1000);
}

Result<Entry> parse_line(std::string_view line) {
  const std::size_t tail_len = hash_key.size() + hash_hex_len + 2;
  if (line.size() <= tail_len) return bad("it is too short to be an entry");
  const std::string_view tail = line.substr(line.size() - tail_len);
  if (!tail.starts_with(hash_key) || !tail.ends_with("\"}") || !is_hex_hash(tail.substr(hash_key.size(), hash_hex_len)))
    return bad("it does not end with its hash");
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("it is not a JSON object");
  Entry e;
  auto text = [&](const char* key, std::string& out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  auto seq = j.find("seq");
  auto uid = j.find("uid");
  if (seq == j.end() || !seq->is_number_unsigned() || uid == j.end() || !uid->is_number_integer() ||
      !text("time", e.time) || !text("event", e.event) || !text("actor", e.actor) || !text("source", e.source) ||
      !text("target", e.target) || !text("result", e.result) || !text("detail", e.detail) || !text("prev", e.prev) ||
      !text("hash", e.hash))
    return bad("a field is missing or of the wrong type");
  e.seq = seq->get<uint64_t>();
  e.uid = uid->get<int64_t>();
  if (e.seq == 0 || !is_hex_hash(e.prev)) return bad("its seq or prev is not valid");
  if (e.hash != tail.substr(hash_key.size(), hash_hex_len)) return bad("it has two hash fields");
  std::string content(line.substr(0, line.size() - tail_len));
  content += '}';
  e.content_hash = sha256_hex(content);
  return e;
}

std::string Chain::append(const Event& event, std::chrono::system_clock::time_point at) {
  nlohmann::ordered_json j;
  j["seq"] = head_.seq + 1;
  j["time"] = format_time(at);
  j["event"] = std::string(name(event.kind));
  j["actor"] = cut(event.actor);
  j["source"] = cut(event.source);
  j["uid"] = event.uid;
  j["target"] = cut(event.target);
  j["result"] = cut(event.result);
  j["detail"] = cut(event.detail);
  j["prev"] = head_.hash;
  // Bytes that are not UTF-8 (a cut field, a client's junk) become U+FFFD instead of an exception.
  std::string content = j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
  std::string hash = sha256_hex(content);
  content.pop_back();  // the closing brace: the hash goes last
  content += hash_key;
  content += hash;
  content += "\"}";
  head_ = Head{head_.seq + 1, std::move(hash)};
  return content;
}

Result<Anchor> parse_anchor(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return bad("the anchor must be SEQ:HASH");
  uint64_t seq = 0;
  for (char c : text.substr(0, colon)) {
    if (c < '0' || c > '9' || seq > UINT64_MAX / 10) return bad("the anchor's SEQ must be a number");
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  const std::string_view hash = text.substr(colon + 1);
  if (seq == 0 || !is_hex_hash(hash)) return bad("the anchor must be SEQ:HASH (64 lowercase hex digits)");
  return Anchor{seq, std::string(hash)};
}

std::string_view to_string(Finding::Kind kind) {
  switch (kind) {
    case Finding::Kind::malformed:
      return "malformed";
    case Finding::Kind::edited:
      return "edited";
    case Finding::Kind::broken_link:
      return "broken-link";
    case Finding::Kind::missing:
      return "missing";
    case Finding::Kind::inserted:
      return "inserted";
    case Finding::Kind::reordered:
      return "reordered";
    case Finding::Kind::truncated:
      return "truncated";
    case Finding::Kind::anchor_mismatch:
      return "anchor-mismatch";
  }
  return "unknown";
}

Report verify(const std::vector<std::string_view>& lines, const std::optional<Anchor>& anchor) {
  Report r;
  r.lines = lines.size();
  auto add = [&](Finding::Kind kind, std::size_t line, uint64_t seq, std::string message) {
    r.findings.push_back(Finding{kind, line, seq, std::move(message)});
  };

  // Parse everything first: telling an insertion from a move needs to see what comes later.
  std::vector<std::optional<Entry>> parsed(lines.size());
  std::multimap<uint64_t, std::size_t> at_seq;  // seq -> index
  std::map<std::string, int> chained_to;        // hash -> how many entries name it as prev
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto e = parse_line(lines[i]);
    if (!e) {
      add(Finding::Kind::malformed, i + 1, 0,
          fmt::format("line {} is not an audit entry: {} (inserted, or cut short by a crash)", i + 1,
                      e.error().message));
      continue;
    }
    at_seq.emplace(e->seq, i);
    ++chained_to[e->prev];
    parsed[i] = std::move(*e);
  }
  auto next_valid = [&](std::size_t i) -> const Entry* {
    for (std::size_t j = i + 1; j < parsed.size(); ++j)
      if (parsed[j]) return &*parsed[j];
    return nullptr;
  };
  auto line_of_next = [&](std::size_t i) {
    for (std::size_t j = i + 1; j < parsed.size(); ++j)
      if (parsed[j]) return j + 1;
    return std::size_t{0};
  };

  struct Last {
    uint64_t seq = 0;
    std::string hash = genesis();
    std::size_t line = 0;
  } last;
  std::map<uint64_t, std::size_t> accepted;  // seq -> line
  std::set<uint64_t> moved;                  // reported as out of order where they were missed

  for (std::size_t i = 0; i < parsed.size(); ++i) {
    if (!parsed[i]) continue;
    const Entry& e = *parsed[i];
    const std::size_t line = i + 1;
    const bool edited = e.content_hash != e.hash;
    if (edited)
      add(Finding::Kind::edited, line, e.seq,
          fmt::format("entry {} (line {}) was changed after it was written: its content does not match its hash", e.seq,
                      line));
    const uint64_t expected = last.seq + 1;
    auto accept = [&] {
      last = Last{e.seq, e.hash, line};
      accepted[e.seq] = line;
    };
    auto inserted = [&](std::string why) {
      add(Finding::Kind::inserted, line, e.seq,
          fmt::format("line {} (numbered entry {}) was inserted: {}", line, e.seq, why));
    };

    if (e.seq == expected) {
      // Two entries claiming one place, one right after the other: the one nothing chains to is
      // the insertion.
      const Entry* n = next_valid(i);
      if (n && n->seq == e.seq && chained_to[e.hash] == 0 && n->prev == last.hash) {
        inserted(fmt::format("entry {} on line {} takes its place in the chain", e.seq, line_of_next(i)));
        continue;
      }
      if (e.prev != last.hash && !edited) {
        if (last.line == 0)
          add(Finding::Kind::broken_link, line, e.seq,
              fmt::format("entry {} (line {}) does not chain from the genesis value: it was replaced", e.seq, line));
        else
          add(Finding::Kind::broken_link, line, e.seq,
              fmt::format("entry {} (line {}) does not chain to entry {} (line {}): entry {} was replaced (its hash "
                          "recomputed), or entry {}'s prev was changed",
                          e.seq, line, last.seq, last.line, last.seq, e.seq));
      }
      accept();
      continue;
    }

    if (e.seq > expected) {
      // A genuine entry out of place still chains to its real predecessor, wherever that is.
      bool genuine = false;
      for (auto [it, end] = at_seq.equal_range(e.seq - 1); it != end; ++it)
        if (parsed[it->second]->hash == e.prev) genuine = true;
      std::vector<std::size_t> later;  // lines after this one holding the numbers skipped here
      for (auto it = at_seq.lower_bound(expected); it != at_seq.end() && it->first < e.seq; ++it)
        if (it->second > i) later.push_back(it->second + 1);
      const Entry* n = next_valid(i);
      if (!genuine && n && n->seq == expected && n->prev == last.hash) {
        inserted(fmt::format("entry {} (line {}) follows entry {} directly", expected, line_of_next(i), last.seq));
        continue;
      }
      if (!later.empty()) {
        std::string where;
        for (auto l : later) where += (where.empty() ? "" : ", ") + std::to_string(l);
        add(Finding::Kind::reordered, line, e.seq,
            later.size() == 1 && e.seq == expected + 1
                ? fmt::format("entry {} (line {}) was moved: it belongs before entry {} (line {})", expected,
                              later.front(), e.seq, line)
                : fmt::format("entry {} (line {}) is out of order: entries {} to {} come after it (lines {})", e.seq,
                              line, expected, e.seq - 1, where));
        for (uint64_t s = expected; s < e.seq; ++s) moved.insert(s);
        accept();
        continue;
      }
      add(Finding::Kind::missing, line, e.seq,
          e.seq == expected + 1
              ? fmt::format("entry {} is missing before entry {} (line {}): it was deleted", expected, e.seq, line)
              : fmt::format("entries {} to {} are missing before entry {} (line {}): they were deleted", expected,
                            e.seq - 1, e.seq, line));
      accept();
      continue;
    }

    // e.seq < expected
    if (moved.count(e.seq)) continue;
    if (auto it = accepted.find(e.seq); it != accepted.end()) {
      inserted(fmt::format("entry {} is line {}", e.seq, it->second));
      continue;
    }
    add(Finding::Kind::reordered, line, e.seq,
        fmt::format("entry {} (line {}) is out of order: it comes after entry {} (line {})", e.seq, line, last.seq,
                    last.line));
  }
  r.head = Head{last.seq, last.hash};

  if (anchor) {
    if (auto it = accepted.find(anchor->seq); it != accepted.end()) {
      if (parsed[it->second - 1]->hash != anchor->hash)
        add(Finding::Kind::anchor_mismatch, it->second, anchor->seq,
            fmt::format("entry {} (line {}) is not the entry the anchor recorded: the trail was rewritten at or "
                        "before it",
                        anchor->seq, it->second));
    } else if (last.seq < anchor->seq) {
      add(Finding::Kind::truncated, 0, anchor->seq,
          fmt::format("the trail ends at entry {} but the anchor records entry {}: entries after {} were removed",
                      last.seq, anchor->seq, last.seq));
    }
  }
  return r;
}

}  // namespace lxcprov::audit
