#include "rollupd/core/binary_form.hpp"

namespace rollup::binary {
namespace {

template <class T>
void put_be(std::string& out, T v) {
  for (int shift = static_cast<int>(sizeof(T) - 1) * 8; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}

template <class T>
T get_be(std::string_view bytes) {
  T v = 0;
  for (const char c : bytes) v = static_cast<T>((v << 8) | static_cast<unsigned char>(c));
  return v;
}

}  // namespace

std::string be64(std::uint64_t v) {
  std::string out;
  put_be(out, v);
  return out;
}

std::uint64_t read_be64(std::string_view bytes) { return get_be<std::uint64_t>(bytes.substr(0, 8)); }

void writer::u32(std::uint32_t v) { put_be(out_, v); }

void writer::i64(std::int64_t v) { put_be(out_, static_cast<std::uint64_t>(v)); }

void writer::str(std::string_view s) {
  // Stored values are far below 4 GiB (request bodies are capped at MBs).
  u32(static_cast<std::uint32_t>(s.size()));
  out_ += s;
}

reader::reader(std::string_view bytes, char marker)
    : rest_(bytes.empty() ? bytes : bytes.substr(1)), ok_(!bytes.empty() && bytes.front() == marker) {}

bool reader::take(std::size_t n, std::string_view& out) {
  if (!ok_ || rest_.size() < n) return ok_ = false;
  out = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

bool reader::u8(std::uint8_t& v) {
  std::string_view b;
  if (!take(1, b)) return false;
  v = static_cast<std::uint8_t>(b[0]);
  return true;
}

bool reader::u32(std::uint32_t& v) {
  std::string_view b;
  if (!take(4, b)) return false;
  v = get_be<std::uint32_t>(b);
  return true;
}

bool reader::i64(std::int64_t& v) {
  std::string_view b;
  if (!take(8, b)) return false;
  v = static_cast<std::int64_t>(get_be<std::uint64_t>(b));
  return true;
}

bool reader::str(std::string& s) {
  std::uint32_t n = 0;
  std::string_view b;
  if (!u32(n) || !take(n, b)) return false;
  s.assign(b);
  return true;
}

bool reader::rest(std::string& s) {
  std::string_view b;
  if (!take(rest_.size(), b)) return false;
  s.assign(b);
  return true;
}

}  // namespace rollup::binary
