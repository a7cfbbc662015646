#include "rollupd/app/settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "rollupd/app/config_loader.hpp"

namespace rollup::app {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// Applies one flag value; returns the loaded config or the error message.
config_result with_flag(const std::string& flag, const std::string& value) {
  return load_config(config_sources{{"--" + flag, value}, {}});
}

std::string flag_error(const std::string& flag, const std::string& value) {
  auto r = with_flag(flag, value);
  EXPECT_FALSE(r.has_value()) << "--" << flag << " " << value << " was accepted";
  return r.has_value() ? "" : r.err().message;
}

config flag_ok(const std::string& flag, const std::string& value) {
  auto r = with_flag(flag, value);
  EXPECT_TRUE(r.has_value()) << (r.has_value() ? "" : r.err().message);
  return r.has_value() ? r->cfg : config{};
}

TEST(Settings, EveryKeyOfTheSpecIsInTheTable) {
  for (const char* key :
       {"listen", "data_dir", "threads", "durability", "api_token", "max_body_bytes", "shutdown_grace", "log_level",
        "log_format", "aggregation.max_notifications", "aggregation.flush_priority",
        "aggregation.completion_timeout", "aggregation.dedupe_window", "aggregation.digest_retention",
        "delivery.file.path", "delivery.webhook.url", "delivery.webhook.secret", "delivery.webhook.timeout",
        "delivery.webhook.max_attempts", "max_connections"}) {
    EXPECT_NE(find_setting_by_key(key), nullptr) << key;
  }
  EXPECT_EQ(settings().size(), 20u);
}

TEST(Settings, FlagAndVariableNamesFollowTheSpec) {
  const auto* s = find_setting_by_key("aggregation.max_notifications");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->flag, "max-notifications");
  EXPECT_EQ(s->env, "ROLLUPD_MAX_NOTIFICATIONS");
  EXPECT_EQ(find_setting_by_key("delivery.webhook.url")->env, "ROLLUPD_WEBHOOK_URL");
  EXPECT_EQ(find_setting_by_key("delivery.file.path")->env, "ROLLUPD_DIGEST_FILE");
  EXPECT_EQ(find_setting_by_key("max_connections")->env, "ROLLUPD_MAX_CONNECTIONS");
  EXPECT_EQ(env_name_for_flag("webhook-max-attempts"), "ROLLUPD_WEBHOOK_MAX_ATTEMPTS");
}

TEST(Settings, NamesAreUniqueAndEveryRowIsComplete) {
  std::set<std::string> keys, flags, envs;
  for (const auto& s : settings()) {
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    EXPECT_TRUE(envs.insert(s.env).second) << s.env;
    EXPECT_EQ(s.env, env_name_for_flag(s.flag));
    EXPECT_FALSE(s.description.empty()) << s.key;
    EXPECT_FALSE(s.value_hint.empty()) << s.key;
    EXPECT_TRUE(s.apply && s.show) << s.key;
  }
}

TEST(Settings, DefaultsRoundTripThroughTheirOwnFlags) {
  // What --help shows as the default is accepted back and changes nothing.
  const config defaults;
  for (const auto& s : settings()) {
    config c;
    const raw_value v{raw_value::kind::text, s.show(defaults), 0};
    EXPECT_FALSE(s.apply(c, v).has_value()) << s.key << " = " << v.text;
    EXPECT_EQ(s.show(c), s.show(defaults)) << s.key;
  }
}

TEST(Settings, EveryBadValueErrorNamesTheFlagTheValueAndTheRule) {
  for (const auto& s : settings()) {
    const auto msg = flag_error(s.flag, "bad\x01value");
    const std::string shown = s.secret ? "<hidden: 9 bytes, \"\\u0001\" at byte 4>" : "\"bad\\u0001value\"";
    EXPECT_THAT(msg, HasSubstr("--" + s.flag + " " + shown + ": must be")) << s.key;
  }
}

TEST(Settings, EveryBadValueErrorNamesTheVariable) {
  for (const auto& s : settings()) {
    auto r = load_config(config_sources{{}, {{s.env, "bad\x01value"}}});
    ASSERT_FALSE(r.has_value()) << s.env;
    const std::string shown = s.secret ? "<hidden: 9 bytes, \"\\u0001\" at byte 4>" : "\"bad\\u0001value\"";
    EXPECT_THAT(r.err().message, HasSubstr(s.env + "=" + shown + ": must be")) << s.env;
    EXPECT_EQ(r.err().name, s.env);
  }
}

TEST(Settings, EveryBadValueErrorNamesTheTomlKey) {
  for (const auto& s : settings()) {
    config c;
    auto e = apply_toml(c, s.key + " = [1, 2]\n", "t.toml");
    ASSERT_TRUE(e.has_value()) << s.key;
    EXPECT_THAT(e->message, HasSubstr(s.key + " = [ 1, 2 ]: must be")) << s.key;
    EXPECT_EQ(e->name, s.key);
  }
}

TEST(SettingsListen, Accepted) {
  EXPECT_EQ(flag_ok("listen", "127.0.0.1:0").listen.port, 0);
  EXPECT_EQ(flag_ok("listen", "0.0.0.0:65535").listen.port, 65535);
  EXPECT_EQ(flag_ok("listen", "localhost:8080").listen.host, "localhost");
  const auto v6 = flag_ok("listen", "[::1]:8080").listen;
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.to_string(), "[::1]:8080");
  EXPECT_EQ(flag_ok("listen", "[::]:80").listen.host, "::");
}

TEST(SettingsListen, Refused) {
  for (const char* bad : {"8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "::1:8080", "[::1]8080", "[::1]:", "[nothost]:80", "999.1.1.1:80",
                          "example.com:80", "127.0.0.1:123456"}) {
    EXPECT_THAT(flag_error("listen", bad), HasSubstr("must be HOST:PORT")) << bad;
  }
}

TEST(SettingsIntegers, Ranges) {
  EXPECT_EQ(flag_ok("threads", "0").threads, 0u);
  EXPECT_EQ(flag_ok("threads", "1024").threads, 1024u);
  EXPECT_THAT(flag_error("threads", "1025"), HasSubstr("must be an integer from 0 to 1024"));
  EXPECT_THAT(flag_error("threads", "-1"), HasSubstr("must be an integer from 0 to 1024"));
  EXPECT_THAT(flag_error("threads", " 1"), HasSubstr("must be an integer"));
  EXPECT_THAT(flag_error("threads", "99999999999999999999999"), HasSubstr("must be an integer"));
  EXPECT_EQ(flag_ok("max-body-bytes", "1024").max_body_bytes, 1024u);
  EXPECT_EQ(flag_ok("max-body-bytes", "67108864").max_body_bytes, 67108864u);
  EXPECT_EQ(flag_error("max-body-bytes", "1023"), "--max-body-bytes \"1023\": must be an integer from 1024 to 67108864");
  EXPECT_THAT(flag_error("max-body-bytes", "67108865"), HasSubstr("from 1024 to 67108864"));
  EXPECT_EQ(flag_ok("max-notifications", "10000").aggregation.max_notifications, 10000u);
  EXPECT_THAT(flag_error("max-notifications", "10001"), HasSubstr("from 1 to 10000"));
  EXPECT_THAT(flag_error("webhook-max-attempts", "0"), HasSubstr("from 1 to 1000"));
  EXPECT_THAT(flag_error("max-connections", "0"), HasSubstr("from 1 to 100000"));
}

TEST(SettingsDurations, Parsed) {
  EXPECT_EQ(flag_ok("shutdown-grace", "500ms").shutdown_grace, 500ms);
  EXPECT_EQ(flag_ok("shutdown-grace", "30s").shutdown_grace, 30s);
  EXPECT_EQ(flag_ok("shutdown-grace", "0").shutdown_grace, 0s);
  EXPECT_EQ(flag_ok("completion-timeout", "10m").aggregation.completion_timeout, 10min);
  EXPECT_EQ(flag_ok("completion-timeout", "0").aggregation.completion_timeout, 0s);
  EXPECT_EQ(flag_ok("dedupe-window", "24h").aggregation.dedupe_window, 24h);
  EXPECT_EQ(flag_ok("digest-retention", "7d").aggregation.digest_retention, std::chrono::days{7});
  EXPECT_EQ(flag_ok("webhook-timeout", "1500ms").delivery.webhook.timeout, 1500ms);
}

TEST(SettingsDurations, Refused) {
  EXPECT_EQ(flag_error("completion-timeout", "10"),
            "--completion-timeout \"10\": must be 0 (never) or a duration like 500ms, 30s, 10m, 24h or 7d, "
            "from 1ms to 365d");
  EXPECT_THAT(flag_error("shutdown-grace", "2h"), HasSubstr("from 0 to 1h"));
  EXPECT_THAT(flag_error("shutdown-grace", "10 s"), HasSubstr("must be 0 (do not wait) or a duration"));
  EXPECT_THAT(flag_error("shutdown-grace", "1.5s"), HasSubstr("must be"));
  EXPECT_THAT(flag_error("shutdown-grace", "-1s"), HasSubstr("must be"));
  EXPECT_THAT(flag_error("shutdown-grace", ""), HasSubstr("must be"));
  EXPECT_THAT(flag_error("digest-retention", "0"), HasSubstr("from 1s to 3650d"));
  EXPECT_THAT(flag_error("webhook-timeout", "0"), HasSubstr("from 1ms to 10m"));
  // Big numbers are refused before they can overflow nanoseconds.
  EXPECT_THAT(flag_error("completion-timeout", "999999999999d"), HasSubstr("to 365d"));
  EXPECT_THAT(flag_error("completion-timeout", "9999999999999999999d"), HasSubstr("to 365d"));
  EXPECT_EQ(flag_ok("completion-timeout", "365d").aggregation.completion_timeout, std::chrono::days{365});
  EXPECT_THAT(flag_error("completion-timeout", "366d"), HasSubstr("to 365d"));
}

TEST(SettingsChoices, CaseInsensitive) {
  EXPECT_EQ(flag_ok("durability", "WAL").durability, durability_mode::wal);
  EXPECT_EQ(flag_error("durability", "sync"), "--durability \"sync\": must be fsync or wal");
  EXPECT_EQ(flag_ok("log-level", "Warning").level, log_level::warn);
  EXPECT_EQ(flag_ok("log-level", "off").level, log_level::off);
  EXPECT_THAT(flag_error("log-level", "verbose"), HasSubstr("must be one of trace, debug, info, warn, error, critical, off"));
  EXPECT_EQ(flag_ok("log-format", "JSON").format, log_format::json);
  EXPECT_THAT(flag_error("log-format", "xml"), HasSubstr("must be text or json"));
  EXPECT_EQ(flag_ok("flush-priority", "low").aggregation.flush_priority, priority::low);
  EXPECT_EQ(flag_ok("flush-priority", "2").aggregation.flush_priority, priority::high);
  EXPECT_THAT(flag_error("flush-priority", "urgent"), HasSubstr("must be LOW, MEDIUM or HIGH"));
}

TEST(SettingsStrings, Webhook) {
  EXPECT_EQ(flag_ok("webhook-url", "https://example.com/h").delivery.webhook.url, "https://example.com/h");
  EXPECT_EQ(flag_ok("webhook-url", "http://127.0.0.1:9/").delivery.webhook.url, "http://127.0.0.1:9/");
  for (const char* bad : {"ftp://x", "example.com", "http://", "https:///path", "http://a b", "http://x:0/",
                          "http://127.0.0.1:99999/hook", "http://x:abc/", "http://user@x/", "http://[::1/", "http://:80/"})
    EXPECT_THAT(flag_error("webhook-url", bad), HasSubstr("must be empty (off) or an http:// or https:// URL")) << bad;
  // The message says what is wrong with this URL: the webhook sink's own reason.
  EXPECT_THAT(flag_error("webhook-url", "http://127.0.0.1:99999/hook"), HasSubstr("invalid port \"99999\" (1-65535)"));

  EXPECT_EQ(flag_ok("webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").delivery.webhook.secret,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  EXPECT_EQ(flag_ok("webhook-secret", "whsec_YWJj").delivery.webhook.secret, "whsec_YWJj");
  EXPECT_EQ(flag_ok("webhook-secret", "whsec_YWI=").delivery.webhook.secret, "whsec_YWI=");
  for (const char* bad : {"secret", "whsec_", "whsec_!!!!", "whsec_a", "whsec_YWI===", "whsec_YWJj=", "WHSEC_YWJj"})
    EXPECT_THAT(flag_error("webhook-secret", bad), HasSubstr("must be empty (unsigned) or whsec_")) << bad;
}

TEST(SettingsStrings, TokenAndPaths) {
  EXPECT_EQ(flag_ok("api-token", "abc-123_XYZ").api_token, "abc-123_XYZ");
  EXPECT_THAT(flag_error("api-token", "has space"), HasSubstr("must be printable ASCII without spaces"));
  EXPECT_THAT(flag_error("data-dir", ""), HasSubstr("must be a non-empty directory path"));
  EXPECT_EQ(flag_ok("digest-file", "").delivery.file_path, "");
}

}  // namespace
}  // namespace rollup::app
