#pragma once
// Internal to server/: a client connection (Server::Session) and offload(), shared by the
// server's translation units (server.cpp: sessions, dialogue, jobs; relay.cpp: a fleet entry's
// placement and relay).

#include <array>
#include <chrono>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.hpp"
#include "common/exit_codes.hpp"
#include "common/result.hpp"
#include "protocol/frame.hpp"
#include "protocol/messages.hpp"
#include "request/dialogue.hpp"
#include "server/server.hpp"

namespace lxcprov::server {

using asio::awaitable;
using asio::use_awaitable;
using socket_t = asio::local::stream_protocol::socket;

// Runs f() on `pool`; co_await the result on the caller's executor (an engaged optional).
// Not a coroutine itself, and it takes f by reference: g++ 12 destroys non-trivial temporaries
// that live across a co_await twice (seen as a double free here), so no co_await expression in
// this file holds one: such objects are named locals or lambda captures first.
template <class F>
awaitable<std::optional<std::invoke_result_t<F>>> offload(asio::thread_pool& pool, F&& f) {
  using R = std::invoke_result_t<F>;
  return asio::co_spawn(
      pool.get_executor(),
      [f = std::forward<F>(f)]() mutable -> awaitable<std::optional<R>> { co_return std::optional<R>(f()); },
      use_awaitable);
}

// One client connection: reads frames with a deadline, writes frames.
struct Server::Session {
  Session(socket_t s, uint32_t limit) : socket(std::move(s)), frame_limit(limit) {}
  socket_t socket;
  uint32_t frame_limit;
  /// Until the identity is proved: when the session ends whatever it is doing (auth_timeout_s
  /// from the connect), and whom it is counted under (limits::source_of; "" before hello).
  std::optional<std::chrono::steady_clock::time_point> auth_deadline;
  std::string source;
  limits::Admission::Ticket ticket = 0;
  /// The container-exists account speaks the old client's contract: 0 free, 2 exists and yours,
  /// 1 for every other outcome (docs/protocol.md, "The legacy contract").
  bool legacy_exists = false;
  /// What a fleet entry replays to the node it relays the session to: the accepted variables as
  /// given, and every answer the dialogue kept, in order, under the field it answered (an Enter
  /// taken as the shown default is that default; answers refused, or undone by a name or
  /// repository check, are not kept; the name and password never). Hold secrets: never logged,
  /// dropped with the session.
  std::map<std::string, std::string> env;
  std::vector<std::pair<std::string, std::string>> answers;
  /// A check sent `field` back to be asked again: its last kept answer no longer counts.
  void drop_last_answer(const std::string& field) {
    for (auto it = answers.rbegin(); it != answers.rend(); ++it)
      if (it->first == field) {
        answers.erase(std::next(it).base());
        return;
      }
  }

  awaitable<Result<nlohmann::json>> read(std::chrono::milliseconds timeout) {
    // The timer's handler may run after this frame is gone (it fired as the read finished), so it
    // reaches the socket only through state it shares and that says whether the read is still on.
    struct Deadline {
      socket_t* socket;
      bool active = true;
      bool fired = false;
    };
    auto deadline = std::make_shared<Deadline>(Deadline{&socket});
    asio::steady_timer timer(socket.get_executor());
    timer.expires_after(timeout);
    timer.async_wait([deadline](boost::system::error_code ec) {
      if (ec || !deadline->active) return;
      deadline->fired = true;
      boost::system::error_code ignored;
      deadline->socket->cancel(ignored);
    });
    auto gone = [&] {
      return make_error(deadline->fired ? Errc::timeout : Errc::io,
                        deadline->fired ? "no answer in time" : "client went away");
    };
    boost::system::error_code ec;
    std::array<uint8_t, protocol::header_size> header{};
    co_await asio::async_read(socket, asio::buffer(header), asio::redirect_error(use_awaitable, ec));
    if (ec) {
      deadline->active = false;
      co_return gone();
    }
    auto len = protocol::decode_header(header, frame_limit);
    if (!len) {
      deadline->active = false;
      co_return len.error();
    }
    std::string body(*len, '\0');
    co_await asio::async_read(socket, asio::buffer(body), asio::redirect_error(use_awaitable, ec));
    deadline->active = false;
    timer.cancel();
    if (ec) co_return gone();
    co_return protocol::decode_body(body);
  }

  // The senders below are not coroutines: the frame lives in `out` until the write completes, and
  // no argument has to survive a suspension (see offload()). Check sent() after co_await.
  std::string out;
  boost::system::error_code write_ec;

  awaitable<std::size_t> send(const nlohmann::json& message) {
    out = protocol::encode_frame(message);
    write_ec.clear();
    return asio::async_write(socket, asio::buffer(out), asio::redirect_error(use_awaitable, write_ec));
  }
  bool sent() const { return !write_ec; }

  awaitable<std::size_t> finish(int exit_code, const std::vector<std::string>& lines) {
    return send(protocol::to_json(protocol::Final{legacy(exit_code), lines}));
  }
  awaitable<std::size_t> fail(int exit_code, std::string_view line) {
    return send(protocol::to_json(protocol::Final{legacy(exit_code), {std::string(line)}}));
  }
  int legacy(int exit_code) const {
    // A refusal must never read as 0 (create) or 2 (update, which is also "bad input") to the old
    // client; only Queries::exists answers 2, through answer_exists().
    if (!legacy_exists || exit_code == exit_code::ok) return exit_code;
    return exit_code::legacy_refused;
  }
  awaitable<std::size_t> answer_exists(int exit_code, const std::vector<std::string>& lines) {
    return send(protocol::to_json(protocol::Final{exit_code, lines}));
  }
  awaitable<std::size_t> notice(std::string_view text) {
    return send(protocol::to_json(protocol::Notice{std::string(text)}));
  }
  awaitable<std::size_t> prompt(const request::Prompt& p) {
    return send(protocol::to_json(protocol::PromptMsg{p.field, p.text, p.secret, p.default_value}));
  }
  awaitable<std::size_t> progress(std::string_view job, std::string_view text) {
    return send(protocol::to_json(protocol::Progress{std::string(job), "", std::string(text)}));
  }
};

}  // namespace lxcprov::server
