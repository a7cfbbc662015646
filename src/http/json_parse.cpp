#include "rollupd/http/json_parse.hpp"

#include <algorithm>

namespace rollup::http {
namespace {

using nlohmann::json;

struct too_deep {};

// nlohmann's DOM builder with the depth guard: opening a container inside
// max_json_depth open ones throws too_deep. (nlohmann's parse with a
// callback can guard the depth too, but it calls the callback and keeps a
// keep/discard stack for every value: a sixth of the parse's instructions
// for scenario 5's bodies, tests/bench/RESULTS.md, session 12.)
class guarded_dom {
 public:
  explicit guarded_dom(json& out) : dom_(out) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& s) { return dom_.number_float(v, s); }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) {
    enter();
    return dom_.start_object(n);
  }
  bool key(json::string_t& v) { return dom_.key(v); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) {
    enter();
    return dom_.start_array(n);
  }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <class Exception>  // the exception's own type, so that it is thrown as that
  bool parse_error(std::size_t pos, const std::string& token, const Exception& e) {
    // Where the offending token starts: not every exception (a number's
    // overflow is out_of_range) carries the position itself.
    token_start_ = pos >= token.size() ? pos - token.size() : 0;
    return dom_.parse_error(pos, token, e);  // throws it
  }

  std::size_t token_start() const { return token_start_; }

 private:
  void enter() {
    if (++depth_ > max_json_depth) throw too_deep{};
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  int depth_ = 0;
  std::size_t token_start_ = 0;
};

// nlohmann's message without its prefix and without the "last read: '…'"
// excerpt, which would echo the caller's input back.
std::string reason_of(const json::parse_error& e) {
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
  // The one place where nlohmann's exceptions are caught: parsing without
  // exceptions cannot say where the input broke.
  parsed_json out;
  guarded_dom sax(out.value);
  try {
    json::sax_parse(text, &sax);
  } catch (const json::parse_error& e) {
    std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    if (offset > text.size()) offset = text.size();
    out.value = nullptr;
    out.error = json_syntax_error{offset, reason_of(e)};
  } catch (const too_deep&) {
    out.value = nullptr;
    out.error = json_syntax_error{std::nullopt, "nested deeper than " + std::to_string(max_json_depth) + " levels"};
  } catch (const json::out_of_range& e) {
    // The one the parser raises is a number too large for a double; its
    // message would echo the number, however long.
    out.value = nullptr;
    out.error = json_syntax_error{std::min(sax.token_start(), text.size()),
                                  e.id == 406 ? "number overflow: beyond the range of a double" : "a value out of range"};
  } catch (const json::exception& e) {
    out.value = nullptr;
    out.error = json_syntax_error{std::nullopt, e.what()};
  }
  return out;
}

}  // namespace rollup::http
