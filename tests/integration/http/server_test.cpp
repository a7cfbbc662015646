// The HTTP server against a real aggregator on a real RocksDB in a fresh
// temporary directory, over real sockets on 127.0.0.1, port 0.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "rollupd/http/server.hpp"
#include "rollupd/service/aggregator.hpp"
#include "rollupd/storage/database.hpp"
#include "test_client.hpp"

namespace rollup::test {
namespace {

using bhttp::status;
using bhttp::verb;
using nlohmann::json;

// SPEC §1: the request of the original service's documentation.
constexpr std::string_view spec_body =
    R"({"Email":"a@example.com","Notification":"test notification","Timestamp":"2019-08-10T15:31:47.808596Z","Priority":0})";

class fixed_clock final : public time_source {
 public:
  timestamp now() const override { return from_nanos(now_ns_.load()); }

 private:
  std::atomic<std::int64_t> now_ns_{to_nanos(*parse_rfc3339("2024-05-01T12:00:00Z"))};
};

class http_server : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ =
        std::filesystem::temp_directory_path() / ("rollupd-http-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    storage::database_options dbo;
    dbo.path = dir_.string();
    dbo.sync = false;
    db_ = storage::database::open(dbo);
    aggregator_options ao;
    ao.storage_threads = 2;
    agg_ = std::make_unique<aggregator>(*db_, clock_, ao);
  }

  void TearDown() override {
    if (server_) server_->stop();
    agg_->drain();
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    server_.reset();
    agg_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  void start(http::server_options options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<http::server>(ioc_, *agg_, clock_, std::move(options));
    endpoint_ = server_->start();
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  std::unique_ptr<test_client> connect() {
    auto c = std::make_unique<test_client>(endpoint_);
    EXPECT_FALSE(c->connect_error()) << c->connect_error().message();
    return c;
  }

  // One request on a connection of its own.
  http_response post(std::string_view target, std::string body, header_list headers = {}) {
    return connect()->post_json(target, std::move(body), std::move(headers));
  }
  http_response get(std::string_view target, header_list headers = {}) { return connect()->get(target, headers); }

  // in_flight() drops when the server's write completes, which may be just
  // after the client has read the answer.
  bool in_flight_drops_to_zero() const {
    for (int i = 0; i < 200 && server_->in_flight() != 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return server_->in_flight() == 0;
  }

  static json notification_for(std::string_view email, std::string_view text = "n") {
    return json{{"Email", email}, {"Notification", text}};
  }

  static void expect_problem(const http_response& res, status code, std::string_view slug) {
    EXPECT_EQ(res.result(), code) << res.body();
    EXPECT_EQ(res[bhttp::field::content_type], "application/problem+json");
    const auto body = body_json(res);
    ASSERT_TRUE(body.is_object()) << res.body();
    EXPECT_EQ(body.value("type", ""), "urn:rollupd:problem:" + std::string(slug));
    EXPECT_EQ(body.value("status", 0), static_cast<int>(code));
    EXPECT_FALSE(body.value("title", "").empty());
    EXPECT_FALSE(body.value("detail", "").empty());
  }

  std::filesystem::path dir_;
  fixed_clock clock_;
  std::unique_ptr<storage::database> db_;
  std::unique_ptr<aggregator> agg_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{ioc_.get_executor()};
  std::unique_ptr<http::server> server_;
  std::vector<std::thread> threads_;
  net::ip::tcp::endpoint endpoint_;
};

TEST_F(http_server, spec_request_three_times_emits_a_digest_of_three) {
  start();
  for (int i = 1; i <= 3; ++i) {
    const auto res = post("/notifications", std::string(spec_body));
    ASSERT_EQ(res.result(), status::accepted) << res.body();
    EXPECT_EQ(res[bhttp::field::content_type], "application/json");
    EXPECT_EQ(res[bhttp::field::server], "rollupd");
    EXPECT_FALSE(res[bhttp::field::date].empty());
    const auto body = body_json(res);
    EXPECT_EQ(body["Email"], "a@example.com");
    EXPECT_EQ(body["Duplicate"], false);
    if (i < 3) {
      EXPECT_EQ(body["Pending"], i);
      EXPECT_TRUE(body["Digest"].is_null());
    } else {
      EXPECT_EQ(body["Pending"], 0);
      const auto& d = body["Digest"];
      ASSERT_TRUE(d.is_object()) << res.body();
      EXPECT_EQ(d["Count"], 3);
      EXPECT_EQ(d["Reason"], "count");
      EXPECT_EQ(d["Email"], "a@example.com");
      EXPECT_EQ(d["Late"], false);
      ASSERT_EQ(d["Notifications"].size(), 3U);
      EXPECT_EQ(d["Notifications"][0]["Timestamp"], "2019-08-10T15:31:47.808596Z");
      EXPECT_EQ(d["Notifications"][0]["Notification"], "test notification");
      EXPECT_FALSE(d.value("Id", "").empty());
    }
  }
  // The completed group is gone.
  expect_problem(get("/v1/aggregations/a%40example.com"), status::not_found, "not-found");
}

TEST_F(http_server, v1_path_and_case_insensitive_keys) {
  start();
  const auto res =
      post("/v1/notifications", R"({"EMAIL":" B@Example.com ","notification":"x","PRIORITY":"low","Extra":1})");
  ASSERT_EQ(res.result(), status::accepted) << res.body();
  EXPECT_EQ(body_json(res)["Email"], "b@example.com");
  EXPECT_EQ(body_json(res)["Pending"], 1);

  const auto group = get("/v1/aggregations/B%40EXAMPLE.com");
  ASSERT_EQ(group.result(), status::ok) << group.body();
  const auto body = body_json(group);
  EXPECT_EQ(body["Email"], "b@example.com");
  EXPECT_EQ(body["Count"], 1);
  EXPECT_EQ(body["FirstReceivedAt"], "2024-05-01T12:00:00Z");
  EXPECT_EQ(body["DueAt"], "2024-05-01T12:10:00Z");  // the service's default completion timeout
  ASSERT_EQ(body["Notifications"].size(), 1U);
  EXPECT_EQ(body["Notifications"][0]["Email"], "B@Example.com");
  EXPECT_EQ(body["Notifications"][0]["Priority"], 0);
  EXPECT_EQ(body["Notifications"][0]["Extra"], 1);
}

TEST_F(http_server, array_with_invalid_elements_is_refused_whole) {
  start();
  const json batch =
      json::array({notification_for("ok@example.com"), json{{"Email", "not-an-email"}, {"Notification", "x"}},
                   notification_for("ok@example.com"), json{{"Email", "c@example.com"}, {"Priority", "URGENT"}}});
  const auto res = post("/notifications", batch.dump());
  expect_problem(res, status::unprocessable_entity, "validation-failed");
  const auto errors = body_json(res)["errors"];
  ASSERT_TRUE(errors.is_array());
  std::vector<std::pair<int, std::string>> named;
  for (const auto& e : errors) named.emplace_back(e["index"].get<int>(), e["field"].get<std::string>());
  EXPECT_NE(std::find(named.begin(), named.end(), std::pair<int, std::string>{1, "Email"}), named.end());
  EXPECT_NE(std::find(named.begin(), named.end(), std::pair<int, std::string>{3, "Notification"}), named.end());
  EXPECT_NE(std::find(named.begin(), named.end(), std::pair<int, std::string>{3, "Priority"}), named.end());
  for (const auto& [index, field] : named) EXPECT_TRUE(index == 1 || index == 3) << index << " " << field;

  // Nothing was stored.
  expect_problem(get("/v1/aggregations/ok%40example.com"), status::not_found, "not-found");
}

TEST_F(http_server, array_of_valid_notifications_answers_results_in_order) {
  start();
  const json batch = json::array(
      {notification_for("x@example.com"), notification_for("y@example.com"), notification_for("x@example.com")});
  const auto res = post("/notifications", batch.dump());
  ASSERT_EQ(res.result(), status::accepted) << res.body();
  const auto results = body_json(res)["Results"];
  ASSERT_EQ(results.size(), 3U);
  EXPECT_EQ(results[0]["Email"], "x@example.com");
  EXPECT_EQ(results[0]["Pending"], 1);
  EXPECT_EQ(results[1]["Email"], "y@example.com");
  EXPECT_EQ(results[1]["Pending"], 1);
  EXPECT_EQ(results[2]["Email"], "x@example.com");
  EXPECT_EQ(results[2]["Pending"], 2);
}

TEST_F(http_server, malformed_json_is_400_with_the_byte_offset) {
  start();
  const std::string bad = R"({"Email":"a@example.com",})";
  const auto res = post("/notifications", bad);
  expect_problem(res, status::bad_request, "bad-request");
  const auto body = body_json(res);
  EXPECT_EQ(body["offset"], bad.size() - 1);
  EXPECT_NE(body["detail"].get<std::string>().find("byte offset " + std::to_string(bad.size() - 1)), std::string::npos)
      << body["detail"];

  const auto empty = post("/notifications", "");
  expect_problem(empty, status::bad_request, "bad-request");
  EXPECT_EQ(body_json(empty)["offset"], 0);

  // Nesting is bounded, so a small body cannot make deep recursion later.
  const auto deep =
      R"({"Email":"a@example.com","Notification":"x","Extra":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
  expect_problem(post("/notifications", deep), status::bad_request, "bad-request");
}

TEST_F(http_server, content_type_must_be_json) {
  start();
  const auto res = post("/notifications", std::string(spec_body), {{"Content-Type", "text/plain"}});
  expect_problem(res, status::unsupported_media_type, "unsupported-media-type");
  EXPECT_NE(body_json(res)["detail"].get<std::string>().find("Content-Type: application/json"), std::string::npos);

  EXPECT_EQ(
      post("/notifications", std::string(spec_body), {{"Content-Type", "application/json; charset=utf-8"}}).result(),
      status::accepted);
  EXPECT_EQ(post("/notifications", std::string(spec_body), {{"Content-Type", "Application/Vnd.Rollup+JSON"}}).result(),
            status::accepted);
  auto c = connect();
  c->write_raw("POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(spec_body.size()) +
               "\r\n\r\n" + std::string(spec_body));
  EXPECT_EQ(c->read().second.result(), status::accepted);  // no Content-Type at all
}

TEST_F(http_server, content_length_over_the_limit_is_413_before_the_body) {
  http::server_options o;
  o.max_body_bytes = 1024;
  start(o);
  auto c = connect();
  ASSERT_FALSE(
      c->write_raw("POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 5000000\r\n\r\n"));
  auto [ec, res] = c->read();  // answered although no body byte was sent
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::payload_too_large, "payload-too-large");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(http_server, chunked_body_over_the_limit_is_413) {
  http::server_options o;
  o.max_body_bytes = 1024;
  start(o);
  auto c = connect();
  const std::string chunk(1500, 'x');
  std::string raw = "POST /notifications HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw += "5dc\r\n" + chunk + "\r\n0\r\n\r\n";
  ASSERT_FALSE(c->write_raw(raw));
  auto [ec, res] = c->read();
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::payload_too_large, "payload-too-large");
}

// The body usually arrives with the header and is parsed from the buffer
// without another read; these drive the other ways it can come: split
// across two writes 100 ms apart, and in chunks.
TEST_F(http_server, a_body_split_across_writes_or_chunked_is_read_whole) {
  start();
  const std::string head = "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n";
  const auto chunk = [](const std::string& part) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx", part.size());
    return std::string(size) + "\r\n" + part + "\r\n";
  };
  for (const bool chunked : {false, true}) {
    SCOPED_TRACE(chunked ? "chunked" : "split");
    auto c = connect();
    const std::string body = notification_for(chunked ? "chunked@example.com" : "split@example.com").dump();
    const auto first = body.substr(0, body.size() / 2);
    const auto second = body.substr(first.size());
    if (chunked) {
      ASSERT_FALSE(
          c->write_raw(head + "Transfer-Encoding: chunked\r\n\r\n" + chunk(first) + chunk(second) + "0\r\n\r\n"));
    } else {
      ASSERT_FALSE(c->write_raw(head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + first));
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
      ASSERT_FALSE(c->write_raw(second));
    }
    auto [ec, res] = c->read();
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(res.result(), status::accepted) << res.body();
    EXPECT_EQ(body_json(res)["Pending"], 1);
  }
}

TEST_F(http_server, a_malformed_chunked_body_is_400_and_closes) {
  start();
  auto c = connect();
  ASSERT_FALSE(
      c->write_raw("POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"));
  auto [ec, res] = c->read();
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::bad_request, "bad-request");
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(http_server, headers_over_16k_are_431) {
  start();
  auto c = connect();
  ASSERT_FALSE(c->write_raw("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
  auto [ec, res] = c->read();
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::request_header_fields_too_large, "header-too-large");
}

TEST_F(http_server, malformed_http_is_400_and_closes) {
  start();
  auto c = connect();
  ASSERT_FALSE(c->write_raw("GET /livez HTTP/1.1\r\nHost x\r\n\r\n"));
  auto [ec, res] = c->read();
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::bad_request, "bad-request");
  EXPECT_TRUE(c->closed_by_server());
}

TEST_F(http_server, known_path_with_another_method_is_405_with_allow) {
  start();
  const auto res = get("/notifications");
  expect_problem(res, status::method_not_allowed, "method-not-allowed");
  EXPECT_EQ(res[bhttp::field::allow], "POST");

  const auto del = connect()->send(verb::delete_, "/v1/aggregations/a%40example.com");
  expect_problem(del, status::method_not_allowed, "method-not-allowed");
  EXPECT_EQ(del[bhttp::field::allow], "GET, HEAD");
}

// HEAD is GET without the body, and no answer to HEAD carries one: the
// request pipelined after it must be read as its own answer.
TEST_F(http_server, head_is_answered_as_get_without_the_body) {
  start();
  const auto full = get("/readyz");
  ASSERT_EQ(full.result(), status::ok);
  ASSERT_FALSE(full.body().empty());

  auto c = connect();
  ASSERT_FALSE(
      c->write_raw("HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
                   "HEAD /notifications HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [e1, head] = c->read(true);
  ASSERT_FALSE(e1) << e1.message();
  EXPECT_EQ(head.result(), status::ok);
  EXPECT_EQ(head[bhttp::field::content_length], std::to_string(full.body().size()));
  EXPECT_TRUE(head.body().empty());

  auto [e2, refused] = c->read(true);
  ASSERT_FALSE(e2) << e2.message();
  EXPECT_EQ(refused.result(), status::method_not_allowed);
  EXPECT_EQ(refused[bhttp::field::allow], "POST");
  EXPECT_TRUE(refused.body().empty());

  auto [e3, after] = c->read();
  ASSERT_FALSE(e3) << e3.message();
  EXPECT_EQ(after.result(), status::ok) << after.body();
  EXPECT_TRUE(in_flight_drops_to_zero());
}

TEST_F(http_server, unknown_path_is_404_problem) {
  start();
  expect_problem(get("/nope"), status::not_found, "not-found");
  expect_problem(get("/v1/digests/does-not-exist"), status::not_found, "not-found");
  expect_problem(get("/v1/aggregations/not-an-email"), status::not_found, "not-found");
  expect_problem(get("/v1/aggregations/a%ZZ"), status::bad_request, "bad-request");
}

TEST_F(http_server, api_token_is_required_on_the_api_only) {
  http::server_options o;
  o.api_token = "s3cret-token";
  start(o);
  const auto none = post("/notifications", std::string(spec_body));
  expect_problem(none, status::unauthorized, "unauthorized");
  EXPECT_EQ(none[bhttp::field::www_authenticate], "Bearer");
  expect_problem(post("/v1/notifications", std::string(spec_body), {{"Authorization", "Bearer wrong"}}),
                 status::unauthorized, "unauthorized");
  expect_problem(get("/v1/aggregations"), status::unauthorized, "unauthorized");
  EXPECT_EQ(get("/v1/aggregations", {{"Authorization", "bearer s3cret-token"}}).result(), status::ok);

  const auto ok = post("/notifications", std::string(spec_body), {{"Authorization", "Bearer s3cret-token"}});
  EXPECT_EQ(ok.result(), status::accepted) << ok.body();

  EXPECT_EQ(get("/livez").result(), status::ok);
  EXPECT_EQ(get("/readyz").result(), status::ok);
}

TEST_F(http_server, pipelined_requests_are_answered_in_order) {
  start();
  auto c = connect();
  const auto n = notification_for("p@example.com").dump();
  const auto post_req =
      "POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(n.size()) + "\r\n\r\n" + n;
  const std::string get_req = "GET /v1/aggregations/p%40example.com HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_FALSE(c->write_raw(post_req + post_req + get_req + "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));

  auto [e1, r1] = c->read();
  ASSERT_FALSE(e1) << e1.message();
  EXPECT_EQ(r1.result(), status::accepted);
  EXPECT_EQ(body_json(r1)["Pending"], 1);
  auto [e2, r2] = c->read();
  ASSERT_FALSE(e2) << e2.message();
  EXPECT_EQ(r2.result(), status::accepted);
  EXPECT_EQ(body_json(r2)["Pending"], 2);
  auto [e3, r3] = c->read();
  ASSERT_FALSE(e3) << e3.message();
  ASSERT_EQ(r3.result(), status::ok) << r3.body();
  EXPECT_EQ(body_json(r3)["Count"], 2);  // a GET behind a POST sees its effect
  auto [e4, r4] = c->read();
  ASSERT_FALSE(e4) << e4.message();
  EXPECT_EQ(r4.result(), status::ok);
  EXPECT_EQ(body_json(r4)["status"], "ok");
}

TEST_F(http_server, many_pipelined_requests_beyond_the_queue_bound) {
  start();
  auto c = connect();
  std::string all;
  for (int i = 0; i < 40; ++i) all += "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_FALSE(c->write_raw(all));
  for (int i = 0; i < 40; ++i) {
    auto [ec, res] = c->read();
    ASSERT_FALSE(ec) << i << ": " << ec.message();
    EXPECT_EQ(res.result(), status::ok);
  }
}

TEST_F(http_server, keep_alive_reuses_one_connection) {
  start();
  auto c = connect();
  for (int i = 1; i <= 2; ++i) {
    const auto res = c->post_json("/notifications", notification_for("k@example.com").dump());
    ASSERT_EQ(res.result(), status::accepted) << res.body();
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(body_json(res)["Pending"], i);
  }
  EXPECT_EQ(c->get("/v1/aggregations/k%40example.com").result(), status::ok);
  EXPECT_EQ(server_->connections(), 1U);
  EXPECT_TRUE(in_flight_drops_to_zero());
}

TEST_F(http_server, expect_100_continue_gets_an_interim_answer) {
  start();
  auto c = connect();
  const std::string body(spec_body);
  ASSERT_FALSE(
      c->write_raw("POST /notifications HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Expect: 100-continue\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n"));
  auto [e1, interim] = c->read();
  ASSERT_FALSE(e1) << e1.message();
  EXPECT_EQ(interim.result(), status::continue_);
  ASSERT_FALSE(c->write_raw(body));
  auto [e2, res] = c->read();
  ASSERT_FALSE(e2) << e2.message();
  EXPECT_EQ(res.result(), status::accepted) << res.body();
}

TEST_F(http_server, idempotency_key_makes_a_repeat_a_duplicate) {
  start();
  const auto body = notification_for("i@example.com").dump();
  const auto first = post("/notifications", body, {{"Idempotency-Key", "order-42"}});
  ASSERT_EQ(first.result(), status::accepted) << first.body();
  EXPECT_EQ(body_json(first)["Duplicate"], false);
  EXPECT_EQ(body_json(first)["Pending"], 1);
  const auto again = post("/notifications", body, {{"Idempotency-Key", "order-42"}});
  ASSERT_EQ(again.result(), status::accepted) << again.body();
  EXPECT_EQ(body_json(again)["Duplicate"], true);
  EXPECT_EQ(body_json(again)["Pending"], 1);

  const auto with_array = post("/notifications", json::array({notification_for("i@example.com")}).dump(),
                               {{"Idempotency-Key", "order-43"}});
  expect_problem(with_array, status::unprocessable_entity, "validation-failed");
  EXPECT_EQ(body_json(with_array)["errors"][0]["field"], "Idempotency-Key");
  EXPECT_FALSE(body_json(with_array)["errors"][0].contains("index"));

  const auto too_long = post("/notifications", body, {{"Idempotency-Key", std::string(201, 'k')}});
  expect_problem(too_long, status::unprocessable_entity, "validation-failed");
  EXPECT_EQ(body_json(too_long)["errors"][0]["field"], "Idempotency-Key");

  EXPECT_EQ(body_json(get("/v1/aggregations/i%40example.com"))["Count"], 1);
}

TEST_F(http_server, flush_emits_the_open_group) {
  start();
  ASSERT_EQ(post("/notifications", notification_for("f@example.com", "one").dump()).result(), status::accepted);
  ASSERT_EQ(post("/notifications", notification_for("f@example.com", "two").dump()).result(), status::accepted);

  const auto res = connect()->send(verb::post, "/v1/aggregations/F%40example.com/flush");
  ASSERT_EQ(res.result(), status::ok) << res.body();
  const auto d = body_json(res)["Digest"];
  EXPECT_EQ(d["Reason"], "flush");
  EXPECT_EQ(d["Count"], 2);
  EXPECT_EQ(d["Email"], "f@example.com");
  const auto id = d["Id"].get<std::string>();

  expect_problem(get("/v1/aggregations/f%40example.com"), status::not_found, "not-found");
  expect_problem(connect()->send(verb::post, "/v1/aggregations/f%40example.com/flush"), status::not_found, "not-found");

  const auto one = get("/v1/digests/" + id);
  ASSERT_EQ(one.result(), status::ok) << one.body();
  EXPECT_EQ(body_json(one)["Id"], id);
  EXPECT_EQ(body_json(one)["Count"], 2);

  const auto list = get("/v1/digests?email=f%40example.com");
  ASSERT_EQ(list.result(), status::ok) << list.body();
  ASSERT_EQ(body_json(list)["Digests"].size(), 1U);
  EXPECT_EQ(body_json(list)["Digests"][0]["Id"], id);
  EXPECT_TRUE(body_json(list)["Next"].is_null());
}

TEST_F(http_server, digests_show_delivery_state_and_redeliver_takes_only_dead_letters) {
  start();
  ASSERT_EQ(post("/notifications", json{{"Email", "r@example.com"}, {"Notification", "x"}, {"Priority", "HIGH"}}.dump())
                .result(),
            status::accepted);
  const auto list = body_json(get("/v1/digests?email=r%40example.com"));
  ASSERT_EQ(list["Digests"].size(), 1U);
  const auto id = list["Digests"][0]["Id"].get<std::string>();
  const auto log_state = list["Digests"][0]["Delivery"]["log"];
  EXPECT_EQ(log_state["State"], "pending");  // no dispatcher runs in this test
  EXPECT_EQ(log_state["Attempts"], 0);
  EXPECT_TRUE(log_state["LastError"].is_null());

  expect_problem(connect()->send(verb::post, "/v1/digests/" + id + "/redeliver"), status::conflict, "conflict");
  expect_problem(connect()->send(verb::post, "/v1/digests/nope/redeliver"), status::not_found, "not-found");

  auto entries = db_->list_outbox("log", 10);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries->size(), 1U);
  auto e = (*entries)[0];
  e.attempts = 20;
  ASSERT_TRUE(db_->dead_letter(e, "HTTP 500 from the receiver"));
  const auto dead = body_json(get("/v1/digests/" + id))["Delivery"]["log"];
  EXPECT_EQ(dead["State"], "dead");
  EXPECT_EQ(dead["Attempts"], 20);
  EXPECT_EQ(dead["LastError"], "HTTP 500 from the receiver");

  const auto again = connect()->send(verb::post, "/v1/digests/" + id + "/redeliver");
  ASSERT_EQ(again.result(), status::accepted) << again.body();
  EXPECT_EQ(body_json(again)["Requeued"], 1);
  const auto requeued = body_json(get("/v1/digests/" + id))["Delivery"]["log"];
  EXPECT_EQ(requeued["State"], "pending");
  EXPECT_EQ(requeued["Attempts"], 0);
}

TEST_F(http_server, aggregations_are_listed_in_pages) {
  start();
  for (const auto* email : {"u3@example.com", "u1@example.com", "u5@example.com", "u2@example.com", "u4@example.com"})
    ASSERT_EQ(post("/notifications", notification_for(email).dump()).result(), status::accepted);

  const auto page1 = body_json(get("/v1/aggregations?limit=2"));
  ASSERT_EQ(page1["Aggregations"].size(), 2U) << page1;
  EXPECT_EQ(page1["Aggregations"][0]["Email"], "u1@example.com");
  EXPECT_EQ(page1["Aggregations"][0]["Count"], 1);
  EXPECT_EQ(page1["Aggregations"][0]["FirstReceivedAt"], "2024-05-01T12:00:00Z");
  EXPECT_TRUE(page1["Aggregations"][0].contains("DueAt"));
  EXPECT_EQ(page1["Aggregations"][1]["Email"], "u2@example.com");
  EXPECT_EQ(page1["Next"], "u2@example.com");

  const auto page2 = body_json(get("/v1/aggregations?limit=2&after=u2%40example.com"));
  ASSERT_EQ(page2["Aggregations"].size(), 2U) << page2;
  EXPECT_EQ(page2["Aggregations"][0]["Email"], "u3@example.com");
  EXPECT_EQ(page2["Next"], "u4@example.com");

  const auto page3 = body_json(get("/v1/aggregations?limit=2&after=u4@example.com"));
  ASSERT_EQ(page3["Aggregations"].size(), 1U) << page3;
  EXPECT_EQ(page3["Aggregations"][0]["Email"], "u5@example.com");
  EXPECT_TRUE(page3["Next"].is_null());

  EXPECT_EQ(body_json(get("/v1/aggregations"))["Aggregations"].size(), 5U);

  for (const auto* bad : {"/v1/aggregations?limit=0", "/v1/aggregations?limit=1001", "/v1/aggregations?limit=ten"}) {
    const auto res = get(bad);
    expect_problem(res, status::unprocessable_entity, "validation-failed");
    EXPECT_EQ(body_json(res)["errors"][0]["field"], "limit") << bad;
  }
}

TEST_F(http_server, readyz_turns_503_when_draining) {
  start();
  const auto ready = get("/readyz");
  ASSERT_EQ(ready.result(), status::ok) << ready.body();
  EXPECT_EQ(body_json(ready)["status"], "ready");
  EXPECT_EQ(body_json(get("/livez"))["status"], "ok");

  auto probe = connect();  // connections opened before the drain stay open
  auto producer = connect();
  EXPECT_EQ(probe->get("/livez").result(), status::ok);
  EXPECT_EQ(producer->get("/livez").result(), status::ok);

  server_->begin_drain();

  const auto draining = probe->get("/readyz");
  expect_problem(draining, status::service_unavailable, "draining");
  EXPECT_FALSE(draining[bhttp::field::retry_after].empty());
  EXPECT_FALSE(draining.keep_alive());

  const auto refused = producer->post_json("/notifications", std::string(spec_body));
  expect_problem(refused, status::service_unavailable, "draining");
  EXPECT_FALSE(refused[bhttp::field::retry_after].empty());
  EXPECT_FALSE(refused.keep_alive());
  EXPECT_TRUE(producer->closed_by_server());
  EXPECT_TRUE(in_flight_drops_to_zero());
}

// A keep-alive answer still being written when the drain begins: the
// connection stays open, and the client's next request gets the 503 (it
// used to be closed under that request: "end of stream").
TEST_F(http_server, a_connection_written_to_across_the_drain_answers_its_next_request_503) {
  start();
  // An answer larger than the server's send buffer can grow to
  // (tcp_wmem's maximum) and the client's small receive buffer together,
  // so its write waits for the client to read.
  std::size_t send_buffer_max = 4 * 1024 * 1024;
  if (std::ifstream wmem("/proc/sys/net/ipv4/tcp_wmem"); wmem) {
    std::size_t min = 0;
    std::size_t initial = 0;
    wmem >> min >> initial >> send_buffer_max;
  }
  // Digests of three notifications of 16,000 bytes, posted 20 to a request.
  const std::string text(16000, 'x');
  const std::size_t digests = (2 * send_buffer_max / (3 * text.size()) / 20 + 1) * 20;
  const json twenty(60, notification_for("big@example.com", text));
  for (std::size_t i = 0; i < digests / 20; ++i)
    ASSERT_EQ(post("/notifications", twenty.dump()).result(), status::accepted);

  test_client c(endpoint_, 4096);
  ASSERT_FALSE(c.connect_error());
  ASSERT_FALSE(c.write_raw("GET /v1/digests?email=big%40example.com&limit=" + std::to_string(digests) +
                           " HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_FALSE(c.read_first_bytes());  // the answer is being written, keep-alive
  server_->begin_drain();

  const auto [ec, listed] = c.read();
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(listed.result(), status::ok);
  EXPECT_TRUE(listed.keep_alive());
  EXPECT_EQ(body_json(listed)["Digests"].size(), digests);

  const auto draining = c.get("/readyz");
  expect_problem(draining, status::service_unavailable, "draining");
  EXPECT_FALSE(draining.keep_alive());
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_TRUE(in_flight_drops_to_zero());
}

TEST_F(http_server, connections_over_the_cap_get_503) {
  http::server_options o;
  o.max_connections = 1;
  start(o);
  auto first = connect();
  ASSERT_EQ(first->get("/livez").result(), status::ok);
  auto second = connect();
  auto [ec, res] = second->read();
  ASSERT_FALSE(ec) << ec.message();
  expect_problem(res, status::service_unavailable, "overloaded");
  EXPECT_FALSE(res[bhttp::field::retry_after].empty());
  EXPECT_TRUE(second->closed_by_server());
  EXPECT_EQ(first->get("/livez").result(), status::ok);
}

TEST_F(http_server, idle_and_slow_connections_are_closed_after_read_timeout) {
  http::server_options o;
  o.read_timeout = std::chrono::seconds{1};
  start(o);
  auto idle = connect();
  ASSERT_EQ(idle->get("/livez").result(), status::ok);  // then idle on a keep-alive connection
  auto slow = connect();
  ASSERT_FALSE(slow->write_raw("GET /livez HTTP/1.1\r\nHo"));  // a header that never ends
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle->closed_by_server());
  EXPECT_TRUE(slow->closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{5});
}

// The deadline moves with each request while the timer keeps the first
// one: when it fires early it must wait again for the rest, not close.
TEST_F(http_server, a_connection_in_use_outlives_read_timeout_and_is_closed_once_idle) {
  http::server_options o;
  o.read_timeout = std::chrono::seconds{1};
  start(o);
  auto c = connect();
  const auto started = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - started < std::chrono::milliseconds{2500}) {
    ASSERT_EQ(c->get("/livez").result(), status::ok) << "closed while in use";
    std::this_thread::sleep_for(std::chrono::milliseconds{300});
  }
  const auto last = std::chrono::steady_clock::now();
  ASSERT_EQ(c->get("/livez").result(), status::ok);
  EXPECT_TRUE(c->closed_by_server());
  const auto idle = std::chrono::steady_clock::now() - last;
  EXPECT_GE(idle, std::chrono::milliseconds{900}) << "closed before read_timeout of idleness";
  EXPECT_LT(idle, std::chrono::seconds{5});
}

TEST_F(http_server, start_fails_clearly_when_the_port_is_taken) {
  start();
  http::server_options o;
  o.port = endpoint_.port();
  http::server other(ioc_, *agg_, clock_, o);
  try {
    other.start();
    FAIL() << "start() bound a port already in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(endpoint_.port())), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rollup::test
