// Denial of service before authentication (docs/security.md, "Denial of service before
// authentication"), through the real sshd and lxcprovd: idle sessions that never authenticate,
// held open from one source, must not lock anyone else out; the source's extra sessions are
// refused at once and say why; nothing proves less than a deadline; refusals do not fill the log.

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>

#include <nlohmann/json.hpp>

#include "protocol/messages.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json hello(const std::string& client_addr, const std::string& session_key = "") {
  protocol::Hello h;
  h.op = "create";
  h.tty = true;
  h.client_addr = client_addr;
  h.session_key = session_key;
  return protocol::to_json(h);
}

// What a held session saw first: a prompt (admitted), or a final message (refused).
struct Opened {
  std::unique_ptr<SocketClient> client;
  nlohmann::json first;
  std::chrono::microseconds took{0};
  bool admitted() const { return first.value("type", "") == "prompt"; }
  bool refused() const { return first.value("type", "") == "final"; }
  std::string text() const {
    std::string t;
    for (const auto& l : first.value("lines", nlohmann::json::array())) t += l.get<std::string>() + "\n";
    return t;
  }
};

Opened open_session(const std::string& socket, const std::string& client_addr, const std::string& key = "") {
  Opened o;
  o.client = std::make_unique<SocketClient>(socket);
  if (!o.client->connected()) return o;
  const auto t0 = Clock::now();
  if (!o.client->send(hello(client_addr, key))) return o;
  if (auto f = o.client->read(10s)) o.first = *f;
  o.took = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0);
  return o;
}

double median_ms(std::vector<std::chrono::microseconds> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[v.size() / 2].count()) / 1000.0;
}
double max_ms(const std::vector<std::chrono::microseconds>& v) {
  return v.empty() ? 0 : static_cast<double>(std::max_element(v.begin(), v.end())->count()) / 1000.0;
}

std::vector<std::string> ssh_from(const std::string& source) {
  // -b: another loopback address is another source (all of 127/8 is local).
  return {"ssh", "-F", world().ssh_config, "-b", source, "-tt", "create-container@it"};
}

TEST(Limits, IdleUnauthenticatedSessionsFromOneSourceLockNobodyElseOut) {
  const World& w = world();
  const std::string attacker = "127.0.0.2";
  // The attack as the issue made it: ssh -tt sessions through sshd, sitting at "Username:"...
  std::vector<std::unique_ptr<PtySession>> held_ssh;
  for (int i = 0; i < 5; ++i) {
    held_ssh.push_back(std::make_unique<PtySession>(ssh_from(attacker)));
    ASSERT_TRUE(held_ssh.back()->expect("Username: ", 20s)) << held_ssh.back()->output();
  }
  // ...and as many more straight on the socket as a root peer relaying the same source, which
  // is what every ssh session becomes inside the daemon (sshd's own limits are not in the way).
  std::vector<Opened> held;
  std::vector<std::chrono::microseconds> refusal_times;
  int admitted = 0, refused = 0;
  for (int i = 0; i < 295; ++i) {
    auto o = open_session(w.socket, attacker);
    ASSERT_TRUE(o.admitted() || o.refused()) << "session " << i << ": " << o.first.dump();
    if (o.admitted()) {
      ++admitted;
    } else {
      ++refused;
      refusal_times.push_back(o.took);
      EXPECT_EQ(o.first.value("exit_code", -1), 6) << o.first.dump();
      EXPECT_NE(o.text().find("too many sessions from your address"), std::string::npos) << o.text();
    }
    held.push_back(std::move(o));
  }
  // The default share of a source is 32: 5 ssh sessions + 27 here; the other 268 refused.
  EXPECT_EQ(admitted, 27);
  EXPECT_EQ(refused, 268);

  // The same source through ssh is refused at once, with the daemon's sentence and exit code 6.
  std::vector<std::chrono::microseconds> ssh_refusals;
  for (int i = 0; i < 5; ++i) {
    PtySession extra(ssh_from(attacker));
    const auto t0 = Clock::now();
    EXPECT_TRUE(extra.expect("too many sessions from your address", 20s)) << extra.output();
    EXPECT_EQ(extra.wait_exit(20s), 6) << extra.output();
    ssh_refusals.push_back(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0));
  }

  // Meanwhile a create from another source (the world's ssh, 127.0.0.1) succeeds.
  const std::string name = w.prefix + "limits-ok";
  auto made = create("alice", name);
  EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
  auto listed = ssh_call("create-container", credentials("alice"), {"list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find(name), std::string::npos) << listed.out;
  // Still held: every admitted attacker session is waiting at its prompt.
  for (auto& s : held_ssh) EXPECT_EQ(s->rest().find("disconnected"), std::string::npos) << s->output();

  std::cout << "[ limits   ] 300 idle sessions from " << attacker << " (5 ssh, 295 socket): " << admitted + 5
            << " held, " << refused << " refused on the socket in median " << median_ms(refusal_times) << " ms (max "
            << max_ms(refusal_times) << " ms); ssh sessions refused in median " << median_ms(ssh_refusals)
            << " ms; create from 127.0.0.1 took " << made.took.count() << " ms\n";

  // A held session ends when the attacker's share frees up: another of its sessions is then admitted.
  held_ssh.front()->kill_now();
  held_ssh.erase(held_ssh.begin());
  bool readmitted = false;
  for (int i = 0; i < 50 && !readmitted; ++i) {
    readmitted = open_session(w.socket, attacker).admitted();
    if (!readmitted) ::usleep(100'000);
  }
  EXPECT_TRUE(readmitted);
  for (auto& s : held_ssh) s->kill_now();
  EXPECT_EQ(destroy("alice", name).exit_code, 0);
}

// A TCP connection to sshd from `source` that never sends anything: sshd's banner, or "" when
// sshd closed it at once (past PerSourceMaxStartups).
struct RawTcp {
  int fd = -1;
  std::string banner;
  RawTcp(const std::string& source, int port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
      return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    char buf[256];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) banner.assign(buf, static_cast<size_t>(n));
  }
  ~RawTcp() {
    if (fd >= 0) ::close(fd);
  }
};

TEST(Limits, SshdKeepsOneSourceToItsShareOfUnfinishedHandshakes) {
  const World& w = world();
  const std::string config = read_text(w.tmp + "/sshd/sshd_config");
  for (const char* line : {"PerSourceMaxStartups 32\n", "PerSourceNetBlockSize 32:64\n", "LoginGraceTime 30\n",
                           "MaxStartups 112:30:224\n"})
    EXPECT_NE(config.find(line), std::string::npos) << line;
  // 40 connections from 127.0.0.3 that never start the handshake: sshd keeps 32, closes 8 at once.
  std::vector<std::unique_ptr<RawTcp>> held;
  int greeted = 0, closed = 0;
  for (int i = 0; i < 40; ++i) {
    held.push_back(std::make_unique<RawTcp>("127.0.0.3", w.ssh_port));
    (held.back()->banner.rfind("SSH-2.0-", 0) == 0 ? greeted : closed)++;
  }
  EXPECT_EQ(greeted, 32);
  EXPECT_EQ(closed, 8);
  // Another source is not affected.
  auto listed = ssh_call("create-container", credentials("alice"), {"list"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
}

TEST(Limits, TheSocketIsTheGroupsAndNobodyElseCanConnect) {
  const World& w = world();
  struct stat st {};
  ASSERT_EQ(::stat(w.socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const group* g = ::getgrnam("lxcprov");
  ASSERT_NE(g, nullptr) << "setup-sshd.sh makes the group";
  EXPECT_EQ(st.st_gid, g->gr_gid);
  EXPECT_EQ(st.st_uid, 0u);
  const passwd* account = ::getpwnam("create-container");
  ASSERT_NE(account, nullptr);
  auto groups = run({"id", "-nG", "create-container"});
  EXPECT_NE((" " + groups.out).find(" lxcprov"), std::string::npos) << groups.out;
  // nobody cannot even connect (the file mode), so it cannot make the daemon log anything.
  auto r = run({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
                "import socket,sys\ns=socket.socket(socket.AF_UNIX)\n"
                "try:\n  s.connect(sys.argv[1]); print('connected')\nexcept PermissionError: print('denied')",
                w.socket});
  EXPECT_EQ(r.out, "denied\n") << r.err;
}

// A daemon of its own with small limits, so the deadline, the reserve and the log can be seen
// in seconds: max 20 sessions, 4 reserved, 3 per source, 2 s to authenticate, counts every 2 s.
class SmallLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const World& w = world();
    auto cfg = nlohmann::json::parse(read_text_file(w.config));
    socket_ = w.tmp + "/limits.sock";
    cfg["socket"] = socket_;
    cfg["database"] = w.tmp + "/limits-state/state.db";
    cfg["keys_file"] = w.tmp + "/limits-keys";
    cfg["authorized_keys_dir"] = w.tmp + "/limits-authorized-keys";
    cfg["network"]["first"] = w.net + "180";
    cfg["network"]["last"] = w.net + "199";
    cfg["max_sessions"] = 20;
    cfg["reserved_sessions"] = 4;
    cfg["max_unauthenticated_per_source"] = 3;
    cfg["auth_timeout_s"] = 2;
    cfg["refusal_log_interval_s"] = 2;
    // nobody's group: nobody may connect, and is then refused by SO_PEERCRED (not an allowed peer).
    cfg["socket_group"] = "nogroup";
    // A lockout at the third failure, without delays (the restart test).
    cfg["throttle"] = {{"free_failures", 3}, {"base_delay_ms", 0}, {"lockout_failures", 3}, {"lockout_s", 600}};
    config_ = w.tmp + "/limits.json";
    std::ofstream(config_) << cfg.dump(2);
    log_ = w.tmp + "/limits-daemon.log";
    pid_ = start_daemon(config_, socket_, log_);
    ASSERT_GT(pid_, 0) << read_text_file(log_);
    key_ = w.tmp + "/limits-key";
    auto k = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "limits@it", "-f", key_});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    RunOptions o;
    o.input = read_text_file(key_ + ".pub");
    auto add = run({w.build_dir + "/helpers/lxcprovctl", "--config", config_, "key", "add", "alice"}, o);
    ASSERT_EQ(add.exit_code, 0) << add.out << add.err;
  }
  static void TearDownTestSuite() { stop_process(pid_); }
  static std::string read_text_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static inline std::string socket_, config_, log_, key_;
  static inline pid_t pid_ = -1;
};

TEST_F(SmallLimits, SourcesTogetherCannotTakeTheReserveAndAKeyStillGetsIn) {
  std::vector<Opened> held;
  std::map<std::string, int> texts;
  // 6 sources x 3 = 18 would fit the source shares, but only 20 - 4 = 16 may be unauthenticated.
  for (int src = 0; src < 6; ++src)
    for (int i = 0; i < 3; ++i) {
      auto o = open_session(socket_, "127.0.1." + std::to_string(src + 1));
      ASSERT_TRUE(o.admitted() || o.refused()) << o.first.dump();
      if (o.refused()) ++texts[o.text()];
      held.push_back(std::move(o));
    }
  int admitted = 0;
  for (const auto& o : held) admitted += o.admitted();
  EXPECT_EQ(admitted, 16);
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_NE(texts.begin()->first.find("too many sessions are waiting to authenticate"), std::string::npos);
  // A password session from a new source is refused too...
  EXPECT_TRUE(open_session(socket_, "127.0.2.1").refused());
  // ...but a registered key is authenticated at hello and takes a reserved place.
  const std::string pub = read_text_file(key_ + ".pub");
  // As sshd's ExposeAuthInfo gives it to the shell: type and key, no comment.
  auto keyed = open_session(socket_, "127.0.2.1", pub.substr(0, pub.find(' ', pub.find(' ') + 1)));
  EXPECT_TRUE(keyed.admitted()) << keyed.first.dump();
  EXPECT_NE(keyed.first.value("field", ""), "PROXMOX_USERNAME") << "the key named the user: " << keyed.first.dump();
}

TEST_F(SmallLimits, NotAuthenticatingInTimeEndsTheSessionWithASentence) {
  auto o = open_session(socket_, "127.0.3.1");
  ASSERT_TRUE(o.admitted()) << o.first.dump();
  const auto t0 = Clock::now();
  auto last = o.client->read(10s);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->value("type", ""), "final");
  EXPECT_EQ(last->value("exit_code", -1), 6);
  EXPECT_NE(last->dump().find("not authenticated within 2 s"), std::string::npos) << last->dump();
  EXPECT_LT(took, 4s);
  EXPECT_TRUE(o.client->closed_by_peer(5s));
}

TEST_F(SmallLimits, FiveThousandRefusedConnectionsCostAFewLinesOfLog) {
  struct stat before {};
  ASSERT_EQ(::stat(log_.c_str(), &before), 0);
  // 5000 connections as nobody, each refused by SO_PEERCRED.
  auto r = run({"setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/python3", "-c",
                "import socket,sys\nn=0\nfor i in range(5000):\n  s=socket.socket(socket.AF_UNIX)\n"
                "  s.connect(sys.argv[1]); s.recv(1); s.close(); n+=1\nprint(n)",
                socket_},
               RunOptions{{}, {}, "", 120s});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "5000\n");
  // The first refusal is logged at once; the others are counted, one line per interval (2 s).
  static const std::regex count_re(R"(refused ([0-9]+) connections? from uid 65534 in the last)");
  auto counted = [&](const std::string& text) {
    long n = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), count_re), end; it != end; ++it) n += std::stol((*it)[1]);
    return n;
  };
  std::string added;
  for (int i = 0; i < 100 && counted(added) < 4999; ++i) {
    ::usleep(100'000);
    added = read_text_file(log_).substr(static_cast<size_t>(before.st_size));
  }
  EXPECT_EQ(counted(added), 4999) << added;
  EXPECT_NE(added.find("refused a connection from uid 65534: not an allowed peer"), std::string::npos) << added;
  struct stat after {};
  ASSERT_EQ(::stat(log_.c_str(), &after), 0);
  const auto grown = after.st_size - before.st_size;
  std::cout << "[ limits   ] 5000 refused connections from uid 65534 added " << grown << " bytes to the log\n";
  EXPECT_LT(grown, 1024);
}

TEST_F(SmallLimits, ALockoutOutlivesARestartOfTheDaemon) {
  const World& w = world();
  std::string lines;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(socket_operation(socket_, "list", credentials("alice", "wrong-" + std::to_string(i)), &lines), 3)
        << lines;
  lines.clear();
  EXPECT_EQ(socket_operation(socket_, "list", credentials("alice"), &lines), 3) << lines;
  EXPECT_NE(lines.find("too many failed attempts"), std::string::npos) << lines;

  stop_process(pid_);
  pid_ = start_daemon(config_, socket_, log_);
  ASSERT_GT(pid_, 0) << read_text_file(log_);
  // The right password, after the restart: still refused, and the lockout is not reset to its start.
  lines.clear();
  EXPECT_EQ(socket_operation(socket_, "list", credentials("alice"), &lines), 3) << lines;
  EXPECT_NE(lines.find("too many failed attempts; try again in"), std::string::npos) << lines;
  EXPECT_NE(read_text_file(log_).find("throttle: 1 user or source entries restored"), std::string::npos);
  // Another user is not affected.
  lines.clear();
  EXPECT_EQ(socket_operation(socket_, "list", credentials("bob", w.bob_password), &lines), 0) << lines;
}

}  // namespace
}  // namespace lxcprov::it
