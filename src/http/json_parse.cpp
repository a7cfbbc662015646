#include "rollupd/http/json_parse.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace rollup::http {
namespace {

using nlohmann::json;

struct too_deep {};
struct duplicate_key {
  std::string key;
};

// Builds the value as nlohmann's own DOM builder does, with two guards:
// opening a container inside max_json_depth open ones throws too_deep, and
// a key an object already has throws duplicate_key. (nlohmann's builder
// would keep the last of the two: {"Email":"a@x","Email":"b@x"} is b's,
// where another reader may take a's. nlohmann's parse with a callback can
// guard the depth too, but it calls the callback and keeps a keep/discard
// stack for every value: a sixth of the parse's instructions for scenario
// 5's bodies, tests/bench/RESULTS.md, session 12.)
class guarded_dom {
 public:
  explicit guarded_dom(json& out) : root_(out) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(v); }
  // Strings and keys are copied, not moved: `v` is the lexer's buffer, which
  // keeps its capacity for the next token only if left in place.
  bool string(json::string_t& v) { return put(v); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool key(json::string_t& k) {
    auto [it, fresh] = open_.back()->get_ref<json::object_t&>().try_emplace(k);
    if (!fresh) throw duplicate_key{it->first};
    member_ = &it->second;
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_array() { return close(); }
  template <class Exception>  // the exception's own type, so that it is thrown as that
  bool parse_error(std::size_t pos, const std::string& token, const Exception& e) {
    // Where the offending token starts: not every exception (a number's
    // overflow is out_of_range) carries the position itself.
    token_start_ = pos >= token.size() ? pos - token.size() : 0;
    throw e;
  }

  std::size_t token_start() const { return token_start_; }

 private:
  // Places a value: the root, the next element of the open array, or the
  // member whose key came last.
  template <class V>
  json* place(V&& v) {
    if (open_.empty()) {
      root_ = json(std::forward<V>(v));
      return &root_;
    }
    if (open_.back()->is_array()) {
      auto& a = open_.back()->get_ref<json::array_t&>();
      a.emplace_back(std::forward<V>(v));
      return &a.back();
    }
    *member_ = json(std::forward<V>(v));
    return member_;
  }
  template <class V>
  bool put(V&& v) {
    place(std::forward<V>(v));
    return true;
  }
  bool open(json::value_t type) {
    if (open_.size() >= max_json_depth) throw too_deep{};
    open_.push_back(place(type));
    return true;
  }
  bool close() {
    open_.pop_back();
    return true;
  }

  json& root_;
  std::vector<json*> open_;     // the containers not yet closed, innermost last
  json* member_ = nullptr;      // where the value of the last key goes
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
  } catch (const duplicate_key& d) {
    // The key is named when it is short and printable; a long one would
    // echo the caller's input back.
    const bool nameable = d.key.size() <= 64 && std::all_of(d.key.begin(), d.key.end(), [](char c) {
      return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    });
    out.value = nullptr;
    out.error = json_syntax_error{std::nullopt, (nameable ? "the key \"" + d.key + "\"" : std::string("a key")) +
                                                    " is given twice in one object: which one was meant is unknown"};
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
