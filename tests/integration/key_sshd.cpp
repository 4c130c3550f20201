#include "key_sshd.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../support/free_port.hpp"
#include "world.hpp"

namespace lxcprov::it {

void KeySshd::start(const Options& o) {
  World& w = world();
  if (w.tmp.empty() || w.daemon_pid <= 0) return;  // the world failed; its tests say why
  name = o.name;
  run_dir = "/run/lxcprov-" + name + "-" + std::to_string(w.pid);
  keys_dir = run_dir + "/authorized_keys";
  sshd_dir = w.tmp + "/" + name + "-sshd";
  ssh_config = w.tmp + "/" + name + "-ssh_config";
  ctl_config = w.tmp + "/" + name + "-ctl.json";
  std::filesystem::create_directories(run_dir);
  ::chmod(run_dir.c_str(), 0755);

  auto cfg = nlohmann::json::parse(read_text(w.config));
  cfg["authorized_keys_dir"] = keys_dir;
  cfg["keys_file"] = w.tmp + "/" + name + "-keys";
  cfg["socket"] = socket = w.tmp + "/" + name + ".sock";
  cfg["database"] = w.tmp + "/" + name + "-state/state.db";
  cfg["network"]["first"] = w.net + o.first;
  cfg["network"]["last"] = w.net + o.last;
  if (o.config) o.config(cfg);
  std::ofstream(ctl_config) << cfg.dump(2);
  const std::string log = w.tmp + "/" + name + "-daemon.log";
  daemon_pid = start_daemon(ctl_config, socket, log);
  ASSERT_GT(daemon_pid, 0) << read_text(log);
  auto sealed = seal_template(ctl_config, "tpl-busybox");  // in this daemon's own state
  ASSERT_EQ(sealed.exit_code, 0) << describe(sealed);

  for (auto [user, path] : {std::pair{"alice", &alice_key}, {"bob", &bob_key}}) {
    *path = w.tmp + "/" + name + "-" + user;
    auto k = run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", std::string(user) + "@" + name, "-f", *path});
    ASSERT_EQ(k.exit_code, 0) << k.err;
    auto add = ctl({"key", "add", user}, read_text(*path + ".pub"));
    ASSERT_EQ(add.exit_code, 0) << describe(add);
  }

  port = lxcprov::testing::free_loopback_port();
  ASSERT_GT(port, 0);
  auto sshd = sh(w.source_dir + "/scripts/setup-sshd.sh --dir " + sshd_dir + " --port " + std::to_string(port) +
                 " --shell " + w.shell + " --socket " + socket + " --authorized-keys-dir " + keys_dir + " --start");
  ASSERT_EQ(sshd.exit_code, 0) << describe(sshd);
  std::ofstream(ssh_config) << "Host " << name << "\n  HostName 127.0.0.1\n  Port " << port
                            << "\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
                               "  GlobalKnownHostsFile /dev/null\n  LogLevel ERROR\n  IdentityAgent none\n"
                               "  ConnectTimeout 20\n"
                            << o.ssh_options;
  ASSERT_TRUE(lxcprov::testing::wait_until_listening(static_cast<uint16_t>(port))) << read_text(sshd_dir + "/sshd.log");
  ready = true;
}

void KeySshd::stop() {
  if (!sshd_dir.empty()) sh("[ -f " + sshd_dir + "/sshd.pid ] && kill $(cat " + sshd_dir + "/sshd.pid)");
  if (daemon_pid > 0) stop_process(daemon_pid);
  daemon_pid = -1;
  if (!run_dir.empty()) std::filesystem::remove_all(run_dir);
}

ProcResult KeySshd::ctl(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> argv = {world().build_dir + "/helpers/lxcprovctl", "--config", ctl_config};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions o;
  o.input = input;
  return run(argv, o);
}

std::string KeySshd::owner_of(const std::string& container) const {
  auto row = db_row(container, ctl_config);
  return row ? row->owner : "";
}

}  // namespace lxcprov::it
