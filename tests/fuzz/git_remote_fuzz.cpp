// The repository check's rules and parsers (deploy/git_remote.*): git ls-remote --symref and
// ls-tree output (what a hostile git server controls), PROJECT_REPOSITORY and branch rules, and
// the redaction of git's own words. Invariants: a resolved branch is a valid branch name with a
// full object id; an accepted URL's parts are what the rule promises; neither redact() nor a
// classified failure ever holds the token.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "deploy/git_remote.hpp"
#include "fuzz_support.hpp"

using namespace lxcprov;
using namespace lxcprov::deploy;

namespace {

void no_token(std::string_view text, const Secret& token) {
  if (text.find(token.reveal()) != std::string_view::npos)
    fuzz::fail("the token survived", std::string(text) + " / token: " + std::string(token.reveal()));
  if (text.find(base64_encode(token.reveal())) != std::string_view::npos)
    fuzz::fail("the token's base64 survived", std::string(text) + " / " + base64_encode(token.reveal()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0: {
      // The session passes a branch check_branch accepted, or "" (the remote's default).
      std::string branch = in.ConsumeRandomLengthString(64);
      if (!valid_branch_name(branch)) branch.clear();
      const LsRemote listing = parse_ls_remote(in.ConsumeRemainingBytesAsString());
      for (const auto& [ref, oid] : listing.refs)
        if (!is_object_id(oid)) std::abort();
      auto r = resolve_branch(listing, branch);
      if (const auto* ok = std::get_if<RemoteCheck>(&r)) {
        if (!valid_branch_name(ok->branch) || !is_object_id(ok->commit)) std::abort();
        if (!branch.empty() && ok->branch != branch) std::abort();
      } else {
        (void)std::get<CheckError>(r).message();
      }
      break;
    }
    case 1: {
      const std::string path = in.ConsumeRandomLengthString(64);
      (void)lists_tree(in.ConsumeRemainingBytesAsString(), path);
      (void)valid_repository_path(path);
      break;
    }
    case 2: {
      const std::vector<std::string> hosts{"github.com", "git.example.org:8443", "[2001:db8::1]"};
      const std::string url = in.ConsumeRemainingBytesAsString();
      auto r = check_repository_url(url, hosts);
      if (const auto* u = std::get_if<RepositoryUrl>(&r)) {
        if (u->host.empty() || u->path.size() < 2 || u->path.front() != '/' || u->port == 0) std::abort();
        if (url.size() > 2048) std::abort();
      } else {
        const auto& e = std::get<CheckError>(r);
        if (e.message().empty()) std::abort();
      }
      (void)valid_branch_name(url);
      (void)ls_remote_args(url, "main");
      break;
    }
    default: {
      // The token is what a user typed: printable, at least a few characters (a one-letter
      // "token" would be redacted out of every word).
      // And printable ASCII without spaces, as check_token requires (with a leading space, "git
      // failed: " + the token's rest would look like the token). Without hex digits, 'x' and '\'
      // here: redact's "\x1a" for a control byte followed by "xZq9..." would otherwise spell a
      // token "axZq9..." that the input never held.
      std::string t = fuzz::without_marker(in.ConsumeRandomLengthString(32));
      for (char& c : t)
        if (c <= ' ' || c > '~' || std::string_view("0123456789abcdefABCDEFx\\").find(c) != std::string_view::npos)
          c = 'Q';
      t.insert(in.ConsumeIntegralInRange<size_t>(0, t.size()), fuzz::secret_marker);
      const Secret token(t);
      const int status = in.ConsumeIntegral<int>();
      std::string output = in.ConsumeRemainingBytesAsString();
      // Put the token (or its base64) into git's words, as curl's verbose output could.
      output += "\nAuthorization: Basic " + base64_encode("x-access-token:" + t) + "\n" + t;
      no_token(redact(output, token), token);
      const CheckError e = classify_git_failure(output, status, token);
      no_token(e.reason, token);
      no_token(e.message(), token);
      break;
    }
  }
  return 0;
}
