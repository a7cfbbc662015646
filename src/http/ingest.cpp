// POST /notifications, POST /v1/notifications (SPEC §4.1).
#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <optional>
#include <string>

#include "handler_support.hpp"
#include "rollupd/core/decode.hpp"
#include "rollupd/core/json_text.hpp"
#include "rollupd/http/handlers.hpp"
#include "rollupd/http/json_parse.hpp"
#include "rollupd/service/aggregator.hpp"

namespace rollup::http {
namespace {

namespace bhttp = boost::beast::http;

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return out;
}

// Absent, application/json, or application/*+json; parameters allowed.
bool json_media_type(const request& req) {
  const auto it = req.find(bhttp::field::content_type);
  if (it == req.end()) return true;
  const std::string_view value(it->value().data(), it->value().size());
  const auto type = lower_trimmed(value.substr(0, value.find(';')));
  if (type == "application/json") return true;
  constexpr std::string_view app = "application/";
  constexpr std::string_view suffix = "+json";
  return type.size() > app.size() + suffix.size() && type.starts_with(app) && type.ends_with(suffix);
}

// The body's Content-Encoding when it is one rollupd cannot read (anything
// but none or "identity"): a gzip body would otherwise be taken for
// malformed JSON.
std::optional<std::string> unreadable_encoding(const request& req) {
  const auto it = req.find(bhttp::field::content_encoding);
  if (it == req.end()) return std::nullopt;
  const std::string_view value(it->value().data(), it->value().size());
  if (lower_trimmed(value) == "identity") return std::nullopt;
  return std::string(value);
}

// SPEC §6: the Idempotency-Key header follows the rules of Id.
std::optional<field_error> check_idempotency_key(std::string_view key, bool is_array) {
  if (is_array)
    return field_error{-1, "Idempotency-Key",
                       "only allowed with a single notification object; give each array element an Id instead"};
  const bool printable = !key.empty() && key.size() <= 200 &&
                         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
  if (!printable) return field_error{-1, "Idempotency-Key", "must be 1 to 200 printable ASCII characters"};
  return std::nullopt;
}

// SPEC §4.1: one element's answer, written straight to text (it is written
// for every notification): {"Digest","Duplicate","Email","Pending"}.
void append_result(std::string& out, const ingest_result& r) {
  out += "{\"Digest\":";
  if (r.emitted)
    append_json(out, *r.emitted);
  else
    out += "null";
  out += r.duplicate ? ",\"Duplicate\":true,\"Email\":" : ",\"Duplicate\":false,\"Email\":";
  append_json_string(out, r.email);
  out += ",\"Pending\":";
  out += std::to_string(r.pending);
  out += '}';
}

}  // namespace

void handle_ingest(const services& s, handler_input in, respond done) {
  const auto& req = in.req;
  if (!json_media_type(req)) {
    const auto ct = req[bhttp::field::content_type];
    return done(problem_response({errc::unsupported_media_type,
                                  "Content-Type \"" + std::string(ct.data(), ct.size()) +
                                      "\" is not accepted; send \"Content-Type: application/json\" with a JSON body",
                                  {}}));
  }

  if (const auto encoding = unreadable_encoding(req))
    return done(problem_response({errc::unsupported_media_type,
                                  "Content-Encoding \"" + *encoding +
                                      "\" is not accepted; send the JSON body as it is, without Content-Encoding",
                                  {}}));

  auto parsed = parse_json(req.body());
  if (parsed.error) {
    std::string detail = "the body is not valid JSON: " + parsed.error->reason;
    if (parsed.error->offset) detail += " (at byte offset " + std::to_string(*parsed.error->offset) + ")";
    return done(problem_response({errc::bad_request, std::move(detail), {}}, problem_extras{parsed.error->offset, {}}));
  }
  const bool is_array = parsed.value.is_array();

  ingest_request work;
  std::vector<field_error> header_errors;
  if (const auto it = req.find("Idempotency-Key"); it != req.end()) {
    const std::string_view key(it->value().data(), it->value().size());
    if (req.count("Idempotency-Key") > 1)  // which one is the key cannot be known
      header_errors.push_back(field_error{-1, "Idempotency-Key", "must be given once"});
    else if (auto bad = check_idempotency_key(key, is_array))
      header_errors.push_back(std::move(*bad));
    else
      work.idempotency_key = std::string(key);
  }

  auto decoded = decode_body(parsed.value, s.clock.now());
  if (!decoded || !header_errors.empty()) {
    error e{errc::validation_failed, {}, std::move(header_errors)};
    for (const auto& f : e.fields) {
      if (!e.detail.empty()) e.detail += "; ";
      e.detail += f.field + " " + f.rule;
    }
    if (!decoded) {
      if (!e.detail.empty()) e.detail += "; ";
      e.detail += decoded.err().detail;
      e.fields.insert(e.fields.end(), decoded.err().fields.begin(), decoded.err().fields.end());
    }
    if (e.detail.rfind("nothing was stored", 0) != 0) e.detail = "nothing was stored: " + e.detail;
    return done(problem_response(e));
  }
  work.items = std::move(*decoded);

  s.agg.ingest(std::move(work), detail::reply_with<std::vector<ingest_result>>(
                                    std::move(done), [is_array](const std::vector<ingest_result>& results) {
                                      std::string body;
                                      if (!is_array && results.size() == 1) {
                                        append_result(body, results.front());
                                        return json_response(bhttp::status::accepted, std::move(body));
                                      }
                                      body.reserve(96 * results.size() + 16);
                                      body += "{\"Results\":[";
                                      for (std::size_t i = 0; i < results.size(); ++i) {
                                        if (i > 0) body += ',';
                                        append_result(body, results[i]);
                                      }
                                      body += "]}";
                                      return json_response(bhttp::status::accepted, std::move(body));
                                    }));
}

}  // namespace rollup::http
