#pragma once
// The request and response types of the HTTP room, and how a handler
// answers.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <string>
#include <nlohmann/json.hpp>

namespace rollup::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using response = boost::beast::http::response<boost::beast::http::string_body>;

// How a handler answers: call it exactly once, from any thread. The session
// sets the version, keep-alive, Server, Date and Content-Length.
using respond = std::function<void(response)>;

// A 2xx (or any) response with an application/json body.
response json_response(boost::beast::http::status status, const nlohmann::json& body);
// The same with a body already written as JSON text.
response json_response(boost::beast::http::status status, std::string body);

// Appends the response as it goes on the wire (status line, fields, blank
// line, body): the bytes Beast's serializer writes for a message whose body
// has a Content-Length, in one piece. An answer to HEAD goes without its
// body (RFC 9110 §9.3.2), its Content-Length still that of the body.
enum class wire_body { with, without };
void append_wire_text(std::string& out, const response& res, wire_body body = wire_body::with);

// Serialises JSON for the wire: never throws on invalid UTF-8 (replaces it).
std::string dump_json(const nlohmann::json& body);

}  // namespace rollup::http
