// Identity and access through the real thing: key-bound identities (lxcprovctl key add -> root-owned
// authorized_keys -> sshd publickey -> ExposeAuthInfo -> daemon key registry), a locked-down sshd
// (no forwarding of any kind, no client environment beyond the exact AcceptEnv names), and forged
// frames on the daemon socket. Uses the shared world (daemon, template, users alice and bob) and
// starts one more sshd of its own whose AuthorizedKeysFile points at a root-owned directory
// (sshd's StrictModes refuses key files under /tmp, where the world lives).

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "key_sshd.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

// This file's daemon and sshd (key_sshd.hpp), alice's key fingerprint.
KeySshd& aw() {
  static KeySshd a;
  return a;
}
std::string alice_fp;

ProcResult ctl(const std::vector<std::string>& args, const std::string& input = "") { return aw().ctl(args, input); }

// ssh to ACCOUNT on the access sshd, with an identity file (or none: keyboard-interactive, no prompt).
// `extra` holds ssh options; words after a "--" in it are the remote command.
ProcResult ssh_as(const std::string& account, const std::string& key, const Env& vars,
                  const std::vector<std::string>& extra = {}, std::chrono::milliseconds timeout = 60s) {
  // Not BatchMode=yes: it turns keyboard-interactive off, the way in without a registered key.
  std::vector<std::string> argv = {"ssh", "-F", aw().ssh_config, "-T", "-o", "PasswordAuthentication=no"};
  if (!key.empty()) {
    argv.insert(argv.end(), {"-o", "PubkeyAuthentication=yes", "-o", "IdentitiesOnly=yes", "-i", key});
  }
  for (const auto& [name, value] : vars) argv.insert(argv.end(), {"-o", "SendEnv=" + name});
  auto dashes = std::find(extra.begin(), extra.end(), "--");
  argv.insert(argv.end(), extra.begin(), dashes);
  argv.push_back(account + "@access");
  if (dashes != extra.end()) argv.insert(argv.end(), dashes + 1, extra.end());
  RunOptions o;
  o.env = vars;
  o.timeout = timeout;
  return run(argv, o);
}

// Set up once, by the first test of the suite: a gtest Environment registered from this file
// would run before the world's (registered in main), when there is no world yet.
struct AccessSetup {
  static void SetUp() {
    // Addresses .200-.254 and a tight brute-force policy: the lockouts these tests provoke must not
    // slow or lock out the world's tests, which all log in from loopback.
    aw().start({"access", "200", "254",
                [](nlohmann::json& cfg) {
                  cfg["throttle"] = {{"free_failures", 2},
                                     {"base_delay_ms", 100},
                                     {"max_delay_ms", 400},
                                     {"lockout_failures", 6},
                                     {"lockout_s", 60}};
                  cfg["access"] = {{"quota_per_user", 2}};
                },
                "  PubkeyAuthentication no\n  ControlMaster no\n  ControlPath none\n"});
    if (!aw().ready) return;
    auto fp = run({"ssh-keygen", "-lf", aw().alice_key + ".pub"});
    std::istringstream(fp.out) >> alice_fp >> alice_fp;
  }
  static void TearDown() { aw().stop(); }
};

class Access : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { AccessSetup::SetUp(); }
  static void TearDownTestSuite() { AccessSetup::TearDown(); }
  void SetUp() override {
    if (!aw().ready) GTEST_FAIL() << "the access sshd did not start";
  }
};

TEST_F(Access, AuthorizedKeysAreRootOwnedRestrictedAndBoundToTheRegistry) {
  for (const char* account : {"create-container", "container-exists", "delete-container", "update-container"}) {
    const std::string path = aw().keys_dir + "/" + account;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, 0u);
    // Readable by its own account (sshd reads it as the account) and by no other user.
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    const passwd* pw = ::getpwnam(account);
    ASSERT_NE(pw, nullptr) << account;
    EXPECT_EQ(st.st_gid, pw->pw_gid) << account;
    int keys = 0;
    for (const auto& line : lines_of(read_text(path))) {
      if (line.front() == '#') continue;
      ++keys;
      EXPECT_EQ(
          line.rfind("restrict,pty,command=\"" + world().shell + " --socket " + aw().socket + " --key-id SHA256:", 0),
          0u)
          << line;
    }
    EXPECT_EQ(keys, 2) << path;
  }
  auto list = ctl({"key", "list"});
  EXPECT_TRUE(contains(list.out, "alice " + alice_fp)) << describe(list);
}

TEST_F(Access, MalformedOrWeakKeysAreRefusedByLxcprovctl) {
  const std::string ed = read_text(aw().alice_key + ".pub");
  struct Case {
    std::string input, says;
  };
  auto dsa =
      run({"sh", "-c",
           "ssh-keygen -q -t dsa -N '' -f " + world().tmp + "/access-dsa && cat " + world().tmp + "/access-dsa.pub"});
  auto rsa = run({"sh", "-c",
                  "ssh-keygen -q -t rsa -b 1024 -N '' -f " + world().tmp + "/access-rsa1k && cat " + world().tmp +
                      "/access-rsa1k.pub"});
  for (const auto& c : std::vector<Case>{{ed + ed, "2 keys given"},
                                         {"command=\"/bin/sh\" " + ed, "options"},
                                         {"ssh-ed25519 AAAAnotbase64!", "base64"},
                                         {"", "no key given"},
                                         {dsa.out, "DSA"},
                                         {rsa.out, "2048"},
                                         {ed, "already registered to alice"}}) {
    auto r = ctl({"key", "add", "carol"}, c.input);
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_TRUE(contains(r.err, c.says)) << "want '" << c.says << "'\n" << describe(r);
  }
  auto bad_name = ctl({"key", "add", "../root"}, ed);
  EXPECT_NE(bad_name.exit_code, 0);
  EXPECT_FALSE(contains(ctl({"key", "list"}).out, "carol"));
}

// Through the real sshd: "none" fails (no empty password), publickey succeeds for a registered key
// and ExposeAuthInfo hands it to the daemon; without a key keyboard-interactive lets the password
// flow in (docs/security.md, "How a session authenticates").
TEST_F(Access, TheKeyNamesTheUserAndNoClaimedNameOrPasswordOverridesIt) {
  // bob owns a container (made with his password).
  const std::string name = world().prefix + "acc-bob";
  auto made = ssh_as("create-container", "", create_vars("bob", name), {}, 180s);
  ASSERT_EQ(made.exit_code, 0) << describe(made);

  // alice's key, claiming to be bob with bob's password: she is alice, and bob's container is
  // not hers (the old client's contract: 1, never 2 = "update it").
  Env claim = {{"CONTAINER_NAME", name}, {"PROXMOX_USERNAME", "bob"}, {"PROXMOX_PASSWORD", world().bob_password}};
  auto as_alice = ssh_as("container-exists", aw().alice_key, claim);
  EXPECT_EQ(as_alice.exit_code, 1) << describe(as_alice);
  EXPECT_FALSE(contains(as_alice.out + as_alice.err, "owner")) << describe(as_alice);
  auto absent = ssh_as("container-exists", aw().alice_key, {{"CONTAINER_NAME", world().prefix + "acc-none"}});
  EXPECT_EQ(absent.exit_code, 0) << describe(absent);

  // bob's key, no password at all: bob's container is his.
  auto as_bob = ssh_as("container-exists", aw().bob_key, {{"CONTAINER_NAME", name}});
  EXPECT_EQ(as_bob.exit_code, 2) << describe(as_bob);
  // alice may not delete it either; bob may.
  auto del_alice = ssh_as("delete-container", aw().alice_key, {{"CONTAINER_NAME", name}});
  EXPECT_EQ(del_alice.exit_code, 5) << describe(del_alice);
  auto del_bob = ssh_as("delete-container", aw().bob_key, {{"CONTAINER_NAME", name}}, {}, 120s);
  EXPECT_EQ(del_bob.exit_code, 0) << describe(del_bob);
}

TEST_F(Access, ADeletedKeyStopsBindingAtOnce) {
  const std::string extra = world().tmp + "/access-temp";
  ASSERT_EQ(run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", extra}).exit_code, 0);
  ASSERT_EQ(ctl({"key", "add", "alice"}, read_text(extra + ".pub")).exit_code, 0);
  auto fp = run({"ssh-keygen", "-lf", extra + ".pub"});
  std::string f;
  std::istringstream(fp.out) >> f >> f;
  auto bound = ssh_as("create-container", extra, {}, {"--", "list"});
  EXPECT_EQ(bound.exit_code, 0) << describe(bound);
  ASSERT_EQ(ctl({"key", "del", f}).exit_code, 0);
  // Now sshd no longer accepts the key; the session falls back to the password flow and, with no
  // password given, is refused.
  auto after = ssh_as("create-container", extra, {}, {"--", "list"});
  EXPECT_NE(after.exit_code, 0) << describe(after);
  EXPECT_TRUE(contains(after.err, "PROXMOX_USERNAME")) << describe(after);
}

TEST_F(Access, ForwardingOfEveryKindIsRefused) {
  // -R: the server refuses the global request; ExitOnForwardFailure makes ssh say so.
  auto remote = ssh_as("create-container", aw().alice_key, {},
                       {"-o", "ExitOnForwardFailure=yes", "-N", "-R", "127.0.0.1:0:127.0.0.1:22"}, 20s);
  EXPECT_NE(remote.exit_code, 0) << describe(remote);
  EXPECT_FALSE(remote.timed_out) << "ssh -R stayed up: forwarding was accepted";
  // -W (a direct-tcpip channel, what -L and -D open per connection).
  auto stdio = ssh_as("create-container", aw().alice_key, {}, {"-W", "127.0.0.1:" + std::to_string(aw().port)}, 20s);
  EXPECT_NE(stdio.exit_code, 0) << describe(stdio);
  EXPECT_FALSE(contains(stdio.out, "SSH-2.0")) << "reached a TCP port through the ssh account";

  // -L to the daemon's Unix socket: the tunnel end appears locally, but every connection through
  // it is refused by sshd, so the daemon never sees a frame from the account's uid this way.
  const std::string local = world().tmp + "/access-fwd.sock";
  ProcResult forward;
  std::thread t([&] {
    forward = ssh_as("create-container", aw().alice_key, {},
                     {"-N", "-o", "StreamLocalBindUnlink=yes", "-L", local + ":" + aw().socket}, 8s);
  });
  const bool appeared = eventually([&] { return fs::exists(local); }, 6s);
  if (appeared) {
    SocketClient c(local);
    if (c.connected()) {
      c.send(nlohmann::json{{"type", "hello"}, {"version", 1}, {"op", "list"}, {"tty", false}, {"env", {}}});
      EXPECT_FALSE(c.read(3s).has_value()) << "the daemon answered through an ssh -L tunnel";
    }
  }
  t.join();
  // -D: the same direct-tcpip channel as -W; agent forwarding: asked for, never granted (restrict
  // and DisableForwarding); checked through the session's view below.
  // Only what the forced command does is observable: it ran, as without -A (alice's key binds
  // alice, so her list is shown: 0).
  auto agent = ssh_as("create-container", aw().alice_key, {}, {"-A", "--", "list"});
  EXPECT_EQ(agent.exit_code, 0) << describe(agent);
}

TEST_F(Access, ClientEnvironmentBeyondTheAcceptEnvNamesChangesNothing) {
  const std::string name = world().prefix + "acc-env";
  Env base = credentials("alice");
  base["CONTAINER_NAME"] = name;
  auto plain = ssh_as("container-exists", "", base);
  ASSERT_EQ(plain.exit_code, 0) << describe(plain);
  // SetEnv sends the variables without setting them in the local ssh (LD_PRELOAD there would hit
  // the client itself).
  auto with = ssh_as("container-exists", "", base,
                     {"-o",
                      "SetEnv=LD_PRELOAD=/nonexistent/evil.so BASH_ENV=/nonexistent/evil.sh "
                      // would switch the operation if it reached the shell
                      "SSH_ORIGINAL_COMMAND=list "
                      // the shell must only read sshd's own file
                      "SSH_USER_AUTH=/etc/shadow LXCPROV_SOCKET=/tmp/evil.sock"});
  EXPECT_EQ(with.exit_code, plain.exit_code) << describe(with);
  EXPECT_EQ(with.err, plain.err) << describe(with);
  EXPECT_FALSE(contains(with.err, "ld.so")) << "LD_PRELOAD reached the forced command";
}

TEST_F(Access, ForgedFramesOnTheSocketGetTheSameChecks) {
  World& w = world();
  auto hello = [](nlohmann::json env, std::string key = "", std::string key_id = "") {
    if (env.is_null()) env = nlohmann::json::object();
    return nlohmann::json{{"type", "hello"},
                          {"version", 1},
                          {"op", "list"},
                          {"tty", false},
                          {"env", std::move(env)},
                          {"session_key", std::move(key)},
                          {"key_id", std::move(key_id)},
                          {"admin", true},
                          {"user", "root"}};
  };
  auto final_of = [&](const nlohmann::json& h) -> nlohmann::json {
    SocketClient c(aw().socket);
    EXPECT_TRUE(c.connected());
    c.send(h);
    for (int i = 0; i < 10; ++i) {
      auto m = c.read(20s);
      if (!m) return {};
      if ((*m)["type"] == "final") return *m;
    }
    return {};
  };
  // Wrong password, extra "admin"/"user" members: refused like any login.
  auto wrong = final_of(hello({{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", "nope"}}));
  EXPECT_EQ(wrong["exit_code"], 3) << wrong.dump();
  // A key id that does not match the key presented.
  const std::string alice_pub = read_text(aw().alice_key + ".pub");
  auto mismatch = final_of(hello({}, alice_pub, "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  EXPECT_EQ(mismatch["exit_code"], 3) << mismatch.dump();
  // A registered key id with an unregistered key.
  const std::string other = read_text(w.tmp + "/userkey.pub");
  auto unregistered = final_of(hello({}, other, alice_fp));
  EXPECT_EQ(unregistered["exit_code"], 3) << unregistered.dump();
  // A key that is not a key.
  auto junk = final_of(hello({}, "ssh-ed25519 AAAA", alice_fp));
  EXPECT_EQ(junk["exit_code"], 3) << junk.dump();

  // Another local uid (nobody) cannot connect at all (the socket is 0660 root:lxcprov); one that
  // could is closed before a byte is read (limits_test.cpp, SmallLimits, whose socket group is
  // nobody's).
  const std::string py =
      "import socket,struct,json,sys\n"
      "s=socket.socket(socket.AF_UNIX)\n"
      "try: s.connect(sys.argv[1])\n"
      "except PermissionError: print('denied'); sys.exit(0)\n"
      "b=json.dumps({'type':'hello','version':1,'op':'list','tty':False,'env':{},"
      "'session_key':open(sys.argv[2]).read()}).encode()\n"
      "try:\n s.sendall(struct.pack('>I',len(b))+b); d=s.recv(4)\nexcept OSError: d=b''\n"
      "print('answered' if d else 'closed')\n";
  std::ofstream(w.tmp + "/access-forge.py") << py;
  ::chmod((w.tmp + "/access-forge.py").c_str(), 0644);
  ::chmod((aw().alice_key + ".pub").c_str(), 0644);
  auto nobody = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3",
                     w.tmp + "/access-forge.py", aw().socket, aw().alice_key + ".pub"});
  EXPECT_EQ(lines_of(nobody.out), std::vector<std::string>{"denied"}) << describe(nobody);
}

TEST_F(Access, RepeatedFailuresAreSlowedThenLockedOutWithTheSameMessageForUnknownUsers) {
  // This file's daemon: 2 free failures, then 0.1 s doubling up to 0.4 s, lockout at the 6th.
  const std::string name = world().prefix + "acc-bf";
  std::vector<ProcResult> r;
  for (const char* user : {"ghost-user", "alice"}) {
    Env vars = credentials(user, "definitely-wrong");
    vars["CONTAINER_NAME"] = name;
    r.push_back(ssh_as("container-exists", "", vars));
  }
  EXPECT_EQ(r[0].exit_code, 1);  // container-exists: the old client's "refused"
  EXPECT_EQ(r[0].err, r[1].err) << "unknown user and wrong password must read the same";
  std::printf("[ figure ] wrong password %lld ms, unknown user %lld ms (end to end through ssh)\n",
              static_cast<long long>(r[1].took.count()), static_cast<long long>(r[0].took.count()));
  // Lock "ghost-user" out: its failures never touch alice's account.
  ProcResult last;
  for (int i = 0; i < 12; ++i) {
    Env vars = credentials("ghost-user", "wrong-" + std::to_string(i));
    vars["CONTAINER_NAME"] = name;
    last = ssh_as("container-exists", "", vars, {}, 60s);
    if (contains(last.err, "too many failed attempts")) break;
  }
  EXPECT_EQ(last.exit_code, 1) << describe(last);
  EXPECT_TRUE(contains(last.err, "too many failed attempts")) << describe(last);
  // The source (loopback, for every test) is locked too: even alice's right password is refused
  // from it until the lockout ends.
  Env alice = credentials("alice");
  alice["CONTAINER_NAME"] = name;
  auto refused = ssh_as("container-exists", "", alice);
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  EXPECT_TRUE(contains(refused.err, "too many failed attempts")) << describe(refused);
}

}  // namespace
}  // namespace lxcprov::it
