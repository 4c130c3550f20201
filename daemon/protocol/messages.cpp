#include "protocol/messages.hpp"

#include <limits>

#include <fmt/format.h>

namespace lxcprov::protocol {
namespace {

Error bad(std::string_view what) {
  return make_error(Errc::invalid_argument, fmt::format("malformed message: {}", what));
}

bool is_type(const nlohmann::json& j, std::string_view type) {
  auto it = j.find("type");
  return it != j.end() && it->is_string() && it->get_ref<const std::string&>() == type;
}

// Reads member `key` as a string of at most `limit` bytes; absent -> "" when optional.
Result<std::string> get_string(const nlohmann::json& j, const char* key, bool required,
                               size_t limit = max_value_bytes) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return bad(fmt::format("member \"{}\" is missing", key));
    return std::string();
  }
  if (!it->is_string()) return bad(fmt::format("member \"{}\" is not a string", key));
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > limit) return bad(fmt::format("member \"{}\" is longer than {} bytes", key, limit));
  return s;
}

Result<bool> get_bool(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (!it->is_boolean()) return bad(fmt::format("member \"{}\" is not a boolean", key));
  return it->get<bool>();
}

Result<std::vector<std::string>> get_strings(const nlohmann::json& j, const char* key, size_t max_count) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) return bad(fmt::format("member \"{}\" is not an array", key));
  if (it->size() > max_count) return bad(fmt::format("member \"{}\" has more than {} items", key, max_count));
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(fmt::format("member \"{}\" holds a non-string", key));
    if (v.get_ref<const std::string&>().size() > max_value_bytes)
      return bad(fmt::format("an item of \"{}\" is longer than {} bytes", key, max_value_bytes));
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const Hello& m) {
  return {{"type", "hello"},
          {"version", version},
          {"op", m.op},
          {"tty", m.tty},
          {"env", m.env},
          {"args", m.args},
          {"session_key", m.session_key},
          {"key_id", m.key_id},
          {"client_addr", m.client_addr},
          {"relay_user", m.relay_user},
          {"relay_answers", m.relay_answers}};
}
nlohmann::json to_json(const Answer& m) { return {{"type", "answer"}, {"value", m.value}}; }
nlohmann::json to_json(const PromptMsg& m) {
  return {{"type", "prompt"}, {"field", m.field}, {"text", m.text}, {"secret", m.secret}, {"default", m.default_value}};
}
nlohmann::json to_json(const Notice& m) { return {{"type", "notice"}, {"text", m.text}}; }
nlohmann::json to_json(const Progress& m) {
  return {{"type", "progress"}, {"job", m.job}, {"step", m.step}, {"text", m.text}};
}

nlohmann::json to_json(const Output& m) {
  return {{"type", "output"}, {"job", m.job}, {"step", m.step}, {"lines", m.lines}};
}
nlohmann::json to_json(const Final& m) { return {{"type", "final"}, {"exit_code", m.exit_code}, {"lines", m.lines}}; }

Result<Hello> hello_from_json(const nlohmann::json& j) {
  if (!is_type(j, "hello")) return bad("expected a \"hello\" message first");
  auto v = j.find("version");
  // Compared as the widest integer: get<int>() would truncate 2^32 + 1 to a supported 1.
  if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() != version)
    return bad(fmt::format("unsupported protocol version (this daemon speaks version {})", version));
  Hello h;
  auto op = get_string(j, "op", true, 32);
  if (!op) return op.error();
  h.op = *op;
  auto tty = get_bool(j, "tty");
  if (!tty) return tty.error();
  h.tty = *tty;
  auto key = get_string(j, "session_key", false, 16 * 1024);
  if (!key) return key.error();
  h.session_key = *key;
  auto key_id = get_string(j, "key_id", false, 128);
  if (!key_id) return key_id.error();
  h.key_id = *key_id;
  auto client_addr = get_string(j, "client_addr", false, 64);
  if (!client_addr) return client_addr.error();
  h.client_addr = *client_addr;
  auto relay_user = get_string(j, "relay_user", false, 64);
  if (!relay_user) return relay_user.error();
  h.relay_user = *relay_user;
  if (auto n = j.find("relay_answers"); n != j.end()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 0 || n->get<int64_t>() > 100000)
      return bad("member \"relay_answers\" is not a count");
    h.relay_answers = static_cast<int>(n->get<int64_t>());
  }
  auto args = get_strings(j, "args", max_args);
  if (!args) return args.error();
  h.args = *args;
  if (auto env = j.find("env"); env != j.end()) {
    if (!env->is_object()) return bad("member \"env\" is not an object");
    if (env->size() > max_env_vars) return bad(fmt::format("more than {} environment variables", max_env_vars));
    for (const auto& [name, value] : env->items()) {
      if (!value.is_string()) return bad(fmt::format("variable {} is not a string", name.size() <= 64 ? name : "?"));
      if (name.empty() || name.size() > 64) return bad("a variable name is empty or longer than 64 bytes");
      if (value.get_ref<const std::string&>().size() > max_value_bytes)
        return bad(fmt::format("variable {} is longer than {} bytes", name, max_value_bytes));
      h.env[name] = value.get<std::string>();
    }
  }
  return h;
}

Result<Answer> answer_from_json(const nlohmann::json& j) {
  if (!is_type(j, "answer")) return bad("expected an \"answer\" message");
  auto value = get_string(j, "value", true);
  if (!value) return value.error();
  return Answer{*value};
}

Result<PromptMsg> prompt_from_json(const nlohmann::json& j) {
  PromptMsg m;
  auto field = get_string(j, "field", true);
  if (!field) return field.error();
  auto text = get_string(j, "text", true);
  if (!text) return text.error();
  auto secret = get_bool(j, "secret");
  if (!secret) return secret.error();
  auto def = get_string(j, "default", false);
  if (!def) return def.error();
  return PromptMsg{*field, *text, *secret, *def};
}

Result<Notice> notice_from_json(const nlohmann::json& j) {
  auto text = get_string(j, "text", true);
  if (!text) return text.error();
  return Notice{*text};
}

Result<Progress> progress_from_json(const nlohmann::json& j) {
  auto job = get_string(j, "job", false);
  if (!job) return job.error();
  auto step = get_string(j, "step", false);
  if (!step) return step.error();
  auto text = get_string(j, "text", true);
  if (!text) return text.error();
  return Progress{*job, *step, *text};
}

Result<Output> output_from_json(const nlohmann::json& j) {
  auto job = get_string(j, "job", false);
  if (!job) return job.error();
  auto step = get_string(j, "step", false);
  if (!step) return step.error();
  auto lines = get_strings(j, "lines", 4096);
  if (!lines) return lines.error();
  return Output{*job, *step, *lines};
}

Result<Final> final_from_json(const nlohmann::json& j) {
  auto code = j.find("exit_code");
  if (code == j.end() || !code->is_number_integer()) return bad("member \"exit_code\" is missing");
  // Range-checked before the conversion: 2^32 would otherwise become exit code 0, a success.
  const bool fits = code->is_number_unsigned()
                        ? code->get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int>::max())
                        : code->get<int64_t>() >= std::numeric_limits<int>::min() &&
                              code->get<int64_t>() <= std::numeric_limits<int>::max();
  if (!fits) return bad("member \"exit_code\" is out of range");
  auto lines = get_strings(j, "lines", 1024);
  if (!lines) return lines.error();
  return Final{code->get<int>(), *lines};
}

}  // namespace lxcprov::protocol
