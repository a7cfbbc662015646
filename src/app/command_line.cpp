#include "rollupd/app/command_line.hpp"

#include <algorithm>

#include "rollupd/app/config.hpp"
#include "rollupd/app/settings.hpp"

#ifndef ROLLUPD_VERSION
#error "ROLLUPD_VERSION must be defined by the build (PROJECT_VERSION)"
#endif

namespace rollup::app {
namespace {

std::optional<command> subcommand(const std::string& word) {
  if (word == "serve") return command::serve;
  if (word == "check-config") return command::check_config;
  if (word == "healthcheck") return command::healthcheck;
  if (word == "backup") return command::backup;
  if (word == "help") return command::help;
  if (word == "version") return command::version;
  return std::nullopt;
}

// `--name VALUE` or `--name=VALUE`, for the options of one subcommand.
bool is_option(const std::string& arg, const std::string& name) {
  return arg == name || arg.rfind(name + "=", 0) == 0;
}

// The value of the option at args[i]; moves i past a separate value.
result<std::string, config_error> option_value(std::span<const std::string> args, std::size_t& i,
                                               const std::string& name, const std::string& hint) {
  if (args[i] != name) return args[i].substr(name.size() + 1);
  if (i + 1 >= args.size()) return config_error{name, "", name + " needs a value: " + name + " " + hint};
  return args[++i];
}

// Wraps `text` at `width` columns, each line starting with `indent`.
std::string wrap(const std::string& text, std::size_t indent, std::size_t width = 80) {
  std::string out;
  std::string line(indent, ' ');
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const auto word = text.substr(start, end - start);
    if (line.size() > indent && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.assign(indent, ' ');
    }
    if (line.size() > indent) line += ' ';
    line += word;
    start = end + 1;
  }
  if (line.size() > indent) out += line + "\n";
  return out;
}

}  // namespace

result<command_line, config_error> parse_command_line(std::span<const std::string> args) {
  command_line out;
  std::size_t i = 0;
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    const auto c = subcommand(args[0]);
    if (!c) {
      return config_error{args[0], args[0],
                          "unknown command \"" + args[0] + "\"; expected check-config, healthcheck, backup, or flags "
                          "(rollupd --help)"};
    }
    out.cmd = *c;
    i = 1;
  }
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      out.cmd = command::help;
    } else if (a == "--version" || a == "-V") {
      out.cmd = command::version;
    } else if (out.cmd == command::healthcheck && is_option(a, "--url")) {
      auto v = option_value(args, i, "--url", "URL");
      if (!v) return v.err();
      out.url = std::move(*v);
    } else if (out.cmd == command::backup && is_option(a, "--to")) {
      auto v = option_value(args, i, "--to", "DIR");
      if (!v) return v.err();
      out.to = std::move(*v);
    } else {
      out.config_args.push_back(a);
    }
  }
  if (out.cmd == command::backup && (!out.to || out.to->empty()))
    return config_error{"--to", "", "backup needs --to DIR: a directory that does not exist yet"};
  return out;
}

std::string help_text() {
  std::string out = version_text() + R"( - rolls many small notifications up into one digest per user

Usage:
  rollupd [--config FILE] [flags]                serve
  rollupd check-config [--config FILE] [flags]   check the configuration: exit 0, or 78 with the reason
  rollupd healthcheck [--url URL] [flags]        exit 0 if URL (default http://LISTEN/readyz) answers 200
  rollupd backup --to DIR [flags]                copy data_dir (rollupd stopped) into DIR, a new directory
  rollupd --version | --help

Each setting is a key in the TOML file (--config FILE, or ROLLUPD_CONFIG),
an environment variable and a flag (--flag VALUE or --flag=VALUE); flags win
over variables, which win over the file. Durations are written 500ms, 30s,
10m, 24h, 7d.

Settings:
)";
  const config defaults;
  for (const auto& s : settings()) {
    out += "  --" + s.flag + " " + s.value_hint + "\n";
    out += wrap(s.description, 6);
    auto shown = s.show(defaults);
    if (shown.empty()) shown = "(empty)";
    out += "      key " + s.key + ", env " + s.env + ", default " + shown + "\n";
  }
  out += R"(
Exit status: 0 on success (and after a clean shutdown on SIGTERM/SIGINT/SIGHUP),
78 for an invalid configuration, 1 for other start-up failures.
)";
  return out;
}

std::string version_number() { return ROLLUPD_VERSION; }
std::string version_text() { return "rollupd " + version_number(); }

}  // namespace rollup::app
