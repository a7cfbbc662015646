#include "rollupd/service/thread_name.hpp"

#include <pthread.h>

#include <array>

namespace rollup {

void name_this_thread(const char* name) {
  // At most 15 bytes and the terminator, or Linux refuses the whole name.
  std::array<char, 16> buf{};
  std::size_t n = 0;
  for (; name[n] != '\0' && n + 1 < buf.size(); ++n) buf[n] = name[n];
  pthread_setname_np(pthread_self(), buf.data());
}

std::string this_thread_name() {
  std::array<char, 16> buf{};
  if (pthread_getname_np(pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

thread_name_scope::thread_name_scope(const char* name) : previous_(this_thread_name()) { name_this_thread(name); }

thread_name_scope::~thread_name_scope() { name_this_thread(previous_.c_str()); }

}  // namespace rollup
