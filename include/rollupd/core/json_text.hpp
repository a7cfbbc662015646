#pragma once
// The wire JSON of SPEC §3 written straight to text, for the paths that write
// it for every notification or digest (ingest answers, sinks): byte for byte
// what to_json(x).dump() gives (keys in order, nlohmann's escaping), without
// building a JSON tree first.

#include <optional>
#include <string>
#include <string_view>

#include "rollupd/core/strategy.hpp"

namespace rollup {

// `s` as a JSON string, escaped as nlohmann::json::dump() escapes it.
void append_json_string(std::string& out, std::string_view s);
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points past U+10FFFF): what dump() accepts.
bool valid_utf8(std::string_view s);
// v.dump().size(), counted without writing the text; none when dump() would
// throw (a string that is not UTF-8, only in a value built in-process).
std::optional<std::size_t> json_text_size(const nlohmann::json& v);
// to_json(n).dump(), appended to `out`.
void append_json(std::string& out, const notification& n);
// to_json(d).dump(), appended to `out`.
void append_json(std::string& out, const digest& d);
std::string json_text(const digest& d);

}  // namespace rollup
