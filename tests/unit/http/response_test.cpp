// The session writes answers as one piece of text (append_wire_text); these
// must be the bytes Beast's own serializer writes for the same message.
#include <gtest/gtest.h>

#include <boost/beast/http/write.hpp>
#include <sstream>

#include "rollupd/http/response.hpp"

namespace rollup::http {
namespace {

namespace bhttp = boost::beast::http;

std::string beast_text(response res) {
  std::ostringstream out;
  out << res;
  return out.str();
}

std::string our_text(const response& res) {
  std::string out = "left alone:";
  append_wire_text(out, res);
  return out.substr(11);
}

TEST(wire_text, EqualsBeastsSerializer) {
  auto res = json_response(bhttp::status::accepted, std::string(R"({"status":"accepted"})"));
  res.set(bhttp::field::server, "rollupd");
  res.set(bhttp::field::date, "Tue, 01 Dec 2026 00:23:06 GMT");
  res.prepare_payload();
  EXPECT_EQ(our_text(res), beast_text(res));
  EXPECT_EQ(our_text(res).substr(0, 22), "HTTP/1.1 202 Accepted\r");

  res.version(10);
  res.keep_alive(true);
  EXPECT_EQ(our_text(res), beast_text(res));
}

TEST(wire_text, EmptyBodyCustomFieldAndReason) {
  response res{bhttp::status::too_many_requests, 11};
  res.set("Retry-After", "3");
  res.insert("X-Repeated", "a");
  res.insert("X-Repeated", "b");
  res.prepare_payload();
  EXPECT_EQ(our_text(res), beast_text(res));
  res.reason("Slow Down");
  EXPECT_EQ(our_text(res), beast_text(res));
}

TEST(wire_text, AnswerToHeadLeavesTheBodyOutButNotItsLength) {
  auto res = json_response(bhttp::status::ok, std::string(R"({"ready":true})"));
  res.prepare_payload();
  std::string head;
  append_wire_text(head, res, wire_body::without);
  const auto full = beast_text(res);
  EXPECT_EQ(head, full.substr(0, full.size() - res.body().size()));
  EXPECT_NE(head.find("Content-Length: 14\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace rollup::http
