#include "rollupd/service/thread_name.hpp"

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <memory>
#include <thread>

namespace rollup {
namespace {

std::string name_seen_by_new_thread() {
  std::string seen;
  std::thread([&seen] { seen = this_thread_name(); }).join();
  return seen;
}

TEST(ThreadName, NamesTheCallingThreadAndCutsItToFifteenBytes) {
  const auto before = this_thread_name();
  name_this_thread("a-name-longer-than-fifteen");
  EXPECT_EQ(this_thread_name(), "a-name-longer-t");
  name_this_thread(before.c_str());
  EXPECT_EQ(this_thread_name(), before);
}

TEST(ThreadName, AThreadStartedInTheScopeTakesItsNameAndTheCallerGetsItsOwnBack) {
  const auto before = this_thread_name();
  ASSERT_NE(before, "rollupd-test");
  {
    const thread_name_scope named("rollupd-test");
    EXPECT_EQ(this_thread_name(), "rollupd-test");
    EXPECT_EQ(name_seen_by_new_thread(), "rollupd-test");
  }
  EXPECT_EQ(this_thread_name(), before);
  EXPECT_EQ(name_seen_by_new_thread(), before);
}

TEST(ThreadName, APoolMadeInTheScopeRunsOnThreadsOfThatName) {
  std::unique_ptr<boost::asio::thread_pool> pool;
  {
    const thread_name_scope named("rollupd-pool");
    pool = std::make_unique<boost::asio::thread_pool>(2);
  }
  std::promise<std::string> seen;
  boost::asio::post(*pool, [&seen] { seen.set_value(this_thread_name()); });
  EXPECT_EQ(seen.get_future().get(), "rollupd-pool");
  pool->join();
}

}  // namespace
}  // namespace rollup
