#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "auth/authenticator.hpp"
#include "auth/password_file.hpp"
#include "auth/password_hash.hpp"
#include "host/local_host.hpp"

namespace lxcprov::auth {
namespace {

// A cheap cost keeps the tests fast; the format and the code path are the same.
constexpr ScryptCost cheap{10, 8, 1};

TEST(PasswordHash, VerifiesTheRightPasswordOnly) {
  auto h = hash_password(Secret("correct horse"), cheap);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$scrypt$ln=10,r=8,p=1$", 0), 0u);
  EXPECT_TRUE(verify_password(Secret("correct horse"), *h));
  EXPECT_FALSE(verify_password(Secret("correct horsE"), *h));
  EXPECT_FALSE(verify_password(Secret(""), *h));
}

TEST(PasswordHash, SaltsEveryHash) {
  EXPECT_NE(*hash_password(Secret("same"), cheap), *hash_password(Secret("same"), cheap));
}

TEST(PasswordHash, MalformedHashesNeverVerify) {
  for (std::string bad : {"", "plain", "$scrypt$", "$scrypt$ln=10,r=8,p=1$", "$scrypt$ln=10,r=8,p=1$AAAA$",
                          "$scrypt$ln=99,r=8,p=1$AAAAAAAA$AAAA", "$scrypt$ln=10,p=1,r=8$AAAA$AAAA", "$md5$abc$def",
                          "$scrypt$ln=10,r=8,p=1$!!!!$AAAA"})
    EXPECT_FALSE(verify_password(Secret("x"), bad)) << bad;
}

class PasswordFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lxcprov-pw-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/passwd";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, path_;
  host::LocalHost host_;
};

TEST_F(PasswordFileTest, SavesAtomicallyWithMode0600AndLoadsBack) {
  std::map<std::string, std::string> users{{"alice", *hash_password(Secret("pw-a"), cheap)}};
  ASSERT_TRUE(save_password_file(host_, path_, users));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
  auto back = load_password_file(host_, path_);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, users);
}

TEST_F(PasswordFileTest, MissingFileIsEmptyAndMalformedLinesAreNamed) {
  auto none = load_password_file(host_, path_);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  std::ofstream(path_) << "# comment\n\nalice:$scrypt$x\nbroken-line\n";
  auto bad = load_password_file(host_, path_);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("line 4"), std::string::npos);
}

TEST_F(PasswordFileTest, AuthenticatorTellsUnknownAndWrongApartOnlyByNothing) {
  ASSERT_TRUE(save_password_file(host_, path_, {{"alice", *hash_password(Secret("pw-a"), cheap)}}));
  PasswordFileAuthenticator auth(host_, path_);
  auto right = auth.verify("alice", Secret("pw-a"));
  auto wrong = auth.verify("alice", Secret("pw-b"));
  auto unknown = auth.verify("mallory", Secret("pw-a"));
  ASSERT_TRUE(right && wrong && unknown);
  EXPECT_TRUE(*right);
  EXPECT_FALSE(*wrong);
  EXPECT_FALSE(*unknown);
}

}  // namespace
}  // namespace lxcprov::auth
