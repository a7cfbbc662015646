// A request body parsed as JSON: the value, or where and why it broke,
// without echoing the input; nesting is bounded.
#include "rollupd/http/json_parse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace rollup::http {
namespace {

std::string nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

TEST(json_parse, GivesTheValue) {
  const auto p = parse_json(R"({"Email":"a@example.com","Extra":[1,2.5,null,{"k":"v"}]})");
  ASSERT_FALSE(p.error);
  EXPECT_EQ(p.value, nlohmann::json::parse(R"({"Email":"a@example.com","Extra":[1,2.5,null,{"k":"v"}]})"));
}

TEST(json_parse, NestingUpToTheLimitIsAccepted) {
  const auto p = parse_json(nested(max_json_depth));
  ASSERT_FALSE(p.error) << p.error->reason;
  EXPECT_TRUE(p.value.is_array());
}

TEST(json_parse, NestingPastTheLimitIsRefused) {
  for (const auto& text : {nested(max_json_depth + 1), R"({"a":)" + nested(max_json_depth) + "}", nested(100000)}) {
    const auto p = parse_json(text);
    ASSERT_TRUE(p.error);
    EXPECT_EQ(p.error->reason, "nested deeper than 64 levels");
    EXPECT_FALSE(p.error->offset);
    EXPECT_TRUE(p.value.is_null());
  }
}

TEST(json_parse, SaysWhereTheTextBrokeWithoutEchoingIt) {
  const std::string text = R"({"Email":"secret@example.com",})";
  const auto p = parse_json(text);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->offset, text.size() - 1);
  EXPECT_EQ(p.error->reason.find("secret"), std::string::npos) << p.error->reason;
  EXPECT_TRUE(p.value.is_null());

  for (const std::string bad : {"", "{} x", "[1,]", "\"\xff\""}) {
    const auto q = parse_json(bad);
    EXPECT_TRUE(q.error) << bad;
    EXPECT_TRUE(q.error && q.error->offset) << bad;
  }
}

TEST(json_parse, ANumberTooLargeSaysWhereItStartsWithoutEchoingIt) {
  for (const std::string& number : {std::string("1e999999"), std::string("-1e400"), std::string(400, '9')}) {
    const std::string text = R"({"Email":"a@example.com","X":)" + number + "}";
    const auto p = parse_json(text);
    ASSERT_TRUE(p.error) << number;
    EXPECT_EQ(p.error->offset, text.find(number)) << number;
    EXPECT_EQ(p.error->reason, "number overflow: beyond the range of a double") << number;
    EXPECT_TRUE(p.value.is_null());
  }
  // A large integer is not an overflow: it becomes a double.
  EXPECT_FALSE(parse_json(std::string(30, '9')).error);
}

}  // namespace
}  // namespace rollup::http
