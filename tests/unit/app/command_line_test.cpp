#include "rollupd/app/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rollupd/app/settings.hpp"

namespace rollup::app {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

result<command_line, config_error> parse(std::vector<std::string> args) { return parse_command_line(args); }

TEST(CommandLine, ServeByDefault) {
  auto r = parse({"--config", "x.toml", "--threads=2"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cmd, command::serve);
  EXPECT_THAT(r->config_args, ElementsAre("--config", "x.toml", "--threads=2"));
  EXPECT_EQ(parse({})->cmd, command::serve);
}

TEST(CommandLine, Subcommands) {
  EXPECT_EQ(parse({"check-config", "--config", "x"})->cmd, command::check_config);
  EXPECT_THAT(parse({"check-config", "--config", "x"})->config_args, ElementsAre("--config", "x"));
  EXPECT_EQ(parse({"serve"})->cmd, command::serve);
  EXPECT_EQ(parse({"--version"})->cmd, command::version);
  EXPECT_EQ(parse({"--help"})->cmd, command::help);
  EXPECT_EQ(parse({"check-config", "-h"})->cmd, command::help);
}

TEST(CommandLine, HealthcheckTakesUrl) {
  auto r = parse({"healthcheck", "--url", "http://127.0.0.1:1/readyz", "--listen", "0.0.0.0:1"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cmd, command::healthcheck);
  EXPECT_EQ(r->url, "http://127.0.0.1:1/readyz");
  EXPECT_THAT(r->config_args, ElementsAre("--listen", "0.0.0.0:1"));
  EXPECT_EQ(parse({"healthcheck", "--url=http://h:2/"})->url, "http://h:2/");
  EXPECT_FALSE(parse({"healthcheck", "--url"}).has_value());
  // --url is healthcheck's own: elsewhere it is left for the loader to refuse.
  EXPECT_THAT(parse({"--url", "x"})->config_args, ElementsAre("--url", "x"));
}

TEST(CommandLine, BackupNeedsTo) {
  auto r = parse({"backup", "--to", "/b/1", "--data-dir", "/d"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cmd, command::backup);
  EXPECT_EQ(r->to, "/b/1");
  EXPECT_EQ(r->config_args, (std::vector<std::string>{"--data-dir", "/d"}));
  EXPECT_EQ(parse({"backup", "--to=/b/2"})->to, "/b/2");
  EXPECT_FALSE(parse({"backup", "--to"}).has_value());
  EXPECT_FALSE(parse({"backup"}).has_value());
  EXPECT_FALSE(parse({"backup", "--to="}).has_value());
}

TEST(CommandLine, UnknownSubcommand) {
  auto r = parse({"frobnicate"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.err().message, HasSubstr("unknown command \"frobnicate\""));
}

TEST(CommandLine, HelpListsEverySettingWithItsDefault) {
  const auto help = help_text();
  for (const auto& s : settings()) {
    EXPECT_THAT(help, HasSubstr("--" + s.flag + " " + s.value_hint)) << s.key;
    EXPECT_THAT(help, HasSubstr("key " + s.key + ", env " + s.env + ", default ")) << s.key;
  }
  EXPECT_THAT(help, HasSubstr("env ROLLUPD_MAX_NOTIFICATIONS, default 3"));
  EXPECT_THAT(help, HasSubstr("default 127.0.0.1:8080"));
  EXPECT_THAT(help, HasSubstr("default 10m"));
}

TEST(CommandLine, Version) { EXPECT_THAT(version_text(), ::testing::MatchesRegex("rollupd [0-9]+\\.[0-9]+\\.[0-9]+")); }

}  // namespace
}  // namespace rollup::app
