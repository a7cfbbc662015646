#pragma once
// SPEC §4.4: bearer-token access.

#include <string_view>

#include "rollupd/http/response.hpp"

namespace rollup::http {

// Compares in time that depends on neither where the strings differ nor
// their lengths (both are hashed first).
bool constant_time_equal(std::string_view a, std::string_view b);

// True when `path` is one SPEC §4.4 protects: /notifications and /v1/….
bool needs_token(std::string_view path);

// True when `req` carries "Authorization: Bearer <token>" (scheme in any
// case). `token` must not be empty.
bool has_bearer_token(const request& req, std::string_view token);

}  // namespace rollup::http
