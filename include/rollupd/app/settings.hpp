#pragma once
// The table of settings (SPEC §9). Each row names one setting in all three
// of its forms, so every setting has a TOML key, a flag and an environment
// variable by construction:
//
//   key  "aggregation.max_notifications"
//   flag "--max-notifications"
//   env  "ROLLUPD_MAX_NOTIFICATIONS"   (ROLLUPD_ + the flag, upper-cased, - → _)
//
// The loader, the --help text and the example config are all driven by it.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "rollupd/app/config.hpp"

namespace rollup::app {

// One setting's value as it arrived, before it is checked.
struct raw_value {
  enum class kind {
    text,     // from a flag or a variable: untyped, parsed as the setting needs
    string,   // a TOML string
    integer,  // a TOML integer (`integer` holds it)
    other,    // any other TOML value (boolean, float, array, table, date)
  };
  kind type = kind::text;
  std::string text;  // the string; for TOML non-strings, the value as TOML
  std::int64_t integer = 0;
};

struct setting {
  std::string key;          // the TOML key, dotted
  std::string flag;         // the flag without its leading "--"
  std::string env;          // the environment variable
  std::string value_hint;   // for --help: "N", "D", "HOST:PORT", "fsync|wal"
  std::string description;  // for --help and the example config
  // Checks `v` and stores it in `c`. On failure returns what is allowed
  // (e.g. "must be an integer from 1 to 10000") and leaves `c` unchanged.
  std::function<std::optional<std::string>(config& c, const raw_value& v)> apply;
  // The value `c` holds, written as a flag would take it (for --help).
  std::function<std::string(const config& c)> show;
  // A secret (the API token, the webhook secret): an error names the
  // setting but shows only the value's length and any control character or
  // space in it, never the value, which is likely the real secret nearly
  // right (a newline at its end, say) and would land in the journal.
  bool secret = false;
};

// Every setting, in the order of SPEC §9 (then max_connections).
std::span<const setting> settings();

const setting* find_setting_by_key(std::string_view key);
const setting* find_setting_by_flag(std::string_view flag);  // without "--"
const setting* find_setting_by_env(std::string_view env);

// "--webhook-url" → "ROLLUPD_WEBHOOK_URL" (flag given without the dashes).
std::string env_name_for_flag(std::string_view flag);

}  // namespace rollup::app
