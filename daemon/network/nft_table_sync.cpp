#include "network/nft_table_sync.hpp"

namespace lxcprov::network {

Status NftTableSync::sync(const NftTableElements& desired, const std::function<std::string()>& whole) {
  if (installed_ && installed_->family == desired.family && installed_->table == desired.table) {
    const auto changes = diff_elements(*installed_, desired);
    if (changes.empty()) return {};
    auto s = nft_.apply(render_element_changes(desired.family, desired.table, changes));
    if (s) {
      installed_ = desired;
      return {};
    }
    // Refused as one transaction, so nothing changed; the whole table below repairs any drift.
    // Another error (the transport to nft failed) says nothing about the table: returned as is.
    if (s.error().code != Errc::unavailable) return s;
  }
  installed_.reset();
  ++whole_applies_;
  if (auto s = nft_.apply(whole()); !s) return s;
  installed_ = desired;
  return {};
}

}  // namespace lxcprov::network
