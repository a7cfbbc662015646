#include "rollupd/http/json_parse.hpp"

namespace rollup::http {
namespace {

struct too_deep {};

// nlohmann's message without its prefix and without the "last read: '…'"
// excerpt, which would echo the caller's input back.
std::string reason_of(const nlohmann::json::parse_error& e) {
  std::string_view what = e.what();
  if (const auto p = what.find(": "); p != std::string_view::npos) what.remove_prefix(p + 2);
  std::string out(what.substr(0, what.find("; last read")));
  if (const auto ex = what.rfind("; expected ");
      ex != std::string_view::npos && out.find("; expected ") == std::string::npos)
    out += what.substr(ex);
  return out;
}

}  // namespace

parsed_json parse_json(std::string_view text) {
  // The one place where nlohmann's exceptions are caught: json::parse without
  // exceptions cannot say where the input broke.
  parsed_json out;
  try {
    out.value = nlohmann::json::parse(text, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > max_json_depth) throw too_deep{};
      return true;
    });
  } catch (const nlohmann::json::parse_error& e) {
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    if (offset > text.size()) offset = text.size();
    out.value = nullptr;
    out.error = json_syntax_error{offset, reason_of(e)};
  } catch (const too_deep&) {
    out.value = nullptr;
    out.error = json_syntax_error{std::nullopt, "nested deeper than " + std::to_string(max_json_depth) + " levels"};
  } catch (const nlohmann::json::exception& e) {
    out.value = nullptr;
    out.error = json_syntax_error{std::nullopt, e.what()};
  }
  return out;
}

}  // namespace rollup::http
