// rollupd: sorts the command line and hands over to the app room.
// Exit codes: 0 ok, 1 start-up failure or unhealthy, 64 unknown command,
// 78 invalid configuration (EX_CONFIG).

#include <cstdio>
#include <iostream>
#include <spdlog/spdlog.h>
#include <string>
#include <vector>

#include "rollupd/app/backup.hpp"
#include "rollupd/app/command_line.hpp"
#include "rollupd/app/config_loader.hpp"
#include "rollupd/app/healthcheck.hpp"
#include "rollupd/app/logging.hpp"
#include "rollupd/app/serve.hpp"

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_usage = 64;   // EX_USAGE
constexpr int exit_config = 78;  // EX_CONFIG

int fail_config(const std::string& message) {
  std::cerr << "rollupd: invalid configuration: " << message << "\n";
  return exit_config;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace rollup::app;
  const std::vector<std::string> args(argv + 1, argv + argc);

  const auto cmd = parse_command_line(args);
  if (!cmd) {
    std::cerr << "rollupd: " << cmd.err().message << "\n";
    return exit_usage;
  }
  if (cmd->cmd == command::help) {
    std::cout << help_text();
    return exit_ok;
  }
  if (cmd->cmd == command::version) {
    std::cout << version_text() << "\n";
    return exit_ok;
  }

  const auto loaded = load_config(config_sources{cmd->config_args, process_environment()});
  if (!loaded) return fail_config(loaded.err().message);
  const config& cfg = loaded->cfg;
  if (cmd->cmd != command::serve)
    for (const auto& w : loaded->warnings) std::cerr << "rollupd: warning: " << w << "\n";

  switch (cmd->cmd) {
    case command::check_config:
      std::cout << "configuration OK" << (loaded->file.empty() ? "" : " (" + loaded->file + ")") << "\n";
      return exit_ok;

    case command::healthcheck: {
      if (!cmd->url && cfg.listen.port == 0) {
        std::cerr << "rollupd healthcheck: listen port is 0; pass --url\n";
        return exit_failure;
      }
      const auto r = run_healthcheck(cmd->url.value_or(default_healthcheck_url(cfg.listen)));
      (r.ok ? std::cout : std::cerr) << "rollupd healthcheck: " << r.message << "\n";
      return r.ok ? exit_ok : exit_failure;
    }

    case command::backup:
      return run_backup(cfg.data_dir, *cmd->to);

    case command::serve:
      setup_logging(cfg.level, cfg.format);
      for (const auto& w : loaded->warnings) spdlog::warn("{}", w);
      if (!loaded->file.empty()) spdlog::info("configuration from {}", loaded->file);
      return rollup::app::serve(cfg);

    case command::help:
    case command::version:
      break;
  }
  return exit_ok;
}
