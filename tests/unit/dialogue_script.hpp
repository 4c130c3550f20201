#pragma once
// The harness of the Dialogue tests: drives a Dialogue the way the session does, with scripted
// answers and verdicts (authentication, name look-up, repository check), and records what it
// did as a transcript of events.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "request/dialogue.hpp"

namespace lxcprov::request::testing {

using Env = std::map<std::string, std::string>;

inline const std::string ed25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM54Hny6rOW1MMIOh1Ci254nni9Xu5CEm5xMnwGWeZWO user@example-ed25519";
inline const std::string ecdsa256 =
    "ecdsa-sha2-nistp256 "
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAq69YUuYRSJJsCuHaCGm5NSmHw5nTWOx5ud418VtZfoqycWsQjorCeqfXW5"
    "B6hulTsuBkjSCvn0N20cY3O9JhI= user@example-ecdsa256";
inline const std::string rsa1024 =
    "ssh-rsa "
    "AAAAB3NzaC1yc2EAAAADAQABAAAAgQCsUtafJHgp+/P+23F/pwFvjYwA1rlMe+xcE+OaUuYtLuCC48XSjfiNC70hr7spUdILiwou/2Wdvt6e+KhP"
    "HZ8cYfo6oSsaMv3i6iXx2FMfra5S0CRxLC0g26SDGgSq3U319dJDfsTykNj38+sjxIBEiX5aSgikBud+wWJMtTrV2Q== user@example-rsa1024";

// A password distinctive enough that any leak into a message is found by a substring search.
inline const std::string password = "Zq9-Secret-Pw";
inline const std::string job = "0123456789abcdef";

inline DialogueOptions options(bool tty) {
  DialogueOptions o;
  o.tty = tty;
  o.distributions = {"debian", "busybox"};
  o.default_distribution = "debian";
  o.default_http_port = 3000;
  return o;
}

inline Env full_create_env() {
  return {{"PROXMOX_USERNAME", "alice"},     {"PROXMOX_PASSWORD", password}, {"CONTAINER_NAME", "My-App"},
          {"LINUX_DISTRIBUTION", "busybox"}, {"HTTP_PORT", "8080"},          {"PUBLIC_KEY", ed25519}};
}

/// The session's answer to one check_repository.
struct RepositoryVerdict {
  std::optional<FieldError> error;
  std::string branch = "main";
  std::string commit = "0123456789abcdef0123456789abcdef01234567";
};

struct Script {
  Script() = default;
  Script(std::vector<std::string> a, bool auth = true, std::vector<bool> names = {},  // NOLINT: brace-init by design
         std::vector<RepositoryVerdict> repos = {})
      : answers(std::move(a)), auth_ok(auth), names_free(std::move(names)), repositories(std::move(repos)) {}
  std::vector<std::string> answers;  ///< consumed one per prompt
  bool auth_ok = true;
  std::vector<bool> names_free;                 ///< consumed one per check_name; true when exhausted
  std::vector<RepositoryVerdict> repositories;  ///< consumed one per check_repository; fine when exhausted
};

struct Transcript {
  /// "ask FIELD", "notice FIELD: msg", "reject FIELD: msg", "authenticate", "check_name NAME",
  /// "check_repository URL BRANCH ROOT", "error FIELD: msg", "done", "failed"
  std::vector<std::string> events;
  std::vector<Prompt> prompts;
  Step last;
  Request request;
  std::vector<FieldError> all_errors;  ///< every FieldError the dialogue produced, for leak checks
  std::vector<Step> steps;             ///< every step, for leak checks
};

inline Transcript run(Dialogue& d, Script script) {
  Transcript t;
  size_t answer = 0;
  size_t name = 0;
  size_t repository = 0;
  for (int guard = 0; guard < 200; ++guard) {
    Step s = d.next();
    t.last = s;
    t.steps.push_back(s);
    switch (s.kind) {
      case Step::prompt: {
        for (const auto& e : s.errors) {
          t.events.push_back("notice " + format(e));
          t.all_errors.push_back(e);
        }
        t.events.push_back("ask " + s.question.field);
        t.prompts.push_back(s.question);
        if (answer == script.answers.size()) {
          t.events.push_back("(out of answers)");
          t.request = d.request();
          return t;
        }
        if (auto e = d.answer(script.answers[answer++])) {
          t.events.push_back("reject " + format(*e));
          t.all_errors.push_back(*e);
        }
        break;
      }
      case Step::authenticate:
        t.events.push_back("authenticate");
        d.set_authenticated(script.auth_ok);
        break;
      case Step::check_name: {
        t.events.push_back("check_name " + d.request().container_name);
        const bool free = name < script.names_free.size() ? script.names_free[name++] : true;
        d.set_name_available(free);
        break;
      }
      case Step::check_repository: {
        const auto& spec = d.request().deploy;
        t.events.push_back(spec ? "check_repository " + spec->repository + " " + spec->branch + " " + spec->root
                                : "check_repository (nothing given)");
        RepositoryVerdict v =
            repository < script.repositories.size() ? script.repositories[repository++] : RepositoryVerdict{};
        if (v.error) t.all_errors.push_back(*v.error);
        d.set_repository_checked(v.error, v.branch, v.commit);
        break;
      }
      case Step::done:
        t.events.push_back("done");
        t.request = d.request();
        return t;
      case Step::failed:
        for (const auto& e : s.errors) {
          t.events.push_back("error " + format(e));
          t.all_errors.push_back(e);
        }
        t.events.push_back("failed");
        t.request = d.request();
        return t;
    }
  }
  ADD_FAILURE() << "dialogue did not finish";
  return t;
}

inline Transcript run(Operation op, DialogueOptions o, Env env, Script script = {}) {
  Dialogue d(op, std::move(o), std::move(env));
  return run(d, std::move(script));
}

inline void expect_no_leak(const Transcript& t, const std::string& secret) {
  for (const auto& e : t.all_errors) {
    EXPECT_EQ(e.message.find(secret), std::string::npos) << format(e);
    EXPECT_EQ(e.field.find(secret), std::string::npos) << format(e);
  }
}

inline std::string required(const std::string& name) {
  return name + ": is required (set it with ssh -o SendEnv=" + name + ")";
}

}  // namespace lxcprov::request::testing
