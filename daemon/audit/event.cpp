#include "audit/event.hpp"

#include <array>

namespace lxcprov::audit {
namespace {

struct KindInfo {
  Kind kind;
  std::string_view name;
  std::string_view message_id;  // generated once (uuid4), never changed: journald queries name them
};

constexpr std::array<KindInfo, 21> kinds{{
    {Kind::auth_password, "auth.password", "6e3d82fa552b44ee88870155bb9564d8"},
    {Kind::auth_key, "auth.key", "feb7eebe868e45c8abf848cd15d726b6"},
    {Kind::create_accepted, "create.accepted", "8ae4b2b5d3c8462b9ad32e6121450bf8"},
    {Kind::create_finished, "create.finished", "bc092601f7f8495fabc0e5141121776f"},
    {Kind::update_accepted, "update.accepted", "75ccba84d3494700b56fb897ee022412"},
    {Kind::update_finished, "update.finished", "7d62b7ca1944446ab9fb980ac76fad39"},
    {Kind::delete_accepted, "delete.accepted", "0dfd5ca4442a4cddb03ebaf286121c3b"},
    {Kind::delete_finished, "delete.finished", "c7ece2155e914f0381ffbfc9bfca2e76"},
    {Kind::user_add, "user.add", "bab709494af74d5faf3487d65b884d38"},
    {Kind::user_passwd, "user.passwd", "74a15a7bbdac4270b00f0b85213e48ee"},
    {Kind::user_del, "user.del", "62df8ca3dd3840af860420b2d59370cc"},
    {Kind::key_add, "key.add", "2e4f35cc9149427287f35e00b9ab3e50"},
    {Kind::key_del, "key.del", "2e65296aafe14be3894b62a3e9e2a652"},
    {Kind::key_sync, "key.sync", "a97c042b18304ab9ababf8c777653107"},
    {Kind::template_seal, "template.seal", "deb882df0f944270ab6c4708aa280928"},
    {Kind::template_unseal, "template.unseal", "c5f947630c364d96998597cfc36fb5f4"},
    {Kind::template_build, "template.build", "b33de5d9dec5461b993d35eed0c17c51"},
    {Kind::node_add, "node.add", "f0cbbbdc5f2a4ae59f2cbf67f38b5109"},
    {Kind::node_drain, "node.drain", "27b4eb3bb13748eba70114865975ca43"},
    {Kind::node_undrain, "node.undrain", "0f2ce3e311944109b07b69782ee1b4db"},
    {Kind::node_remove, "node.remove", "41970788bbf841c3b3d10d4e3c28da58"},
}};

const KindInfo& info(Kind kind) {
  for (const auto& k : kinds)
    if (k.kind == kind) return k;
  return kinds[0];  // unreachable: every enumerator is in the table (tested)
}

}  // namespace

std::string_view name(Kind kind) { return info(kind).name; }
std::string_view message_id(Kind kind) { return info(kind).message_id; }

std::optional<Kind> kind_named(std::string_view n) {
  for (const auto& k : kinds)
    if (k.name == n) return k.kind;
  return std::nullopt;
}

}  // namespace lxcprov::audit
