// Field rules of request/validation.hpp and the small helpers of request/request.hpp.
// The public keys below were generated with ssh-keygen (OpenSSH 9.2) when this file was written;
// the security-key (sk-*) lines and the malformed blobs were built from them by hand, because
// generating sk keys needs a FIDO token.

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "request/request.hpp"
#include "request/validation.hpp"

namespace lxcprov::request {
namespace {

using namespace std::string_literals;

// --- keys ------------------------------------------------------------------------------------

const std::string ed25519_b64 = "AAAAC3NzaC1lZDI1NTE5AAAAIM54Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZWO";
const std::string ed25519 = "ssh-ed25519 " + ed25519_b64 + " user@example-ed25519";
const std::string rsa2048 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDC65LycsfW1XiVdN8upoHoiDawVa/pZpLxkVJA5w6teccPiGgaPq/kfxXm7N9AcrIOmPrQ0FTnW9lcL2Jz"
    "ks7l2x+9PNmKudqnqtKdXZOKV73535UUSH8+KifXfaYoqzoUWiabd/niiEYNNhRAlDG3zbkQAK8Gu+b3IhCXrkjaMcOBTNwExAFUrZ6ofL+So3XN"
    "1KwetqLAwexncoHirPyCgt3PAuCb8M5IFU33RlQhgEuZ5WIZr2AFhOkpcvZo8yOXe7GqUNi1SEY1OWFZpmdP5lRmr7II7GGztecna6e4duws7vl7"
    "0HBlbeO3+6D+U2Z6n+A6w0Pz95qS8hC/nqVR user@example-rsa2048";
const std::string rsa4096 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAACAQCay38Rku+pdc5XiwY9EmO/4e79lUBWMEdcvv3FY0d40PuFieYYcKr3opjVLoBJ6x4vcCje2drbK0mGwBTa"
    "5cRykYjoFyJSLez/23briiNQGgld72C8gOElE1TuhIqWB2rgvrNUxVtVY3ATupPMyMGrgpkaFzjq/nwo0sFOLoDLt0fEghG3suJrcJyPsI/7HYuY"
    "Y9TnqnCf4jMdE7VDKkcGrhhOSRKLoirIFnThRPHl6BFlk/lkAqmFOO+s1pKwtDkWoNXrNshW/JZCkX4K4qqdJPR2En5Ch388Lb7XeThDoeZzAXMW"
    "YOEOqnTejdWKtLv65TeWOQSVE8t7qukPBYyhQYq78MapZSXyHPTEVSA52cB4UpTN1ZyEyy8KI00tNfjRJO3Ohws2/fOqtxSMaq/F3doXX2wrSWbu"
    "L+06Uk1hvx76qTdrfPzaeoy+GWDCsLJ8MxBoF/UbCKtbDErTzZ3NVf23kbWRrlF7HI/oHioZTH8ey8UJ8LMn1aPMcfWZlO6bsyr5VqVwgL283Eqm"
    "Pj2Cpm6zsMSGosL7vT6PfUveHK908Rg7js/ZMHIMZQrBnOcCU1Ze/yunmuCYsBjnjm/EFJybkB+IDg502hZgjJLs49cYv0F+9mJpRftUj7KulmRh"
    "YSu66US5tMpuUYSasDAE7fg9gc8nFqFZLXb9hALsKQ== user@example-rsa4096";
const std::string rsa2047 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAFBPteKRn3oY+nNHGQzBJyfLrNged9avd/hgSMsuuNX1ytbhw8Oi2Jom+7eIRU1zzqYT9r8SyvKNwWplySaQ"
    "HCtw3spDWNqtef1uBUnBnC9BP1gMM5QlntyTufajsma7t/fO6cT/3qreNLl85SmzMX3Q1AWwaIEUd7ljCD7CGJ2gBibTf2RQ70Mfv5YFYnqjcSj8"
    "fdLXmp9cqYWQHoSAyECkgEwPmiTUP6kA/Ls1a7oSN9p6aTAHsTTnqCxanXg1/B5hhSSf8VQDNvTeAPLORlkY3ofdahsqyNz7dDbdSFd1JrZ2edL2"
    "OmkUp/Yxyayurq4uJ8yPSId64zqbrJYP+Fc= root@vm";
const std::string rsa1024 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCsUtafJHgp+/P+23F/pwFvjYwA1rlMe+xcE+OaUuYtLuCC48XSjfiNC70hr7spUdILiwou/2Wdvt6e+KhP"
    "HZ8cYfo6oSsaMv3i6iXx2FMfra5S0CRxLC0g26SDGgSq3U319dJDfsTykNj38+sjxIBEiX5aSgikBud+wWJMtTrV2Q== user@example-rsa1024";
const std::string ecdsa256_b64 =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418VtZfoqycWsQjorCeqfXW5"
    "B6hulTsuBkjSCvn0N20cY3O9JhI=";
const std::string ecdsa256 = "ecdsa-sha2-nistp256 " + ecdsa256_b64 + " user@example-ecdsa256";
const std::string ecdsa384 =
    "ecdsa-sha2-nistp384 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBKNlbrHENWbv0Xe3vgvn0hLIkvMNf5T7l1/zgoZuHNdnIIf5A2r5kRHgwkPW"
    "Z90KKjJaiC3jHikln8BwligxY8bFZoCbbMS8wsgn296Z6KAIOb2BNEMPFxZOc38T4uDA3w== user@example-ecdsa384";
const std::string ecdsa521 =
    "ecdsa-sha2-nistp521 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBADqXrqZ5q4akD5fMlgoa8S9bOL/TVLXBUADzI+gNTpMO9KfpPuvDKHmZraH"
    "EsBWzDadRkr+9fMi3inbe3qgTiOOFgBzpV8QDQwrsjUyid+kNuAtb1LkTyarFRWMAz1Fh/QIyw71hSfwabhVbudsoEYp7+55hv/Y/5IXv7HMt8gD"
    "GvHMnw== user@example-ecdsa521";
const std::string dsa1024 =
    "ssh-dss "
    "AAAAB3NzaC1kc3MAAACBAOwkKQNkSppd3fdDxtoMFM+4oIhdIvLHgYmx2A0wPE+cZh90a/K+lYIZVBA+rI6/lBkhAzpi2hSNI8DsqGY6c24zPfgA"
    "JD/SQxUqF6AsKCzSjmjdN7IqBdqMY2mM1bElq5ViCr0VpQsIuRDp49nRZiI6S1s1HIq2jPTrsFEK8AafAAAAFQCsZ/FY1ewh8c4ehGcWeEXHKqrX"
    "EwAAAIB1Oj9bKvm+igBBytEKTh3lxORS4ElvlKkKGyaX8UaoSBJ998wCwgb83RGZ+2quVosJ90duh78p0KXMmpre4fb2oTiCQ9MaxYClc9YnPZdi"
    "EVQ9Eeb5a1161R+JR6OXP8743FJB7Hxyi5wcdWYewLZcoawz45mGwHxz5Yo7ob5F7QAAAIBWInr7WtlLv/owzi0e1PoGdgNMAW7YzfmrcwCeiI+N"
    "XNIIK7Shymrx4NT3OHi+WeWRRF/2yJ+Nn1oJzB4C4Ikshi59wT/S5js7AHefosnjEVtWmHk/7umVxRq+6Z6E70Byk0Yf/c9mav/M6bmBTgb7TSWu"
    "HDarUiYm6WjHDCPbIg== user@example-dsa1024";
// Security-key keys: the ed25519 and P-256 points above, with application "ssh:".
const std::string sk_ed25519 =
    "sk-ssh-ed25519@openssh.com "
    "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIM54Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZWOAAAABHNzaDo= yubikey";
const std::string sk_ecdsa =
    "sk-ecdsa-sha2-nistp256@openssh.com "
    "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418V"
    "tZfoqycWsQjorCeqfXW5B6hulTsuBkjSCvn0N20cY3O9JhIAAAAEc3NoOg== yubikey";
// Malformed blobs, derived from the keys above.
const std::string ed25519_trailing_bytes_b64 =
    "AAAAC3NzaC1lZDI1NTE5AAAAIM54Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZWOAAAAAA==";
const std::string ed25519_31_bytes_b64 = "AAAAC3NzaC1lZDI1NTE5AAAAH854Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZU=";
const std::string ed25519_point_named_rsa_b64 = "AAAAB3NzaC1yc2EAAAAgzngefLqs5bUwwg6HUKLbnieeL1e7kISbnEyfAZZ5lY4=";
const std::string p256_blob_with_p384_curve_b64 =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAzODQAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418VtZfoqycWsQjorCeqfXW5"
    "B6hulTsuBkjSCvn0N20cY3O9JhI=";
const std::string p256_point_off_curve_b64 =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418VtZfoqycWsQjorCeqfXW5"
    "B6hulTsuBkjSCvn0N20cY3O9JhM=";

// --- helpers ---------------------------------------------------------------------------------

bool has_control_char(const std::string& text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Rule messages must be one printable line that never repeats what the user typed.
template <class T>
void expect_clean_error(const Checked<T>& result, std::string_view field, std::string_view input,
                        bool check_echo = true) {
  ASSERT_FALSE(result.ok());
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->field, field);
  EXPECT_FALSE(result.error->message.empty());
  EXPECT_FALSE(has_control_char(result.error->message)) << result.error->message;
  // Plain words such as "localhost" legitimately appear in the rule text itself.
  const bool plain_word = std::all_of(input.begin(), input.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (check_echo && input.size() >= 4 && !plain_word) {
    EXPECT_EQ(result.error->message.find(input), std::string::npos) << result.error->message;
  }
}

struct Case {
  std::string name;  ///< test name suffix
  std::string input;
  bool ok;
  std::string expected;  ///< normalised value when ok; a substring of the message otherwise
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }
std::string case_name(const testing::TestParamInfo<Case>& info) { return info.param.name; }

// --- request.hpp -----------------------------------------------------------------------------

TEST(Operation, NamesRoundTrip) {
  const std::vector<std::pair<Operation, std::string>> table{
      {Operation::create, "create"}, {Operation::exists, "exists"}, {Operation::destroy, "delete"},
      {Operation::status, "status"}, {Operation::logs, "logs"},     {Operation::list, "list"}};
  for (const auto& [op, name] : table) {
    EXPECT_EQ(to_string(op), name);
    EXPECT_EQ(parse_operation(name), op);
  }
}

TEST(Operation, ParseIsExact) {
  for (std::string text : {""s, "Create"s, "CREATE"s, " create"s, "create "s, "destroy"s, "remove"s, "create;id"s,
                           "list\n"s, "delete\0"s}) {
    EXPECT_FALSE(parse_operation(text).has_value()) << text;
  }
}

TEST(FieldErrorFormat, FieldColonMessage) {
  EXPECT_EQ(format(FieldError{"CONTAINER_NAME", "must start with a letter"}),
            "CONTAINER_NAME: must start with a letter");
  EXPECT_EQ(format(FieldError{"HTTP_PORT", "must be from 80 to 60000"}), "HTTP_PORT: must be from 80 to 60000");
}

// --- username --------------------------------------------------------------------------------

class Username : public testing::TestWithParam<Case> {};

TEST_P(Username, Rule) {
  const Case& c = GetParam();
  auto r = check_username(c.input);
  if (c.ok) {
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(*r.value, c.expected);
  } else {
    expect_clean_error(r, "PROXMOX_USERNAME", c.input);
    EXPECT_NE(r.error->message.find(c.expected), std::string::npos) << r.error->message;
  }
}

const std::string username_rule = "must be 1-32 characters of a-z, 0-9, '_', '.' and '-'";

INSTANTIATE_TEST_SUITE_P(
    Validation, Username,
    testing::Values(Case{"single_letter", "a", true, "a"}, Case{"underscore_only", "_", true, "_"},
                    Case{"leading_underscore", "_svc", true, "_svc"}, Case{"plain", "alice", true, "alice"},
                    Case{"all_classes", "a.b-c_d9", true, "a.b-c_d9"},
                    Case{"max_32", std::string(32, 'a'), true, std::string(32, 'a')},
                    Case{"empty", "", false, username_rule}, Case{"len_33", std::string(33, 'a'), false, username_rule},
                    Case{"huge", std::string(1 << 20, 'a'), false, username_rule},
                    Case{"uppercase", "Alice", false, username_rule},
                    Case{"leading_digit", "1abc", false, username_rule},
                    Case{"leading_dot", ".abc", false, username_rule},
                    Case{"leading_dash", "-abc", false, username_rule}, Case{"space", "al ice", false, username_rule},
                    Case{"trailing_space", "alice ", false, username_rule}, Case{"slash", "a/b", false, username_rule},
                    Case{"realm", "alice@pve", false, username_rule}, Case{"nul", "ali\0ce"s, false, username_rule},
                    Case{"newline", "alice\n", false, username_rule}, Case{"escape", "a\x1b[31m", false, username_rule},
                    Case{"non_ascii", "\xc3\xa9lise", false, username_rule},
                    Case{"homoglyph", "\xd0\xb0lice", false, username_rule}),
    case_name);

// --- password --------------------------------------------------------------------------------

class Password : public testing::TestWithParam<Case> {};

TEST_P(Password, Rule) {
  const Case& c = GetParam();
  auto r = check_password(c.input);
  if (c.ok) {
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(*r.value, c.expected);
  } else {
    expect_clean_error(r, "PROXMOX_PASSWORD", c.input);
    EXPECT_NE(r.error->message.find(c.expected), std::string::npos) << r.error->message;
    // Not even a fragment of the secret: every 4-byte window of it is absent.
    for (size_t i = 0; i + 4 <= c.input.size() && i < 64; ++i) {
      const std::string window = c.input.substr(i, 4);
      if (window.find_first_of(" \0\r\n-,'"s) != std::string::npos) continue;
      EXPECT_EQ(r.error->message.find(window), std::string::npos) << "leaked '" << window << "'";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Validation, Password,
                         testing::Values(Case{"one_byte", "x", true, "x"},
                                         Case{"old_shared", "mie123!", true, "mie123!"},
                                         Case{"spaces_kept", " pass word ", true, " pass word "},
                                         Case{"utf8", "p\xc3\xa4sswort", true, "p\xc3\xa4sswort"},
                                         Case{"tab", "a\tb", true, "a\tb"},
                                         Case{"max_1024", std::string(1024, 'p'), true, std::string(1024, 'p')},
                                         Case{"empty", "", false, "must not be empty"},
                                         Case{"len_1025", std::string(1025, 'p'), false, "at most 1024 bytes"},
                                         Case{"nul", "Zq9secret\0Xk7w"s, false, "NUL, CR or LF"},
                                         Case{"cr", "Zq9secret\rXk7w", false, "NUL, CR or LF"},
                                         Case{"lf", "Zq9secret\nXk7w", false, "NUL, CR or LF"},
                                         Case{"trailing_lf", "Zq9secret\n", false, "NUL, CR or LF"}),
                         case_name);

// --- container name --------------------------------------------------------------------------

class ContainerName : public testing::TestWithParam<Case> {};

TEST_P(ContainerName, Rule) {
  const Case& c = GetParam();
  auto r = check_container_name(c.input);
  if (c.ok) {
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(*r.value, c.expected);
  } else {
    expect_clean_error(r, "CONTAINER_NAME", c.input);
    EXPECT_NE(r.error->message.find(c.expected), std::string::npos) << r.error->message;
  }
}

const std::string only_chars = "may contain only letters a-z, digits 0-9 and '-'";
const std::string reserved = "is reserved";

INSTANTIATE_TEST_SUITE_P(
    Validation, ContainerName,
    testing::Values(
        Case{"one_letter", "a", true, "a"}, Case{"plain", "app", true, "app"}, Case{"lowercased", "App", true, "app"},
        Case{"lowercased_all", "MY-APP-1", true, "my-app-1"}, Case{"digits_and_dashes", "a1-b2--c3", true, "a1-b2--c3"},
        Case{"max_63", std::string(63, 'a'), true, std::string(63, 'a')}, Case{"tpl_without_dash", "tpl", true, "tpl"},
        Case{"tplx", "tplx-1", true, "tplx-1"}, Case{"templates_not_reserved", "templates", true, "templates"},
        Case{"localhost_prefix_ok", "localhost2", true, "localhost2"}, Case{"empty", "", false, "must not be empty"},
        Case{"len_64", std::string(64, 'a'), false, "at most 63 characters"},
        Case{"len_64_invalid_chars", std::string(64, '/'), false, "at most 63 characters"},
        Case{"ten_megabytes", std::string(10 << 20, 'a'), false, "at most 63 characters"},
        Case{"dash_rf", "-rf", false, "must start with a letter"},
        Case{"dash_help", "--help", false, "must start with a letter"},
        Case{"leading_digit", "1app", false, "must start with a letter"},
        Case{"trailing_dash", "app-", false, "must not end with '-'"}, Case{"dot", ".", false, only_chars},
        Case{"dotdot", "..", false, only_chars}, Case{"traversal", "../../etc", false, only_chars},
        Case{"slash", "a/b", false, only_chars}, Case{"fqdn", "app.example.com", false, only_chars},
        Case{"underscore", "my_app", false, only_chars}, Case{"space", "my app", false, only_chars},
        Case{"nul", "app\0x"s, false, only_chars}, Case{"newline", "app\n", false, only_chars},
        Case{"cr", "app\r", false, only_chars}, Case{"escape", "app\x1b[2J", false, only_chars},
        Case{"shell", "a;id", false, only_chars}, Case{"cyrillic_a_homoglyph", "\xd0\xb0pp", false, only_chars},
        Case{"rtl_override", "app\xe2\x80\xaegpj", false, only_chars},
        Case{"latin1_letter", "caf\xc3\xa9", false, only_chars}, Case{"fullwidth", "\xef\xbd\x81pp", false, only_chars},
        Case{"localhost", "localhost", false, reserved}, Case{"localhost_upper", "LOCALHOST", false, reserved},
        Case{"lxcprov", "lxcprov", false, reserved}, Case{"template", "template", false, reserved},
        Case{"tpl_prefix", "tpl-debian", false, reserved}, Case{"tpl_prefix_upper", "TPL-Debian", false, reserved},
        Case{"tpl_dash_only", "tpl-", false, "must not end with '-'"}),
    case_name);

// --- distribution ----------------------------------------------------------------------------

TEST(Distribution, Rules) {
  const std::vector<std::string> allowed{"debian", "busybox"};
  struct Row {
    std::string input;
    std::optional<std::string> expected;
  };
  const std::vector<Row> table{
      {"", "debian"},
      {"debian", "debian"},
      {"DEBIAN", "debian"},
      {"Busybox", "busybox"},
      {"rocky", std::nullopt},
      {"debian ", std::nullopt},
      {" debian", std::nullopt},
      {"debian\n", std::nullopt},
      {"deb", std::nullopt},
      {"debian\0"s, std::nullopt},
      {"d\xc3\xa9"
       "bian",
       std::nullopt},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.input);
    auto r = check_distribution(row.input, allowed, "debian");
    if (row.expected) {
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(*r.value, *row.expected);
    } else {
      // The message lists the allowed names, so " debian" is found in it; the exact text is checked instead.
      expect_clean_error(r, "LINUX_DISTRIBUTION", row.input, false);
      EXPECT_EQ(r.error->message, "must be one of: debian, busybox");
    }
  }
}

TEST(Distribution, EmptyTakesTheGivenDefault) {
  auto r = check_distribution("", {"debian", "busybox"}, "busybox");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r.value, "busybox");
}

// --- HTTP port -------------------------------------------------------------------------------

TEST(HttpPort, Rules) {
  struct Row {
    std::string input;
    std::optional<uint16_t> expected;
  };
  const std::vector<Row> table{
      {"80", 80},
      {"3000", 3000},
      {"8080", 8080},
      {"60000", 60000},
      {"", std::nullopt},
      {"0", std::nullopt},
      {"22", std::nullopt},
      {"79", std::nullopt},
      {"60001", std::nullopt},
      {"65535", std::nullopt},
      {"65536", std::nullopt},
      {"99999", std::nullopt},
      {"100000", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"-1", std::nullopt},
      {"+80", std::nullopt},
      {"0x50", std::nullopt},
      {"080", std::nullopt},
      {"00080", std::nullopt},
      {"80 ", std::nullopt},
      {" 80", std::nullopt},
      {"8 0", std::nullopt},
      {"80\n", std::nullopt},
      {"8O", std::nullopt},
      {"1e3", std::nullopt},
      {"80.0", std::nullopt},
      {"\xd9\xa8\xd9\xa0", std::nullopt},
      {"80\0"s, std::nullopt},
  };
  for (const auto& row : table) {
    SCOPED_TRACE(row.input);
    auto r = check_http_port(row.input);
    if (row.expected) {
      ASSERT_TRUE(r.ok()) << r.error->message;
      EXPECT_EQ(*r.value, *row.expected);
    } else {
      expect_clean_error(r, "HTTP_PORT", row.input);
    }
  }
}

TEST(HttpPort, MessagesNameTheRule) {
  EXPECT_EQ(check_http_port("79").error->message, "must be from 80 to 60000");
  EXPECT_EQ(check_http_port("65536").error->message, "must be from 80 to 60000");
  EXPECT_EQ(check_http_port("080").error->message, "must not have leading zeros");
  EXPECT_EQ(check_http_port("0x50").error->message, "must be a decimal number from 80 to 60000 (digits only)");
  EXPECT_EQ(check_http_port("-1").error->message, "must be a decimal number from 80 to 60000 (digits only)");
}

// --- job id ----------------------------------------------------------------------------------

TEST(JobId, Rules) {
  for (std::string ok : {"0123456789abcdef", "ffffffffffffffff", "0000000000000000"}) {
    auto r = check_job_id(ok);
    ASSERT_TRUE(r.ok()) << ok;
    EXPECT_EQ(*r.value, ok);
  }
  for (std::string bad : {""s, "0123456789abcde"s, "0123456789abcdef0"s, "0123456789ABCDEF"s, "0123456789abcdeg"s,
                          "0123456789abcde\n"s, "0123456789abcde\0"s, " 0123456789abcde"s, "../../../etc/pass"s}) {
    SCOPED_TRACE(bad);
    expect_clean_error(check_job_id(bad), "JOB_ID", bad);
  }
}

// --- public key ------------------------------------------------------------------------------

class PublicKey : public testing::TestWithParam<Case> {};

TEST_P(PublicKey, Rule) {
  const Case& c = GetParam();
  auto r = check_public_key(c.input);
  if (c.ok) {
    ASSERT_TRUE(r.ok()) << r.error->message;
    EXPECT_EQ(*r.value, c.expected);
  } else {
    expect_clean_error(r, "PUBLIC_KEY", c.input);
    EXPECT_NE(r.error->message.find(c.expected), std::string::npos) << r.error->message;
  }
}

const std::string options_rule = "options such as command= or restrict are not allowed";
const std::string not_base64 = "key data is not valid base64";
const std::string mismatch = "does not match the type word";

INSTANTIATE_TEST_SUITE_P(
    Validation, PublicKey,
    testing::Values(
        Case{"ed25519", ed25519, true, ed25519}, Case{"rsa2048", rsa2048, true, rsa2048},
        Case{"rsa4096", rsa4096, true, rsa4096}, Case{"ecdsa256", ecdsa256, true, ecdsa256},
        Case{"ecdsa384", ecdsa384, true, ecdsa384}, Case{"ecdsa521", ecdsa521, true, ecdsa521},
        Case{"sk_ed25519", sk_ed25519, true, sk_ed25519}, Case{"sk_ecdsa", sk_ecdsa, true, sk_ecdsa},
        Case{"no_comment", "ssh-ed25519 " + ed25519_b64, true, "ssh-ed25519 " + ed25519_b64},
        Case{"comment_with_spaces", "ssh-ed25519 " + ed25519_b64 + " Alice Smith (laptop)", true,
             "ssh-ed25519 " + ed25519_b64 + " Alice Smith (laptop)"},
        Case{"trailing_lf_trimmed", ed25519 + "\n", true, ed25519},
        Case{"trailing_crlf_trimmed", ed25519 + "\r\n", true, ed25519},
        Case{"spacing_normalised", "  ssh-ed25519 \t " + ed25519_b64 + "\t  me@host  ", true,
             "ssh-ed25519 " + ed25519_b64 + " me@host"},
        Case{"empty", "", false, "must not be empty"}, Case{"blank", "   ", false, "must not be empty"},
        Case{"dsa", dsa1024, false, "DSA (ssh-dss) keys are refused"},
        Case{"rsa1024", rsa1024, false, "RSA keys must be at least 2048 bits"},
        Case{"rsa2047", rsa2047, false, "RSA keys must be at least 2048 bits"},
        Case{"option_command", "command=\"/bin/sh\" " + ed25519, false, options_rule},
        Case{"option_restrict", "restrict " + ed25519, false, options_rule},
        Case{"option_from", "from=\"10.0.0.1\",no-pty " + ed25519, false, options_rule},
        Case{"uppercase_type", "SSH-ED25519 " + ed25519_b64, false, options_rule},
        Case{"certificate_type", "ssh-ed25519-cert-v01@openssh.com " + ed25519_b64, false, options_rule},
        Case{"signature_alg_as_type", "rsa-sha2-256 " + ed25519_b64, false, options_rule},
        Case{"base64_only", ed25519_b64, false, options_rule},
        Case{"type_only", "ssh-ed25519", false, "must have the form 'TYPE BASE64 [comment]'"},
        Case{"two_keys", ed25519 + "\n" + ecdsa256, false, "must be a single line"},
        Case{"cr_inside", "ssh-ed25519 " + ed25519_b64 + "\r comment", false, "must be a single line"},
        Case{"leading_newline", "\n" + ed25519, false, "must be a single line"},
        Case{"two_trailing_newlines", ed25519 + "\n\n", false, "must be a single line"},
        Case{"bad_base64_char", "ssh-ed25519 AAAA!AAA", false, not_base64},
        Case{"unpadded_base64", "ssh-ed25519 " + ed25519_b64.substr(0, ed25519_b64.size() - 1), false, not_base64},
        Case{"padding_in_middle", "ssh-ed25519 AA==" + ed25519_b64, false, not_base64},
        Case{"non_canonical_padding_bits",
             "ecdsa-sha2-nistp256 " + ecdsa256_b64.substr(0, ecdsa256_b64.size() - 2) + "J=", false, not_base64},
        Case{"ed25519_word_ecdsa_blob", "ssh-ed25519 " + ecdsa256_b64, false, mismatch},
        Case{"rsa_word_ed25519_blob", "ssh-rsa " + ed25519_b64, false, mismatch},
        Case{"ecdsa384_word_p256_blob", "ecdsa-sha2-nistp384 " + ecdsa256_b64, false, mismatch},
        Case{"rsa_name_ed25519_point", "ssh-rsa " + ed25519_point_named_rsa_b64, false, "not"},
        Case{"curve_mismatch_in_blob", "ecdsa-sha2-nistp256 " + p256_blob_with_p384_curve_b64, false, mismatch},
        Case{"trailing_bytes_in_blob", "ssh-ed25519 " + ed25519_trailing_bytes_b64, false, "well-formed"},
        Case{"comment_escape", "ssh-ed25519 " + ed25519_b64 + " me\x1b[31m", false, "comment must be printable ASCII"},
        Case{"comment_tab_inside", "ssh-ed25519 " + ed25519_b64 + " me\there", false, "comment must be printable"},
        Case{"comment_nul", "ssh-ed25519 " + ed25519_b64 + " me\0x"s, false, "comment must be printable ASCII"},
        Case{"comment_del", "ssh-ed25519 " + ed25519_b64 + " me\x7f", false, "comment must be printable ASCII"},
        Case{"comment_rtl", "ssh-ed25519 " + ed25519_b64 + " \xe2\x80\xaeme", false, "comment must be printable"},
        Case{"over_8k", "ssh-ed25519 " + ed25519_b64 + " " + std::string(8200, 'c'), false, "at most 8192 bytes"},
        Case{"ten_megabytes", std::string(10 << 20, 'A'), false, "at most 8192 bytes"}),
    case_name);

// The contents (curve points, RSA parameters) are a cryptographic library's call, asked only once
// the layout passed; its refusal is the rule users see. The real check (libssh) is tested with
// these same keys in tests/component/ssh_key_test.cpp.
TEST(PublicKeyContents, TheCallersCheckIsAskedAfterTheLayoutAndItsNoIsTheRule) {
  std::vector<std::string> asked;
  KeyContentCheck refuse_off_curve = [&](std::string_view type, std::string_view data) {
    asked.emplace_back(std::string(type) + " " + std::string(data));
    return data != p256_point_off_curve_b64;
  };
  auto off = check_public_key("ecdsa-sha2-nistp256 " + p256_point_off_curve_b64, refuse_off_curve);
  ASSERT_FALSE(off.ok());
  EXPECT_EQ(off.error->message, "key data is not a valid key of that type");
  EXPECT_TRUE(check_public_key(ed25519, refuse_off_curve).ok());
  // A layout error never reaches the check.
  EXPECT_FALSE(check_public_key("ssh-ed25519 " + ecdsa256_b64, refuse_off_curve).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"ecdsa-sha2-nistp256 " + p256_point_off_curve_b64,
                                             "ssh-ed25519 " + ed25519_b64}));
}

TEST(PublicKeyLimit, ExactlyEightKiBIsAccepted) {
  const std::string head = "ssh-ed25519 " + ed25519_b64 + " ";
  const std::string line = head + std::string(8192 - head.size(), 'c');
  ASSERT_EQ(line.size(), 8192U);
  EXPECT_TRUE(check_public_key(line).ok());
  EXPECT_TRUE(check_public_key(line + "\n").ok());
  EXPECT_FALSE(check_public_key(line + "c").ok());
}

}  // namespace
}  // namespace lxcprov::request
