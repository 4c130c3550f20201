#pragma once
// Result<T>: the one error style of lxcprov. Failures that a user or operator can cause are
// values, not exceptions. The alias is expected-like so C++23's std::expected can replace it.

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace lxcprov {

/// Error classes. Each maps to one documented exit code of lxcprov-shell (see exit_code()).
enum class Errc {
  invalid_argument,   ///< bad input: a field broke a rule
  auth_failed,        ///< who you are could not be established
  permission_denied,  ///< you are known but may not do this
  conflict,           ///< name (or another unique value) taken
  not_found,          ///< no such container / job
  unavailable,        ///< a resource is exhausted (IP pool, worker queue) or a server is down
  timeout,
  io,
  internal,
};

/// An error with an operator-safe message (never a secret, never a host path of the daemon).
struct Error {
  Errc code = Errc::internal;
  std::string message;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    assert(!has_value());
    return std::get<1>(v_);
  }
  /// The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return has_value() ? std::get<0>(v_) : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace lxcprov
