// The key rules that need libssh: fingerprints as ssh-keygen prints them, an admin's key input
// (exactly one key), and the contents check request::check_public_key delegates (curve points).

#include <gtest/gtest.h>

#include "auth/ssh_key.hpp"
#include "request/validation.hpp"

namespace lxcprov {
namespace {

// Made with ssh-keygen; fingerprints as `ssh-keygen -lf` printed them.
const std::string ed25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHSYk54V+s7faztHAwzpnsUlPYZvGpZbBwR7fRck3RvX alice@laptop";
const std::string ed25519_fp = "SHA256:MILN3KB3JIYDpd5tdqh6LBOv4BQczd6299UgA7h6+FA";
const std::string rsa2048 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAABAQDi7gyErKV8fhz8wAgMt6ZXEdMNp8Tj6YQMXCHOSl0zaFcdYp2ENDFsu1qq/"
    "xQYfUc1QNCy0uUYVHtAgHCYcEa0MgtIi4XySodu7/qLuftm2gWLk/2+ikObbLlfRGBUGE+fO4MWYjfWYt4oodMdn6ohJ3yFRdD/"
    "9aWh8S7blIfz9JPis3tf8lulJMJhXjWx66wd2vo16B74tITQS1t+1bOgMdlA/G4o9hnr3PKHjVAUn1ifZxgBRYK2hnxpWtV/0xgVg/f/"
    "x0AK9GkF+y3A4/nSkl0MrumcECQdM5nOmEMEjA9zTkqcV9cvmsBWqWqnvGA2aS+gzyacnqfg+hKNj5BL";
const std::string rsa2048_fp = "SHA256:/TUGCwG/dhudY6WJxvbb3/gKN887PlXSHCcBwmIfXaM";
const std::string rsa1024 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDJpIRvNoZcj3s9ygcgODLouwHtuCRPaVz9WP0Bp0Gu2Cyl42OZNqfp0lsmMd1TmKFpVwvyMYRz1Nc86T26bS"
    "4IVJqS0A6uUoIFInmUPIz/+apnQjnDWeMWPrhrZDYzdRnMOTWPKatX/iiUtQBXdMInHlemAfh/aMCesL5fOuiPlQ==";
const std::string dsa =
    "ssh-dss "
    "AAAAB3NzaC1kc3MAAACBANydcc2JsCFTzaArIexacAj0QKpIJACYFvl1hzMNIpoPk1YmGlv9+x/"
    "Md3tR9B7qYP+"
    "kl7zOhtSCJWpUQ4on8yJa1Em15lNzaYBZftf24ZwsHugjNGtKmtZQq6QwiaLZlp6pZvv8tZG21lMBRd2DiZndRabqnLXecimPwmxyy9hDAAAAFQCPO"
    "gq0RXTGyYaNs/iITTuFehEoQQAAAIA5ps/q4FDmmi4A2zO9VzBNk3c1mnXnH6o/"
    "mv6nvjbhsBcuCfn3m+nHdXCBwa5o+virV+OogQCe1iiIeT8EZbUOKX1pDxTd6rdeI2Ye3OP9Pw4Bc3VsV699ftej+"
    "HjMwSVhwvTPDjq2NFkmHqobvtxTK+WofMqzJ9DHWVLJKPiqcAAAAIEAmpCefP7XV2A4rBzSL0Y8Isg8yV2zj8fY/"
    "vW3ac01HB1QM4dF22LrTFKccYUhr7+UO90raub60iuOh/vKwq5y+tk4LjVcJPMiE738k1nv7dTJU3wb5bUEKpaBolxh4+nkTxE/"
    "k46HpjIJlHH7JGBmtw7t8Nm+WhPf3xaH1BX1TAo=";
const std::string ecdsa =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBKym55K120KI43xlsKfMwcR9ef3aP+EtKFPV4PgRa+"
    "aiQbGlXCexfPsmSsa1t3zm9Hhs5nm3/5yjfNeDjeu0uK0=";
const std::string ecdsa_fp = "SHA256:Inbxyybmcbv7I0BQNP97rW37a4O4EluaNP5RF7ZIyFs";

TEST(SshKey, FingerprintsMatchSshKeygen) {
  EXPECT_EQ(*auth::key_fingerprint(ed25519), ed25519_fp);
  EXPECT_EQ(*auth::key_fingerprint(rsa2048), rsa2048_fp);
  EXPECT_EQ(*auth::key_fingerprint(ecdsa), ecdsa_fp);
  EXPECT_TRUE(auth::looks_like_fingerprint(ed25519_fp));
  EXPECT_FALSE(auth::looks_like_fingerprint("SHA256:short"));
  EXPECT_FALSE(auth::looks_like_fingerprint("MD5:" + ed25519_fp.substr(7)));
}

TEST(SshKey, ParsesExactlyOneKeyWithItsComment) {
  auto k = auth::parse_single_key("# alice's laptop\n\n" + ed25519 + "\n");
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->type, "ssh-ed25519");
  EXPECT_EQ(k->comment, "alice@laptop");
  EXPECT_EQ(k->fingerprint, ed25519_fp);
  EXPECT_EQ(k->line(), ed25519);
}

TEST(SshKey, RefusesWhatMustNotBecomeAnIdentity) {
  struct Case {
    std::string input, says;
  };
  const std::vector<Case> cases = {
      {"", "no key given"},
      {"\n# only a comment\n", "no key given"},
      {ed25519 + "\n" + rsa2048 + "\n", "2 keys given"},
      {dsa, "DSA"},
      {rsa1024, "at least 2048 bits"},
      {"restrict,command=\"/bin/sh\" " + ed25519, "options"},
      {"command=\"id\" " + ed25519, "options"},
      {"ssh-ed25519 AAAA!!!!", "base64"},
      {"ssh-ed25519 " + rsa2048.substr(8), "does not match"},
      {"ssh-ed25519", "TYPE BASE64"},
      {ed25519 + "\x1b[2J", "printable"},
      {std::string(70 * 1024, 'a'), "64 KiB"},
  };
  for (const auto& c : cases) {
    auto k = auth::parse_single_key(c.input);
    ASSERT_FALSE(k) << c.input.substr(0, 80);
    EXPECT_NE(k.error().message.find(c.says), std::string::npos) << k.error().message;
    EXPECT_EQ(k.error().message.rfind("key: ", 0), 0u);
  }
}

// Layouts that pass request::check_public_key's own checks but are no key at all.
const std::string ed25519_31_bytes_b64 = "AAAAC3NzaC1lZDI1NTE5AAAAH854Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZU=";
const std::string p256_point_off_curve_b64 =
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418VtZfoqycWsQjorCeqfXW5"
    "B6hulTsuBkjSCvn0N20cY3O9JhM=";

TEST(SshKey, ContentsThatLibsshRefusesAreRefused) {
  for (const std::string& line :
       {"ssh-ed25519 " + ed25519_31_bytes_b64, "ecdsa-sha2-nistp256 " + p256_point_off_curve_b64}) {
    EXPECT_TRUE(request::check_public_key(line).ok()) << "the layout alone passes: " << line;
    auto r = request::check_public_key(line, auth::key_contents_valid);
    ASSERT_FALSE(r.ok()) << line;
    EXPECT_EQ(r.error->message, "key data is not a valid key of that type");
    EXPECT_FALSE(auth::parse_single_key(line));
  }
  for (const std::string& line : {ed25519, rsa2048, ecdsa})
    EXPECT_TRUE(request::check_public_key(line, auth::key_contents_valid).ok()) << line;
}

}  // namespace
}  // namespace lxcprov
