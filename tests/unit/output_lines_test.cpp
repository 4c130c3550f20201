// OutputLines: what a user, journald and the job log get of a command's output.
#include "jobs/output_lines.hpp"

#include <gtest/gtest.h>

namespace lxcprov::jobs {
namespace {

using Lines = std::vector<std::string>;

TEST(OutputLines, LinesSplitAcrossChunksComeOutWhole) {
  OutputLines o;
  EXPECT_EQ(o.feed("npm ins"), Lines{});
  EXPECT_EQ(o.feed("tall\nadded 3 pack"), Lines{"npm install"});
  EXPECT_EQ(o.feed("ages\r\n\n"), (Lines{"added 3 packages", ""}));
  EXPECT_EQ(o.feed("no newline at the end"), Lines{});
  EXPECT_EQ(o.flush(), Lines{"no newline at the end"});
  EXPECT_EQ(o.flush(), Lines{});
}

TEST(OutputLines, ControlCharactersAndBrokenUtf8AreEscaped) {
  const struct {
    std::string in, out;
  } cases[] = {
      {"\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"},
      {"progress 10%\rprogress 90%", "progress 10%\\x0dprogress 90%"},
      {"tab\tkept", "tab\tkept"},
      {"caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93"},    // valid UTF-8 passes
      {"bad \xc3( \xff \xc0\xaf", "bad \\xc3( \\xff \\xc0\\xaf"},  // truncated, invalid, overlong
      {"\xed\xa0\x80 surrogate", "\\xed\\xa0\\x80 surrogate"},     // UTF-16 surrogate
      {std::string("nul\0byte", 8), "nul\\x00byte"},
      {"del\x7f", "del\\x7f"},
  };
  for (const auto& c : cases) EXPECT_EQ(escape_output(c.in), c.out) << c.in;
}

TEST(OutputLines, AnEndlessLineIsCut) {
  OutputLines o(1 << 20, 100);
  auto lines = o.feed(std::string(250, 'x'));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), 100u);
  EXPECT_EQ(o.flush(), Lines{std::string(50, 'x')});
}

TEST(OutputLines, TheTotalIsBoundedAndTheCutIsSaidOnce) {
  OutputLines o(1024, 4096);
  std::size_t n = 0;
  std::string last;
  for (int i = 0; i < 1000; ++i) {
    for (auto& l : o.feed("0123456789012345678901234567890123456789\n")) {
      ++n;
      last = l;
    }
  }
  EXPECT_LE(o.shown(), 1024u);
  EXPECT_EQ(n, 1024 / 41 + 1);
  EXPECT_EQ(last, "[lxcprov: output beyond 1 KiB is not shown]");
  EXPECT_EQ(o.feed("more\n"), Lines{});
}

}  // namespace
}  // namespace lxcprov::jobs
