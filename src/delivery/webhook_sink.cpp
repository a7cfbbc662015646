#include "rollupd/delivery/webhook_sink.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rollupd/core/webhook_url.hpp"
#include "webhook_signature.hpp"

namespace rollup::delivery {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

// The receiver's answer only tells us whether it took the digest; its body
// is read (bounded) for an excerpt in the error, then dropped.
constexpr std::uint64_t response_body_limit = 64 * 1024ULL;
constexpr std::uint32_t response_header_limit = 16 * 1024;
// Interim (1xx) responses skipped before the final one.
constexpr int max_interim_responses = 5;

std::string user_agent() {
#ifdef ROLLUPD_VERSION
  return "rollupd/" ROLLUPD_VERSION;
#else
  return "rollupd";
#endif
}

attempt_outcome failure(std::string error, std::optional<duration> retry_after = std::nullopt) {
  return attempt_outcome{false, std::move(error), retry_after};
}

// A short, one-line excerpt of text from the receiver for a message.
std::string excerpt(std::string_view text) {
  std::string out(text.substr(0, 200));
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  if (text.size() > 200) out += "...";
  return out;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

class webhook_attempt;

// The attempts in flight, shared by the sink and its attempts so that
// either may go first.
struct attempt_registry {
  std::mutex mutex;
  bool cancelled = false;
  std::unordered_map<const webhook_attempt*, std::weak_ptr<webhook_attempt>> in_flight;
};

// One POST on its own connection. Every handler runs on strand_; the
// handlers hold a shared_ptr, so completions after finish() (an abort closes
// the socket, the resolver answers late) find the object alive and do nothing.
class webhook_attempt : public std::enable_shared_from_this<webhook_attempt> {
 public:
  webhook_attempt(const asio::any_io_executor& executor, std::shared_ptr<const webhook_url> url,
                  std::shared_ptr<ssl::context> tls_context, duration timeout, const time_source& clock,
                  std::shared_ptr<attempt_registry> registry, bhttp::request<bhttp::string_body> request,
                  std::function<void(attempt_outcome)>&& done)
      : strand_(asio::make_strand(executor)),
        url_(std::move(url)),
        tls_context_(std::move(tls_context)),
        resolver_(strand_),
        deadline_(strand_),
        timeout_(timeout),
        clock_(&clock),
        registry_(std::move(registry)),
        req_(std::move(request)) {
    if (url_->tls)
      tls_.emplace(strand_, *tls_context_);
    else
      plain_.emplace(strand_);
    endpoint_ = (url_->host.find(':') != std::string::npos ? "[" + url_->host + "]" : url_->host) + ":" +
                std::to_string(url_->port);
    done_ = std::move(done);  // last, and cannot throw: if construction fails, the caller still has `done`
  }

  // Begins the attempt on the strand.
  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->run(); });
  }

  // Thread-safe: ends the attempt soon with a failure "cancelled".
  void cancel() {
    asio::post(strand_, [self = shared_from_this()] { self->finish(failure("cancelled")); });
  }

  // Reports `why` at once; only for an attempt that was never started.
  void abandon(std::string why) { finish(failure(std::move(why))); }

 private:
  template <class F>
  void with_stream(F&& f) {
    if (tls_)
      f(*tls_);
    else
      f(*plain_);
  }
  beast::tcp_stream& lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

  void run() {
    if (finished_) return;
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](const beast::error_code& ec) { self->on_deadline(ec); });
    stage_ = "resolving " + url_->host;
    resolver_.async_resolve(
        url_->host, std::to_string(url_->port),
        [self = shared_from_this()](const beast::error_code& ec, const tcp::resolver::results_type& results) {
          self->on_resolve(ec, results);
        });
  }

  void on_deadline(const beast::error_code& ec) {
    if (ec || finished_) return;  // operation_aborted: the attempt ended first
    finish(failure("timed out after " + format_duration(timeout_) + " " + stage_));
  }

  void on_resolve(const beast::error_code& ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) return finish(failure("cannot resolve " + url_->host + ": " + ec.message()));
    stage_ = "connecting to " + endpoint_;
    lowest().async_connect(results, [self = shared_from_this()](const beast::error_code& e, const tcp::endpoint&) {
      self->on_connect(e);
    });
  }

  void on_connect(const beast::error_code& ec) {
    if (finished_) return;
    if (ec == asio::error::connection_refused) return finish(failure("connection refused to " + endpoint_));
    if (ec) return finish(failure("cannot connect to " + endpoint_ + ": " + ec.message()));
    if (!tls_) return do_write();

    // SNI for names only (RFC 6066 forbids IP literals), and the peer's
    // certificate must name the host or address we asked for.
    SSL* native = tls_->native_handle();
    bool checks_set = false;
    if (is_ip_literal(url_->host)) {
      checks_set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(native), url_->host.c_str()) == 1;
    } else {
      checks_set = SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                            const_cast<char*>(url_->host.c_str())) == 1 &&
                   SSL_set1_host(native, url_->host.c_str()) == 1;
    }
    if (!checks_set) return finish(failure("cannot set up TLS for " + url_->host));
    stage_ = "in the TLS handshake with " + endpoint_;
    tls_->async_handshake(ssl::stream_base::client,
                          [self = shared_from_this()](const beast::error_code& e) { self->on_handshake(e); });
  }

  void on_handshake(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) {
      // OpenSSL's own reason ("IP address mismatch", "unable to get local
      // issuer certificate") says more than the handshake error.
      const long verify = SSL_get_verify_result(tls_->native_handle());
      const std::string why = verify != X509_V_OK
                                  ? std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify)
                                  : ec.message();
      return finish(failure("TLS handshake with " + endpoint_ + " failed: " + why));
    }
    do_write();
  }

  void do_write() {
    stage_ = "sending to " + url_->display;
    with_stream([this](auto& stream) {
      bhttp::async_write(stream, req_,
                         [self = shared_from_this()](const beast::error_code& e, std::size_t) { self->on_write(e); });
    });
  }

  void on_write(const beast::error_code& ec) {
    if (finished_) return;
    if (ec) return finish(failure("cannot send the request to " + url_->display + ": " + ec.message()));
    stage_ = "waiting for an answer from " + url_->display;
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(response_header_limit);
    parser_->body_limit(response_body_limit);
    with_stream([this](auto& stream) {
      bhttp::async_read(stream, buffer_, *parser_,
                        [self = shared_from_this()](const beast::error_code& e, std::size_t) { self->on_read(e); });
    });
  }

  void on_read(const beast::error_code& ec) {
    if (finished_) return;
    // With the status line and headers in hand, a cut-off or oversized body
    // (or a TLS peer that skips close_notify) does not change the verdict.
    if (ec && !parser_->is_header_done()) {
      if (ec == bhttp::error::end_of_stream)
        return finish(failure(url_->display + " closed the connection without answering"));
      return finish(failure("no answer from " + url_->display + ": " + ec.message()));
    }
    const auto& res = parser_->get();
    const unsigned status = res.result_int();
    if (status >= 100 && status < 200 && !ec && ++interim_responses_ <= max_interim_responses) return do_read();
    if (status >= 200 && status < 300) return finish(attempt_outcome{true, {}, std::nullopt});

    std::optional<duration> retry_after;
    if (const auto it = res.find(bhttp::field::retry_after); it != res.end())
      retry_after = parse_retry_after(it->value(), clock_->now());

    std::string status_text = std::to_string(status);
    std::string_view reason = res.reason();
    if (reason.empty()) reason = bhttp::obsolete_reason(res.result());
    if (!reason.empty() && reason != "<unknown-status>") status_text += " " + excerpt(reason);

    std::string message;
    if (status >= 300 && status < 400) {
      message = "redirect " + status_text + " from " + url_->display + " not followed";
      if (const auto it = res.find(bhttp::field::location); it != res.end())
        message += " (Location: " + excerpt(it->value()) + ")";
    } else {
      message = "HTTP " + status_text + " from " + url_->display;
      if (!res.body().empty()) message += ": " + excerpt(res.body());
    }
    finish(failure(std::move(message), retry_after));
  }

  // Reports the outcome once and releases the connection.
  void finish(attempt_outcome outcome) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    resolver_.cancel();
    lowest().close();
    {
      const std::lock_guard lock(registry_->mutex);
      registry_->in_flight.erase(this);
    }
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(outcome));
  }

  asio::strand<asio::any_io_executor> strand_;
  std::shared_ptr<const webhook_url> url_;
  std::shared_ptr<ssl::context> tls_context_;  // before tls_: outlives it
  std::optional<beast::tcp_stream> plain_;
  std::optional<ssl::stream<beast::tcp_stream>> tls_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_;  // the whole attempt, resolve to last byte
  duration timeout_;
  const time_source* clock_;
  std::shared_ptr<attempt_registry> registry_;
  bhttp::request<bhttp::string_body> req_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  std::string endpoint_;  // host:port, for messages
  std::string stage_;     // what a timeout interrupted, for messages
  int interim_responses_ = 0;
  bool finished_ = false;
  std::function<void(attempt_outcome)> done_;
};

class webhook_sink final : public sink {
 public:
  webhook_sink(asio::any_io_executor executor, webhook_options options, const time_source& clock)
      : executor_(std::move(executor)),
        options_(std::move(options)),
        clock_(clock),
        registry_(std::make_shared<attempt_registry>()) {
    if (const auto valid = validate(options_); !valid) {
      config_error_ = "invalid webhook configuration: " + valid.err().detail;
      return;
    }
    auto parsed = parse_webhook_url(options_.url);
    auto url = std::make_shared<const webhook_url>(std::get<webhook_url>(std::move(parsed)));
    if (url->tls) {
      try {
        auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
        beast::error_code ec;
        context->set_default_verify_paths(ec);
        if (ec) {
          config_error_ = "cannot load the system CA certificates: " + ec.message();
          return;
        }
        context->set_verify_mode(ssl::verify_peer, ec);
        if (ec) {
          config_error_ = "cannot set up TLS: " + ec.message();
          return;
        }
        if (SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
          config_error_ = "cannot set up TLS: TLS 1.2 cannot be required";
          return;
        }
        tls_context_ = std::move(context);
      } catch (const std::exception& e) {
        config_error_ = std::string("cannot set up TLS: ") + e.what();
        return;
      }
    }
    url_ = std::move(url);
  }

  ~webhook_sink() override { cancel(); }
  webhook_sink(const webhook_sink&) = delete;
  webhook_sink& operator=(const webhook_sink&) = delete;

  std::string_view name() const override { return "webhook"; }

  void deliver(const digest& d, const std::string& body, std::function<void(attempt_outcome)> done) override {
    if (!url_) return done(failure(config_error_));
    std::shared_ptr<webhook_attempt> attempt;
    try {
      attempt = std::make_shared<webhook_attempt>(executor_, url_, tls_context_, options_.timeout, clock_, registry_,
                                                  make_request(d, body), std::move(done));
    } catch (const std::exception& e) {
      // The attempt did not take `done` (see its constructor).
      if (done) done(failure(std::string("cannot start the attempt: ") + e.what()));
      return;
    }
    std::unique_lock lock(registry_->mutex);
    if (registry_->cancelled) {
      lock.unlock();
      return attempt->abandon("cancelled");
    }
    try {
      // Under the lock, so cancel() sees the attempt only once it is queued.
      registry_->in_flight.emplace(attempt.get(), attempt);
      attempt->start();
    } catch (const std::exception& e) {
      registry_->in_flight.erase(attempt.get());
      lock.unlock();
      attempt->abandon(std::string("cannot start the attempt: ") + e.what());
    }
  }

  void cancel() override {
    try {
      std::vector<std::shared_ptr<webhook_attempt>> live;
      {
        const std::lock_guard lock(registry_->mutex);
        registry_->cancelled = true;
        live.reserve(registry_->in_flight.size());
        for (const auto& [key, weak] : registry_->in_flight)
          if (auto a = weak.lock()) live.push_back(std::move(a));
      }
      for (const auto& a : live) a->cancel();
    } catch (...) {  // NOLINT(bugprone-empty-catch): only allocation can fail here; the attempts still time out
    }
  }

 private:
  bhttp::request<bhttp::string_body> make_request(const digest& d, const std::string& body) const {
    const auto unix_seconds = std::chrono::floor<std::chrono::seconds>(clock_.now()).time_since_epoch().count();
    const std::string ts = std::to_string(unix_seconds);
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, url_->target, 11};
    req.set(bhttp::field::host, url_->authority);
    req.set(bhttp::field::user_agent, user_agent());
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::connection, "close");
    req.set("webhook-id", d.id);
    req.set("webhook-timestamp", ts);
    if (!options_.secret.empty()) req.set("webhook-signature", webhook_signature(options_.secret, d.id, ts, body));
    req.body() = body;
    req.prepare_payload();
    return req;
  }

  asio::any_io_executor executor_;
  webhook_options options_;
  const time_source& clock_;
  std::shared_ptr<attempt_registry> registry_;
  std::shared_ptr<const webhook_url> url_;  // empty when the options are unusable
  std::string config_error_;                // why, when url_ is empty
  std::shared_ptr<ssl::context> tls_context_;
};

}  // namespace

result<ok_t> validate(const webhook_options& options) {
  const auto parsed = parse_webhook_url(options.url);
  if (const auto* why = std::get_if<std::string>(&parsed))
    return {errc::validation_failed, "webhook url \"" + excerpt(options.url) + "\" " + *why};
  if (!options.secret.empty() && !webhook_secret_key(options.secret))
    return {errc::validation_failed,
            "webhook secret must be \"whsec_\" followed by non-empty base64 (the key's bytes)"};
  if (options.timeout <= duration{0}) return {errc::validation_failed, "webhook timeout must be positive"};
  return ok_t{};
}

std::unique_ptr<sink> make_webhook_sink(boost::asio::any_io_executor executor, webhook_options options,
                                        const time_source& clock) {
  return std::make_unique<webhook_sink>(std::move(executor), std::move(options), clock);
}

}  // namespace rollup::delivery
