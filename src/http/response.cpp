#include "rollupd/http/response.hpp"

#include <boost/beast/http/field.hpp>

namespace rollup::http {

namespace bhttp = boost::beast::http;

std::string dump_json(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

response json_response(bhttp::status status, const nlohmann::json& body) {
  response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = dump_json(body);
  return res;
}

}  // namespace rollup::http
