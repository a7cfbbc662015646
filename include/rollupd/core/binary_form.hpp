#pragma once
// The building blocks of rollupd's binary storage forms (SPEC §8): a writer
// that appends a marker byte, then fixed-width big-endian integers and
// length-prefixed strings; and a reader that takes them back in the same
// order and fails, never overruns, on a short or corrupt value.
//
// Each kind of stored value has its own marker byte, which names both the
// kind and its format version, so one kind is never read as another. None
// is '{': values that earlier releases stored as JSON stay readable.

#include <cstdint>
#include <string>
#include <string_view>

namespace rollup::binary {

// Marker bytes of the binary forms, one per kind of value.
inline constexpr char outbox_v1 = '\x01';
inline constexpr char group_v1 = '\x02';
inline constexpr char digest_v1 = '\x03';
inline constexpr char delivery_v1 = '\x04';

// A number as 8 big-endian bytes, so that byte order is number order (keys
// that start with it sort by it); and back, from the first 8 bytes.
std::string be64(std::uint64_t v);
std::uint64_t read_be64(std::string_view bytes);

// True for a value in the JSON form of an earlier release.
inline bool is_json_form(std::string_view bytes) { return !bytes.empty() && bytes.front() == '{'; }

class writer {
 public:
  explicit writer(char marker) { out_ += marker; }
  void u8(std::uint8_t v) { out_ += static_cast<char>(v); }
  void u32(std::uint32_t v);
  void i64(std::int64_t v);
  void str(std::string_view s);  // a u32 length, then the bytes
  void rest(std::string_view s) { out_ += s; }  // the last field: no length
  std::string take() && { return std::move(out_); }

 private:
  std::string out_;
};

// Every read returns false, and leaves its output alone, once any read has
// failed; so a decoder may check once, at the end, with done().
class reader {
 public:
  // Reads `bytes` only when they start with `marker`.
  reader(std::string_view bytes, char marker);
  bool u8(std::uint8_t& v);
  bool u32(std::uint32_t& v);
  bool i64(std::int64_t& v);
  bool str(std::string& s);
  bool rest(std::string& s);  // all bytes left
  std::size_t left() const { return rest_.size(); }
  // True when every read succeeded and nothing is left over.
  bool done() const { return ok_ && rest_.empty(); }

 private:
  bool take(std::size_t n, std::string_view& out);
  std::string_view rest_;
  bool ok_;
};

}  // namespace rollup::binary
