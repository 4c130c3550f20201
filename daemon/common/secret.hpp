#pragma once
// Secret: a string that must never be logged, formatted or persisted in clear. It has no
// stream or fmt formatter on purpose, and wipes its bytes when destroyed.

#include <string>
#include <string_view>

namespace lxcprov {

class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}
  Secret(const Secret&) = default;
  Secret& operator=(const Secret&) = default;
  // A move copies then wipes the source: moving a short (SSO) string would leave its bytes behind
  // in the moved-from object with its size already 0, out of wipe()'s reach.
  Secret(Secret&& other) noexcept : value_(other.value_) { other.wipe(); }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      wipe();
      value_ = other.value_;
      other.wipe();
    }
    return *this;
  }
  ~Secret() { wipe(); }

  /// The clear value; call only where the secret is used (hashing, a bind, a 0600 file).
  std::string_view reveal() const { return value_; }
  bool empty() const { return value_.empty(); }
  size_t size() const { return value_.size(); }

 private:
  void wipe() {
    volatile char* p = value_.data();
    for (size_t i = 0; i < value_.size(); ++i) p[i] = 0;
    value_.clear();
  }
  std::string value_;
};

}  // namespace lxcprov
