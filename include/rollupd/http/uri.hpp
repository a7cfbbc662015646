#pragma once
// The request target (origin-form "/path?query") split and percent-decoded.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rollup::http {

struct target {
  // Path segments, each percent-decoded on its own (so "%2F" stays inside
  // its segment): "/v1/aggregations/a%40b.c" -> {"v1", "aggregations", "a@b.c"}.
  std::vector<std::string> segments;
  // Query parameters in order, percent-decoded. '+' is kept as '+' (emails
  // contain it), not read as a space.
  std::vector<std::pair<std::string, std::string>> query;

  // The value of the first parameter named `name`; empty if absent.
  std::optional<std::string> param(std::string_view name) const;
  // "/a/b" form of the path, for logs.
  std::string path() const;
};

// "%41" -> "A". Empty on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

// Empty when the target is not origin-form ("/…") or holds a malformed escape.
std::optional<target> parse_target(std::string_view raw);

}  // namespace rollup::http
