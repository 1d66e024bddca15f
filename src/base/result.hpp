// base/result.hpp: Result<T>, the value-or-Error returned by every fallible call on the
// data path, and Error, which says what class of failure happened and, where one applies,
// the SMTP reply that tells the peer.
// Owns: the error model of STYLE.md ("Errors"). Shaped like std::expected (C++23), which
// g++ 12 does not offer in C++20 mode, so callers can move to it without rewrites.
// Not: logging (the code that decides logs once) or exceptions (start-up only).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/assert.hpp"
#include "base/reply.hpp"

namespace sluice {

enum class ErrorClass {
  transient,  // try again later: 4xx to a peer, retry for a delivery
  permanent,  // will not succeed: 5xx, bounce
  protocol,   // the peer broke the protocol (syntax, sequence, limits)
  io,         // local I/O: disk, socket
  config,     // the configuration is wrong
};

const char* to_string(ErrorClass c);

struct Error {
  ErrorClass klass = ErrorClass::transient;
  std::string context;          // what failed, in words an administrator can act on
  std::optional<Reply> reply;   // what to answer a peer, when one applies

  std::string message() const;  // "context" or "context (reply)"
};

// The marker that carries an Error into any Result<T>; see fail().
struct Failure {
  Error error;
};

inline Failure fail(ErrorClass c, std::string context) {
  return Failure{Error{c, std::move(context), std::nullopt}};
}
inline Failure fail(ErrorClass c, Reply reply) {
  std::string context = reply.text();
  return Failure{Error{c, std::move(context), std::move(reply)}};
}
inline Failure fail(ErrorClass c, std::string context, Reply reply) {
  return Failure{Error{c, std::move(context), std::move(reply)}};
}
inline Failure fail(Error e) { return Failure{std::move(e)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Failure f) : v_(std::in_place_index<1>, std::move(f.error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { SLUICE_ASSERT(has_value()); return std::get<0>(v_); }
  const T& value() const& { SLUICE_ASSERT(has_value()); return std::get<0>(v_); }
  T&& value() && { SLUICE_ASSERT(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { SLUICE_ASSERT(!has_value()); return std::get<1>(v_); }
  Error& error() { SLUICE_ASSERT(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Failure f) : e_(std::move(f.error)) {}  // NOLINT

  bool has_value() const { return !e_.has_value(); }
  explicit operator bool() const { return has_value(); }
  const Error& error() const { SLUICE_ASSERT(e_.has_value()); return *e_; }
  Error& error() { SLUICE_ASSERT(e_.has_value()); return *e_; }

 private:
  std::optional<Error> e_;
};

inline Result<void> ok() { return {}; }

}  // namespace sluice
