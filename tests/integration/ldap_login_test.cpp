// LDAP login inside a container, for real: a debian container (systemd, sshd, nslcd) made by a
// second lxcprovd (same state, lxcpath and bridge as the world's, its own socket) that
// authenticates against a throwaway slapd and has container_ldap on with no uri/base/CA of its
// own, so the container must log in against the very directory the daemon uses. slapd listens
// with TLS (ldaps, a test CA) on the world bridge's gateway address, which the container reaches.
// Checked inside the container: `getent passwd alice` comes from the directory, and alice logs in
// over ssh with her directory password (a wrong one is refused) and lands in a home directory
// that pam_mkhomedir made.
// The debian template comes from install_debian_template() (world.hpp), sealed in the world's
// state database as every template a create clones must be.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "../support/free_port.hpp"
#include "protocol/messages.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Straight over the daemon's socket (no ssh).
int call(const std::string& socket, const std::string& op, const Env& env, std::string* lines = nullptr) {
  return socket_operation(socket, op, env, lines, 300s);
}

// A slapd with TLS on the gateway address: a CA and a certificate for that address made with
// openssl, dc=test holding alice (posixAccount, so NSS can map her) and her group.
class Directory {
 public:
  std::string dir, ca, uri, alice_password = "Al1ce-dir-pw-9Xq";

  ~Directory() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  std::string start(const std::string& root, const std::string& address, const std::string& pidfile) {
    dir = root;
    ca = dir + "/ca.pem";
    std::error_code ec;
    std::filesystem::create_directories(dir + "/db", ec);
    ::chmod(dir.c_str(), 0700);
    auto certs = sh(fmt::format(
        "cd '{0}' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=lxcprov-login-ca "
        "-keyout ca.key -out ca.pem 2>&1 && "
        "openssl req -newkey rsa:2048 -nodes -subj /CN={1} -keyout server.key -out server.csr 2>&1 && "
        "printf 'subjectAltName=IP:{1}\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext "
        "-out server.pem 2>&1",
        dir, address));
    if (certs.exit_code != 0) return "openssl: " + certs.out;
    std::ofstream(dir + "/slapd.conf") << fmt::format(R"(include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {1}
TLSCACertificateFile {0}/ca.pem
TLSCertificateFile {0}/server.pem
TLSCertificateKeyFile {0}/server.key
database mdb
suffix "dc=test"
rootdn "cn=admin,dc=test"
rootpw admin-secret
directory {0}/db
maxsize 10485760
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
)",
                                                      dir, pidfile);
    const int port = lxcprov::testing::free_loopback_port();
    uri = fmt::format("ldaps://{}:{}", address, port);
    // ldapi (a socket in `dir`, path URL-encoded) only for loading the entries: the container and
    // lxcprovd use ldaps.
    std::string ldapi_url = "ldapi://";
    for (char ch : dir + "/ldapi") ldapi_url += ch == '/' ? std::string("%2F") : std::string(1, ch);
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string urls = uri + "/ " + ldapi_url;
      const std::string conf = dir + "/slapd.conf";
      ::execl("/usr/sbin/slapd", "slapd", "-d", "0", "-f", conf.c_str(), "-h", urls.c_str(), nullptr);
      ::_exit(127);
    }
    // The socket file appears before slapd answers on it: wait for an answer (the root DSE).
    auto answers = [&] { return run_for({"ldapsearch", "-x", "-H", ldapi_url, "-b", "", "-s", "base"}, 5s); };
    if (!eventually([&] { return answers().exit_code == 0; }, 20s)) return "slapd did not start";
    std::ofstream(dir + "/users.ldif") << fmt::format(R"(dn: dc=test
objectClass: dcObject
objectClass: organization
o: test
dc: test

dn: ou=people,dc=test
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=test
objectClass: organizationalUnit
ou: groups

dn: uid=alice,ou=people,dc=test
objectClass: inetOrgPerson
objectClass: posixAccount
uid: alice
cn: Alice Directory
sn: A
uidNumber: 10001
gidNumber: 10001
homeDirectory: /home/alice
loginShell: /bin/bash
userPassword: {}

dn: cn=alice,ou=groups,dc=test
objectClass: posixGroup
cn: alice
gidNumber: 10001
memberUid: alice
)",
                                                      alice_password);
    auto add = run(
        {"ldapadd", "-x", "-H", ldapi_url, "-D", "cn=admin,dc=test", "-w", "admin-secret", "-f", dir + "/users.ldif"});
    if (add.exit_code != 0) return "ldapadd: " + add.out + add.err;
    return "";
  }

 private:
  pid_t pid_ = -1;
};

TEST(LdapLogin, DebianContainerResolvesAndLogsInDirectoryUsers) {
  World& w = world();
  if (::access("/usr/sbin/slapd", X_OK) != 0 || ::access("/usr/bin/ldapadd", X_OK) != 0)
    GTEST_SKIP() << "slapd/ldap-utils are not installed (scripts/install-deps.sh)";
  if (::access("/usr/sbin/debootstrap", X_OK) != 0) GTEST_SKIP() << "debootstrap is not installed";

  const auto t_tpl = Clock::now();
  bool offline = false;
  const std::string why = install_debian_template(offline);
  if (offline) GTEST_SKIP() << "the Debian mirror cannot be reached, no debian template: " << why;
  ASSERT_EQ(why, "") << "building the debian template failed";
  // The copy, in the world's state (which the daemon below shares): creates check this seal.
  auto sealed = seal_template(w.config, "tpl-debian");
  ASSERT_EQ(sealed.exit_code, 0) << sealed.out << sealed.err;
  const auto template_ms = ms_since(t_tpl);

  const std::string gateway = w.net + "1";
  Directory ldap;
  const std::string started = ldap.start(w.tmp + "/ldap-login", gateway, w.tmp + "/slapd-login.pid");
  ASSERT_EQ(started, "");

  // The daemon authenticates against the directory; container_ldap names only the client, so
  // uri, base and CA come from auth.ldap.
  nlohmann::json cfg = nlohmann::json::parse(read_text(w.config));
  const std::string socket = w.tmp + "/ldap-login.sock";
  cfg["socket"] = socket;
  cfg["distributions"]["debian"] = {{"template", "tpl-debian"}};
  cfg["auth"] = {{"backend", "ldap"}, {"ldap", {{"uri", ldap.uri}, {"ca_file", ldap.ca}, {"base_dn", "dc=test"}}}};
  cfg["container_ldap"] = {
      {"enabled", true}, {"clients", {{"debian", "nslcd"}}}, {"template_dir", w.source_dir + "/config/templates"}};
  const std::string config = w.tmp + "/lxcprovd-ldap-login.json";
  std::ofstream(config) << cfg.dump(2);
  const std::string log = w.tmp + "/lxcprovd-ldap-login.log";
  pid_t daemon = start_daemon(config, socket, log);
  ASSERT_GT(daemon, 0) << read_text(log);

  const std::string name = w.prefix + "ldapdeb";
  Env env = create_vars("alice", name);
  env["PROXMOX_PASSWORD"] = ldap.alice_password;
  env["LINUX_DISTRIBUTION"] = "debian";
  std::string out;
  const auto t_create = Clock::now();
  const int created = call(socket, "create", env, &out);
  const auto create_ms = ms_since(t_create);
  EXPECT_EQ(created, 0) << out << read_text(log);
  auto row = db_row(name);
  if (created != 0 || !row) {
    stop_process(daemon);
    FAIL() << "no container to log in to";
  }

  // The step wrote the files (0600: nslcd.conf holds the directory's address and nothing secret,
  // but sssd refuses anything else and lxcprov treats both alike).
  EXPECT_EQ(attach(name, {"/usr/bin/stat", "-c", "%a %U", "/etc/nslcd.conf"}).out, "600 root\n");
  const std::string nslcd = attach(name, {"/bin/cat", "/etc/nslcd.conf"}).out;
  EXPECT_NE(nslcd.find("uri " + ldap.uri), std::string::npos) << nslcd;
  EXPECT_NE(nslcd.find("ssl on"), std::string::npos) << nslcd;
  EXPECT_EQ(attach(name, {"/bin/cat", "/etc/ldap/lxcprov-ldap-ca.pem"}).out, read_text(ldap.ca));

  // Boot finished (bounded): "degraded" still means every unit that matters here had its turn.
  const std::string boot = boot_state(name);
  EXPECT_TRUE(boot == "running\n" || boot == "degraded\n") << boot;
  EXPECT_EQ(attach(name, {"/usr/bin/systemctl", "is-active", "nslcd"}).out, "active\n");

  // NSS: alice is not in the container's /etc/passwd; only the directory knows her.
  EXPECT_NE(attach(name, {"/bin/grep", "-c", "^alice:", "/etc/passwd"}).exit_code, 0);
  auto pw = attach(name, {"/usr/bin/getent", "passwd", "alice"});
  // On failure nslcd's journal says why (TLS, permissions, an unreachable server).
  EXPECT_EQ(pw.exit_code, 0) << pw.err
                             << attach(name, {"/bin/journalctl", "--no-pager", "-n", "30", "-u", "nslcd"}).out;
  EXPECT_EQ(pw.out.substr(0, pw.out.find(':')), "alice");
  EXPECT_NE(pw.out.find(":10001:10001:Alice Directory:/home/alice:/bin/bash"), std::string::npos) << pw.out;
  EXPECT_NE(attach(name, {"/usr/bin/getent", "passwd", "nobody-in-directory"}).exit_code, 0);

  // PAM: an ssh password login to the container's sshd (pam_ldap binds as alice). The first try
  // is wrong and must be refused; the second is right.
  auto sshd_listens = [&] { return run_for({"/bin/bash", "-c", "exec 3<>/dev/tcp/" + row->ip + "/22"}, 5s); };
  ASSERT_TRUE(eventually([&] { return sshd_listens().exit_code == 0; }, 60s))
      << "sshd in the container does not listen";
  const auto t_login = Clock::now();
  PtySession s({"/bin/bash", "-c",
                "exec ssh -tt -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                "-o GlobalKnownHostsFile=/dev/null -o PubkeyAuthentication=no -o IdentityAgent=none "
                "-o PreferredAuthentications=password,keyboard-interactive -o NumberOfPasswordPrompts=2 "
                "-o ConnectTimeout=20 -o LogLevel=ERROR alice@" +
                    row->ip + " 'echo LOGIN-AS=$(id -un):$(id -gn) HOME=$PWD; test -d $HOME && echo HOME-EXISTS'"});
  ASSERT_TRUE(s.expect("password:", 60s)) << s.output();
  s.send_line("wrong-" + ldap.alice_password);
  ASSERT_TRUE(s.expect("password:", 60s)) << "a wrong password was not refused: " << s.output();
  s.send_line(ldap.alice_password);
  EXPECT_TRUE(s.expect("LOGIN-AS=alice:alice HOME=/home/alice", 60s)) << s.output();
  EXPECT_TRUE(s.expect("HOME-EXISTS", 10s)) << s.output();
  EXPECT_EQ(s.wait_exit(30s), 0) << s.output();
  const auto login_ms = ms_since(t_login);
  EXPECT_EQ(attach(name, {"/usr/bin/stat", "-c", "%U", "/home/alice"}).out, "alice\n");

  Env del = credentials("alice", ldap.alice_password);
  del["CONTAINER_NAME"] = name;
  EXPECT_EQ(call(socket, "delete", del, &out), 0) << out << read_text(log);
  EXPECT_TRUE(lxc_state(name).empty());
  stop_process(daemon);
  std::cout << "[ figures  ] debian template ready in " << template_ms << " ms; create with LDAP login: " << create_ms
            << " ms; ssh password login (wrong, then right): " << login_ms << " ms\n";
}

}  // namespace
}  // namespace lxcprov::it
