#pragma once
// Parsing an untrusted request body as JSON, reporting where it broke.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace rollup::http {

inline constexpr int max_json_depth = 64;  // deeper nesting is refused (bounds work on the value)

struct json_syntax_error {
  std::optional<std::size_t> offset;  // 0-based byte offset of the error, when known
  std::string reason;                 // what was wrong, without echoing the input
};

struct parsed_json {
  nlohmann::json value;  // discarded when `error` is set
  std::optional<json_syntax_error> error;
};

// Never throws (allocation failure aside).
parsed_json parse_json(std::string_view text);

}  // namespace rollup::http
