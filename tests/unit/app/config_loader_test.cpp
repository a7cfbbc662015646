#include "rollupd/app/config_loader.hpp"

#include "rollupd/app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <unistd.h>

namespace rollup::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

config_result load(std::vector<std::string> args, environment env = {}) {
  return load_config(config_sources{std::move(args), std::move(env)});
}

std::string error_of(const config_result& r) {
  EXPECT_FALSE(r.has_value());
  return r.has_value() ? std::string() : r.err().message;
}

config from_toml(std::string_view text) {
  config c;
  auto e = apply_toml(c, text, "test.toml");
  EXPECT_FALSE(e.has_value()) << (e ? e->message : "");
  return c;
}

std::string toml_error(std::string_view text) {
  config c;
  auto e = apply_toml(c, text, "test.toml");
  EXPECT_TRUE(e.has_value());
  return e ? e->message : "";
}

// A TOML file in a fresh temp dir, removed at the end of the test.
class temp_file {
 public:
  explicit temp_file(std::string_view text) {
    path_ = std::filesystem::temp_directory_path() /
            ("rollupd-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".toml");
    std::ofstream(path_) << text;
  }
  ~temp_file() { std::filesystem::remove(path_); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(ConfigDefaults, MatchTheSpec) {
  auto r = load({});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  const config& c = r->cfg;
  EXPECT_EQ(c.listen.host, "127.0.0.1");
  EXPECT_EQ(c.listen.port, 8080);
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.durability, durability_mode::fsync);
  EXPECT_EQ(c.api_token, "");
  EXPECT_EQ(c.max_body_bytes, 1048576u);
  EXPECT_EQ(c.max_connections, 1024u);
  EXPECT_EQ(c.shutdown_grace, 10s);
  EXPECT_EQ(c.level, log_level::info);
  EXPECT_EQ(c.format, log_format::text);
  EXPECT_EQ(c.aggregation.max_notifications, 3u);
  EXPECT_EQ(c.aggregation.flush_priority, priority::high);
  EXPECT_EQ(c.aggregation.completion_timeout, 10min);
  EXPECT_EQ(c.aggregation.dedupe_window, 24h);
  EXPECT_EQ(c.aggregation.digest_retention, std::chrono::days{7});
  EXPECT_EQ(c.delivery.file_path, "");
  EXPECT_EQ(c.delivery.webhook.url, "");
  EXPECT_EQ(c.delivery.webhook.secret, "");
  EXPECT_EQ(c.delivery.webhook.timeout, 10s);
  EXPECT_EQ(c.delivery.webhook.max_attempts, 20u);
  EXPECT_TRUE(r->file.empty());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(ConfigToml, SetsEveryKey) {
  const config c = from_toml(R"(
listen = "0.0.0.0:9090"
data_dir = "/var/lib/rollupd"
threads = 4
durability = "wal"
api_token = "s3cret"
max_body_bytes = 2048
max_connections = 50
shutdown_grace = "500ms"
log_level = "debug"
log_format = "json"

[aggregation]
max_notifications = 5
flush_priority = "medium"
completion_timeout = "30s"
dedupe_window = "1h"
digest_retention = "2d"

[delivery.file]
path = "/tmp/digests.jsonl"

[delivery.webhook]
url = "https://example.com/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
timeout = "2s"
max_attempts = 3
)");
  EXPECT_EQ(c.listen.host, "0.0.0.0");
  EXPECT_EQ(c.listen.port, 9090);
  EXPECT_EQ(c.data_dir, "/var/lib/rollupd");
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.durability, durability_mode::wal);
  EXPECT_EQ(c.api_token, "s3cret");
  EXPECT_EQ(c.max_body_bytes, 2048u);
  EXPECT_EQ(c.max_connections, 50u);
  EXPECT_EQ(c.shutdown_grace, 500ms);
  EXPECT_EQ(c.level, log_level::debug);
  EXPECT_EQ(c.format, log_format::json);
  EXPECT_EQ(c.aggregation.max_notifications, 5u);
  EXPECT_EQ(c.aggregation.flush_priority, priority::medium);
  EXPECT_EQ(c.aggregation.completion_timeout, 30s);
  EXPECT_EQ(c.aggregation.dedupe_window, 1h);
  EXPECT_EQ(c.aggregation.digest_retention, std::chrono::days{2});
  EXPECT_EQ(c.delivery.file_path, "/tmp/digests.jsonl");
  EXPECT_EQ(c.delivery.webhook.url, "https://example.com/hook");
  EXPECT_EQ(c.delivery.webhook.secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(c.delivery.webhook.timeout, 2s);
  EXPECT_EQ(c.delivery.webhook.max_attempts, 3u);
}

TEST(ConfigToml, DottedKeysWork) {
  const config c = from_toml("aggregation.max_notifications = 7\ndelivery.webhook.url = \"http://h/x\"\n");
  EXPECT_EQ(c.aggregation.max_notifications, 7u);
  EXPECT_EQ(c.delivery.webhook.url, "http://h/x");
}

TEST(ConfigToml, CompletionTimeoutAcceptsIntegerZero) {
  EXPECT_EQ(from_toml("[aggregation]\ncompletion_timeout = 0\n").aggregation.completion_timeout, 0s);
  EXPECT_EQ(from_toml("[aggregation]\ncompletion_timeout = \"0\"\n").aggregation.completion_timeout, 0s);
}

TEST(ConfigToml, FlushPriorityAcceptsIntegers) {
  EXPECT_EQ(from_toml("aggregation.flush_priority = 1").aggregation.flush_priority, priority::medium);
  EXPECT_THAT(toml_error("aggregation.flush_priority = 3"),
              HasSubstr("aggregation.flush_priority = 3: must be LOW, MEDIUM or HIGH"));
}

TEST(ConfigToml, UnknownKeyIsAnErrorNamingIt) {
  EXPECT_THAT(toml_error("bogus = 1\n"), HasSubstr("unknown key bogus (test.toml:1)"));
  EXPECT_THAT(toml_error("[aggregation]\nmax_notification = 1\n"),
              HasSubstr("unknown key aggregation.max_notification (test.toml:2); did you mean "
                        "aggregation.max_notifications?"));
  EXPECT_THAT(toml_error("[delivery.smtp]\nhost = \"x\"\n"), HasSubstr("unknown key delivery.smtp"));
  EXPECT_THAT(toml_error("[nope]\n"), HasSubstr("unknown key nope"));
}

TEST(ConfigToml, WrongTypesAreErrors) {
  EXPECT_EQ(toml_error("aggregation.max_notifications = \"0\""),
            "aggregation.max_notifications = \"0\": must be an integer from 1 to 10000 (test.toml:1)");
  EXPECT_EQ(toml_error("aggregation.max_notifications = 0"),
            "aggregation.max_notifications = 0: must be an integer from 1 to 10000 (test.toml:1)");
  EXPECT_THAT(toml_error("threads = \"4\""), HasSubstr("threads = \"4\": must be an integer from 0 to 1024"));
  EXPECT_THAT(toml_error("threads = 1.5"), HasSubstr("threads = 1.5: must be an integer"));
  EXPECT_THAT(toml_error("listen = 8080"), HasSubstr("listen = 8080: must be HOST:PORT"));
  EXPECT_THAT(toml_error("shutdown_grace = 10"), HasSubstr("shutdown_grace = 10: must be 0 (do not wait) or a duration"));
  EXPECT_THAT(toml_error("api_token = true"), HasSubstr("api_token = true: must be printable ASCII"));
  EXPECT_THAT(toml_error("[listen]\nhost = \"x\"\n"), HasSubstr("listen = { ... }: must be HOST:PORT"));
}

TEST(ConfigToml, SyntaxErrorNamesFileAndLine) {
  EXPECT_THAT(toml_error("threads = 4\nthreads = = 5\n"), HasSubstr("test.toml:2:"));
}

TEST(ConfigFile, ReadFromConfigFlag) {
  temp_file f("threads = 3\n");
  auto r = load({"--config", f.path()});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.threads, 3u);
  EXPECT_EQ(r->file, f.path());
}

TEST(ConfigFile, ReadFromRollupdConfigVariable) {
  temp_file f("threads = 5\n");
  auto r = load({}, {{"ROLLUPD_CONFIG", f.path()}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.threads, 5u);
}

TEST(ConfigFile, FlagBeatsVariableForTheFile) {
  temp_file a("threads = 6\n");
  temp_file b("threads = 7\n");
  auto r = load({"--config=" + a.path()}, {{"ROLLUPD_CONFIG", b.path()}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.threads, 6u);
}

TEST(ConfigFile, MissingFileIsAnError) {
  EXPECT_THAT(error_of(load({"--config", "/nonexistent/rollupd.toml"})),
              HasSubstr("cannot read the config file /nonexistent/rollupd.toml: No such file"));
}

TEST(ConfigFile, DirectoryIsAnError) {
  // Not an empty file: rollupd must not run on its defaults for a wrong path.
  const auto dir = std::filesystem::temp_directory_path().string();
  EXPECT_THAT(error_of(load({"--config", dir})),
              HasSubstr("cannot read the config file " + dir + ": Is a directory"));
}

TEST(ConfigFile, ErrorsNameTheFileAndLine) {
  temp_file f("\n\naggregation.max_notifications = 20000\n");
  EXPECT_EQ(error_of(load({"--config", f.path()})),
            "aggregation.max_notifications = 20000: must be an integer from 1 to 10000 (" + f.path() + ":3)");
}

TEST(ConfigEnv, SetsSettings) {
  auto r = load({}, {{"ROLLUPD_MAX_NOTIFICATIONS", "9"},
                     {"ROLLUPD_WEBHOOK_URL", "http://localhost:9000/x"},
                     {"ROLLUPD_DIGEST_FILE", "/tmp/d.jsonl"},
                     {"ROLLUPD_LISTEN", "[::1]:8081"},
                     {"ROLLUPD_COMPLETION_TIMEOUT", "0"},
                     {"ROLLUPD_MAX_CONNECTIONS", "10"},
                     {"PATH", "/usr/bin"}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.aggregation.max_notifications, 9u);
  EXPECT_EQ(r->cfg.delivery.webhook.url, "http://localhost:9000/x");
  EXPECT_EQ(r->cfg.delivery.file_path, "/tmp/d.jsonl");
  EXPECT_EQ(r->cfg.listen.host, "::1");
  EXPECT_EQ(r->cfg.listen.port, 8081);
  EXPECT_EQ(r->cfg.listen.to_string(), "[::1]:8081");
  EXPECT_EQ(r->cfg.aggregation.completion_timeout, 0s);
  EXPECT_EQ(r->cfg.max_connections, 10u);
}

TEST(ConfigEnv, BadValueNamesTheVariable) {
  EXPECT_EQ(error_of(load({}, {{"ROLLUPD_MAX_NOTIFICATIONS", "0"}})),
            "ROLLUPD_MAX_NOTIFICATIONS=\"0\": must be an integer from 1 to 10000");
}

TEST(ConfigEnv, UnknownVariableIsAWarning) {
  auto r = load({}, {{"ROLLUPD_MAX_NOTIFICATION", "4"}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_THAT(r->warnings[0], HasSubstr("ROLLUPD_MAX_NOTIFICATION"));
  EXPECT_THAT(r->warnings[0], HasSubstr("did you mean ROLLUPD_MAX_NOTIFICATIONS?"));
}

TEST(ConfigFlags, BothForms) {
  auto r = load({"--threads", "2", "--max-notifications=11", "--api-token=a=b", "--log-format", "json"});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.threads, 2u);
  EXPECT_EQ(r->cfg.aggregation.max_notifications, 11u);
  EXPECT_EQ(r->cfg.api_token, "a=b");
  EXPECT_EQ(r->cfg.format, log_format::json);
}

TEST(ConfigFlags, EmptyValueWithEquals) {
  auto r = load({"--webhook-url="}, {{"ROLLUPD_WEBHOOK_URL", "http://x/"}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.delivery.webhook.url, "");
}

TEST(ConfigFlags, LaterFlagWins) {
  auto r = load({"--threads", "2", "--threads=3"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->cfg.threads, 3u);
}

TEST(ConfigFlags, UnknownFlagIsAnError) {
  EXPECT_EQ(error_of(load({"--max-notification", "3"})),
            "unknown flag --max-notification; did you mean --max-notifications?");
  EXPECT_THAT(error_of(load({"--frobnicate"})), HasSubstr("unknown flag --frobnicate; rollupd --help"));
}

TEST(ConfigFlags, MissingValueIsAnError) {
  EXPECT_EQ(error_of(load({"--threads"})), "--threads needs a value: --threads N");
  EXPECT_EQ(error_of(load({"--config"})), "--config needs a value: --config FILE");
}

TEST(ConfigFlags, PositionalArgumentIsAnError) {
  EXPECT_THAT(error_of(load({"stray"})), HasSubstr("unexpected argument \"stray\""));
}

TEST(ConfigFlags, BadValueNamesTheFlag) {
  EXPECT_EQ(error_of(load({"--max-notifications", "0"})),
            "--max-notifications \"0\": must be an integer from 1 to 10000");
}

TEST(ConfigSecrets, AnErrorNamesTheSettingButNeverShowsTheValue) {
  const std::string message = "must be printable ASCII without spaces (empty = no authentication)";
  EXPECT_EQ(error_of(load({"--api-token", "s3cr3t tok"})),
            "--api-token <hidden: 10 bytes, a space at byte 7>: " + message);
  EXPECT_EQ(error_of(load({}, {{"ROLLUPD_API_TOKEN", "s3cr3t\r"}})),
            "ROLLUPD_API_TOKEN=<hidden: 7 bytes, \"\\u000d\" at byte 7>: " + message);
  EXPECT_THAT(toml_error("api_token = \"s3cr3t\\u0001\""),
              StartsWith("api_token = <hidden: 7 bytes, \"\\u0001\" at byte 7>: "));
  // A value of another type is no secret: it is shown.
  EXPECT_THAT(toml_error("api_token = true"), StartsWith("api_token = true: must be"));
  const auto r = load({"--webhook-secret", "whsec_s3cr3t!"});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.err().message, HasSubstr("--webhook-secret <hidden: 13 bytes>: must be empty (unsigned) or whsec_"));
  EXPECT_EQ(r.err().value, "<hidden: 13 bytes>");
  EXPECT_EQ(r.err().message.find("s3cr3t"), std::string::npos);
}

TEST(ConfigPrecedence, FlagBeatsEnvBeatsFile) {
  temp_file f("threads = 1\nmax_body_bytes = 4096\ndata_dir = \"/from/file\"\n");
  auto r = load({"--config", f.path(), "--threads", "3"},
                {{"ROLLUPD_THREADS", "2"}, {"ROLLUPD_MAX_BODY_BYTES", "8192"}});
  ASSERT_TRUE(r.has_value()) << r.err().message;
  EXPECT_EQ(r->cfg.threads, 3u);              // flag
  EXPECT_EQ(r->cfg.max_body_bytes, 8192u);    // env over file
  EXPECT_EQ(r->cfg.data_dir, "/from/file");   // file over default
  EXPECT_EQ(r->cfg.aggregation.max_notifications, 3u);  // default
}

TEST(ConfigPrecedence, BadFileValueFailsEvenIfOverridden) {
  // The file is checked as a whole: a typo there is reported, not masked.
  temp_file f("threads = 99999\n");
  EXPECT_THAT(error_of(load({"--config", f.path(), "--threads", "1"})), HasSubstr("threads = 99999"));
}

}  // namespace
}  // namespace rollup::app

namespace rollup::app {
namespace {

TEST(ExampleConfig, HoldsEveryKeyWithItsDefault) {
  std::ifstream in(ROLLUPD_EXAMPLE_CONFIG);
  ASSERT_TRUE(in) << ROLLUPD_EXAMPLE_CONFIG;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  config c;
  c.threads = 99;  // the file must set it back to the default
  auto e = apply_toml(c, text, "rollupd.toml");
  ASSERT_FALSE(e.has_value()) << e->message;
  const config defaults;
  for (const auto& s : settings()) {
    EXPECT_EQ(s.show(c), s.show(defaults)) << s.key;
    const auto leaf = s.key.substr(s.key.rfind('.') + 1);
    EXPECT_NE(text.find("\n" + leaf + " = "), std::string::npos) << s.key << " is not set in the example";
    EXPECT_NE(text.find("--" + s.flag + ", " + s.env), std::string::npos) << s.key << ": flag and variable";
  }
}

}  // namespace
}  // namespace rollup::app
