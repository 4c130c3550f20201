// Canonical records, digest folding and the manifest (see digest.hpp). Integers are encoded
// little-endian with fixed widths and every variable-length field carries its length, so the
// encoding is unambiguous and does not depend on the host. Each format starts with a version tag:
// changing a record means a new tag, and templates sealed before must be sealed again.

#include "container/template_digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>

namespace lxcprov::container {
namespace {

void put_u8(std::string& out, uint8_t v) { out.push_back(static_cast<char>(v)); }

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_i64(std::string& out, int64_t v) { put_u64(out, static_cast<uint64_t>(v)); }

void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

void put_digest(std::string& out, const Digest& d) { out.append(reinterpret_cast<const char*>(d.data()), d.size()); }

// Reads what the put_* functions wrote; any overrun makes ok false.
struct Reader {
  std::string_view in;
  bool ok = true;

  bool take(std::size_t n, std::string_view& out) {
    if (!ok || in.size() < n) return ok = false;
    out = in.substr(0, n);
    in.remove_prefix(n);
    return true;
  }
  uint64_t u(int bytes) {
    std::string_view b;
    if (!take(static_cast<std::size_t>(bytes), b)) return 0;
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
    return v;
  }
  std::string str() {
    const auto n = static_cast<std::size_t>(u(4));
    std::string_view b;
    if (!take(n, b)) return {};
    return std::string(b);
  }
  Digest digest() {
    Digest d{};
    std::string_view b;
    if (take(d.size(), b)) std::copy(b.begin(), b.end(), reinterpret_cast<char*>(d.data()));
    return d;
  }
};

constexpr std::string_view content_tag = "lxcprov template content v1\n";
constexpr std::string_view fingerprint_tag = "lxcprov template fingerprint v1\n";
constexpr std::string_view manifest_tag = "lxcprov template manifest v1\n";

bool has_device_numbers(FileType t) { return t == FileType::char_device || t == FileType::block_device; }

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Without a context or SHA-256 nothing can be vouched for; there is no useful way on.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }

void Sha256::update(const void* data, std::size_t size) {
  if (size != 0 && EVP_DigestUpdate(ctx_, data, size) != 1) std::abort();
}

Digest Sha256::finish() {
  Digest d{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_, d.data(), &n) != 1 || n != d.size()) std::abort();
  if (EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) std::abort();
  return d;
}

Digest sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

std::string to_hex(const Digest& d) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(d.size() * 2);
  for (uint8_t b : d) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

namespace {

void append_content_record(std::string& out, const Entry& e) {
  put_str(out, e.path);
  put_u8(out, static_cast<uint8_t>(e.type));
  put_u32(out, e.mode & 07777);
  put_u32(out, e.uid);
  put_u32(out, e.gid);
  switch (e.type) {
    case FileType::regular:
      put_u64(out, e.size);
      put_digest(out, e.content_sha256);
      break;
    case FileType::symlink:
      put_str(out, e.link_target);
      break;
    case FileType::char_device:
    case FileType::block_device:
      put_u32(out, e.rdev_major);
      put_u32(out, e.rdev_minor);
      break;
    case FileType::directory:
    case FileType::fifo:
    case FileType::socket:
      break;
  }
  // The walker lists attributes in the file system's order, which is not stable across copies.
  auto xattrs = e.xattrs;
  std::sort(xattrs.begin(), xattrs.end());
  put_u32(out, static_cast<uint32_t>(xattrs.size()));
  for (const auto& [name, value] : xattrs) {
    put_str(out, name);
    put_str(out, value);
  }
}

void append_fingerprint_record(std::string& out, const Entry& e) {
  put_str(out, e.path);
  put_u8(out, static_cast<uint8_t>(e.type));
  put_u64(out, e.ino);
  put_u32(out, e.mode & 07777);
  put_u32(out, e.uid);
  put_u32(out, e.gid);
  put_u64(out, e.nlink);
  put_u64(out, e.size);
  put_u32(out, has_device_numbers(e.type) ? e.rdev_major : 0);
  put_u32(out, has_device_numbers(e.type) ? e.rdev_minor : 0);
  put_i64(out, e.mtime.sec);
  put_i64(out, e.mtime.nsec);
  put_i64(out, e.ctime.sec);
  put_i64(out, e.ctime.nsec);
}

}  // namespace

std::string content_record(const Entry& e) {
  std::string out;
  append_content_record(out, e);
  return out;
}

std::string fingerprint_record(const Entry& e) {
  std::string out;
  append_fingerprint_record(out, e);
  return out;
}

bool canonical_less(std::string_view a, std::string_view b) {
  // '/' ranks below every byte a name can hold, which makes bytewise order component-wise.
  auto rank = [](char c) { return c == '/' ? 0u : static_cast<unsigned>(static_cast<unsigned char>(c)) + 1; };
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned ra = rank(a[i]), rb = rank(b[i]);
    if (ra != rb) return ra < rb;
  }
  return a.size() < b.size();
}

void sort_canonical(std::vector<Entry>& entries) {
  auto less = [](const Entry& a, const Entry& b) { return canonical_less(a.path, b.path); };
  // The walker already emits canonical order; checking is far cheaper than sorting big entries.
  if (!std::is_sorted(entries.begin(), entries.end(), less)) std::sort(entries.begin(), entries.end(), less);
}

namespace {

// Folds already sorted entries: per entry a u32 length and the record. One buffer for all records
// (the per-create check folds ~13000 entries of a Debian template).
template <class AppendRecord>
Digest fold(std::string_view tag, const Digest* prefix, const std::vector<Entry>& sorted, AppendRecord append) {
  Sha256 h;
  h.update(tag);
  if (prefix) h.update(prefix->data(), prefix->size());
  std::string buf;
  put_u64(buf, sorted.size());
  h.update(buf);
  for (const auto& e : sorted) {
    buf.assign(4, '\0');  // room for the length
    append(buf, e);
    const auto n = static_cast<uint32_t>(buf.size() - 4);
    for (int i = 0; i < 4; ++i) buf[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
    h.update(buf);
  }
  return h.finish();
}

Digest fold_content(const std::vector<Entry>& sorted) {
  return fold(content_tag, nullptr, sorted, append_content_record);
}

Digest fold_fingerprint(const std::vector<Entry>& sorted, const Digest& config_sha256) {
  return fold(fingerprint_tag, &config_sha256, sorted, append_fingerprint_record);
}

}  // namespace

Digest content_digest(std::vector<Entry> entries) {
  sort_canonical(entries);
  return fold_content(entries);
}

Digest fingerprint_digest(std::vector<Entry> entries, const Digest& config_sha256) {
  sort_canonical(entries);
  return fold_fingerprint(entries, config_sha256);
}

Result<Measurement> measure(std::vector<Entry> entries, bool with_content) {
  sort_canonical(entries);
  const Entry* config = nullptr;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].path == entries[i - 1].path)
      return make_error(Errc::invalid_argument, "template walk: a path appears twice");
    if (entries[i].path == "config") config = &entries[i];
  }
  if (!config || config->type != FileType::regular)
    return make_error(Errc::invalid_argument, "template walk: no config file");
  Measurement m;
  m.config_sha256 = config->content_sha256;
  m.entries = entries.size();
  for (const auto& e : entries) m.newest_ctime = std::max(m.newest_ctime, e.ctime);
  m.fingerprint = fold_fingerprint(entries, m.config_sha256);
  if (with_content) {
    m.content = fold_content(entries);
    m.manifest = encode_manifest(entries);
  }
  return m;
}

std::string encode_manifest(const std::vector<Entry>& sorted_entries) {
  std::string out(manifest_tag);
  put_u64(out, sorted_entries.size());
  for (const auto& e : sorted_entries) {
    put_str(out, e.path);
    put_digest(out, sha256(content_record(e)));
  }
  return out;
}

Result<std::vector<ManifestItem>> decode_manifest(std::string_view bytes) {
  auto bad = [] { return make_error(Errc::invalid_argument, "the stored manifest is damaged or of another version"); };
  if (!bytes.starts_with(manifest_tag)) return bad();
  Reader r{bytes.substr(manifest_tag.size())};
  const uint64_t n = r.u(8);
  // Each item takes at least 36 bytes: a count beyond that is damage, not a reason to allocate.
  if (!r.ok || n > r.in.size() / 36) return bad();
  std::vector<ManifestItem> items;
  items.reserve(static_cast<std::size_t>(n));
  for (uint64_t i = 0; i < n; ++i) {
    ManifestItem item;
    item.path = r.str();
    item.record_sha256 = r.digest();
    if (!r.ok) return bad();
    items.push_back(std::move(item));
  }
  if (!r.in.empty()) return bad();
  return items;
}

std::vector<Change> diff_manifests(const std::vector<ManifestItem>& sealed, const std::vector<ManifestItem>& now) {
  std::vector<Change> out;
  std::size_t i = 0, j = 0;
  while (i < sealed.size() || j < now.size()) {
    if (j == now.size() || (i < sealed.size() && canonical_less(sealed[i].path, now[j].path))) {
      out.push_back({Change::Kind::removed, sealed[i++].path});
    } else if (i == sealed.size() || canonical_less(now[j].path, sealed[i].path)) {
      out.push_back({Change::Kind::added, now[j++].path});
    } else {
      if (sealed[i].record_sha256 != now[j].record_sha256) out.push_back({Change::Kind::changed, now[j].path});
      ++i, ++j;
    }
  }
  return out;
}

std::string_view to_string(Change::Kind kind) {
  switch (kind) {
    case Change::Kind::added:
      return "added";
    case Change::Kind::removed:
      return "removed";
    case Change::Kind::changed:
      return "changed";
  }
  return "changed";
}

}  // namespace lxcprov::container
