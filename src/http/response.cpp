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

void append_wire_text(std::string& out, const response& res, wire_body body) {
  const unsigned v = res.version();
  out += "HTTP/";
  out += static_cast<char>('0' + v / 10);
  out += '.';
  out += static_cast<char>('0' + v % 10);
  out += ' ';
  out += std::to_string(res.result_int());
  out += ' ';
  const auto reason = res.reason();
  out.append(reason.data(), reason.size());
  out += "\r\n";
  for (const auto& f : res) {
    const auto name = f.name_string();
    const auto value = f.value();
    out.append(name.data(), name.size());
    out += ": ";
    out.append(value.data(), value.size());
    out += "\r\n";
  }
  out += "\r\n";
  if (body == wire_body::with) out += res.body();
}

response json_response(bhttp::status status, std::string body) {
  response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  return res;
}

}  // namespace rollup::http
