// Validation of SecurityNotification input (SPEC §1, §4.1 arrays).

#include "rollupd/core/decode.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rollup {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const timestamp received = *parse_rfc3339("2026-01-01T12:00:00Z");

json minimal() { return json{{"Email", "a@example.com"}, {"Notification", "test notification"}}; }

json with(json j, const std::string& key, json value) {
  j[key] = std::move(value);
  return j;
}

json without(json j, const std::string& key) {
  j.erase(key);
  return j;
}

std::size_t count_field(const error& e, std::string_view field) {
  return static_cast<std::size_t>(
      std::count_if(e.fields.begin(), e.fields.end(), [&](const field_error& f) { return f.field == field; }));
}

// The decode failed with validation_failed, and `fields` holds an entry for
// `field` whose rule is non-empty and contains `rule_part`.
::testing::AssertionResult fails_on(const result<notification>& r, std::string_view field,
                                    std::string_view rule_part = "") {
  if (r) return ::testing::AssertionFailure() << "decoded, but expected a failure on " << field;
  const auto& e = r.err();
  if (e.code != errc::validation_failed) return ::testing::AssertionFailure() << "wrong errc";
  if (e.detail.empty()) return ::testing::AssertionFailure() << "empty detail";
  for (const auto& f : e.fields) {
    if (f.field == field && f.index == -1 && !f.rule.empty() && f.rule.find(rule_part) != std::string::npos)
      return ::testing::AssertionSuccess();
  }
  auto out = ::testing::AssertionFailure() << "no field error for '" << field << "' with '" << rule_part
                                           << "'; got:";
  for (const auto& f : e.fields) out << " [" << f.index << "] '" << f.field << "': " << f.rule << ";";
  return out;
}

result<notification> decode(const json& j) { return decode_notification(j, received); }

// ------------------------------------------------------------ the example

TEST(DecodeNotification, SpecExampleBody) {
  const auto body = json::parse(
      R"({"Email":"a@example.com","Notification":"test notification","Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0})");
  const auto r = decode(body);
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->email, "a@example.com");
  EXPECT_EQ(r->correlation_id, "a@example.com");
  EXPECT_EQ(r->text, "test notification");
  EXPECT_EQ(r->time, *parse_rfc3339("2019-08-10T15:31:47.808596Z"));
  EXPECT_EQ(r->prio, priority::low);
  EXPECT_FALSE(r->id.has_value());
  EXPECT_TRUE(r->extra.is_object());
  EXPECT_TRUE(r->extra.empty());
}

TEST(DecodeNotification, MinimalBodyTakesDefaults) {
  const auto r = decode(minimal());
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->time, received);
  EXPECT_EQ(r->prio, priority::low);
  EXPECT_FALSE(r->id.has_value());
  EXPECT_TRUE(r->extra.empty());
}

// ---------------------------------------------------------------- keys

TEST(DecodeNotification, KeysAreCaseInsensitive) {
  for (const char* key : {"Email", "EMAIL", "email", "eMail"}) {
    const auto r = decode(json{{key, "a@example.com"}, {"Notification", "n"}});
    ASSERT_TRUE(r) << key << ": " << r.err().detail;
    EXPECT_EQ(r->correlation_id, "a@example.com") << key;
    EXPECT_TRUE(r->extra.empty()) << key;
  }
}

TEST(DecodeNotification, EveryKnownKeyIsCaseInsensitive) {
  const auto r = decode(json{{"EMAIL", "a@example.com"},
                             {"notification", "n"},
                             {"TIMESTAMP", "2019-08-10T15:31:47Z"},
                             {"pRiOrItY", "high"},
                             {"iD", "key-1"}});
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->email, "a@example.com");
  EXPECT_EQ(r->text, "n");
  EXPECT_EQ(r->time, *parse_rfc3339("2019-08-10T15:31:47Z"));
  EXPECT_EQ(r->prio, priority::high);
  EXPECT_EQ(r->id, "key-1");
  EXPECT_TRUE(r->extra.empty()) << r->extra.dump();
}

TEST(DecodeNotification, SameKeyTwiceInTwoCasesIsRejected) {
  const auto r = decode(json{{"Email", "a@example.com"}, {"EMAIL", "b@example.com"}, {"Notification", "n"}});
  EXPECT_TRUE(fails_on(r, "Email", "more than once"));
  EXPECT_THAT(r.err().detail, ::testing::HasSubstr("Email"));
}

TEST(DecodeNotification, SameKeyTwiceIsRejectedForEveryKnownKey) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "notification", "x")), "Notification", "more than once"));
  EXPECT_TRUE(fails_on(decode(json{{"Email", "a@example.com"},
                                   {"Notification", "n"},
                                   {"Timestamp", "2019-08-10T15:31:47Z"},
                                   {"timestamp", "2019-08-10T15:31:47Z"}}),
                       "Timestamp", "more than once"));
  EXPECT_TRUE(
      fails_on(decode(with(with(minimal(), "Priority", 0), "PRIORITY", 0)), "Priority", "more than once"));
  EXPECT_TRUE(fails_on(decode(with(with(minimal(), "Id", "a"), "ID", "b")), "Id", "more than once"));
}

// A null stands for "not given", but a key spelled twice is still given twice;
// the answer must not depend on which spelling sorts first.
TEST(DecodeNotification, SameKeyTwiceIsRejectedEvenWhenOneIsNull) {
  EXPECT_TRUE(fails_on(decode(json{{"Email", nullptr}, {"email", "a@example.com"}, {"Notification", "n"}}), "Email",
                       "more than once"));
  EXPECT_TRUE(fails_on(decode(json{{"email", nullptr}, {"Email", "a@example.com"}, {"Notification", "n"}}), "Email",
                       "more than once"));
  EXPECT_TRUE(fails_on(decode(with(with(minimal(), "Id", nullptr), "id", "x")), "Id", "more than once"));
  EXPECT_TRUE(fails_on(decode(with(with(minimal(), "id", nullptr), "Id", "x")), "Id", "more than once"));
}

TEST(DecodeNotification, KeyInThreeSpellingsIsNamedOnce) {
  const auto r =
      decode(json{{"Email", "a@example.com"}, {"EMAIL", "a@example.com"}, {"email", "a@example.com"}, {"Notification", "n"}});
  ASSERT_TRUE(fails_on(r, "Email", "more than once"));
  EXPECT_EQ(count_field(r.err(), "Email"), 1U);
}

TEST(DecodeNotification, ExtraKeysAreKeptAsTheyCame) {
  auto body = json::parse(R"({
    "Email": "a@example.com", "Notification": "n", "Priority": 1, "Id": "k",
    "Timestamp": "2019-08-10T15:31:47Z",
    "Source": "ids", "source": "lower-case twin", "Count": 3, "Score": 0.25, "Flag": true, "Nothing": null,
    "Tags": ["a", "b", {"c": [1, 2]}],
    "Meta": {"host": "web-1", "nested": {"deep": [null, false, "x"], "Email": "not the known one"}}
  })");
  const auto r = decode(body);
  ASSERT_TRUE(r) << r.err().detail;
  const json expected = json::parse(R"({
    "Source": "ids", "source": "lower-case twin", "Count": 3, "Score": 0.25, "Flag": true, "Nothing": null,
    "Tags": ["a", "b", {"c": [1, 2]}],
    "Meta": {"host": "web-1", "nested": {"deep": [null, false, "x"], "Email": "not the known one"}}
  })");
  EXPECT_EQ(r->extra, expected);
  for (const char* known : {"Email", "Notification", "Priority", "Id", "Timestamp"})
    EXPECT_FALSE(r->extra.contains(known)) << known;
}

TEST(DecodeNotification, ExtraKeyThatMerelyResemblesAKnownOneIsExtra) {
  const auto r = decode(with(with(minimal(), "E-mail", "x"), "Emails", "y"));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->extra, (json{{"E-mail", "x"}, {"Emails", "y"}}));
}

// ---------------------------------------------------------- null = absent

TEST(DecodeNotification, NullOptionalFieldsAreTreatedAsAbsent) {
  auto body = minimal();
  body["Timestamp"] = nullptr;
  body["Priority"] = nullptr;
  body["Id"] = nullptr;
  const auto r = decode(body);
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->time, received);
  EXPECT_EQ(r->prio, priority::low);
  EXPECT_FALSE(r->id.has_value());
  EXPECT_TRUE(r->extra.empty()) << r->extra.dump();
}

TEST(DecodeNotification, NullRequiredFieldsAreMissing) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", nullptr)), "Email", "required"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", nullptr)), "Notification", "required"));
}

// ------------------------------------------------------------------ Email

TEST(DecodeEmail, TrimmedAndLowerCasedCorrelationId) {
  const auto r = decode(with(minimal(), "Email", "  \tAlice.Smith@Example.COM \r\n"));
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->email, "Alice.Smith@Example.COM");
  EXPECT_EQ(r->correlation_id, "alice.smith@example.com");
}

TEST(DecodeEmail, LengthLimits) {
  EXPECT_TRUE(decode(with(minimal(), "Email", "a@b")));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "@b")), "Email", "254"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "")), "Email"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "   ")), "Email"));
  const std::string domain = "@example.com";
  const std::string max_len = std::string(254 - domain.size(), 'x') + domain;
  ASSERT_EQ(max_len.size(), 254U);
  const auto ok = decode(with(minimal(), "Email", max_len));
  ASSERT_TRUE(ok) << ok.err().detail;
  EXPECT_EQ(ok->correlation_id, max_len);
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "x" + max_len)), "Email", "254"));
}

TEST(DecodeEmail, LengthIsCountedAfterTrimming) {
  EXPECT_TRUE(decode(with(minimal(), "Email", "   a@b   ")));
  const std::string max_len = std::string(254 - 4, 'x') + "@b.c";
  EXPECT_TRUE(decode(with(minimal(), "Email", "  " + max_len + "  ")));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", " @b ")), "Email", "254"));
}

TEST(DecodeEmail, LengthIsInBytes) {
  // "é" is two bytes: 126 of them + "@b.c" is 256 bytes.
  std::string local;
  for (int i = 0; i < 126; ++i) local += "\xC3\xA9";
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", local + "@b.c")), "Email", "254"));
  const auto ok = decode(with(minimal(), "Email", "J\xC3\xA9r\xC3\xB4me@Example.com"));
  ASSERT_TRUE(ok) << ok.err().detail;
  EXPECT_EQ(ok->correlation_id, "j\xC3\xA9r\xC3\xB4me@example.com");
}

TEST(DecodeEmail, ExactlyOneAt) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "alice.example.com")), "Email", "'@'"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "a@b@example.com")), "Email", "'@'"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "a@@example.com")), "Email", "'@'"));
}

TEST(DecodeEmail, EmptyLocalPartOrDomainRejected) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "@example.com")), "Email", "local part"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", "alice@")), "Email", "domain"));
}

TEST(DecodeEmail, WhitespaceOrControlCharactersInsideRejected) {
  for (const std::string& bad : {std::string("a b@example.com"), std::string("a\t@example.com"),
                                std::string("a@exa\nmple.com"), std::string("a\x01@example.com"),
                                std::string("a@example.com\x7F"), std::string("a\x1F@example.com"),
                                std::string("a\0b@example.com", 15)}) {
    EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", bad)), "Email", "whitespace")) << json(bad).dump();
  }
}

TEST(DecodeEmail, UnicodeWhitespaceControlsAndInvisibleFormattingRejected) {
  // Each would print as a space, as nothing, or reorder the text around it.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"\xC2\x85", "U+0085"},      {"\xC2\x9B", "U+009B"},     {"\xC2\xA0", "U+00A0"},
      {"\xE1\x9A\x80", "U+1680"}, {"\xE2\x80\x83", "U+2003"}, {"\xE2\x80\x8B", "U+200B"},
      {"\xE2\x80\x8F", "U+200F"}, {"\xE2\x80\xA8", "U+2028"}, {"\xE2\x80\xAE", "U+202E"},
      {"\xE2\x81\xA0", "U+2060"}, {"\xE2\x81\xA6", "U+2066"}, {"\xE3\x80\x80", "U+3000"},
      {"\xEF\xBB\xBF", "U+FEFF"}};
  for (const auto& [bytes, name] : cases) {
    const auto r = decode(with(minimal(), "Email", "a" + bytes + "b@example.com"));
    EXPECT_TRUE(fails_on(r, "Email", "whitespace, control or invisible formatting characters (" + name + ")")) << name;
    EXPECT_FALSE(correlation_id_of("ab@example.com" + bytes)) << name << " at the end, where trimming stops";
  }
}

TEST(DecodeEmail, OtherNonAsciiLettersAccepted) {
  // International addresses, the zero-width joiners some scripts spell with,
  // and characters beyond the Basic Multilingual Plane.
  for (const std::string& good : {std::string("\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B\xE5\xAD\x90.cn"),
                                  std::string("\xD9\x85\xE2\x80\x8C\xD9\x8A@example.ir"),
                                  std::string("\xF0\x9F\x98\x80@example.com"), std::string("\xC3\xA9@x.fr")}) {
    const auto r = decode(with(minimal(), "Email", good));
    EXPECT_TRUE(r) << json(good).dump() << ": " << (r ? "" : r.err().detail);
  }
}

TEST(DecodeEmail, InvalidUtf8Rejected) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", std::string("a\xFF@example.com"))), "Email", "UTF-8"));
}

TEST(DecodeEmail, RequiredAndMustBeAString) {
  EXPECT_TRUE(fails_on(decode(without(minimal(), "Email")), "Email", "required"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", 42)), "Email", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", json::array({"a@example.com"}))), "Email", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", json{{"a", "b"}})), "Email", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Email", true)), "Email", "string"));
}

TEST(DecodeEmail, CorrelationIdOfDirectly) {
  const auto ok = correlation_id_of("  Bob@EXAMPLE.org ");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "bob@example.org");
  const auto bad = correlation_id_of("bob");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.err().code, errc::validation_failed);
  EXPECT_FALSE(bad.err().detail.empty());
}

// ----------------------------------------------------------- Notification

TEST(DecodeText, RequiredAndMustBeAString) {
  EXPECT_TRUE(fails_on(decode(without(minimal(), "Notification")), "Notification", "required"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", 7)), "Notification", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", json{{"text", "x"}})), "Notification", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", json::array({"x"}))), "Notification", "string"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", false)), "Notification", "string"));
}

TEST(DecodeText, LengthLimits) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", "")), "Notification", "16384"));
  const auto one = decode(with(minimal(), "Notification", "x"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->text, "x");
  const auto max = decode(with(minimal(), "Notification", std::string(16384, 'x')));
  ASSERT_TRUE(max) << max.err().detail;
  EXPECT_EQ(max->text.size(), 16384U);
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", std::string(16385, 'x'))), "Notification", "16384"));
}

TEST(DecodeText, LengthIsInBytes) {
  std::string two_byte;
  for (int i = 0; i < 8192; ++i) two_byte += "\xC3\xA9";
  ASSERT_EQ(two_byte.size(), 16384U);
  EXPECT_TRUE(decode(with(minimal(), "Notification", two_byte)));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", two_byte + "x")), "Notification", "16384"));
}

TEST(DecodeText, KeptExactly) {
  const std::string text = "  line one\nline two \xE2\x9C\x93 \"quoted\"\t";
  const auto r = decode(with(minimal(), "Notification", text));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, text);
}

TEST(DecodeText, InvalidUtf8Rejected) {
  for (const std::string& bad : {std::string("\xFF"), std::string("abc\xC3"), std::string("\xC0\x80"),
                                std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80")}) {
    EXPECT_TRUE(fails_on(decode(with(minimal(), "Notification", bad)), "Notification", "UTF-8"));
  }
  EXPECT_TRUE(decode(with(minimal(), "Notification", std::string("\xF0\x9F\x94\x92 locked"))));
}

// --------------------------------------------------------------- Priority

TEST(DecodePriority, Integers) {
  EXPECT_EQ(decode(with(minimal(), "Priority", 0))->prio, priority::low);
  EXPECT_EQ(decode(with(minimal(), "Priority", 1))->prio, priority::medium);
  EXPECT_EQ(decode(with(minimal(), "Priority", 2))->prio, priority::high);
  EXPECT_EQ(decode(with(minimal(), "Priority", 2U))->prio, priority::high);
}

TEST(DecodePriority, NamesInAnyCase) {
  EXPECT_EQ(decode(with(minimal(), "Priority", "low"))->prio, priority::low);
  EXPECT_EQ(decode(with(minimal(), "Priority", "Medium"))->prio, priority::medium);
  EXPECT_EQ(decode(with(minimal(), "Priority", "HIGH"))->prio, priority::high);
  EXPECT_EQ(decode(with(minimal(), "Priority", "hIgH"))->prio, priority::high);
}

TEST(DecodePriority, DefaultIsLow) { EXPECT_EQ(decode(minimal())->prio, priority::low); }

TEST(DecodePriority, OutOfRangeOrWrongTypeRejected) {
  for (const json& bad : {json(3), json(-1), json(1.5), json(1.0), json("urgent"), json(""), json(" high"),
                          json("3"), json(true), json::array({1}), json{{"p", 1}}, json(4294967296LL),
                          json(18446744073709551615ULL)}) {
    EXPECT_TRUE(fails_on(decode(with(minimal(), "Priority", bad)), "Priority", "HIGH")) << bad.dump();
  }
}

TEST(DecodePriority, ParsePriorityNamesAndDigits) {
  EXPECT_EQ(parse_priority("LOW"), priority::low);
  EXPECT_EQ(parse_priority("medium"), priority::medium);
  EXPECT_EQ(parse_priority("High"), priority::high);
  EXPECT_EQ(parse_priority("0"), priority::low);
  EXPECT_EQ(parse_priority("1"), priority::medium);
  EXPECT_EQ(parse_priority("2"), priority::high);
  EXPECT_FALSE(parse_priority("urgent"));
  EXPECT_FALSE(parse_priority(""));
  EXPECT_FALSE(parse_priority("02"));
  EXPECT_STREQ(priority_name(priority::low), "LOW");
  EXPECT_STREQ(priority_name(priority::medium), "MEDIUM");
  EXPECT_STREQ(priority_name(priority::high), "HIGH");
}

// --------------------------------------------------------------------- Id

TEST(DecodeId, PrintableAsciiUpTo200) {
  const auto one = decode(with(minimal(), "Id", "x"));
  ASSERT_TRUE(one);
  EXPECT_EQ(one->id, "x");
  const auto spaced = decode(with(minimal(), "Id", " order 42 ~!"));
  ASSERT_TRUE(spaced);
  EXPECT_EQ(spaced->id, " order 42 ~!");
  const auto max = decode(with(minimal(), "Id", std::string(200, 'k')));
  ASSERT_TRUE(max);
  EXPECT_EQ(max->id, std::string(200, 'k'));
}

TEST(DecodeId, Rejected) {
  for (const json& bad : {json(std::string(201, 'k')), json(""), json("a\x01z"), json("tab\there"), json("a\x7Fz"),
                          json("caf\xC3\xA9"), json(42), json(true), json::array({"x"})}) {
    EXPECT_TRUE(fails_on(decode(with(minimal(), "Id", bad)), "Id", "200")) << bad.dump();
  }
}

// -------------------------------------------------------------- Timestamp

TEST(DecodeTimestamp, MissingTakesReceivedAt) {
  const auto r = decode(minimal());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time, received);
  const auto other = decode_notification(minimal(), received + 5min);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->time, received + 5min);
}

TEST(DecodeTimestamp, OffsetIsNormalisedToUtc) {
  const auto r = decode(with(minimal(), "Timestamp", "2019-08-10T17:31:47.808596+02:00"));
  ASSERT_TRUE(r);
  EXPECT_EQ(format_rfc3339(r->time), "2019-08-10T15:31:47.808596Z");
}

TEST(DecodeTimestamp, GoZeroTimeMeansNotGiven) {
  const auto r = decode(with(minimal(), "Timestamp", "0001-01-01T00:00:00Z"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->time, received);
}

TEST(DecodeTimestamp, OutOfRangeRejected) {
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Timestamp", "9999-12-31T23:59:59Z")), "Timestamp", "from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"));
  EXPECT_TRUE(fails_on(decode(with(minimal(), "Timestamp", "0001-01-01T00:00:01Z")), "Timestamp", "from 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"));
}

TEST(DecodeTimestamp, InvalidRejected) {
  for (const json& bad : {json("yesterday"), json("2019-08-10T15:31:47"), json("2019-02-30T00:00:00Z"), json(""),
                          json(1565451107), json(true), json{{"t", 1}}}) {
    EXPECT_TRUE(fails_on(decode(with(minimal(), "Timestamp", bad)), "Timestamp", "RFC 3339")) << bad.dump();
  }
}

// ---------------------------------------------------------- size limit

// dump() of `minimal()` plus "Pad": a string of `pad` bytes.
json padded(std::size_t pad) { return with(minimal(), "Pad", std::string(pad, 'p')); }

TEST(DecodeSize, SixtyFourKiBIncludingExtraKeys) {
  const std::size_t overhead = padded(0).dump().size();
  const auto at_limit = padded(max_notification_json_bytes - overhead);
  ASSERT_EQ(at_limit.dump().size(), 65536U);
  const auto ok = decode(at_limit);
  EXPECT_TRUE(ok) << ok.err().detail;

  const auto over = padded(max_notification_json_bytes - overhead + 1);
  ASSERT_EQ(over.dump().size(), 65537U);
  const auto r = decode(over);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::validation_failed);
  ASSERT_EQ(r.err().fields.size(), 1U);
  EXPECT_THAT(r.err().fields[0].rule, ::testing::HasSubstr("65536"));
  EXPECT_THAT(r.err().detail, ::testing::HasSubstr("65536"));
}

TEST(DecodeSize, ManySmallExtraKeysCount) {
  auto body = minimal();
  for (int i = 0; i < 5000; ++i) body["k" + std::to_string(i)] = "0123456789";
  ASSERT_GT(body.dump().size(), max_notification_json_bytes);
  EXPECT_FALSE(decode(body));
}

// Strings held in a json value built in-process need not be valid UTF-8;
// the decoder answers with an error rather than throwing.
TEST(DecodeSize, InvalidUtf8InAnExtraKeyIsRejectedWithoutThrowing) {
  result<notification> r = error{errc::bad_request, "not run", {}};
  EXPECT_NO_THROW(r = decode(with(minimal(), "Extra", std::string("\xFF\xFE"))));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::validation_failed);
  EXPECT_THAT(r.err().detail, ::testing::HasSubstr("UTF-8"));
}

// ------------------------------------------------------ several at once

TEST(DecodeErrors, EveryBrokenRuleIsNamed) {
  const auto r = decode(json{{"Email", "nope"},
                             {"Notification", ""},
                             {"Priority", "urgent"},
                             {"Timestamp", "yesterday"},
                             {"Id", ""},
                             {"Extra", 1}});
  ASSERT_FALSE(r);
  const auto& e = r.err();
  EXPECT_EQ(e.code, errc::validation_failed);
  EXPECT_EQ(e.fields.size(), 5U);
  for (const char* field : {"Email", "Notification", "Priority", "Timestamp", "Id"}) {
    EXPECT_EQ(count_field(e, field), 1U) << field;
    EXPECT_THAT(e.detail, ::testing::HasSubstr(field));
  }
  for (const auto& f : e.fields) {
    EXPECT_EQ(f.index, -1);
    EXPECT_FALSE(f.rule.empty()) << f.field;
  }
}

TEST(DecodeErrors, BothRequiredMissing) {
  const auto r = decode(json::object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().fields.size(), 2U);
  EXPECT_TRUE(fails_on(r, "Email", "required"));
  EXPECT_TRUE(fails_on(r, "Notification", "required"));
}

TEST(DecodeErrors, NonObjectRejected) {
  for (const json& bad : {json::array(), json("a@example.com"), json(1), json(nullptr), json(true)}) {
    const auto r = decode(bad);
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.err().code, errc::validation_failed);
    ASSERT_EQ(r.err().fields.size(), 1U);
    EXPECT_THAT(r.err().fields[0].rule, ::testing::HasSubstr("object"));
  }
}

// ------------------------------------------------------------ decode_body

TEST(DecodeBody, SingleObject) {
  const auto r = decode_body(minimal(), received);
  ASSERT_TRUE(r) << r.err().detail;
  ASSERT_EQ(r->size(), 1U);
  EXPECT_EQ((*r)[0].correlation_id, "a@example.com");
  EXPECT_EQ((*r)[0].time, received);
}

TEST(DecodeBody, SingleBadObjectKeepsIndexMinusOne) {
  const auto r = decode_body(without(minimal(), "Email"), received);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.err().fields.size(), 1U);
  EXPECT_EQ(r.err().fields[0].index, -1);
  EXPECT_EQ(r.err().fields[0].field, "Email");
}

TEST(DecodeBody, ArrayKeepsOrder) {
  json body = json::array();
  for (int i = 0; i < 3; ++i) body.push_back(with(minimal(), "Notification", "n" + std::to_string(i)));
  body[1]["Email"] = "B@example.com";
  const auto r = decode_body(body, received);
  ASSERT_TRUE(r) << r.err().detail;
  ASSERT_EQ(r->size(), 3U);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*r)[i].text, "n" + std::to_string(i));
    EXPECT_EQ((*r)[i].time, received);
  }
  EXPECT_EQ((*r)[1].correlation_id, "b@example.com");
}

TEST(DecodeBody, ArrayOfOneAndOfAThousand) {
  EXPECT_EQ(decode_body(json::array({minimal()}), received)->size(), 1U);
  json body = json::array();
  for (std::size_t i = 0; i < max_batch_size; ++i) body.push_back(minimal());
  const auto r = decode_body(body, received);
  ASSERT_TRUE(r) << r.err().detail;
  EXPECT_EQ(r->size(), 1000U);
}

TEST(DecodeBody, EmptyArrayRejected) {
  const auto r = decode_body(json::array(), received);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::validation_failed);
  EXPECT_FALSE(r.err().fields.empty());
  EXPECT_THAT(r.err().detail, ::testing::HasSubstr("1000"));
}

TEST(DecodeBody, ArrayOf1001Rejected) {
  json body = json::array();
  for (std::size_t i = 0; i < max_batch_size + 1; ++i) body.push_back(minimal());
  const auto r = decode_body(body, received);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().code, errc::validation_failed);
  EXPECT_FALSE(r.err().fields.empty());
  EXPECT_THAT(r.err().detail, ::testing::HasSubstr("1000"));
}

TEST(DecodeBody, BadElementsAtOneAndThreeAreAllNamedAndNothingIsReturned) {
  json body = json::array();
  for (int i = 0; i < 5; ++i) body.push_back(minimal());
  body[1]["Email"] = "not-an-email";
  body[3]["Priority"] = "urgent";
  body[3].erase("Notification");
  const auto r = decode_body(body, received);
  ASSERT_FALSE(r);
  const auto& e = r.err();
  EXPECT_EQ(e.code, errc::validation_failed);
  std::set<long> indexes;
  for (const auto& f : e.fields) indexes.insert(f.index);
  EXPECT_EQ(indexes, (std::set<long>{1, 3}));
  ASSERT_EQ(e.fields.size(), 3U);
  const auto has = [&](long index, std::string_view field) {
    return std::any_of(e.fields.begin(), e.fields.end(),
                       [&](const field_error& f) { return f.index == index && f.field == field && !f.rule.empty(); });
  };
  EXPECT_TRUE(has(1, "Email"));
  EXPECT_TRUE(has(3, "Priority"));
  EXPECT_TRUE(has(3, "Notification"));
  EXPECT_THAT(e.detail, ::testing::HasSubstr("[1]"));
  EXPECT_THAT(e.detail, ::testing::HasSubstr("[3]"));
  EXPECT_THAT(e.detail, ::testing::Not(::testing::HasSubstr("[0]")));
}

TEST(DecodeBody, NonObjectElementIsNamedByIndex) {
  const auto r = decode_body(json::array({minimal(), 5, minimal()}), received);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.err().fields.size(), 1U);
  EXPECT_EQ(r.err().fields[0].index, 1);
}

TEST(DecodeBody, NestedArrayIsNotABatchOfBatches) {
  const auto r = decode_body(json::array({json::array({minimal()})}), received);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.err().fields.at(0).index, 0);
}

TEST(DecodeBody, NonObjectOrArrayBodiesRejected) {
  for (const json& bad : {json("a@example.com"), json(42), json(1.5), json(nullptr), json(true)}) {
    const auto r = decode_body(bad, received);
    ASSERT_FALSE(r) << bad.dump();
    EXPECT_EQ(r.err().code, errc::validation_failed);
    EXPECT_FALSE(r.err().fields.empty());
    EXPECT_FALSE(r.err().detail.empty());
  }
}

}  // namespace
}  // namespace rollup
