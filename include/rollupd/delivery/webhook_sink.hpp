#pragma once
// SPEC §5 webhook sink: POST of the digest JSON over http or https with the
// Standard Webhooks headers. One attempt per deliver(); redirects are not
// followed (a 3xx is a failure); 2xx confirms.

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <string>

#include "rollupd/core/error.hpp"
#include "rollupd/delivery/sink.hpp"

namespace rollup::delivery {

struct webhook_options {
  std::string url;                                  // http://host[:port]/path or https://…
  std::string secret;                               // "whsec_<base64>"; empty = unsigned
  duration timeout = std::chrono::seconds{10};      // whole attempt: resolve, connect, TLS, write, read
};

// Checks the URL and secret; the error names what is wrong.
result<ok_t> validate(const webhook_options& options);

// Creates the sink; `executor` runs its I/O (any thread-safe executor).
std::unique_ptr<sink> make_webhook_sink(boost::asio::any_io_executor executor, webhook_options options,
                                        const time_source& clock);

// Standard Webhooks signature header value for the given id, unix-seconds
// timestamp and body: "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>",
// where key is the base64-decoded part of "whsec_<base64>". Empty if the
// secret cannot be decoded.
std::string webhook_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                              const std::string& body);

// Parses an HTTP Retry-After value: delta-seconds, or an HTTP-date compared
// with `now`. Empty when unreadable.
std::optional<duration> parse_retry_after(std::string_view value, timestamp now);

}  // namespace rollup::delivery
