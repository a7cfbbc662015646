#pragma once
// JSON forms of the core types: the wire forms of SPEC §3 and the versioned
// storage forms. Storage values carry "v" so a later release can migrate.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "rollupd/core/strategy.hpp"

namespace rollup {

inline constexpr int storage_format_version = 1;

// SPEC §3: a notification as it appears in a digest (normalised).
nlohmann::json to_json(const notification& n);
// SPEC §3: the digest.
nlohmann::json to_json(const digest& d);

// True when a stored JSON value is an object whose "v" is this release's
// storage_format_version (an integer).
bool current_version(const nlohmann::json& stored);

// Storage encodings. decode_* return empty on a value they cannot read
// (corrupt, or a format version this release does not know).
std::string encode_group(const group& g);
std::optional<group> decode_group(std::string_view bytes);
std::string encode_digest(const digest& d);
std::optional<digest> decode_digest(std::string_view bytes);

}  // namespace rollup
