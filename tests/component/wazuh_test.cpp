// WazuhClient against tests/fixtures/wazuh_test_server.py, a stand-in manager speaking authd's
// enrollment protocol and the REST API over real TLS (certificates made with openssl). Covers:
// enrollment, wrong password, duplicate name, manager down / hung (bounded by the timeout), a
// certificate from another CA and a wrong pin refused, delete by API. Prints the figures measured.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "../fixtures/wazuh_fixture.hpp"
#include "wazuh/tls_client.hpp"
#include "wazuh/wazuh_client.hpp"

namespace lxcprov::wazuh {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing_wazuh::WazuhServer;

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

class Wazuh : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = "/tmp/lxcprov-wazuh-ct-" + std::to_string(::getpid());
    server_ = new WazuhServer;
    std::string why;
    if (!testing_wazuh::start_wazuh_server(*server_, dir_, "Enr0ll-pw", false, why)) setup_error_ = why;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  config::Wazuh settings() const {
    config::Wazuh w;
    w.enabled = true;
    w.manager = "127.0.0.1";
    w.enrollment_port = static_cast<uint16_t>(server_->enrollment_port);
    w.api_url = fmt::format("https://127.0.0.1:{}", server_->api_port);
    w.api_user = server_->api_user;
    w.api_password_file = server_->api_password_file;
    w.enrollment_password_file = server_->enrollment_password_file;
    w.ca_file = server_->ca;
    w.timeout = 3000ms;
    return w;
  }
  std::string name(const std::string& what) const { return fmt::format("ct{}-{}", ::getpid() % 100000, what); }

  static inline std::string dir_;
  static inline WazuhServer* server_ = nullptr;
  static inline std::string setup_error_;
};

TEST_F(Wazuh, EnrollsAndTheKeyIsTheServersClientKeysEntry) {
  WazuhClient c(settings());
  const auto n = name("ok");
  std::vector<double> took;
  auto t0 = Clock::now();
  auto e = c.enroll(n);
  took.push_back(ms_since(t0));
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->name, n);
  EXPECT_EQ(e->ip, "any");
  auto held = server_->agents_named(n);
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held[0]["id"], e->id);
  EXPECT_EQ(held[0]["key"], std::string(e->key.reveal()));
  EXPECT_EQ(std::string(wazuh::client_keys(*e).reveal()),
            fmt::format("{} {} any {}\n", e->id, n, std::string(held[0]["key"])));
  for (int i = 0; i < 9; ++i) {
    auto t = Clock::now();
    auto more = c.enroll(name("lat" + std::to_string(i)));
    took.push_back(ms_since(t));
    ASSERT_TRUE(more) << more.error().message;
  }
  std::sort(took.begin(), took.end());
  std::cout << fmt::format(
      "[ figures  ] enrollment (TCP+TLS+authd exchange), 10 runs: median {:.1f} ms, max {:.1f} ms\n",
      took[took.size() / 2], took.back());
}

TEST_F(Wazuh, WrongEnrollmentPasswordIsRefused) {
  auto s = settings();
  s.enrollment_password_file = dir_ + "/wrong.pass";
  testing_wazuh::write_secret(s.enrollment_password_file, "not-the-password");
  auto e = WazuhClient(s).enroll(name("badpw"));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::permission_denied) << e.error().message;
  EXPECT_EQ(e.error().message.find("not-the-password"), std::string::npos);
  EXPECT_TRUE(server_->agents_named(name("badpw")).empty());
  s.enrollment_password_file = "";  // none at all
  auto none = WazuhClient(s).enroll(name("nopw"));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::permission_denied);
}

TEST_F(Wazuh, SecretFileReadableByOthersIsRefused) {
  auto s = settings();
  s.enrollment_password_file = dir_ + "/open.pass";
  testing_wazuh::write_secret(s.enrollment_password_file, "Enr0ll-pw");
  ::chmod(s.enrollment_password_file.c_str(), 0644);
  auto e = WazuhClient(s).enroll(name("openpw"));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::permission_denied);
}

TEST_F(Wazuh, DuplicateNameIsAConflict) {
  WazuhClient c(settings());
  const auto n = name("dup");
  ASSERT_TRUE(c.enroll(n));
  auto again = c.enroll(n);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict) << again.error().message;
  EXPECT_EQ(server_->agents_named(n).size(), 1u);
}

TEST_F(Wazuh, ManagerDownFailsFastAndHungManagerWithinTheTimeout) {
  auto s = settings();
  s.enrollment_port = static_cast<uint16_t>(closed_port());
  s.timeout = 500ms;
  auto t0 = Clock::now();
  auto down = WazuhClient(s).enroll(name("down"));
  const double down_ms = ms_since(t0);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::unavailable) << down.error().message;
  EXPECT_LT(down_ms, 500);

  s.enrollment_port = static_cast<uint16_t>(server_->stall_port);  // accepts, never answers
  t0 = Clock::now();
  auto hung = WazuhClient(s).enroll(name("hung"));
  const double hung_ms = ms_since(t0);
  ASSERT_FALSE(hung);
  EXPECT_EQ(hung.error().code, Errc::timeout) << hung.error().message;
  EXPECT_GE(hung_ms, 450);
  EXPECT_LT(hung_ms, 1500);

  auto api = settings();
  api.api_url = fmt::format("https://127.0.0.1:{}", server_->stall_port);
  api.timeout = 500ms;
  t0 = Clock::now();
  auto r = WazuhClient(api).remove("001");
  const double api_ms = ms_since(t0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::timeout);
  EXPECT_LT(api_ms, 1500);
  std::cout << fmt::format(
      "[ figures  ] manager down (refused): {:.1f} ms; hung authd with timeout 500 ms: {:.0f} ms; "
      "hung API: {:.0f} ms\n",
      down_ms, hung_ms, api_ms);
}

TEST_F(Wazuh, CertificateOfAnotherCaOrAWrongPinIsRefused) {
  auto s = settings();
  s.ca_file = server_->rogue_ca;
  auto e = WazuhClient(s).enroll(name("rogue"));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Errc::unavailable);
  EXPECT_NE(e.error().message.find("certificate"), std::string::npos) << e.error().message;
  EXPECT_TRUE(server_->agents_named(name("rogue")).empty()) << "the request went out before the check";
  auto api = WazuhClient(s).find(name("rogue"));
  ASSERT_FALSE(api);

  auto pinned = settings();
  pinned.ca_file = server_->rogue_ca;  // ignored: the pin decides
  pinned.pin_sha256 = certificate_sha256(server_->cert);
  ASSERT_EQ(pinned.pin_sha256.size(), 64u);
  auto ok = WazuhClient(pinned).enroll(name("pinned"));
  EXPECT_TRUE(ok) << ok.error().message;
  pinned.pin_sha256 = std::string(64, 'a');
  auto bad = WazuhClient(pinned).enroll(name("badpin"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("pinned"), std::string::npos) << bad.error().message;
}

TEST_F(Wazuh, DeleteThroughTheApiRemovesTheAgent) {
  WazuhClient c(settings());
  const auto n = name("del");
  auto e = c.enroll(n);
  ASSERT_TRUE(e) << e.error().message;
  auto found = c.find(n);
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].id, e->id);
  auto t0 = Clock::now();
  auto r = c.remove(e->id);
  const double del_ms = ms_since(t0);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(server_->agents_named(n).empty());
  EXPECT_TRUE(c.find(n)->empty());
  EXPECT_TRUE(c.remove(e->id)) << "deleting an absent agent is done, not an error";
  // The name is free again on the manager: a re-created container enrolls without a duplicate.
  EXPECT_TRUE(c.enroll(n));
  std::cout << fmt::format("[ figures  ] API delete (login + DELETE, two TLS connections): {:.1f} ms\n", del_ms);
}

TEST_F(Wazuh, WrongApiPasswordIsRefused) {
  auto s = settings();
  s.api_password_file = dir_ + "/wrong-api.pass";
  testing_wazuh::write_secret(s.api_password_file, "nope");
  auto r = WazuhClient(s).find(name("x"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::permission_denied) << r.error().message;
}

}  // namespace
}  // namespace lxcprov::wazuh
