#pragma once
// Why a configuration could not be loaded: a value, never an exception.

#include <string>

namespace rollup::app {

struct config_error {
  // Where the bad setting came from, as the user wrote it: the TOML key
  // ("aggregation.max_notifications"), the flag ("--max-notifications") or
  // the variable ("ROLLUPD_MAX_NOTIFICATIONS"). Empty when the error is not
  // about one setting (e.g. the file cannot be read).
  std::string name;
  std::string value;  // the offending value as written; may be empty
  // The whole sentence for a person: names the setting, the value and what
  // is allowed, e.g.
  //   aggregation.max_notifications = "0": must be an integer from 1 to 10000
  std::string message;
};

}  // namespace rollup::app
