#pragma once
// Recording fakes of the job logic's edges (Ninja's style): a container runtime that keeps the
// containers it was asked to make, and the nft / nginx installers that keep the last text they
// installed. Every call goes through a CallLog, which records it and may fail it. Single-threaded.

#include <map>
#include <set>
#include <string>

#include "call_log.hpp"
#include "container/runtime.hpp"
#include "network/ruleset_applier.hpp"
#include "nft_model.hpp"
#include "routing/route_installer.hpp"

namespace lxcprov::testing {

class RecordingRuntime : public container::ContainerRuntime {
 public:
  explicit RecordingRuntime(CallLog& log) : log_(log) {}

  bool exists(const std::string& name) override { return containers.count(name) > 0 || templates.count(name) > 0; }
  Result<std::string> state(const std::string& name) override {
    if (!containers.count(name)) return make_error(Errc::not_found, "no container " + name);
    return std::string(running.count(name) ? "RUNNING" : "STOPPED");
  }
  Result<std::vector<std::string>> list() override {
    return std::vector<std::string>(containers.begin(), containers.end());
  }
  Status clone(const container::CloneSpec& spec) override {
    if (auto s = log_.record("clone " + spec.name); !s) return s;
    if (!templates.count(spec.template_name)) return make_error(Errc::not_found, "template not found");
    if (!containers.insert(spec.name).second) return make_error(Errc::conflict, "container exists");
    specs[spec.name] = spec;
    return {};
  }
  Status seed(const std::string& name, const container::FirstBoot& boot) override {
    if (auto s = log_.record("seed " + name); !s) return s;
    if (!containers.count(name)) return make_error(Errc::not_found, "no container " + name);
    if (running.count(name)) return make_error(Errc::unavailable, "container " + name + " is running");
    if (!can_seed) return make_error(Errc::unavailable, "a layered rootfs");
    seeded[name] = boot;
    return {};
  }
  Status start(const std::string& name, std::chrono::milliseconds) override {
    if (auto s = log_.record("start " + name); !s) return s;
    if (!containers.count(name)) return make_error(Errc::not_found, "no container " + name);
    running.insert(name);
    return {};
  }
  Result<container::RunResult> run(const std::string& name, const std::vector<std::string>& argv, const std::string&,
                                   std::chrono::milliseconds) override {
    if (auto s = log_.record("run " + name + " " + what_ran(argv)); !s) return s.error();
    if (!running.count(name)) return make_error(Errc::unavailable, "container " + name + " is not running");
    return container::RunResult{0, ""};
  }
  Result<container::RunResult> run_as(const std::string& name, const std::vector<std::string>& argv,
                                      const container::RunOptions& options) override {
    if (auto s = log_.record("run_as " + name + " " + std::to_string(options.uid) + " " + what_ran(argv)); !s)
      return s.error();
    if (!running.count(name)) return make_error(Errc::unavailable, "container " + name + " is not running");
    return container::RunResult{0, ""};
  }
  Status stop(const std::string& name) override {
    if (auto s = log_.record("stop " + name); !s) return s;
    running.erase(name);
    return {};
  }
  Status destroy(const std::string& name) override {
    if (auto s = log_.record("destroy " + name); !s) return s;
    running.erase(name);
    containers.erase(name);
    specs.erase(name);
    seeded.erase(name);
    return {};
  }

  std::set<std::string> templates{"tpl-busybox", "tpl-debian"};
  std::set<std::string> containers, running;
  std::map<std::string, container::CloneSpec> specs;
  std::map<std::string, container::FirstBoot> seeded;
  bool can_seed = true;  ///< false: seed() is unavailable, as for a rootfs it cannot write safely

  /// What a command is called in the log: the script's name ($0 of `sh -c`/`bash -c`, e.g.
  /// "lxcprov-configure"), else the program.
  static std::string what_ran(const std::vector<std::string>& argv) {
    if (argv.size() > 3 && argv[1] == "-c") return argv[3];
    return argv.empty() ? std::string() : argv.front();
  }

 private:
  CallLog& log_;
};

/// An nft applier or nginx installer: the last text installed is what the kernel or nginx holds.
class RecordingInstaller : public network::RulesetApplier, public routing::RouteInstaller {
 public:
  RecordingInstaller(CallLog& log, std::string what) : log_(log), what_(std::move(what)) {}
  /// As nft would: a whole table replaces what was there, element changes apply to it (refused,
  /// Errc::unavailable, where nft would refuse them). `installed` is then the table as listed.
  Status apply(const std::string& text) override {
    if (auto s = log_.record(what_); !s) return s;
    if (auto s = model.apply(text); !s) return s;
    installed = model.text();
    ++installs;
    return {};
  }
  Status install(const std::string& text) override {
    if (auto s = log_.record(what_); !s) return s;
    installed = text;
    ++installs;
    return {};
  }
  std::string installed;
  int installs = 0;
  NftModel model;

 private:
  CallLog& log_;
  std::string what_;
};

}  // namespace lxcprov::testing
