#pragma once
// The command line (SPEC §9):
//   rollupd [--config FILE] [flags]                  serve
//   rollupd check-config [--config FILE] [flags]     exit 0, or 78 with the reason
//   rollupd healthcheck [--url URL] [flags]          exit 0 if /readyz answers 200
//   rollupd backup --to DIR [--config FILE] [flags]  offline checkpoint of data_dir into DIR
//   rollupd --version | --help
// This only sorts the arguments; the flags themselves are checked by
// load_config.

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "rollupd/app/config_error.hpp"
#include "rollupd/core/error.hpp"

namespace rollup::app {

enum class command { serve, check_config, healthcheck, backup, help, version };

struct command_line {
  command cmd = command::serve;
  std::vector<std::string> config_args;  // for config_sources::args
  std::optional<std::string> url;        // healthcheck --url
  std::optional<std::string> to;         // backup --to
};

// `args` excludes the program name. Errors: an unknown subcommand.
result<command_line, config_error> parse_command_line(std::span<const std::string> args);

// The --help text, generated from the settings table with its defaults.
std::string help_text();

// "0.1.0"
std::string version_number();
// "rollupd 0.1.0"
std::string version_text();

}  // namespace rollup::app
