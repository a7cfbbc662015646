#include "rollupd/service/id_generator.hpp"

#include "rollupd/core/hex.hpp"
#include "rollupd/core/strategy.hpp"

namespace rollup {

id_generator::id_generator() : random_(std::random_device{}()) {}

std::string id_generator::next(timestamp now) {
  const auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  std::uint64_t stamp = 0;
  std::uint64_t noise = 0;
  {
    std::lock_guard lock(mutex_);
    if (ms > last_ms_) {
      last_ms_ = ms;
      seq_ = 0;
    } else if (++seq_ > 0xFFFF) {  // more than 65536 Ids in one millisecond, or the clock went back
      ++last_ms_;
      seq_ = 0;
    }
    stamp = (last_ms_ << 16) | seq_;
    noise = random_();
  }
  // digest_id_size lower-case hex digits: the stamp's 16, then the noise's.
  static_assert(digest_id_size == 16 + 16);
  std::string id;
  id.reserve(digest_id_size);
  append_hex(id, stamp, 16);
  append_hex(id, noise, 16);
  return id;
}

}  // namespace rollup
