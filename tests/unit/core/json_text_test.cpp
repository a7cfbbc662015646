// The wire JSON written straight to text must be byte for byte what the JSON
// tree gives (to_json(x).dump(), as answers and sinks wrote it before):
// clients and webhook signatures see the same bytes either way.

#include "rollupd/core/json_text.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "rollupd/core/codec.hpp"

namespace rollup {
namespace {

using nlohmann::json;

notification make(std::string text, json extra = json::object(), std::optional<std::string> id = std::nullopt) {
  notification n;
  n.email = "A.User@Example.com";
  n.correlation_id = "a.user@example.com";
  n.text = std::move(text);
  n.time = *parse_rfc3339("2019-08-10T15:31:47.808596Z");
  n.prio = priority::medium;
  n.id = std::move(id);
  n.extra = std::move(extra);
  return n;
}

std::string text_of(const notification& n) {
  std::string out;
  append_json(out, n);
  return out;
}

TEST(json_text, StringsAreEscapedAsTheTreeEscapesThem) {
  const std::vector<std::string> texts{
      "plain", "", "quote \" and backslash \\", "controls \b\f\n\r\t \x01 \x1f end", "del \x7f kept",
      "slash / kept", "UTF-8: é, ✓, 😀", std::string("nul \0 inside", 12), "bad UTF-8 \xff\xfe here",
      "truncated \xe2\x9c"};
  for (const auto& t : texts) {
    std::string out;
    append_json_string(out, t);
    EXPECT_EQ(out, json(t).dump(-1, ' ', false, json::error_handler_t::replace)) << t;
  }
}

TEST(json_text, NotificationsMatchTheTreeWithExtraKeysInKeyOrder) {
  const std::vector<notification> cases{
      make("n"),
      make("n", json::object(), std::string("k-1")),
      // Extra keys before, between and after the fixed ones, and of every kind of value.
      make("n", json{{"Aaa", 1}, {"Emails", "x"}, {"Idx", json::array({1, "two", nullptr})}, {"Notificationz", 1.5},
                     {"Pri", false}, {"Source", json{{"host", "a"}, {"port", 22}}}, {"Zed", nullptr},
                     {"lower", "é"}, {"quote\"key", "v\n"}},
           std::string("id \"quoted\"")),
      // A fixed key wins over an extra key of the same name, as in to_json.
      make("n", json{{"Email", "extra"}, {"Id", "extra"}}),
  };
  for (const auto& n : cases) EXPECT_EQ(text_of(n), to_json(n).dump()) << to_json(n).dump();
}

TEST(json_text, DigestsMatchTheTree) {
  group g{"a.user@example.com", *parse_rfc3339("2026-01-01T00:00:00.123456789Z"), {}, std::nullopt};
  digest empty = complete(g, completion_reason::flush, "00000000000000010000000000000000",
                          *parse_rfc3339("2026-01-01T00:10:00Z"), true);
  EXPECT_EQ(json_text(empty), to_json(empty).dump());

  g.notifications = {make("first"), make("second", json{{"Source", "sshd"}}, std::string("k")), make("third")};
  for (const auto reason :
       {completion_reason::priority, completion_reason::count, completion_reason::timeout, completion_reason::flush}) {
    const auto d = complete(g, reason, "0000000000000002000000000000abcd", *parse_rfc3339("2026-01-01T00:01:00Z"),
                            reason == completion_reason::timeout);
    EXPECT_EQ(json_text(d), to_json(d).dump());
  }
}

// The decoder checks each notification's size as JSON with json_text_size
// rather than writing the text: it must count what dump() writes, exactly.
TEST(json_text, SizeIsWhatTheTreeWrites) {
  const std::vector<json> values{
      nullptr, true, false, 0, 7, -7, 10, 99, 100, -100, std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::uint64_t>::max(), 0.0, -0.0, 1.5, 1e15,
      1e-7, 1e300, 0.1, std::numeric_limits<double>::infinity(), "", "plain", "quote \" and backslash \\",
      "controls \b\f\n\r\t \x01 \x0b \x1f end", std::string("nul \0 inside", 12), "del \x7f kept", "slash / kept",
      "UTF-8: é, ✓, 😀", json::array(), json::object(), json::array({1, "two", nullptr, json::array({json::object()})}),
      json::parse(R"({"Email":"a@example.com","Notification":"n","Priority":2,"Meta":{"k\n":[1,2.5,"\u0001"]}})"),
      json::binary({1, 2, 3})};
  for (const auto& v : values) {
    const auto size = json_text_size(v);
    ASSERT_TRUE(size.has_value()) << v.dump();
    EXPECT_EQ(*size, v.dump().size()) << v.dump();
  }
}

TEST(json_text, SizeOfTextThatIsNotUtf8IsNone) {
  for (const std::string bad : {"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    EXPECT_THROW((void)json(bad).dump(), json::type_error);
    EXPECT_FALSE(json_text_size(json(bad)).has_value());
    EXPECT_FALSE(json_text_size(json::object({{bad, 1}})).has_value());
    EXPECT_FALSE(json_text_size(json::array({1, json::object({{"k", bad}})})).has_value());
  }
}

}  // namespace
}  // namespace rollup
