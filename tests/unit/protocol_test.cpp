#include <gtest/gtest.h>

#include "protocol/frame.hpp"
#include "protocol/messages.hpp"

namespace lxcprov::protocol {
namespace {

std::array<uint8_t, header_size> header_of(const std::string& frame) {
  std::array<uint8_t, header_size> h{};
  for (size_t i = 0; i < header_size; ++i) h[i] = static_cast<uint8_t>(frame[i]);
  return h;
}

TEST(Frame, RoundTripsAMessage) {
  Hello hello{"create", true, {{"CONTAINER_NAME", "web-1"}}, {"x"}, "ssh-ed25519 AAAA", "SHA256:k", "10.0.0.9"};
  std::string frame = encode_frame(to_json(hello));
  auto len = decode_header(header_of(frame), default_frame_limit);
  ASSERT_TRUE(len);
  EXPECT_EQ(*len, frame.size() - header_size);
  auto body = decode_body(std::string_view(frame).substr(header_size));
  ASSERT_TRUE(body);
  auto back = hello_from_json(*body);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->op, "create");
  EXPECT_TRUE(back->tty);
  EXPECT_EQ(back->env.at("CONTAINER_NAME"), "web-1");
  EXPECT_EQ(back->args, std::vector<std::string>{"x"});
  EXPECT_EQ(back->session_key, "ssh-ed25519 AAAA");
  EXPECT_EQ(back->key_id, "SHA256:k");
  EXPECT_EQ(back->client_addr, "10.0.0.9");
}

TEST(Frame, HeaderIsBigEndian) {
  std::string frame = encode_frame(nlohmann::json{{"type", "x"}});
  const uint32_t n = static_cast<uint32_t>(frame.size() - header_size);
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), 0);
  EXPECT_EQ(static_cast<uint8_t>(frame[3]), n & 0xff);
}

TEST(Frame, RefusesEmptyAndOversizeBodies) {
  EXPECT_EQ(decode_header({0, 0, 0, 0}, 100).error().code, Errc::invalid_argument);
  EXPECT_EQ(decode_header({0xff, 0xff, 0xff, 0xff}, default_frame_limit).error().code, Errc::invalid_argument);
  EXPECT_TRUE(decode_header({0, 0, 0, 100}, 100));
  auto over = decode_header({0, 0, 0, 101}, 100);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("exceeds the limit"), std::string::npos);
}

TEST(Frame, RefusesBodiesThatAreNotTypedObjects) {
  for (std::string body : {"not json", "[1,2]", "\"s\"", "{}", "{\"type\": 3}", "{\"type\": \"x\""}) {
    auto r = decode_body(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_EQ(r.error().message.rfind("malformed frame", 0), 0u) << r.error().message;
  }
}

TEST(Frame, InvalidUtf8IsReplacedNotThrown) {
  std::string frame = encode_frame(to_json(Notice{std::string("bad \xff byte")}));
  auto body = decode_body(std::string_view(frame).substr(header_size));
  ASSERT_TRUE(body);
}

TEST(Messages, HelloChecksEveryMember) {
  auto base = to_json(Hello{"create", false, {}, {}, "", "", ""});
  EXPECT_TRUE(hello_from_json(base));

  auto wrong_type = base;
  wrong_type["type"] = "answer";
  EXPECT_FALSE(hello_from_json(wrong_type));

  auto wrong_version = base;
  wrong_version["version"] = 99;
  EXPECT_FALSE(hello_from_json(wrong_version));

  // Found by fuzzing (tests/fuzz/messages_fuzz.cpp): get<int>() truncated 2^32 + 1 to version 1.
  for (auto v :
       {nlohmann::json(4294967297ull), nlohmann::json(-4294967295ll), nlohmann::json(18446744073709551615ull)}) {
    auto huge_version = base;
    huge_version["version"] = v;
    EXPECT_FALSE(hello_from_json(huge_version)) << v.dump();
  }

  auto no_op = base;
  no_op.erase("op");
  EXPECT_FALSE(hello_from_json(no_op));

  auto tty_string = base;
  tty_string["tty"] = "yes";
  EXPECT_FALSE(hello_from_json(tty_string));

  auto env_number = base;
  env_number["env"] = {{"CONTAINER_NAME", 5}};
  EXPECT_FALSE(hello_from_json(env_number));

  auto too_many = base;
  for (size_t i = 0; i <= max_env_vars; ++i) too_many["env"]["V" + std::to_string(i)] = "x";
  EXPECT_FALSE(hello_from_json(too_many));

  auto huge_value = base;
  huge_value["env"] = {{"CONTAINER_NAME", std::string(max_value_bytes + 1, 'a')}};
  EXPECT_FALSE(hello_from_json(huge_value));

  auto many_args = base;
  many_args["args"] = std::vector<std::string>(max_args + 1, "a");
  EXPECT_FALSE(hello_from_json(many_args));
}

TEST(Messages, OtherMessagesRoundTrip) {
  auto a = answer_from_json(to_json(Answer{"web-1"}));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, "web-1");
  auto p = prompt_from_json(to_json(PromptMsg{"PROXMOX_PASSWORD", "Password", true, ""}));
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->secret);
  auto out = output_from_json(to_json(Output{"0123456789abcdef", "deploy-build", {"> build", "ok"}}));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->step, "deploy-build");
  EXPECT_EQ(out->lines, (std::vector<std::string>{"> build", "ok"}));
  auto pr = progress_from_json(to_json(Progress{"0123456789abcdef", "clone", "clone done"}));
  ASSERT_TRUE(pr);
  EXPECT_EQ(pr->step, "clone");
  auto f = final_from_json(to_json(Final{4, {"CONTAINER_NAME: is already taken"}}));
  ASSERT_TRUE(f);
  EXPECT_EQ(f->exit_code, 4);
  EXPECT_EQ(f->lines.size(), 1u);
  EXPECT_FALSE(answer_from_json(nlohmann::json{{"type", "answer"}}));
  EXPECT_FALSE(final_from_json(nlohmann::json{{"type", "final"}}));
  // Found by fuzzing: an exit code of 2^32 was truncated to 0, turning a failure into a success.
  EXPECT_FALSE(final_from_json(
      nlohmann::json{{"type", "final"}, {"exit_code", 4294967296ull}, {"lines", nlohmann::json::array()}}));
  EXPECT_FALSE(final_from_json(
      nlohmann::json{{"type", "final"}, {"exit_code", -4294967296ll}, {"lines", nlohmann::json::array()}}));
  EXPECT_FALSE(final_from_json(
      nlohmann::json{{"type", "final"}, {"exit_code", 18446744073709551615ull}, {"lines", nlohmann::json::array()}}));
  auto most =
      final_from_json(nlohmann::json{{"type", "final"}, {"exit_code", 2147483647}, {"lines", nlohmann::json::array()}});
  ASSERT_TRUE(most);
  EXPECT_EQ(most->exit_code, 2147483647);
}

}  // namespace
}  // namespace lxcprov::protocol
