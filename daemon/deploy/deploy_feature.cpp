#include "deploy/deploy_feature.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "container/container_files.hpp"
#include "deploy/layout.hpp"
#include "deploy/merge.hpp"
#include "deploy/redact.hpp"

namespace lxcprov::deploy {
namespace {

using namespace std::chrono_literals;

// --- the scripts run inside the container --------------------------------------------------------
// Constant text. What comes from a user arrives only as "$1"... or on stdin, always quoted, so no
// shell ever parses it; the user's own commands are run by bash -c as the app user (their purpose).

// As root. $@: Debian package names (catalog rule ^[a-z0-9][a-z0-9+.-]+$). Nothing to do when
// dpkg already has every one (templates may carry them); otherwise one update, then the install.
// The first deploy step, run moments after the container started: it waits (bounded) for the
// boot to finish first, because systemd-tmpfiles-setup empties /tmp during boot (tmp.conf "D
// /tmp"), which deleted apt's temporary files under it ("Unknown error executing apt-key"), and
// the network and the units the app needs are not up before then either.
constexpr const char* packages_script = R"sh(set -eu
export DEBIAN_FRONTEND=noninteractive
wait_for_systemd
state=$(timeout 120 systemctl is-system-running --wait 2>/dev/null || true)
case "$state" in
  running|degraded) ;;
  *) echo "lxcprov: the container's boot has not finished (${state:-no answer}); going on" ;;
esac
missing=
for p in "$@"; do
  case "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)" in
    ii*) ;;
    *) missing="$missing $p" ;;
  esac
done
if [ -z "$missing" ]; then
  echo "lxcprov: the packages are installed already: $*"
  exit 0
fi
echo "lxcprov: installing$missing"
apt-get -q -o DPkg::Lock::Timeout=120 update
apt-get -q -y -o DPkg::Lock::Timeout=120 install --no-install-recommends "$@"
)sh";

// As root. $@: systemd units of catalog services. systemd may still be booting the container.
constexpr const char* services_script = R"sh(set -eu
wait_for_systemd
for u in "$@"; do
  echo "lxcprov: enabling and starting $u"
  systemctl enable --now -- "$u"
done
for u in "$@"; do
  if ! systemctl is-active --quiet -- "$u"; then
    echo "lxcprov: $u is not active"
    systemctl status --no-pager -- "$u" || true
    exit 4
  fi
done
)sh";

// As root. $1: the app user's uid (and gid), $2: the release (the job id). stdin: the extra git CA
// (PEM) or nothing. Makes the user, the directories and an empty release directory of the app's.
constexpr const char* prepare_script = R"sh(set -eu
uid=$1 release=$2
getent group app >/dev/null || groupadd -g "$uid" app
getent passwd app >/dev/null || useradd -u "$uid" -g app -d /srv/app/home -M -s /bin/bash -c "lxcprov app" app
if [ "$(id -u app)" != "$uid" ] || [ "$(id -g app)" != "$uid" ]; then
  echo "lxcprov: the user app exists with another uid or gid than $uid"
  exit 3
fi
umask 022
mkdir -p /srv/app/releases /etc/lxcprov-app/releases
chown root:root /srv/app /srv/app/releases /etc/lxcprov-app /etc/lxcprov-app/releases
chmod 755 /srv/app /srv/app/releases /etc/lxcprov-app /etc/lxcprov-app/releases
if [ ! -d /srv/app/home ]; then
  mkdir /srv/app/home
  chown app:app /srv/app/home
  chmod 700 /srv/app/home
fi
rm -rf -- "/srv/app/releases/$release" "/etc/lxcprov-app/releases/$release"
mkdir -m 750 "/srv/app/releases/$release"
chown app:app "/srv/app/releases/$release"
mkdir -m 755 "/etc/lxcprov-app/releases/$release"
ca=$(cat)
if [ -n "$ca" ]; then
  tmp=$(mktemp /etc/lxcprov-app/.git-ca.XXXXXX)
  { if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cat /etc/ssl/certs/ca-certificates.crt; fi
    printf '%s\n' "$ca"; } > "$tmp"
  chmod 644 "$tmp"
  mv -fT "$tmp" /etc/lxcprov-app/git-ca.pem
fi
)sh";

// As the app user, git configured only through its environment (the token never in argv or a
// file). $1: the empty release directory, $2: the https URL, $3: the branch ("" = the default).
constexpr const char* clone_script = R"sh(set -eu
dest=$1 url=$2 branch=$3
if [ -n "$branch" ]; then
  exec git clone --depth 1 --single-branch --branch "$branch" --no-recurse-submodules -- "$url" "$dest"
fi
exec git clone --depth 1 --single-branch --no-recurse-submodules -- "$url" "$dest"
)sh";

// As the app user. $1: the release, $2: the size limit in bytes, $3...: the directories the units
// use, relative to it. Exit 4: too big; 5: a directory is missing; 6: one leads out of the
// release (a symlink). Prints the commit last.
constexpr const char* inspect_script = R"sh(set -eu
rel=$1 max=$2
shift 2
cd -- "$rel"
head=$(git rev-parse --verify HEAD)
size=$(du -sb . | cut -f1)
if [ "$size" -gt "$max" ]; then echo "lxcprov: the clone takes $size bytes"; exit 4; fi
real=$(pwd -P)
for d in "$@"; do
  if [ ! -d "$d" ]; then echo "lxcprov: the repository has no directory $d"; exit 5; fi
  r=$(cd -- "$d" && pwd -P)
  case "$r/" in "$real/"*) ;; *) echo "lxcprov: $d leads outside the repository"; exit 6 ;; esac
done
echo "$head"
)sh";

// As root. $1: a release. Never the one /srv/app/current points at.
constexpr const char* remove_script = R"sh(set -eu
rel=$1
if [ "$(readlink /srv/app/current 2>/dev/null || true)" = "releases/$rel" ]; then
  echo "lxcprov: release $rel is serving; not removed"
  exit 0
fi
rm -rf -- "/srv/app/releases/$rel" "/etc/lxcprov-app/releases/$rel"
)sh";

// As the app user. $1: a directory of the release; stdin: its .env, replaced whole.
constexpr const char* env_script = R"sh(set -eu
umask 077
tmp=$(mktemp "$1/.env.lxcprov.XXXXXX")
cat > "$tmp"
mv -fT "$tmp" "$1/.env"
)sh";

// As the app user. $1: the serving release, $2: the new one, $3...: directories of both. Each
// .env the serving release has is copied (an update that gave no CONTAINER_ENV_VARS).
constexpr const char* copy_env_script = R"sh(set -eu
umask 077
from=$1 to=$2
shift 2
for d in "$@"; do
  if [ -f "$from/$d/.env" ] && [ -d "$to/$d" ]; then
    tmp=$(mktemp "$to/$d/.env.lxcprov.XXXXXX")
    cat -- "$from/$d/.env" > "$tmp"
    mv -fT "$tmp" "$to/$d/.env"
  fi
done
)sh";

// As root. $1: the serving release, $2: the new one, $3...: pairs of unit ids (old, new). The
// user's EnvironmentFile of each unit is copied, or made empty.
constexpr const char* copy_etc_env_script = R"sh(set -eu
umask 077
from=/etc/lxcprov-app/releases/$1 to=/etc/lxcprov-app/releases/$2
shift 2
while [ $# -ge 2 ]; do
  tmp=$(mktemp "$to/.env.lxcprov.XXXXXX")
  if [ -n "$1" ] && [ -f "$from/$1.env" ]; then cat -- "$from/$1.env" > "$tmp"; fi
  chmod 600 "$tmp"
  mv -fT "$tmp" "$to/$2.env"
  shift 2
done
)sh";

// As the app user. $1: a directory of the release, $2: 1 for a Python venv there, $3: the
// user's command (install or build), run verbatim by bash.
constexpr const char* run_script = R"sh(set -eu
dir=$1 venv=$2
cd -- "$dir"
if [ "$venv" = 1 ]; then
  if [ ! -x venv/bin/python3 ]; then
    echo "lxcprov: python3 -m venv venv"
    python3 -m venv venv
  fi
  VIRTUAL_ENV="$dir/venv"
  PATH="$dir/venv/bin:$PATH"
  export VIRTUAL_ENV PATH
fi
[ -n "$3" ] || exit 0
exec /bin/bash -c "$3"
)sh";

// As root. $1: the release to serve; then "+unit" to enable and (re)start, "-unit" to stop,
// disable and remove. Both current links are replaced by a rename, so a reader sees the old or
// the new release, never neither.
constexpr const char* switch_script = R"sh(set -eu
rel=$1
shift
if [ ! -d "/srv/app/releases/$rel" ] || [ ! -d "/etc/lxcprov-app/releases/$rel" ]; then
  echo "lxcprov: release $rel is missing"
  exit 3
fi
ln -sfn "releases/$rel" /srv/app/.current.lxcprov-new
mv -fT /srv/app/.current.lxcprov-new /srv/app/current
ln -sfn "releases/$rel" /etc/lxcprov-app/.current.lxcprov-new
mv -fT /etc/lxcprov-app/.current.lxcprov-new /etc/lxcprov-app/current
wait_for_systemd
for a in "$@"; do
  case $a in
    -*) u=${a#-}
        systemctl disable --now -- "$u" >/dev/null 2>&1 || true
        rm -f -- "/etc/systemd/system/$u" ;;
  esac
done
systemctl daemon-reload
for a in "$@"; do
  case $a in
    +*) u=${a#+}
        systemctl enable --quiet -- "$u"
        systemctl restart -- "$u" ;;
  esac
done
)sh";

// As root. $@: the units of a first deployment being undone: stopped, disabled and removed, and
// the current links with them, so nothing is deployed any more.
constexpr const char* unswitch_script = R"sh(set -eu
wait_for_systemd
for u in "$@"; do
  systemctl disable --now -- "$u" >/dev/null 2>&1 || true
  rm -f -- "/etc/systemd/system/$u"
done
systemctl daemon-reload
rm -f /srv/app/current /etc/lxcprov-app/current
)sh";

// As root. $@: units. Exit 1 naming those not active.
constexpr const char* active_script = R"sh(bad=0
for u in "$@"; do
  s=$(systemctl is-active -- "$u" 2>/dev/null || true)
  if [ "$s" != active ]; then echo "$u is ${s:-unknown}"; bad=1; fi
done
exit $bad
)sh";

// As root. $1: how many lines of the app units' journal.
constexpr const char* journal_script = R"sh(exec journalctl -u 'lxcprov-app-*' -n "$1" --no-pager -o short-iso
)sh";

// As root. $1: how many releases to keep; $2...: the ones kept first (serving, previous). The
// newest others fill the rest; older ones are removed.
constexpr const char* prune_script = R"sh(set -eu
keep=$1
shift
kept=" "
n=0
for r in "$@" $(ls -1t /srv/app/releases); do
  case "$kept" in *" $r "*) continue ;; esac
  if [ "$n" -lt "$keep" ]; then kept="$kept$r "; n=$((n + 1)); continue; fi
  [ -d "/srv/app/releases/$r" ] || continue
  echo "lxcprov: removing release $r"
  rm -rf -- "/srv/app/releases/$r" "/etc/lxcprov-app/releases/$r"
done
)sh";

// Defined ahead of every script: systemd may still be starting in a container that was just started
// (up to 30 s, then exit 3 like any other failure of the step).
constexpr const char* script_prelude = R"sh(wait_for_systemd() {
  i=0
  until systemctl show -p Version >/dev/null 2>&1; do
    i=$((i + 1)); [ "$i" -le 150 ] || { echo "lxcprov: systemd is not running in the container"; exit 3; }
    sleep 0.2
  done
}
)sh";

std::vector<std::string> script(const char* text, const char* name, std::vector<std::string> args = {}) {
  std::vector<std::string> argv{"/bin/sh", "-c", std::string(script_prelude) + text, name};
  argv.insert(argv.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return argv;
}

std::chrono::milliseconds ms(std::chrono::seconds s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(s);
}

// Releases are named after job ids (16 hex digits); anything else would be a path in scripts.
Status check_release(std::string_view release) {
  if (release.empty() || release.size() > 64 || !std::all_of(release.begin(), release.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      }))
    return make_error(Errc::internal, "a release must be named like a job id");
  return {};
}

std::string last_line(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  const auto nl = text.rfind('\n');
  return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

bool is_commit(std::string_view s) {
  return (s.size() == 40 || s.size() == 64) &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// The last `n` lines of `text`.
std::string tail_lines(std::string_view text, int n) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::size_t at = text.size();
  for (int i = 0; i < n && at != std::string_view::npos && at > 0; ++i) at = text.rfind('\n', at - 1);
  return std::string(at == std::string_view::npos || at == 0 ? text : text.substr(at + 1));
}

std::vector<std::string> minus(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) out.push_back(x);
  return out;
}

Error failed_command(std::string_view what, int status) {
  return make_error(Errc::internal, fmt::format("{} failed (exit {}; its output is above)", what, status));
}

}  // namespace

// The job's output allowance (deploy.max_output_bytes), shared by its steps.
struct DeployFeature::Budget {
  std::size_t left = 0;
  bool told = false;
};

// One command's output on its way to the reporter: redacted, then within the budget.
class DeployFeature::Stream {
 public:
  Stream(jobs::Reporter* reporter, std::string_view step, Budget& budget, const DeploySecrets& secrets)
      : reporter_(reporter), step_(step), budget_(budget), redactor_(always(secrets, header_), values(secrets)) {}

  void operator()(std::string_view chunk) { emit(redactor_.feed(chunk)); }
  void finish() { emit(redactor_.flush()); }
  std::string redact(std::string_view text) const { return redactor_.redact(text); }

 private:
  static std::vector<const Secret*> always(const DeploySecrets& s, Secret& header) {
    if (s.git_token.empty()) return {};
    header = git_auth_header(s.git_token);
    return {&s.git_token, &header};
  }
  static std::vector<const Secret*> values(const DeploySecrets& s) {
    std::vector<const Secret*> out;
    if (s.env)
      for (const auto& [component, vars] : *s.env)
        for (const auto& [key, value] : vars) out.push_back(&value);
    return out;
  }
  void emit(std::string text) {
    if (text.empty() || !reporter_) return;
    if (budget_.left == 0) {
      if (!budget_.told)
        reporter_->output(step_,
                          "\n[lxcprov: output limit reached (deploy.max_output_bytes); the rest is not shown]\n");
      budget_.told = true;
      return;
    }
    if (text.size() > budget_.left) text.resize(budget_.left);
    budget_.left -= text.size();
    reporter_->output(step_, text);
  }

  jobs::Reporter* reporter_;
  std::string step_;
  Budget& budget_;
  Secret header_;
  Redactor redactor_;
};

Result<container::RunResult> DeployFeature::run(jobs::JobContext& ctx, Budget& budget, std::string_view step,
                                                std::vector<std::string> argv, uid_t uid,
                                                std::chrono::milliseconds timeout, std::string input,
                                                std::vector<std::string> env, std::string cwd) {
  Stream stream(ctx.reporter, step, budget, ctx.request.deploy_secrets);
  container::RunOptions o;
  o.input = std::move(input);
  o.timeout = timeout;
  o.uid = uid;
  o.gid = static_cast<gid_t>(uid);
  o.env = std::move(env);
  o.cwd = std::move(cwd);
  o.on_output = [&stream](std::string_view chunk) { stream(chunk); };
  auto r = runtime_.run_as(ctx.record.name, argv, o);
  // The input may be an env file and the environment may hold the token.
  std::fill(o.input.begin(), o.input.end(), '\0');
  wipe(o.env);
  stream.finish();
  if (r) r->output = stream.redact(r->output);
  return r;
}

Status DeployFeature::write_root_file(const jobs::JobContext& ctx, const std::string& path, const char* mode,
                                      const std::string& content) {
  return container::write_file(runtime_, ctx.record.name, path, mode, content);
}

uint16_t DeployFeature::http_port(const jobs::JobContext& ctx) const {
  return ctx.request.http_port != 0 ? ctx.request.http_port : ctx.record.http_port;
}

// --- steps ----------------------------------------------------------------------------------------

void DeployFeature::create_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  if (!ctx.request.deploy) return;
  push_steps(ctx, out, false);
}

void DeployFeature::update_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out) {
  push_steps(ctx, out, true);
}

void DeployFeature::push_steps(jobs::JobContext& ctx, std::vector<jobs::PhasedStep>& out, bool update) {
  auto budget = std::make_shared<Budget>(Budget{config_.deploy.max_output_bytes, false});
  const jobs::Phase phase = update ? jobs::Phase::update : jobs::Phase::after_configure;
  const jobs::Phase after = update ? jobs::Phase::after_update : jobs::Phase::after_configure;
  // Every run is a no-op without a spec: recovery builds these steps only for their undos.
  auto step = [&ctx, budget](auto f) {
    return [&ctx, budget, f]() -> Status { return ctx.request.deploy ? f(ctx, *budget) : Status(); };
  };
  out.push_back({phase, {"deploy-packages", step([this](auto& c, auto& b) { return packages(c, b); }), {}}});
  out.push_back({phase, {"deploy-services", step([this](auto& c, auto& b) { return services(c, b); }), {}}});
  out.push_back({phase,
                 {"deploy-fetch", step([this](auto& c, auto& b) { return fetch(c, b); }),
                  update ? std::function<Status()>([this, &ctx] { return remove_release(ctx); }) : nullptr}});
  out.push_back({phase, {"deploy-env", step([this](auto& c, auto& b) { return environment(c, b); }), {}}});
  out.push_back({phase, {"deploy-install", step([this](auto& c, auto& b) { return install(c, b, false); }), {}}});
  out.push_back({phase, {"deploy-build", step([this](auto& c, auto& b) { return install(c, b, true); }), {}}});
  out.push_back(
      {phase,
       {update ? "deploy-switch" : "deploy-units", step([this, update](auto& c, auto& b) {
          return switch_release(c, b, update ? "deploy-switch" : "deploy-units");
        }),
        update ? std::function<Status()>([this, &ctx, budget] { return undo_switch(ctx, *budget); }) : nullptr}});
  out.push_back({after, {"deploy-health", step([this](auto& c, auto& b) { return health(c, b); }), {}}});
  if (update) out.push_back({after, {"deploy-prune", step([this](auto& c, auto& b) { return prune(c, b); }), {}}});
}

Status DeployFeature::packages(jobs::JobContext& ctx, Budget& budget) {
  auto pk = packages_for(*ctx.request.deploy, catalog_);
  if (!pk) return pk.error();
  auto r = run(ctx, budget, "deploy-packages", script(packages_script, "lxcprov-deploy-packages", *pk), 0,
               ms(config_.deploy.install_timeout));
  if (!r) return r.error();
  if (r->exit_status != 0) return failed_command("installing the Debian packages", r->exit_status);
  return {};
}

Status DeployFeature::services(jobs::JobContext& ctx, Budget& budget) {
  const DeploySpec& spec = *ctx.request.deploy;
  // An update adds only what the serving release does not have already.
  std::vector<std::string> wanted = spec.services, custom = spec.custom_services;
  auto row = store_.find_deployment(ctx.record.name);
  if (!row) return row.error();
  if (row->has_value()) {
    if (auto stored = from_stored_json((*row)->spec)) {
      wanted = minus(wanted, stored->services);
      custom = minus(custom, stored->custom_services);
    }
  }
  if (!custom.empty() && !config_.deploy.allow_custom_services)
    return make_error(Errc::invalid_argument, "CUSTOM_SERVICES: not allowed on this server");
  auto units = service_units_for(wanted, catalog_);
  if (!units) return units.error();
  if (!units->empty()) {
    auto r = run(ctx, budget, "deploy-services", script(services_script, "lxcprov-deploy-services", *units), 0,
                 ms(config_.deploy.install_timeout));
    if (!r) return r.error();
    if (r->exit_status != 0) return failed_command("starting the services", r->exit_status);
  }
  for (std::size_t i = 0; i < custom.size(); ++i) {
    // CUSTOM_SERVICES are root commands by definition; config-gated above.
    auto r = run(ctx, budget, "deploy-services", {"/bin/bash", "-c", custom[i], "lxcprov-custom-service"}, 0,
                 ms(config_.deploy.install_timeout));
    if (!r) return r.error();
    if (r->exit_status != 0) return failed_command(fmt::format("CUSTOM_SERVICES command {}", i + 1), r->exit_status);
  }
  return {};
}

Status DeployFeature::fetch(jobs::JobContext& ctx, Budget& budget) {
  DeploySpec& spec = *ctx.request.deploy;
  const std::string& release = ctx.job_id;
  if (auto s = check_release(release); !s) return s;
  auto units = plan_units(spec, &catalog_);
  if (!units) return units.error();
  auto env = git_environment(spec.repository, ctx.request.deploy_secrets.git_token, !git_ca_pem_.empty());
  if (!env) return env.error();

  auto prepared =
      run(ctx, budget, "deploy-fetch",
          script(prepare_script, "lxcprov-deploy-prepare", {std::to_string(config_.deploy.app_uid), release}), 0, 60s,
          git_ca_pem_);
  if (!prepared) {
    wipe(*env);
    return prepared.error();
  }
  if (prepared->exit_status != 0) {
    wipe(*env);
    return failed_command("preparing the app user and directories", prepared->exit_status);
  }
  // From here this step's own partial work is the release directory: removed on any failure.
  auto fail = [&](Error e) -> Status {
    (void)remove_release(ctx);
    return e;
  };
  auto cloned =
      run(ctx, budget, "deploy-fetch",
          script(clone_script, "lxcprov-deploy-clone", {release_path(release), spec.repository, spec.branch}),
          config_.deploy.app_uid, ms(config_.deploy.git.fetch_timeout), {}, std::move(*env), std::string(app_home));
  if (!cloned) {
    if (cloned.error().code == Errc::timeout)
      return fail(make_error(Errc::timeout, "PROJECT_REPOSITORY: the clone took longer than deploy.git.fetch_timeout"));
    return fail(cloned.error());
  }
  if (cloned->exit_status != 0)
    return fail(make_error(Errc::invalid_argument,
                           fmt::format("PROJECT_REPOSITORY: cloning branch {} failed (exit {}; git's output is above)",
                                       spec.branch.empty() ? "(default)" : spec.branch, cloned->exit_status)));

  std::vector<std::string> args{release_path(release), std::to_string(config_.deploy.git.max_repository_bytes)};
  for (const auto& u : *units) args.push_back(u.dir.empty() ? "." : u.dir);
  container::RunOptions o;
  o.uid = config_.deploy.app_uid;
  o.gid = static_cast<gid_t>(config_.deploy.app_uid);
  o.timeout = 120s;
  o.env = {fmt::format("HOME={}", app_home)};
  auto seen = runtime_.run_as(ctx.record.name, script(inspect_script, "lxcprov-deploy-inspect", std::move(args)), o);
  if (!seen) return fail(seen.error());
  const std::string line = last_line(seen->output);
  switch (seen->exit_status) {
    case 0:
      break;
    case 4:
      return fail(make_error(Errc::invalid_argument,
                             fmt::format("PROJECT_REPOSITORY: the clone is larger than the limit of {} bytes ({})",
                                         config_.deploy.git.max_repository_bytes, line)));
    case 5:
    case 6:
      return fail(make_error(Errc::invalid_argument, fmt::format("PROJECT_ROOT or a component path: {}", line)));
    default:
      return fail(failed_command("reading the clone", seen->exit_status));
  }
  if (!is_commit(line)) return fail(make_error(Errc::internal, "the cloned commit could not be read"));
  if (!spec.commit.empty() && spec.commit != line && ctx.reporter)
    ctx.reporter->info(fmt::format("the branch moved since it was checked: deploying {} instead of {}",
                                   line.substr(0, 12), spec.commit.substr(0, 12)));
  spec.commit = line;
  return {};
}

Status DeployFeature::remove_release(const jobs::JobContext& ctx) {
  if (auto s = check_release(ctx.job_id); !s) return s;
  auto r = runtime_.run(ctx.record.name, script(remove_script, "lxcprov-deploy-remove", {ctx.job_id}), "", 120s);
  if (!r) return r.error();
  if (r->exit_status != 0) return make_error(Errc::internal, fmt::format("removing release {} failed", ctx.job_id));
  return {};
}

Status DeployFeature::environment(jobs::JobContext& ctx, Budget& budget) {
  const DeploySpec& spec = *ctx.request.deploy;
  const std::string& release = ctx.job_id;
  auto units = plan_units(spec, &catalog_);
  if (!units) return units.error();
  const auto& given = ctx.request.deploy_secrets.env;
  if (given) {
    // Not a structured binding: clang 14 (the fuzz build) cannot capture one in a lambda.
    for (const auto& entry : *given) {
      const std::string& key = entry.first;
      if (std::none_of(units->begin(), units->end(), [&](const UnitPlan& u) { return u.env_key == key; }))
        return make_error(Errc::invalid_argument, fmt::format("CONTAINER_ENV_VARS: there is no component {}", key));
    }
    std::set<std::string> written;
    for (const auto& u : *units) {
      auto it = given->find(u.env_key);
      std::vector<std::pair<std::string, std::string_view>> vars;
      if (it != given->end())
        for (const auto& [k, v] : it->second) vars.emplace_back(k, v.reveal());
      auto text = render_env_file(vars);
      if (!text) return text.error();
      // The app's .env in its directory (as the app, 0600), once per directory.
      if (!vars.empty() && written.insert(u.dir).second) {
        auto r = run(ctx, budget, "deploy-env", script(env_script, "lxcprov-deploy-env", {unit_path(release, u)}),
                     config_.deploy.app_uid, 60s, std::string(text->reveal()));
        if (!r) return r.error();
        if (r->exit_status != 0) return failed_command(fmt::format("writing the .env of {}", u.id), r->exit_status);
      }
      if (auto s = write_root_file(ctx, etc_file(release, u, ".env"), "600", std::string(text->reveal())); !s) return s;
    }
  } else {
    // Not given: the serving release's, or none.
    auto row = store_.find_deployment(ctx.record.name);
    if (!row) return row.error();
    std::vector<UnitPlan> old;
    std::string from;
    if (row->has_value()) {
      from = (*row)->release;
      if (auto s = check_release(from); !s) return s;
      if (auto stored = from_stored_json((*row)->spec))
        if (auto p = plan_units(*stored, nullptr)) old = std::move(*p);
    }
    if (!from.empty()) {
      std::vector<std::string> dirs;
      for (const auto& u : *units) dirs.push_back(u.dir.empty() ? "." : u.dir);
      std::vector<std::string> args{release_path(from), release_path(release)};
      args.insert(args.end(), dirs.begin(), dirs.end());
      auto r = run(ctx, budget, "deploy-env", script(copy_env_script, "lxcprov-deploy-copy-env", std::move(args)),
                   config_.deploy.app_uid, 60s);
      if (!r) return r.error();
      if (r->exit_status != 0) return failed_command("copying the .env files", r->exit_status);
    }
    std::vector<std::string> args{from.empty() ? release : from, release};
    for (const auto& u : *units) {
      auto same = std::find_if(old.begin(), old.end(), [&](const UnitPlan& o) { return o.env_key == u.env_key; });
      args.push_back(from.empty() || same == old.end() ? "" : same->id);
      args.push_back(u.id);
    }
    auto r =
        run(ctx, budget, "deploy-env", script(copy_etc_env_script, "lxcprov-deploy-copy-etc", std::move(args)), 0, 60s);
    if (!r) return r.error();
    if (r->exit_status != 0) return failed_command("copying the environment files", r->exit_status);
  }
  // lxcprov's own variables and the command of each unit, per release (what an undo restores).
  for (const auto& u : *units) {
    std::vector<std::pair<std::string, std::string_view>> vars;
    const auto own = lxcprov_env(release, u, http_port(ctx), spec.branch, spec.commit);
    for (const auto& [k, v] : own) vars.emplace_back(k, v);
    auto text = render_env_file(vars);
    if (!text) return text.error();
    if (auto s = write_root_file(ctx, etc_file(release, u, ".lxcprov.env"), "600", std::string(text->reveal())); !s)
      return s;
    if (!u.start.empty())
      if (auto s = write_root_file(ctx, etc_file(release, u, ".sh"), "644", u.start + "\n"); !s) return s;
  }
  return {};
}

Status DeployFeature::install(jobs::JobContext& ctx, Budget& budget, bool build) {
  const std::string_view step = build ? "deploy-build" : "deploy-install";
  auto units = plan_units(*ctx.request.deploy, &catalog_);
  if (!units) return units.error();
  for (const auto& u : *units) {
    const std::string& command = build ? u.build : u.install;
    if (command.empty() && !(u.venv && !build)) continue;
    const std::string dir = unit_path(ctx.job_id, u);
    if (ctx.reporter && !command.empty())
      ctx.reporter->info(fmt::format("{} {}: {}", build ? "building" : "installing", u.id, command));
    auto r =
        run(ctx, budget, step, script(run_script, "lxcprov-deploy-run", {dir, u.venv ? "1" : "0", command}),
            config_.deploy.app_uid, ms(config_.deploy.install_timeout), {}, {fmt::format("HOME={}", app_home)}, dir);
    if (!r) {
      if (r.error().code == Errc::timeout)
        return make_error(Errc::timeout, fmt::format("the {} command of {} took longer than deploy.install_timeout",
                                                     build ? "build" : "install", u.id));
      return r.error();
    }
    if (r->exit_status != 0)
      return failed_command(fmt::format("the {} command of {}", build ? "build" : "install", u.id), r->exit_status);
  }
  return {};
}

Status DeployFeature::switch_release(jobs::JobContext& ctx, Budget& budget, std::string_view step) {
  const DeploySpec& spec = *ctx.request.deploy;
  const std::string& release = ctx.job_id;
  auto units = plan_units(spec, &catalog_);
  if (!units) return units.error();
  auto services = service_units_for(spec.services, catalog_);
  if (!services) return services.error();
  auto row = store_.find_deployment(ctx.record.name);
  if (!row) return row.error();

  // The row first: from here an undo (or recovery) knows this job switched and what to restore.
  state::DeploymentRecord next{
      ctx.record.name, to_stored_json(spec), release, spec.commit, http_port(ctx), {}, {}, {}, 0, 0};
  // No deployment yet: what the container's HTTP_PORT was, for the undo.
  next.previous_http_port = ctx.record.http_port;
  std::vector<std::string> stop;
  if (row->has_value()) {
    const auto& cur = **row;
    next.previous_spec = cur.spec;
    next.previous_release = cur.release;
    next.previous_commit = cur.commit;
    next.previous_http_port = cur.http_port;
    if (auto stored = from_stored_json(cur.spec))
      if (auto old = plan_units(*stored, nullptr)) stop = minus(unit_names(*old), unit_names(*units));
  }
  if (auto s = store_.put_deployment(next); !s) return s;
  ctx.record.http_port = next.http_port;

  auto fail = [&](Error e) -> Status {
    (void)undo_switch(ctx, budget);
    return e;
  };
  std::vector<std::string> args{release};
  for (const auto& u : *units) {
    if (u.start.empty()) continue;
    auto text = render_unit(u, *services);
    if (!text) return fail(text.error());
    if (auto s = write_root_file(ctx, fmt::format("/etc/systemd/system/{}", unit_name(u)), "644", *text); !s)
      return fail(s.error());
    args.push_back(fmt::format("+{}", unit_name(u)));
  }
  for (const auto& u : stop) args.push_back(fmt::format("-{}", u));
  auto r = run(ctx, budget, step, script(switch_script, "lxcprov-deploy-switch", std::move(args)), 0, 120s);
  if (!r) return fail(r.error());
  if (r->exit_status != 0) return fail(failed_command("starting the app's units", r->exit_status));
  return {};
}

Status DeployFeature::undo_switch(jobs::JobContext& ctx, Budget& budget) {
  auto row = store_.find_deployment(ctx.record.name);
  if (!row) return row.error();
  // Not switched by this job (or already switched back): nothing to restore.
  if (!row->has_value() || (*row)->release != ctx.job_id) return {};
  const auto cur = **row;
  if (cur.previous_release.empty()) {
    // The first deployment (a create's, whose container is destroyed next anyway, or an update's
    // of a container that had none): back to nothing deployed.
    std::vector<std::string> units;
    if (auto now = from_stored_json(cur.spec))
      if (auto p = plan_units(*now, nullptr)) units = unit_names(*p);
    auto r = run(ctx, budget, "deploy-switch", script(unswitch_script, "lxcprov-deploy-unswitch", units), 0, 120s);
    if (!r) return r.error();
    if (r->exit_status != 0) return failed_command("stopping the app's units", r->exit_status);
    if (auto s = store_.remove_deployment(cur.container, cur.previous_http_port); !s) return s;
    ctx.record.http_port = cur.previous_http_port;
    return {};
  }
  if (auto s = check_release(cur.previous_release); !s) return s;
  auto previous = from_stored_json(cur.previous_spec);
  if (!previous) return previous.error();
  // Names and unit files only: the catalog may have changed since, and the venv's PATH is in the
  // previous release's own files.
  auto units = plan_units(*previous, nullptr);
  if (!units) return units.error();
  std::vector<std::string> stop;
  if (auto now = from_stored_json(cur.spec))
    if (auto p = plan_units(*now, nullptr)) stop = minus(unit_names(*p), unit_names(*units));
  std::vector<std::string> after;
  for (const auto& name : previous->services)
    if (auto svc = catalog_.service(name))
      for (const auto& u : svc->units) after.push_back(u);
  std::vector<std::string> args{cur.previous_release};
  for (const auto& u : *units) {
    if (u.start.empty()) continue;
    auto text = render_unit(u, after);
    if (!text) return text.error();
    if (auto s = write_root_file(ctx, fmt::format("/etc/systemd/system/{}", unit_name(u)), "644", *text); !s) return s;
    args.push_back(fmt::format("+{}", unit_name(u)));
  }
  for (const auto& u : stop) args.push_back(fmt::format("-{}", u));
  if (ctx.reporter) ctx.reporter->info(fmt::format("switching back to release {}", cur.previous_release));
  auto r = run(ctx, budget, "deploy-switch", script(switch_script, "lxcprov-deploy-switch", std::move(args)), 0, 120s);
  if (!r) return r.error();
  if (r->exit_status != 0) return failed_command("restarting the previous release", r->exit_status);
  // The client is told the previous release serves on: wait (bounded) until it answers again, so
  // that it does by the time the job ends. Its not answering is reported, not an undo failure:
  // the switch back is done.
  std::vector<std::string> serving;
  for (const auto& u : *units)
    if (!u.start.empty()) serving.push_back(unit_name(u));
  if (!serving.empty()) {
    std::string why;
    auto up = answers_by(ctx, serving, cur.previous_http_port, clock_.now() + config_.deploy.health_timeout, why);
    if ((!up || !*up) && ctx.reporter)
      ctx.reporter->info(fmt::format("the previous release does not answer yet: {}", up ? why : up.error().message));
  }
  // The row last: until it is back, a repeated undo (a crash meanwhile) switches back again.
  state::DeploymentRecord back{cur.container,
                               cur.previous_spec,
                               cur.previous_release,
                               cur.previous_commit,
                               cur.previous_http_port,
                               {},
                               {},
                               {},
                               0,
                               0};
  if (auto s = store_.put_deployment(back); !s) return s;
  ctx.record.http_port = back.http_port;
  return {};
}

Result<bool> DeployFeature::answers_by(jobs::JobContext& ctx, const std::vector<std::string>& units, uint16_t port,
                                       std::chrono::steady_clock::time_point deadline, std::string& why) {
  state::ContainerRecord record = ctx.record;
  record.http_port = port;
  const ProbeTarget target = probe_target(config_, record);
  for (;;) {
    container::RunOptions o;
    o.timeout = 30s;
    auto active = runtime_.run_as(ctx.record.name, script(active_script, "lxcprov-deploy-active", units), o);
    if (!active) return active.error();
    if (active->exit_status != 0) {
      why = last_line(active->output);
    } else {
      auto line = probe_.status_line(target, 3s);
      if (line && app_answers(*line, target.via_nginx)) return true;
      why = line ? fmt::format("http://{}/ answered \"{}\"", target.host, last_line(*line))
                 : fmt::format("http://{}/ does not answer ({})", target.host, line.error().message);
    }
    if (clock_.now() >= deadline) return false;
    clock_.sleep_for(1s);
  }
}

Status DeployFeature::health(jobs::JobContext& ctx, Budget& budget) {
  auto units = plan_units(*ctx.request.deploy, &catalog_);
  if (!units) return units.error();
  std::string why;
  auto up = answers_by(ctx, unit_names(*units), http_port(ctx), clock_.now() + config_.deploy.health_timeout, why);
  if (!up) return up.error();
  if (*up) return {};
  std::string log = journal(ctx, 40);
  if (!log.empty() && ctx.reporter) {
    Stream stream(ctx.reporter, "deploy-health", budget, ctx.request.deploy_secrets);
    stream(log);
    stream.finish();
  }
  return make_error(Errc::internal, fmt::format("the app did not come up within deploy.health_timeout ({} s): {}{}{}",
                                                config_.deploy.health_timeout.count(), why,
                                                log.empty() ? "" : "; its journal ends:\n", tail_lines(log, 10)));
}

std::string DeployFeature::journal(jobs::JobContext& ctx, int lines) {
  auto r = runtime_.run(ctx.record.name, script(journal_script, "lxcprov-app-logs", {std::to_string(lines)}), "", 30s);
  if (!r || r->exit_status != 0) return {};
  Budget none;
  Stream redact(nullptr, "", none, ctx.request.deploy_secrets);
  std::string text = redact.redact(r->output);
  if (text.size() > 8192) text = text.substr(text.size() - 8192);
  return text;
}

Status DeployFeature::prune(jobs::JobContext& ctx, Budget& budget) {
  auto row = store_.find_deployment(ctx.record.name);
  if (!row || !row->has_value()) return {};
  // At least the serving release and the one an undo of this job would restore.
  const int keep = std::max(2, config_.deploy.keep_releases);
  std::vector<std::string> args{std::to_string(keep), (*row)->release};
  if (!(*row)->previous_release.empty()) args.push_back((*row)->previous_release);
  auto r = run(ctx, budget, "deploy-prune", script(prune_script, "lxcprov-deploy-prune", std::move(args)), 0, 120s);
  // Old releases left behind cost disk, not service: reported, never failing the update.
  if ((!r || r->exit_status != 0) && ctx.reporter)
    ctx.reporter->info("old releases were not all removed; the next update tries again");
  return {};
}

Result<bool> DeployFeature::prepare_update(jobs::JobContext& ctx) {
  auto row = store_.find_deployment(ctx.record.name);
  if (!row) return row.error();
  std::optional<DeploySpec> stored;
  if (row->has_value()) {
    auto s = from_stored_json((*row)->spec);
    if (!s) return s.error();
    stored = std::move(*s);
  }
  const auto& given = ctx.request.deploy;
  if (!stored && !given) return false;
  DeploySpec merged;
  if (!given) {
    merged = *stored;
    merged.commit.clear();  // the branch's tip, whatever it is now
  } else {
    auto m = merge(stored.value_or(DeploySpec{}), *given, ctx.request.deploy_given);
    if (!m) return m.error();
    merged = std::move(*m);
    // merge keeps the stored commit when none is given; an update deploys the branch's tip.
    if (given->commit.empty()) merged.commit.clear();
    if (auto s = place_env(merged, ctx.request.deploy_given, ctx.request.deploy_secrets); !s) return s.error();
  }
  ctx.request.deploy = std::move(merged);
  if (ctx.request.http_port == 0) ctx.request.http_port = ctx.record.http_port;
  return true;
}

void DeployFeature::describe(const state::ContainerRecord& record, std::vector<std::string>& lines) const {
  auto row = store_.find_deployment(record.name);
  if (!row || !row->has_value()) return;
  auto spec = from_stored_json((*row)->spec);
  if (!spec) return;
  lines.push_back(fmt::format("  app:   {} {} at {} (release {})", spec->repository,
                              spec->branch.empty() ? "(default branch)" : spec->branch, (*row)->commit.substr(0, 12),
                              (*row)->release));
  if (auto units = plan_units(*spec, nullptr))
    lines.push_back(fmt::format("  units: {}", fmt::join(unit_names(*units), " ")));
}

}  // namespace lxcprov::deploy
