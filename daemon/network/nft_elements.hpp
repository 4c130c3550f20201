#pragma once
// The per-container part of an nftables table: the elements of its sets and maps. A table whose
// rules only look elements up (isolation's address pairs, the forwards' DNAT maps) changes per
// container by element adds and deletes, so a change costs the same with 10 containers or 1000,
// while the whole table (re-declared by its renderer) stays what start-up convergence applies.
// Pure: the change text is applied like any ruleset (one transaction, all or nothing).

#include <map>
#include <string>
#include <vector>

namespace lxcprov::network {

/// One set or map element: its key (what a delete names) and the rest of its literal (a comment,
/// `: value` for a map), both already valid nft text rendered from numbers and validated names.
struct NftElement {
  std::string key;
  std::string rest;
  bool operator==(const NftElement&) const = default;
};

/// The elements of every set and map of one table, by set name, each set by key. Equal state gives
/// equal elements whatever order it was read in.
struct NftTableElements {
  std::string family;  ///< "inet", "bridge"
  std::string table;
  std::map<std::string, std::map<std::string, std::string>> sets;  ///< set -> key -> rest
  bool operator==(const NftTableElements&) const = default;
};

struct NftElementChange {
  bool add = false;  ///< false: delete (by key)
  std::string set;
  NftElement element;
  bool operator==(const NftElementChange&) const = default;
};

/// What turns `before` into `after` (same family and table): every delete first, then every add, so
/// an element whose value changed is deleted and added again in the same transaction.
std::vector<NftElementChange> diff_elements(const NftTableElements& before, const NftTableElements& after);

/// The `nft -f` text of the changes ("" for none): `delete element` / `add element` lines. nft
/// refuses the whole transaction if a deleted key is absent or an added key holds another value,
/// which is how a table that drifted from what lxcprovd believes is noticed (the caller then
/// applies the whole table).
std::string render_element_changes(const std::string& family, const std::string& table,
                                   const std::vector<NftElementChange>& changes);

/// `    elements = {` ... `    }` with one element per line, or "" for an empty set (nft refuses
/// an empty list). For the whole-table renderers.
std::string render_elements_block(const std::map<std::string, std::string>& elements);

}  // namespace lxcprov::network
