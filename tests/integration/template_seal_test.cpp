// Sealed templates for real: a daemon of its own (the world's state, lxcpath and bridge, its own
// socket) clones a copy of the world's busybox template, so changing that copy affects no other
// test. Users are played by lxcprov-shell itself, run as sshd's ForceCommand would run it; the
// admin by lxcprovctl, lxc-ls and the state database.
//
// Checked: an unsealed template is refused; a sealed one clones; after one byte of a file in its
// rootfs is flipped (size and mtime kept), a create is refused with exit 6 and the message that
// names the admin's command, and leaves no row, no container, no directory and no address; verify
// names the changed file; re-sealing is refused while a clone depends on the old content and
// allowed after it is deleted; then creates work again.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "container/template_seals.hpp"
#include "world.hpp"

namespace lxcprov::it {
namespace {

namespace fs = std::filesystem;

// Flips one byte in the middle of `path` and puts its atime and mtime back: only the ctime, which
// no system call can set, tells.
void flip_one_byte(const std::string& path) {
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
  ASSERT_GT(st.st_size, 0) << path;
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << path;
  const off_t at = st.st_size / 2;
  char c = 0;
  ASSERT_EQ(::pread(fd, &c, 1, at), 1);
  c = static_cast<char>(c ^ 0x20);
  ASSERT_EQ(::pwrite(fd, &c, 1, at), 1);
  ::close(fd);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
}

// The first non-empty regular file under rootfs/etc, in name order: whatever the build put there.
std::string some_file(const std::string& rootfs) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(rootfs + "/etc"))
    if (e.is_regular_file() && !e.is_symlink() && e.file_size() > 0) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files.empty() ? "" : files.front().string();
}

class TemplateSeal : public ::testing::Test {
 protected:
  void SetUp() override {
    World& w = world();
    if (w.daemon_pid <= 0) GTEST_SKIP() << "the world did not start";
    tdir_ = w.lxcpath + "/" + tpl_;
    // A copy of the world's template under another name; not its lxc_snapshots (the world's
    // clones do not depend on the copy) and with the rootfs path pointing at the copy's own.
    auto cp = sh("set -e; rm -rf '" + tdir_ + "'; cp -a '" + w.lxcpath + "/tpl-busybox' '" + tdir_ + "'; rm -f '" +
                     tdir_ + "/lxc_snapshots'; sed -i 's|^lxc.rootfs.path = .*|lxc.rootfs.path = dir:" + tdir_ +
                     "/rootfs|' '" + tdir_ + "/config'",
                 120s);
    ASSERT_EQ(cp.exit_code, 0) << describe(cp);

    auto cfg = nlohmann::json::parse(read_text(w.config));
    socket_ = w.tmp + "/seal.sock";
    config_ = w.tmp + "/lxcprovd-seal.json";
    log_ = w.tmp + "/lxcprovd-seal.log";
    cfg["socket"] = socket_;
    cfg["distributions"] = {{"busybox", {{"template", tpl_}}}};
    std::ofstream(config_) << cfg.dump(2);
    daemon_ = start_daemon(config_, socket_, log_);
    ASSERT_GT(daemon_, 0) << read_text(log_);
  }
  void TearDown() override {
    if (daemon_ > 0) stop_process(daemon_);
  }

  // What sshd's ForceCommand runs for the create-container / delete-container accounts.
  ProcResult shell(const std::string& op, const std::string& name) {
    const World& w = world();
    RunOptions o;
    o.env = create_vars("alice", name);
    if (op != "create")
      o.env = {{"PROXMOX_USERNAME", "alice"}, {"PROXMOX_PASSWORD", w.alice_password}, {"CONTAINER_NAME", name}};
    o.unset = {"LINUX_DISTRIBUTION", "HTTP_PORT", "PUBLIC_KEY", "SSH_ORIGINAL_COMMAND"};
    o.timeout = 120s;
    return run({w.shell, "--socket", socket_, op}, o);
  }

  ProcResult ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {world().build_dir + "/helpers/lxcprovctl", "--config", config_, "template"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_for(argv, 120s);
  }

  std::string status_in_list() {
    auto r = ctl({"list"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    for (const auto& line : lines_of(r.out)) {
      std::istringstream in(line);
      std::string name, distribution, status;
      in >> name >> distribution >> status;
      if (name == tpl_) return status;
    }
    return "";
  }

  // Nothing of a refused create anywhere: no row, no container, no directory, no address.
  void expect_nothing_left(const std::string& name, const std::string& free_ip) {
    EXPECT_FALSE(db_row(name).has_value()) << name << " has a row (lxcprovctl containers)";
    auto names = lxc_names();
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 0) << name << " is in lxc-ls";
    EXPECT_FALSE(container_dir_exists(name)) << name << " has a directory in the lxcpath";
    EXPECT_EQ(lowest_free_ip(), free_ip) << "the refused create kept an address";
  }

  const std::string tpl_ = "tpl-sealed";
  std::string tdir_, socket_, config_, log_;
  pid_t daemon_ = -1;
};

TEST_F(TemplateSeal, AChangedTemplateIsRefusedAndLeavesNothingUntilItIsSealedAgain) {
  const World& w = world();
  const std::string c0 = w.prefix + "seal0", c1 = w.prefix + "seal1", c2 = w.prefix + "seal2", c3 = w.prefix + "seal3";

  // Not sealed yet: refused, nothing made.
  std::string free_ip = lowest_free_ip();
  auto unsealed = shell("create", c0);
  EXPECT_EQ(unsealed.exit_code, 6) << describe(unsealed);
  EXPECT_TRUE(contains(unsealed.out + unsealed.err, container::not_sealed(tpl_).message)) << describe(unsealed);
  expect_nothing_left(c0, free_ip);
  EXPECT_EQ(status_in_list(), "unsealed");

  auto sealed = ctl({"seal", tpl_});
  ASSERT_EQ(sealed.exit_code, 0) << describe(sealed);
  EXPECT_TRUE(contains(sealed.out, "sealed " + tpl_)) << describe(sealed);
  EXPECT_EQ(status_in_list(), "sealed");

  // Sealed: the create works, and the clone depends on the template.
  auto ok = shell("create", c1);
  ASSERT_EQ(ok.exit_code, 0) << describe(ok) << read_text(log_);
  EXPECT_EQ(lxc_state(c1), "RUNNING");
  EXPECT_EQ(status_in_list(), "sealed");  // cloning and running a clone leave the template as sealed

  // One byte of one file changes, size and mtime kept.
  const std::string file = some_file(tdir_ + "/rootfs");
  ASSERT_FALSE(file.empty());
  flip_one_byte(file);
  const std::string relative = file.substr(tdir_.size() + 1);  // "rootfs/etc/..."

  free_ip = lowest_free_ip();
  auto refused = shell("create", c2);
  EXPECT_EQ(refused.exit_code, 6) << describe(refused);
  const std::string said = refused.out + refused.err;
  EXPECT_TRUE(contains(said, container::mismatch(tpl_).message)) << describe(refused);
  EXPECT_FALSE(contains(said, w.tmp)) << "a host path reached the user: " << said;
  expect_nothing_left(c2, free_ip);
  const std::string job = job_id_in(said);
  ASSERT_FALSE(job.empty()) << said;
  EXPECT_EQ(job_state(job), "ROLLED_BACK");

  EXPECT_EQ(status_in_list(), "MISMATCH");
  auto verify = ctl({"verify", tpl_});
  EXPECT_EQ(verify.exit_code, 1) << describe(verify);
  EXPECT_TRUE(contains(verify.out, "content differs")) << describe(verify);
  EXPECT_TRUE(contains(verify.out, "changed  " + relative)) << describe(verify);

  // New content while a clone still depends on the old: refused.
  auto blocked = ctl({"seal", tpl_});
  EXPECT_EQ(blocked.exit_code, 1) << describe(blocked);
  EXPECT_TRUE(contains(blocked.err, "snapshot clone")) << describe(blocked);
  EXPECT_TRUE(contains(blocked.err, c1)) << describe(blocked);
  EXPECT_EQ(status_in_list(), "MISMATCH");

  auto deleted = shell("delete", c1);
  ASSERT_EQ(deleted.exit_code, 0) << describe(deleted);
  auto resealed = ctl({"seal", tpl_});
  ASSERT_EQ(resealed.exit_code, 0) << describe(resealed);
  EXPECT_TRUE(contains(resealed.out, "re-sealed " + tpl_ + " with new content")) << describe(resealed);
  EXPECT_EQ(ctl({"verify", tpl_}).exit_code, 0);

  auto again = shell("create", c3);
  ASSERT_EQ(again.exit_code, 0) << describe(again) << read_text(log_);
  EXPECT_EQ(lxc_state(c3), "RUNNING");
  EXPECT_EQ(shell("delete", c3).exit_code, 0);
}

TEST(TemplateSealWorld, TheWorldsTemplateIsSealedAndMatches) {
  // Every other test clones it: the world sealed it, and nothing since has changed it.
  auto r = run_for(
      {world().build_dir + "/helpers/lxcprovctl", "--config", world().config, "template", "verify", "tpl-busybox"},
      120s);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "tpl-busybox matches its seal")) << describe(r);
}

}  // namespace
}  // namespace lxcprov::it
