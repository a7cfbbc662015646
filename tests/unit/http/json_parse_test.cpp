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

TEST(json_parse, AKeyGivenTwiceInOneObjectIsRefused) {
  // The last one would win, where another reader may take the first: which
  // user a notification is for must not depend on the reader.
  for (const char* text : {R"({"Email":"a@example.com","Email":"b@example.com"})",
                                 R"([{"Email":"a@example.com"},{"x":{"Email":1,"Email":2}}])"}) {
    const auto p = parse_json(text);
    ASSERT_TRUE(p.error) << text;
    EXPECT_EQ(p.error->reason, "the key \"Email\" is given twice in one object: which one was meant is unknown");
    EXPECT_TRUE(p.value.is_null());
  }
  const auto long_key = parse_json(R"({")" + std::string(100, 'k') + R"(":1,")" + std::string(100, 'k') + R"(":2})");
  ASSERT_TRUE(long_key.error);
  EXPECT_EQ(long_key.error->reason, "a key is given twice in one object: which one was meant is unknown");
  // The same key in different objects, and keys differing only in case, are
  // the decoder's business.
  const auto p = parse_json(R"([{"Email":"a@example.com"},{"Email":"b@example.com","email":"c@example.com"}])");
  ASSERT_FALSE(p.error) << p.error->reason;
  EXPECT_EQ(p.value.dump(), R"([{"Email":"a@example.com"},{"Email":"b@example.com","email":"c@example.com"}])");
}

TEST(json_parse, BuildsEveryKindOfValue) {
  const std::string text = R"({"a":[1,-2,3.5,true,false,null,"s",{},[]],"b":{"c":{"d":[[{"e":"f"}]]}},"n":18446744073709551615})";
  const auto p = parse_json(text);
  ASSERT_FALSE(p.error) << p.error->reason;
  EXPECT_EQ(p.value, nlohmann::json::parse(text));
  EXPECT_TRUE(p.value["n"].is_number_unsigned());
  EXPECT_TRUE(p.value["a"][1].is_number_integer());
  EXPECT_EQ(parse_json("\"top\"").value, "top");
  EXPECT_EQ(parse_json("42").value, 42);
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
