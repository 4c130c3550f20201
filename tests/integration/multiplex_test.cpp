// Connection reuse for automation (issue 12, item 2): sessions multiplexed over one ssh connection
// (ControlMaster / ControlPersist) through the real sshd rendered by scripts/setup-sshd.sh. A
// connection authenticates once, as one ssh account; every session on it runs that account's
// forced command, a new lxcprov-shell and a new daemon session. What the tests pin down:
// - key-bound: the identity is the key that authenticated the connection (ExposeAuthInfo is per
//   connection), looked up in the registry again for every session; another user's password or
//   key offered by a later client on that master does not change it; a key deleted from the
//   registry no longer names anyone on the very next session of a connection that is still open
//   (that session must prove a password, like any connection without a key);
// - password flow: every session runs its own password dialogue, so one user's earlier success
//   on the connection is nobody else's, and a session without a valid password is refused.
// Each test also checks that sshd accepted no new connection while the sessions ran (they really
// went through the master; ControlMaster=no would otherwise fall back to a fresh connection).
//
// Uses the shared world's template, users and password file with a daemon, key registry,
// authorized_keys directory (root-owned, for sshd's StrictModes) and sshd of its own.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "key_sshd.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

// This file's daemon and sshd (key_sshd.hpp); ssh host "mux".
KeySshd& mw() {
  static KeySshd m;
  return m;
}

ProcResult ctl(const std::vector<std::string>& args, const std::string& input = "") { return mw().ctl(args, input); }

// ssh options that make a connection authenticate with `key`, or (key "") by keyboard-interactive.
std::vector<std::string> auth_options(const std::string& key) {
  if (key.empty()) return {"-o", "PubkeyAuthentication=no"};
  return {"-o", "PubkeyAuthentication=yes", "-o", "IdentitiesOnly=yes", "-i", key};
}

const std::string mux_variables =
    "PROXMOX_USERNAME PROXMOX_PASSWORD CONTAINER_NAME LINUX_DISTRIBUTION HTTP_PORT PUBLIC_KEY";

// The master connection for `account`, authenticated once and kept open in the background.
// Through sh so that the backgrounded ssh holds none of the harness's pipes.
ProcResult open_master(const std::string& account, const std::string& control, const std::string& key) {
  // The master's SendEnv is what its sessions may pass: OpenSSH filters a multiplexed client's
  // variables through the master's list, so a master without one drops them all.
  std::string cmd = "exec ssh -F " + mw().ssh_config + " -o ControlMaster=yes -o ControlPath=" + control +
                    " -o ControlPersist=yes -o 'SendEnv=" + mux_variables + "' -f -N";
  for (const auto& o : auth_options(key)) cmd += " " + o;
  cmd += " " + account + "@mux </dev/null >/dev/null 2>>" + world().tmp + "/mux-master.log";
  return run({"sh", "-c", cmd}, RunOptions{{}, {}, "", 60s});
}

void close_master(const std::string& account, const std::string& control) {
  run({"ssh", "-F", mw().ssh_config, "-o", "ControlPath=" + control, "-O", "exit", account + "@mux"});
}

// One session over the master at `control` (ControlMaster=no: a client, never a new master).
// `extra`: more ssh options (a key a later client offers).
ProcResult session(const std::string& account, const std::string& control, const Env& vars,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv = {
      "ssh", "-F", mw().ssh_config, "-T", "-o", "ControlMaster=no", "-o", "ControlPath=" + control};
  for (const auto& [name, value] : vars) argv.insert(argv.end(), {"-o", "SendEnv=" + name});
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(account + "@mux");
  RunOptions o;
  o.env = vars;
  o.unset = {"PROXMOX_USERNAME", "PROXMOX_PASSWORD", "CONTAINER_NAME", "LINUX_DISTRIBUTION", "HTTP_PORT", "PUBLIC_KEY"};
  return run(argv, o);
}

// Connections sshd accepted so far (one "Accepted <method> for ..." line each).
int accepted_connections() {
  std::istringstream in(read_text(mw().sshd_dir + "/sshd.log"));
  int n = 0;
  for (std::string line; std::getline(in, line);)
    if (contains(line, "Accepted publickey for") || contains(line, "Accepted keyboard-interactive")) ++n;
  return n;
}

Env create_env(const Env& who, const std::string& name) {
  Env e = who;
  e["CONTAINER_NAME"] = name;
  e["LINUX_DISTRIBUTION"] = "busybox";
  e["HTTP_PORT"] = "8080";
  e["PUBLIC_KEY"] = world().public_key;
  return e;
}

std::string owner_of(const std::string& name) { return mw().owner_of(name); }

class Multiplex : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { mw().start({"mux", "160", "179", {}, "  PasswordAuthentication no\n"}); }
  static void TearDownTestSuite() { mw().stop(); }

  void SetUp() override {
    if (!mw().ready) GTEST_FAIL() << "the multiplex sshd or daemon did not start";
  }

  // A control socket path of this test's own (short: a Unix socket path has ~100 bytes).
  static std::string control(const std::string& tag) { return world().tmp + "/cm-" + tag + "-%r"; }
};

TEST_F(Multiplex, KeyBoundSessionsOnOneConnectionAreTheKeysOwnerEveryTime) {
  const std::string cm = control("key");
  // Counted before the masters open: sshd may log a master's "Accepted" line after ssh -M returns.
  const int accepted = accepted_connections() + 2;
  ASSERT_EQ(open_master("create-container", cm, mw().alice_key).exit_code, 0)
      << read_text(world().tmp + "/mux-master.log");
  ASSERT_EQ(open_master("delete-container", cm, mw().alice_key).exit_code, 0)
      << read_text(world().tmp + "/mux-master.log");
  const std::string p = world().prefix + "mk-";

  // Plain creates through the master: no password sent, the key is the identity.
  for (int i = 0; i < 3; ++i) {
    auto r = session("create-container", cm, create_env({}, p + std::to_string(i)));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(owner_of(p + std::to_string(i)), "alice");
  }
  // Bob's valid password on alice's connection: the connection's key decides, not the variables.
  auto with_bob_pw = session("create-container", cm, create_env(credentials("bob"), p + "bobpw"));
  ASSERT_EQ(with_bob_pw.exit_code, 0) << describe(with_bob_pw);
  EXPECT_EQ(owner_of(p + "bobpw"), "alice");
  // Bob's key offered by a later client: a multiplexed client does not authenticate at all, so it
  // cannot switch the connection to bob either.
  auto with_bob_key =
      session("create-container", cm, create_env({}, p + "bobkey"), {"-o", "IdentitiesOnly=yes", "-i", mw().bob_key});
  ASSERT_EQ(with_bob_key.exit_code, 0) << describe(with_bob_key);
  EXPECT_EQ(owner_of(p + "bobkey"), "alice");

  for (const std::string suffix : {"0", "1", "2", "bobpw", "bobkey"}) {
    auto d = session("delete-container", cm, {{"CONTAINER_NAME", p + suffix}});
    EXPECT_EQ(d.exit_code, 0) << describe(d);
    EXPECT_FALSE(db_row(p + suffix, mw().ctl_config).has_value()) << p + suffix;
    EXPECT_FALSE(container_dir_exists(p + suffix)) << p + suffix;
  }
  EXPECT_EQ(accepted_connections(), accepted) << "a session did not go through the master";
  close_master("create-container", cm);
  close_master("delete-container", cm);
}

TEST_F(Multiplex, PasswordFlowAuthenticatesEverySessionOnTheConnection) {
  const std::string cm = control("pw");
  const int accepted = accepted_connections() + 2;  // the two masters (see above)
  ASSERT_EQ(open_master("create-container", cm, "").exit_code, 0) << read_text(world().tmp + "/mux-master.log");
  ASSERT_EQ(open_master("delete-container", cm, "").exit_code, 0) << read_text(world().tmp + "/mux-master.log");
  const std::string p = world().prefix + "mp-";

  auto a = session("create-container", cm, create_env(credentials("alice"), p + "a"));
  ASSERT_EQ(a.exit_code, 0) << describe(a);
  EXPECT_EQ(owner_of(p + "a"), "alice");
  auto b = session("create-container", cm, create_env(credentials("bob"), p + "b"));
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  EXPECT_EQ(owner_of(p + "b"), "bob");

  // Alice succeeded on this connection a moment ago; that is nobody's credential now.
  auto no_password = session("create-container", cm, create_env({{"PROXMOX_USERNAME", "alice"}}, p + "nopw"));
  EXPECT_NE(no_password.exit_code, 0) << describe(no_password);
  auto wrong = session("create-container", cm, create_env(credentials("alice", "not-alices-pw-1"), p + "wrong"));
  EXPECT_EQ(wrong.exit_code, 3) << describe(wrong);
  EXPECT_TRUE(contains(wrong.err, "username or password is wrong")) << describe(wrong);
  EXPECT_FALSE(db_row(p + "nopw", mw().ctl_config).has_value());
  EXPECT_FALSE(db_row(p + "wrong", mw().ctl_config).has_value());

  // Bob, on the connection alice used, cannot delete alice's container.
  Env bob_deletes = credentials("bob");
  bob_deletes["CONTAINER_NAME"] = p + "a";
  auto refused = session("delete-container", cm, bob_deletes);
  EXPECT_NE(refused.exit_code, 0) << describe(refused);
  EXPECT_EQ(owner_of(p + "a"), "alice");

  for (const std::string who : {"alice", "bob"}) {
    Env d = credentials(who);
    d["CONTAINER_NAME"] = p + who.substr(0, 1);
    auto r = session("delete-container", cm, d);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_FALSE(db_row(p + who.substr(0, 1), mw().ctl_config).has_value());
  }
  EXPECT_EQ(accepted_connections(), accepted) << "a session did not go through the master";
  close_master("create-container", cm);
  close_master("delete-container", cm);
}

TEST_F(Multiplex, AKeyDeletedFromTheRegistryNoLongerNamesItsUserOnAnOpenConnection) {
  const std::string cm = control("revoke");
  ASSERT_EQ(open_master("create-container", cm, mw().bob_key).exit_code, 0)
      << read_text(world().tmp + "/mux-master.log");
  const std::string p = world().prefix + "mr-";
  auto before = session("create-container", cm, create_env({}, p + "0"));
  ASSERT_EQ(before.exit_code, 0) << describe(before);
  EXPECT_EQ(owner_of(p + "0"), "bob");

  auto fp = run({"ssh-keygen", "-lf", mw().bob_key + ".pub"});
  std::string bits, fingerprint;
  std::istringstream(fp.out) >> bits >> fingerprint;
  ASSERT_EQ(ctl({"key", "del", fingerprint}).exit_code, 0);
  // The connection made with bob's key is still open, but its next session is nobody's: it has
  // to prove a password like any connection without a registered key. (sshd's ForceCommand
  // overrides the authorized_keys command=, so no --key-id reaches the shell to refuse it outright.)
  auto after = session("create-container", cm, create_env({}, p + "1"));
  EXPECT_EQ(after.exit_code, 2) << describe(after);
  EXPECT_TRUE(contains(after.err, "PROXMOX_PASSWORD: is required")) << describe(after);
  EXPECT_FALSE(db_row(p + "1", mw().ctl_config).has_value());
  auto as_alice = session("create-container", cm, create_env(credentials("alice"), p + "2"));
  EXPECT_EQ(as_alice.exit_code, 0) << describe(as_alice);
  EXPECT_EQ(owner_of(p + "2"), "alice");
  close_master("create-container", cm);

  auto add = ctl({"key", "add", "bob"}, read_text(mw().bob_key + ".pub"));
  EXPECT_EQ(add.exit_code, 0) << describe(add);
  // Fresh connections by password (no master at this path: ControlMaster=no connects anew).
  for (const auto& [who, n] : {std::pair{"bob", "0"}, {"alice", "2"}}) {
    Env d = credentials(who);
    d["CONTAINER_NAME"] = p + n;
    auto r = session("delete-container", control("none"), d, {"-o", "PubkeyAuthentication=no"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_FALSE(db_row(p + n, mw().ctl_config).has_value());
  }
}

}  // namespace
}  // namespace lxcprov::it
