#include "rollupd/http/problem.hpp"

#include <boost/beast/http/field.hpp>
#include <string>

namespace rollup::http {

namespace bhttp = boost::beast::http;
using nlohmann::json;

bhttp::status status_of(errc code) {
  switch (code) {
    case errc::bad_request:
      return bhttp::status::bad_request;
    case errc::validation_failed:
      return bhttp::status::unprocessable_entity;
    case errc::not_found:
      return bhttp::status::not_found;
    case errc::unsupported_media_type:
      return bhttp::status::unsupported_media_type;
    case errc::payload_too_large:
      return bhttp::status::payload_too_large;
    case errc::header_too_large:
      return bhttp::status::request_header_fields_too_large;
    case errc::unauthorized:
      return bhttp::status::unauthorized;
    case errc::method_not_allowed:
      return bhttp::status::method_not_allowed;
    case errc::storage_unavailable:
      return bhttp::status::service_unavailable;
    case errc::draining:
      return bhttp::status::service_unavailable;
    case errc::overloaded:
      return bhttp::status::service_unavailable;
    case errc::conflict:
      return bhttp::status::conflict;
    case errc::forbidden:
      return bhttp::status::forbidden;
  }
  return bhttp::status::internal_server_error;
}

std::string_view slug_of(errc code) {
  switch (code) {
    case errc::bad_request:
      return "bad-request";
    case errc::validation_failed:
      return "validation-failed";
    case errc::not_found:
      return "not-found";
    case errc::unsupported_media_type:
      return "unsupported-media-type";
    case errc::payload_too_large:
      return "payload-too-large";
    case errc::header_too_large:
      return "header-too-large";
    case errc::unauthorized:
      return "unauthorized";
    case errc::method_not_allowed:
      return "method-not-allowed";
    case errc::storage_unavailable:
      return "storage-unavailable";
    case errc::draining:
      return "draining";
    case errc::overloaded:
      return "overloaded";
    case errc::conflict:
      return "conflict";
    case errc::forbidden:
      return "forbidden";
  }
  return "internal-error";
}

std::optional<std::chrono::seconds> retry_after_of(errc code) {
  switch (code) {
    case errc::storage_unavailable:
      return std::chrono::seconds{1};
    case errc::draining:
      return std::chrono::seconds{5};
    case errc::overloaded:
      return std::chrono::seconds{1};
    default:
      return std::nullopt;
  }
}

namespace {

std::string_view title_of(errc code) {
  switch (code) {
    case errc::bad_request:
      return "Bad request";
    case errc::validation_failed:
      return "Validation failed";
    case errc::not_found:
      return "Not found";
    case errc::unsupported_media_type:
      return "Unsupported media type";
    case errc::payload_too_large:
      return "Payload too large";
    case errc::header_too_large:
      return "Request header fields too large";
    case errc::unauthorized:
      return "Unauthorized";
    case errc::method_not_allowed:
      return "Method not allowed";
    case errc::storage_unavailable:
      return "Storage unavailable";
    case errc::draining:
      return "Shutting down";
    case errc::overloaded:
      return "Too many connections";
    case errc::conflict:
      return "Conflict";
    case errc::forbidden:
      return "Forbidden";
  }
  return "Internal server error";
}

response problem_of(bhttp::status status, std::string_view slug, std::string_view title, std::string_view detail,
                    json members) {
  members["type"] = "urn:rollupd:problem:" + std::string(slug);
  members["title"] = title;
  members["status"] = static_cast<unsigned>(status);
  members["detail"] = detail;
  response res{status, 11};
  res.set(bhttp::field::content_type, "application/problem+json");
  res.body() = dump_json(members);
  return res;
}

}  // namespace

response problem_response(const error& e, const problem_extras& extras) {
  json members = json::object();
  if (e.code == errc::validation_failed) {
    json errors = json::array();
    for (const auto& f : e.fields) {
      json item = json::object();
      if (f.index >= 0) item["index"] = f.index;
      item["field"] = f.field;
      item["rule"] = f.rule;
      errors.push_back(std::move(item));
    }
    members["errors"] = std::move(errors);
  }
  if (extras.offset) members["offset"] = *extras.offset;

  std::string detail = e.detail.empty() ? std::string(title_of(e.code)) : e.detail;
  auto res = problem_of(status_of(e.code), slug_of(e.code), title_of(e.code), detail, std::move(members));
  if (const auto wait = retry_after_of(e.code)) res.set(bhttp::field::retry_after, std::to_string(wait->count()));
  if (e.code == errc::unauthorized) res.set(bhttp::field::www_authenticate, "Bearer");
  if (e.code == errc::method_not_allowed && !extras.allow.empty()) res.set(bhttp::field::allow, extras.allow);
  return res;
}

response internal_error_response() {
  return problem_of(bhttp::status::internal_server_error, "internal-error", "Internal server error",
                    "the server failed to answer this request; nothing was changed by the failure itself, "
                    "and the log has the cause",
                    json::object());
}

}  // namespace rollup::http
