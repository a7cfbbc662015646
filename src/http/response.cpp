#include "rollupd/http/response.hpp"

#include <boost/beast/http/field.hpp>

namespace rollup::http {

namespace bhttp = boost::beast::http;

std::string dump_json(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

response json_response(bhttp::status status, const nlohmann::json& body) {
  return json_response(status, dump_json(body));
}

response json_response(bhttp::status status, std::string body) {
  response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

}  // namespace rollup::http
