#include "session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/read.hpp>
#include <ctime>

#include "rollupd/http/problem.hpp"
#include "server_state.hpp"

namespace rollup::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";

// IMF-fixdate (RFC 9110 §5.6.7), independent of the locale; made once a
// second per thread (formatting it for every answer was 0.7 % of a
// request's CPU: tests/bench/RESULTS.md, session 9).
const std::string& http_date() {
  static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t made_at = -1;
  thread_local std::string text;
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  if (now == made_at) return text;
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 40> buf{};
  const int n = std::snprintf(
      buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT", days.at(static_cast<std::size_t>(tm.tm_wday)),
      tm.tm_mday, months.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  text.assign(buf.data(), n > 0 ? static_cast<std::size_t>(n) : 0);
  made_at = now;
  return text;
}

bool expects_continue(const bhttp::request_parser<bhttp::string_body>& p) {
  const auto it = p.get().find(bhttp::field::expect);
  if (it == p.get().end()) return false;
  return beast::iequals(it->value(), "100-continue");
}

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

bool safe_method(bhttp::verb v) {
  return v == bhttp::verb::get || v == bhttp::verb::head || v == bhttp::verb::options || v == bhttp::verb::trace;
}

std::string path_of(beast::string_view target) {
  const auto q = target.find('?');
  return std::string(target.substr(0, q));
}

}  // namespace

session::session(net::ip::tcp::socket&& socket, std::shared_ptr<server_state> state)
    : stream_(std::move(socket)), state_(std::move(state)), deadline_timer_(stream_.get_executor()) {
  beast::error_code ec;
  stream_.socket().set_option(net::ip::tcp::no_delay(true), ec);  // small answers, often pipelined
}

session::~session() {
  state_->in_flight -= queue_.size();
  arrived();
  if (registered_) {
    state_->remove(this);
    state_->options.metrics->http_connections.with({}).add(-1);
  }
}

void session::run() {
  state_->add(shared_from_this());
  registered_ = true;
  state_->options.metrics->http_connections.with({}).add(1);
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->state_->stopped.load()) return self->close_now();
    self->do_read();
  });
}

void session::reject(error why) {
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), why = std::move(why)] {
    self->answer_locally(why, 11, partial_request{});
  });
}

void session::close() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
}

void session::do_read() {
  if (reading_ || read_done_ || closing_ || queue_.size() >= max_pending_requests) return;
  // Draining: a connection owed answers reads no more, as its last answer
  // closes it (do_write); one owed nothing reads its next request, which is
  // answered 503 (or, for the probes, as usual) and closes it. Closing it
  // instead would cut the connection under a request the client may
  // already have sent.
  if (state_->draining.load() && !queue_.empty()) return;
  // While answers are owed, only requests already buffered are read ahead
  // (pipelining); otherwise reading resumes once the last answer is written.
  // A client that waits for its answer sends nothing meanwhile: reading
  // early would cost a recv that finds nothing and a wake-up from epoll per
  // request, where reading after the answer usually finds the next request
  // already there (tests/bench/RESULTS.md, session 16).
  if (!queue_.empty() && buffer_.size() == 0) return;
  header_parser_.emplace();
  header_parser_->header_limit(max_header_bytes);
  // Also makes the header read fail on a Content-Length over the limit.
  header_parser_->body_limit(state_->options.max_body_bytes);
  // While earlier answers are owed, the client is waiting on us, not idle:
  // the deadline starts when the last answer has been written (on_write).
  set_read_deadline(queue_.empty() ? std::chrono::steady_clock::now() + state_->options.read_timeout : no_deadline);
  reading_ = true;
  bhttp::async_read_header(stream_, buffer_, *header_parser_,
                           beast::bind_front_handler(&session::on_read_header, shared_from_this()));
}

void session::on_read_header(beast::error_code ec, std::size_t) {
  reading_ = false;
  set_read_deadline(no_deadline);
  if (closed_) return;
  if (closing_) return do_linger();
  if (ec) return on_read_error(ec, 11);

  // From here the request is in flight: a drain that begins while its body
  // arrives waits for it (within shutdown_grace) and serves it.
  admitted_ = !state_->draining.load();
  const unsigned version = header_parser_->get().version();
  const auto max = state_->options.max_body_bytes;
  if (const auto length = header_parser_->content_length(); length && *length > max)
    return answer_locally({errc::payload_too_large,
                           "the body is " + std::to_string(*length) + " bytes; this server takes at most " +
                               std::to_string(max) + " (max_body_bytes)",
                           {}},
                          version, read_so_far());

  body_parser_.emplace(std::move(*header_parser_));
  header_parser_.reset();
  body_parser_->body_limit(max);
  if (body_parser_->is_done()) {
    auto req = body_parser_->release();
    body_parser_.reset();
    return on_request(std::move(req));
  }
  // A client that waits for "100 Continue" gets it, unless earlier answers
  // are still owed (they must go first; the client then sends after its own
  // short wait).
  if (expects_continue(*body_parser_) && queue_.empty() && !writing_) {
    start_arriving();
    writing_ = true;
    set_write_deadline(std::chrono::steady_clock::now() + state_->options.read_timeout);
    net::async_write(stream_, net::buffer(continue_line.data(), continue_line.size()),
                     beast::bind_front_handler(&session::on_continue_sent, shared_from_this()));
    return;
  }
  if (parse_buffered_body()) return;
  start_arriving();
  do_read_body();
}

// The body usually came with the header and sits in the buffer already.
// Parsing it here spares a read operation that would find it there too, but
// whose completion goes through the scheduler (a post, often a wake-up of
// another network thread). True when that settled the request: read whole,
// or failed; false when more bytes must be read.
bool session::parse_buffered_body() {
  beast::error_code ec;
  while (buffer_.size() > 0 && !body_parser_->is_done()) {
    const auto used = body_parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec || used == 0) break;
  }
  if (!ec && !body_parser_->is_done()) return false;
  on_read_body(ec, 0);
  return true;
}

void session::on_continue_sent(beast::error_code ec, std::size_t) {
  writing_ = false;
  set_write_deadline(no_deadline);
  if (closed_) return;
  if (ec) {
    fail(ec, "write");
    return close_now();
  }
  do_read_body();
}

void session::do_read_body() {
  reading_ = true;
  set_read_deadline(std::chrono::steady_clock::now() + state_->options.read_timeout);
  bhttp::async_read(stream_, buffer_, *body_parser_,
                    beast::bind_front_handler(&session::on_read_body, shared_from_this()));
}

void session::on_read_body(beast::error_code ec, std::size_t) {
  reading_ = false;
  set_read_deadline(no_deadline);
  if (closed_) return;
  if (closing_) return do_linger();
  if (ec) return on_read_error(ec, body_parser_->get().version());
  auto req = body_parser_->release();
  body_parser_.reset();
  on_request(std::move(req));
}

// Counted only while the body must be waited for: one that came with its
// header is read at once and counted in flight by push_slot.
void session::start_arriving() {
  if (arriving_) return;
  arriving_ = true;
  ++state_->arriving;
}

void session::arrived() {
  if (!arriving_) return;
  arriving_ = false;
  --state_->arriving;
}

void session::on_read_error(beast::error_code ec, unsigned version) {
  const auto what = read_so_far();
  header_parser_.reset();
  body_parser_.reset();
  read_done_ = true;
  if (ec == bhttp::error::end_of_stream) {  // the peer is done sending
    arrived();
    return maybe_close();
  }
  if (ec == bhttp::error::header_limit)
    return answer_locally({errc::header_too_large,
                           "the request line and headers exceed " + std::to_string(max_header_bytes) + " bytes",
                           {}},
                          version, what);
  if (ec == bhttp::error::body_limit)
    return answer_locally(
        {errc::payload_too_large,
         "the body exceeds " + std::to_string(state_->options.max_body_bytes) + " bytes (max_body_bytes)",
         {}},
        version, what);
  if (is_http_error(ec) && ec != bhttp::error::partial_message)
    return answer_locally({errc::bad_request, "malformed HTTP request: " + ec.message(), {}}, version, what);
  // Timeout (the stream closed the socket), reset, or a message cut short:
  // nobody is left to answer.
  arrived();
  fail(ec, "read");
  close_now();
}

session::slot& session::push_slot(unsigned version, bool keep_alive, bhttp::verb verb, std::string method,
                                  std::string path) {
  auto& s = queue_.emplace_back();
  s.verb = verb;
  s.version = version;
  s.keep_alive = keep_alive;
  s.method = std::move(method);
  s.path = std::move(path);
  s.started = std::chrono::steady_clock::now();
  ++state_->in_flight;
  return s;
}

void session::on_request(request req) {
  const bool keep_alive = req.keep_alive();
  if (!keep_alive) read_done_ = true;
  const auto method = req.method_string();
  auto& s = push_slot(req.version(), keep_alive, req.method(), std::string(method.data(), method.size()),
                      path_of(req.target()));
  s.unsafe = !safe_method(req.method());
  s.admitted = admitted_;
  s.req = std::move(req);
  arrived();  // after push_slot counted it in flight: the sum never passes through 0
  dispatch_ready();
  do_read();
}

void session::dispatch_ready() {
  if (closing_) return;  // nobody would read the answers
  bool earlier_unanswered = false;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    auto& s = queue_[i];
    if (s.res) continue;
    if (!s.req) {  // handed to the router, not answered yet
      if (s.unsafe) return;
      earlier_unanswered = true;
      continue;
    }
    if (s.unsafe && earlier_unanswered) return;
    const auto seq = head_seq_ + i;
    auto req = std::move(*s.req);
    s.req.reset();
    const bool unsafe = s.unsafe;
    const bool admitted = s.admitted;
    // The router may answer at once or later from a storage thread: either
    // way the answer comes back through this strand (never re-entrantly).
    // The router never touches the queue itself (answers come back posted),
    // so queue_[i] is still this slot afterwards.
    queue_[i].route = state_->routes.dispatch(std::move(req), admitted, [self = shared_from_this(), seq](response res) {
      net::post(self->stream_.get_executor(),
                [self, seq, res = std::move(res)]() mutable { self->on_response(seq, std::move(res)); });
    });
    if (unsafe) return;
    earlier_unanswered = true;
  }
}

session::partial_request session::read_so_far() const {
  // The parser fills in the request line before it reads the fields, so
  // even a header read that failed (say, on a Content-Length over the
  // limit) may know the method and target.
  const bhttp::request_header<>* h = nullptr;
  if (header_parser_)
    h = &header_parser_->get();
  else if (body_parser_)
    h = &body_parser_->get();
  if (h == nullptr || h->target().empty()) return {};
  const auto method = h->method_string();
  return {h->method(), std::string(method.data(), method.size()), path_of(h->target()),
          router::route_of(h->method(), std::string_view(h->target().data(), h->target().size()))};
}

void session::answer_locally(const error& e, unsigned version, partial_request what) {
  read_done_ = true;
  auto& s = push_slot(version, false, what.verb, std::move(what.method), std::move(what.path));
  arrived();
  s.route = what.route;
  s.res = problem_response(e);
  do_write();
}

void session::on_response(std::uint64_t seq, response res) {
  queue_.at(seq - head_seq_).res = std::move(res);
  dispatch_ready();
  do_write();
}

void session::do_write() {
  if (writing_ || closing_ || queue_.empty() || !queue_.front().res) return;
  auto& s = queue_.front();
  // Draining turns keep-alive off: the last answer owed closes the connection.
  const bool close = !s.keep_alive || (state_->draining.load() && queue_.size() == 1);
  auto& res = *s.res;
  res.version(s.version);
  res.keep_alive(!close);
  res.set(bhttp::field::server, "rollupd");
  res.set(bhttp::field::date, http_date());
  res.prepare_payload();
  // Counted before the answer leaves, so a client that has it finds it
  // counted in its next scrape.
  count(s);
  writing_ = true;
  set_write_deadline(std::chrono::steady_clock::now() + state_->options.read_timeout);
  wire_.clear();
  append_wire_text(wire_, res, s.verb == bhttp::verb::head ? wire_body::without : wire_body::with);
  net::async_write(stream_, net::buffer(wire_),
                   beast::bind_front_handler(&session::on_write, shared_from_this(), close));
}

void session::on_write(bool close, beast::error_code ec, std::size_t) {
  writing_ = false;
  set_write_deadline(no_deadline);
  {
    const auto& s = queue_.front();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - s.started);
    spdlog::debug("http: {} {} -> {} in {} ms", s.method, s.path, s.res->result_int(), ms.count());
  }
  queue_.pop_front();
  ++head_seq_;
  --state_->in_flight;
  if (closed_) return;
  if (ec) {
    fail(ec, "write");
    return close_now();
  }
  if (close) return do_close();
  do_write();
  do_read();
  // Owed nothing now: a read begun without a deadline gets read_timeout.
  if (queue_.empty() && reading_ && read_deadline_ == no_deadline)
    set_read_deadline(std::chrono::steady_clock::now() + state_->options.read_timeout);
  maybe_close();
}

void session::count(const slot& s) const {
  auto& m = *state_->options.metrics;
  std::string_view verb = "other";
  if (s.verb != bhttp::verb::unknown) {
    const auto name = bhttp::to_string(s.verb);
    verb = std::string_view(name.data(), name.size());
  }
  const auto status = std::to_string(s.res->result_int());
  m.http_requests.with({verb, s.route, std::string_view(status)}).inc();
  m.http_request_duration.with({s.route}).observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count());
}

void session::set_read_deadline(std::chrono::steady_clock::time_point at) {
  read_deadline_ = at;
  watch_deadlines();
}

void session::set_write_deadline(std::chrono::steady_clock::time_point at) {
  write_deadline_ = at;
  watch_deadlines();
}

// Arms the timer when the earlier deadline comes before its wait ends (or
// none is pending); a later deadline is left for on_deadline_timer.
void session::watch_deadlines() {
  const auto due = std::min(read_deadline_, write_deadline_);
  if (closed_ || due == no_deadline || due >= timer_at_) return;
  timer_at_ = due;
  deadline_timer_.expires_at(due);  // a pending wait ends with operation_aborted
  deadline_timer_.async_wait(beast::bind_front_handler(&session::on_deadline_timer, shared_from_this()));
}

void session::on_deadline_timer(beast::error_code ec) {
  if (ec) return;  // re-armed earlier (a new wait is pending) or closed
  timer_at_ = no_deadline;
  const auto due = std::min(read_deadline_, write_deadline_);
  if (closed_ || due == no_deadline) return;
  if (std::chrono::steady_clock::now() < due) return watch_deadlines();
  // An idle or slow client, or one that does not read its answers; when
  // lingering, the peer had its moment.
  if (!closing_)
    spdlog::debug("http: closing a connection that made no progress for {} s", state_->options.read_timeout.count());
  close_now();
}

void session::maybe_close() {
  if (closing_ || writing_ || reading_ || !queue_.empty()) return;
  if (read_done_) do_close();
}

void session::do_close() {
  if (closing_) return;
  closing_ = true;
  set_read_deadline(no_deadline);
  beast::error_code ec;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  if (ec) return close_now();
  // Read and drop what the peer still sends, for a moment, so that closing
  // with unread data does not reset the connection before the peer has read
  // our last answer.
  linger_until_ = std::chrono::steady_clock::now() + linger_time;
  if (reading_) {
    stream_.socket().cancel(ec);  // its handler lingers
    return;
  }
  do_linger();
}

void session::do_linger() {
  if (closed_) return;
  reading_ = true;
  set_read_deadline(linger_until_);
  stream_.async_read_some(net::buffer(linger_buf_), beast::bind_front_handler(&session::on_linger, shared_from_this()));
}

void session::on_linger(beast::error_code ec, std::size_t) {
  reading_ = false;
  set_read_deadline(no_deadline);
  if (ec || closed_) return close_now();
  do_linger();
}

void session::close_now() {
  if (closed_) return;
  closed_ = true;
  closing_ = true;
  read_done_ = true;
  deadline_timer_.cancel();
  stream_.close();
}

void session::fail(beast::error_code ec, const char* what) const {
  if (ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe || ec == bhttp::error::partial_message)
    return;
  spdlog::debug("http: {}: {}", what, ec.message());
}

}  // namespace rollup::http
