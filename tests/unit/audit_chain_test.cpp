// The audit trail's chain (audit/chain.hpp): encoding, and one table row per kind of tampering
// with the finding it must produce (kind, line, entry and the sentence's key words).

#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <set>

#include "audit/chain.hpp"

namespace lxcprov::audit {
namespace {

using Lines = std::vector<std::string>;
const auto t0 = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'790'000'000'123));

Event event(int i) {
  return Event{Kind::create_accepted,      "alice",    "ssh 203.0.113.7",          1001,
               "web-" + std::to_string(i), "accepted", "job j" + std::to_string(i)};
}

// A clean trail of n entries.
Lines trail(int n) {
  Chain chain;
  Lines out;
  for (int i = 1; i <= n; ++i) out.push_back(chain.append(event(i), t0 + std::chrono::seconds(i)));
  return out;
}

Report check(const Lines& lines, std::optional<Anchor> anchor = std::nullopt) {
  std::vector<std::string_view> views(lines.begin(), lines.end());
  return verify(views, anchor);
}

// Replaces `from` by `to` in a line (the first occurrence).
std::string replaced(std::string line, const std::string& from, const std::string& to) {
  line.replace(line.find(from), from.size(), to);
  return line;
}

// A line with the given content re-hashed as a forger with no key would.
std::string rehashed(const std::string& line) {
  const std::size_t tail = std::string_view(",\"hash\":\"").size() + 64 + 2;
  std::string content = line.substr(0, line.size() - tail) + "}";
  return line.substr(0, line.size() - tail) + ",\"hash\":\"" + sha256_hex(content) + "\"}";
}

std::string hash_of(const std::string& line) { return parse_line(line)->hash; }

TEST(AuditChain, EncodesOneJsonObjectWithTheFieldsInOrderAndTheHashLast) {
  Chain chain;
  const std::string line =
      chain.append(Event{Kind::auth_password, "bob", "ssh 198.51.100.2", 998, "", "failure", ""}, t0);
  EXPECT_EQ(line.rfind("{\"seq\":1,\"time\":\"2026-09-21T", 0), 0u) << line;
  EXPECT_NE(line.find("\"event\":\"auth.password\",\"actor\":\"bob\",\"source\":\"ssh 198.51.100.2\",\"uid\":998,"
                      "\"target\":\"\",\"result\":\"failure\",\"detail\":\"\",\"prev\":\"" +
                      genesis() + "\",\"hash\":\""),
            std::string::npos)
      << line;
  auto e = parse_line(line);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->hash, e->content_hash);
  EXPECT_EQ(chain.head(), (Head{1, e->hash}));
  EXPECT_EQ(genesis(), sha256_hex("lxcprov-audit-v1"));
}

TEST(AuditChain, ControlCharactersAndLongFieldsCannotBreakALine) {
  Chain chain;
  const std::string line =
      chain.append(Event{Kind::auth_password, "x\n{\"seq\":9}\r\x01\xff", "", -1, std::string(5000, 'a'), "", ""}, t0);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_LT(line.size(), 1000u);
  auto e = parse_line(line);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->seq, 1u);
  EXPECT_EQ(e->target.size(), max_field_bytes);
  EXPECT_EQ(e->actor.substr(0, 2), "x\n");
}

TEST(AuditChain, EveryKindHasAStableNameAndItsOwnMessageId) {
  std::set<std::string_view> ids, names;
  for (int k = 0; k <= static_cast<int>(Kind::node_remove); ++k) {
    const auto kind = static_cast<Kind>(k);
    EXPECT_EQ(message_id(kind).size(), 32u);
    EXPECT_EQ(kind_named(name(kind)), kind);
    ids.insert(message_id(kind));
    names.insert(name(kind));
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(Kind::node_remove) + 1);
  EXPECT_EQ(names.size(), ids.size());
}

TEST(AuditChain, ACleanTrailVerifiesAndItsHeadIsTheLastEntry) {
  const Lines lines = trail(6);
  const Report r = check(lines);
  EXPECT_TRUE(r.ok()) << r.findings.front().message;
  EXPECT_EQ(r.head, (Head{6, hash_of(lines[5])}));
  EXPECT_TRUE(check({}).ok());
  EXPECT_TRUE(check(lines, Anchor{6, hash_of(lines[5])}).ok());
  EXPECT_TRUE(check(lines, Anchor{3, hash_of(lines[2])}).ok());
}

TEST(AuditChain, AChainResumesFromAHead) {
  Lines lines = trail(3);
  Chain resumed(Head{3, hash_of(lines[2])});
  lines.push_back(resumed.append(event(4), t0));
  EXPECT_TRUE(check(lines).ok());
}

struct Tampering {
  const char* name;
  std::function<void(Lines&)> change;  // applied to a clean trail of 6 entries
  std::optional<Anchor> anchor;        // checked with (hash filled in from the clean trail when empty)
  Finding::Kind kind;
  std::size_t line;
  uint64_t seq;
  const char* says;  // a part of the sentence
};

TEST(AuditChain, EachTamperingIsFoundOnceAndNamed) {
  const Lines clean = trail(6);
  const std::vector<Tampering> table = {
      {"a field edited",
       [](Lines& l) { l[2] = replaced(l[2], "alice", "mallory"); },
       {},
       Finding::Kind::edited,
       3,
       3,
       "entry 3 (line 3) was changed after it was written"},
      {"white space added",
       [](Lines& l) { l[3] = replaced(l[3], ",\"actor\"", ", \"actor\""); },
       {},
       Finding::Kind::edited,
       4,
       4,
       "entry 4 (line 4) was changed"},
      {"the prev of an entry edited",
       [&](Lines& l) { l[3] = replaced(l[3], hash_of(clean[2]), std::string(64, 'a')); },
       {},
       Finding::Kind::edited,
       4,
       4,
       "entry 4 (line 4) was changed"},
      {"an entry edited and re-hashed",
       [](Lines& l) { l[2] = rehashed(replaced(l[2], "\"result\":\"accepted\"", "\"result\":\"refused\"")); },
       {},
       Finding::Kind::broken_link,
       4,
       4,
       "entry 4 (line 4) does not chain to entry 3 (line 3): entry 3 was replaced"},
      {"the first entry replaced by a forger",
       [](Lines& l) { l[0] = rehashed(replaced(l[0], "alice", "bob")); },
       {},
       Finding::Kind::broken_link,
       2,
       2,
       "does not chain to entry 1"},
      {"an entry deleted",
       [](Lines& l) { l.erase(l.begin() + 2); },
       {},
       Finding::Kind::missing,
       3,
       4,
       "entry 3 is missing before entry 4 (line 3): it was deleted"},
      {"two entries deleted",
       [](Lines& l) { l.erase(l.begin() + 1, l.begin() + 3); },
       {},
       Finding::Kind::missing,
       2,
       4,
       "entries 2 to 3 are missing before entry 4 (line 2)"},
      {"the first entry deleted",
       [](Lines& l) { l.erase(l.begin()); },
       {},
       Finding::Kind::missing,
       1,
       2,
       "entry 1 is missing before entry 2 (line 1)"},
      {"a forged entry inserted with the next number and a correct prev",
       [&](Lines& l) {
         Chain forger(Head{3, hash_of(clean[2])});
         l.insert(l.begin() + 3, forger.append(Event{Kind::user_add, "root", "local", 0, "eve", "success", ""}, t0));
       },
       {},
       Finding::Kind::inserted,
       4,
       4,
       "line 4 (numbered entry 4) was inserted: entry 4 on line 5 takes its place"},
      {"a forged entry inserted with a made-up number",
       [&](Lines& l) {
         Chain forger(Head{98, hash_of(clean[2])});
         l.insert(l.begin() + 3, forger.append(event(99), t0));
       },
       {},
       Finding::Kind::inserted,
       4,
       99,
       "line 4 (numbered entry 99) was inserted: entry 4 (line 5) follows entry 3 directly"},
      {"an entry copied further down",
       [](Lines& l) { l.insert(l.begin() + 5, l[1]); },
       {},
       Finding::Kind::inserted,
       6,
       2,
       "line 6 (numbered entry 2) was inserted: entry 2 is line 2"},
      {"a line that is not an entry",
       [](Lines& l) { l.insert(l.begin() + 2, "{\"seq\":3}"); },
       {},
       Finding::Kind::malformed,
       3,
       0,
       "line 3 is not an audit entry"},
      {"the last line cut short by a crash",
       [](Lines& l) { l[5].resize(40); },
       {},
       Finding::Kind::malformed,
       6,
       0,
       "line 6 is not an audit entry"},
      {"two neighbours swapped",
       [](Lines& l) { std::swap(l[2], l[3]); },
       {},
       Finding::Kind::reordered,
       3,
       4,
       "entry 3 (line 4) was moved: it belongs before entry 4 (line 3)"},
      {"the last two swapped",
       [](Lines& l) { std::swap(l[4], l[5]); },
       {},
       Finding::Kind::reordered,
       5,
       6,
       "entry 5 (line 6) was moved"},
      {"an entry moved to the end",
       [](Lines& l) { std::rotate(l.begin() + 1, l.begin() + 2, l.end()); },
       {},
       Finding::Kind::reordered,
       2,
       3,
       "entry 2 (line 6) was moved: it belongs before entry 3 (line 2)"},
      {"an entry moved up",
       [](Lines& l) {
         auto moved = l[4];
         l.erase(l.begin() + 4);
         l.insert(l.begin() + 1, moved);
       },
       {},
       Finding::Kind::reordered,
       2,
       5,
       "entry 5 (line 2) is out of order: entries 2 to 4 come after it (lines 3, 4, 5)"},
      {"the tail cut, seen against an anchor", [](Lines& l) { l.resize(4); }, Anchor{6, ""}, Finding::Kind::truncated,
       0, 6, "the trail ends at entry 4 but the anchor records entry 6"},
      {"the whole trail rewritten, seen against an anchor",
       [](Lines& l) {
         Chain forger;
         for (auto& line : l) {
           auto e = parse_line(line);
           line = forger.append(event(static_cast<int>(e->seq) + 100), t0);
         }
       },
       Anchor{5, ""}, Finding::Kind::anchor_mismatch, 5, 5, "entry 5 (line 5) is not the entry the anchor recorded"},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.name);
    Lines lines = clean;
    row.change(lines);
    std::optional<Anchor> anchor = row.anchor;
    if (anchor && anchor->hash.empty()) anchor->hash = hash_of(clean[anchor->seq - 1]);
    const Report r = check(lines, anchor);
    ASSERT_EQ(r.findings.size(), 1u) << [&] {
      std::string all;
      for (const auto& f : r.findings) all += f.message + "\n";
      return all;
    }();
    const Finding& f = r.findings.front();
    EXPECT_EQ(f.kind, row.kind) << to_string(f.kind) << ": " << f.message;
    EXPECT_EQ(f.line, row.line) << f.message;
    EXPECT_EQ(f.seq, row.seq) << f.message;
    EXPECT_NE(f.message.find(row.says), std::string::npos) << f.message;
  }
}

TEST(AuditChain, AnyChangedByteAnyDeletionButTheLastAndAnySwapIsFound) {
  // A property over many random damages (fixed seed): the table above says how each is named,
  // this says none goes unnoticed (and nothing in verify trips over odd input).
  const Lines clean = trail(12);
  std::mt19937 rng(20261202);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  for (int round = 0; round < 3000; ++round) {
    Lines lines = clean;
    std::string what;
    switch (round % 3) {
      case 0: {
        auto& line = lines[pick(lines.size())];
        const std::size_t at = pick(line.size());
        const char was = line[at];
        do line[at] = static_cast<char>(pick(256));
        while (line[at] == was);
        what = "byte " + std::to_string(at);
        break;
      }
      case 1:
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(pick(lines.size() - 1)));
        what = "deletion";
        break;
      case 2: {
        const std::size_t a = pick(lines.size());
        std::size_t b = pick(lines.size());
        if (a == b) b = (a + 1) % lines.size();
        std::swap(lines[a], lines[b]);
        what = "swap";
        break;
      }
    }
    EXPECT_FALSE(check(lines).ok()) << "round " << round << ": " << what;
  }
}

TEST(AuditChain, WithoutAnAnchorACutTailOrAFullRewriteIsNotDetectable) {
  // What the chain alone cannot prove (docs/security.md): this test pins the limit down.
  Lines lines = trail(6);
  lines.resize(4);
  EXPECT_TRUE(check(lines).ok());
}

TEST(AuditChain, AnchorsParse) {
  const std::string h(64, 'c');
  auto a = parse_anchor("12:" + h);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->seq, 12u);
  EXPECT_EQ(a->hash, h);
  for (std::string bad :
       {std::string("12"), ":" + h, "0:" + h, "x:" + h, "12:" + std::string(63, 'c'), "12:" + std::string(64, 'C')})
    EXPECT_FALSE(parse_anchor(bad)) << bad;
}

}  // namespace
}  // namespace lxcprov::audit
