#pragma once
// Errors as values: every request path returns result<T>. The mapping of
// errc to an HTTP status lives in exactly one place (http/problem.cpp).

#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace rollup {

enum class errc {
  bad_request,           // malformed JSON or HTTP
  validation_failed,     // well-formed, but breaks a rule of SPEC §1
  not_found,
  unsupported_media_type,
  payload_too_large,
  header_too_large,
  unauthorized,
  method_not_allowed,
  storage_unavailable,   // RocksDB refused the write or read
  draining,              // shutting down, try another instance or later
  overloaded,            // connection cap reached
  conflict,              // the request does not fit the resource's state
  forbidden,             // not allowed in this configuration
};

// One broken rule of SPEC §1: which element (-1 for a single object), which
// field, and what the rule is.
struct field_error {
  long index = -1;
  std::string field;
  std::string rule;
};

struct error {
  errc code;
  std::string detail;               // a sentence a person can act on
  std::vector<field_error> fields;  // set for validation_failed
};

// A small expected-like type: holds a T or an error (E). The daemon's
// request paths use the default E; start-up code brings its own.
template <class T, class E = error>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  result(E e) : v_(std::in_place_index<1>, std::move(e)) {}          // NOLINT(google-explicit-constructor)
  result(errc code, std::string detail)
    requires std::is_same_v<E, error>
      : v_(std::in_place_index<1>, error{code, std::move(detail), {}}) {}

  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const E& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

struct ok_t {};

}  // namespace rollup
