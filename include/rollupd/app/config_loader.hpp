#pragma once
// Loads the configuration (SPEC §9) from, lowest precedence first:
//   1. the defaults in config.hpp
//   2. a TOML file: `--config FILE`, or else the variable ROLLUPD_CONFIG
//   3. ROLLUPD_* environment variables
//   4. flags, `--flag value` or `--flag=value`
// Every error is returned as a value naming the key, flag or variable, the
// value, and what is allowed. Nothing here throws for bad input.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rollupd/app/config.hpp"
#include "rollupd/app/config_error.hpp"
#include "rollupd/core/error.hpp"

namespace rollup::app {

// NAME=VALUE pairs: the process environment, or a test's stand-in.
using environment = std::vector<std::pair<std::string, std::string>>;

// The ROLLUPD_* variables of this process.
environment process_environment();

struct config_sources {
  std::vector<std::string> args;  // flags only: no program name, no subcommand
  environment env;
};

struct loaded_config {
  config cfg;
  std::string file;                   // the TOML file that was read; empty if none
  std::vector<std::string> warnings;  // e.g. an unknown ROLLUPD_* variable
};

using config_result = result<loaded_config, config_error>;

config_result load_config(const config_sources& sources);

// Applies TOML text on top of `cfg`. `origin` names the text in messages
// (the file's path). Used by load_config; public for tests.
std::optional<config_error> apply_toml(config& cfg, std::string_view toml_text, std::string_view origin);

}  // namespace rollup::app
