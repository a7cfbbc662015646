// What a request's two thread hand-offs cost on this machine. SPEC §7 keeps
// storage work off the threads that serve the network, so a request goes
// from a network thread (an io_context) to a storage thread (a thread_pool)
// and its answer comes back: two posts, each of which wakes the other thread
// when it sleeps, as it does whenever the daemon is not saturated. Nothing
// else is done here: no I/O, no storage. An analogue, not the daemon's exact
// path: rollupd's network threads sleep in epoll_wait and are woken through
// an eventfd, while this io_context has no sockets, so its thread sleeps on a
// condition variable; both are a wake-up of a sleeping thread.
//
// Counters: cpu_us is the CPU time of the whole process (both threads, user
// and system) per round trip, from getrusage; switches the voluntary context
// switches per round trip. The Time column is wall time (UseRealTime); the
// CPU column is the benchmark thread's own CPU only.

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace rollup {
namespace {

namespace net = boost::asio;

double cpu_us(const rusage& r) {
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec);
}

// One round trip per iteration: the benchmark's thread runs an io_context,
// posts to a one-thread pool, and the pool posts the answer back.
void BM_HandOffRoundTrip(benchmark::State& st) {
  net::io_context ioc(1);
  auto work = net::make_work_guard(ioc);  // run_one() sleeps until the answer comes
  net::thread_pool pool(1);
  rusage before{};
  rusage after{};
  getrusage(RUSAGE_SELF, &before);
  for (auto _ : st) {
    bool answered = false;
    net::post(pool, [&ioc, &answered] { net::post(ioc, [&answered] { answered = true; }); });
    while (!answered) ioc.run_one();
  }
  getrusage(RUSAGE_SELF, &after);
  work.reset();
  pool.join();
  const auto n = static_cast<double>(st.iterations());
  st.counters["cpu_us"] = (cpu_us(after) - cpu_us(before)) / n;
  st.counters["switches"] = static_cast<double>(after.ru_nvcsw - before.ru_nvcsw) / n;
}
BENCHMARK(BM_HandOffRoundTrip)->UseRealTime();

}  // namespace
}  // namespace rollup
