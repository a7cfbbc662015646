#pragma once
// What the server, its listener and its sessions share (private to src/http).

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "rollupd/http/router.hpp"
#include "rollupd/http/server_options.hpp"

namespace rollup::http {

class session;

// Created once per server; sessions keep it alive while they run.
struct server_state {
  server_state(aggregator& agg, const time_source& clock, server_options opts)
      : options(std::move(opts)), svc{agg, clock, options, draining}, routes(svc) {}
  server_state(const server_state&) = delete;
  server_state& operator=(const server_state&) = delete;

  const server_options options;
  std::atomic<bool> draining{false};
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> in_flight{0};  // requests read, response not yet written
  std::atomic<std::size_t> arriving{0};   // requests whose header is read, their body not yet
  const services svc;                     // refers to the members above
  const router routes;                    // refers to svc

  // The live sessions: for the connection cap and for stop().
  void add(const std::shared_ptr<session>& s) {
    const std::lock_guard lock(mutex_);
    sessions_.emplace(s.get(), s);
  }
  void remove(const session* s) {
    const std::lock_guard lock(mutex_);
    sessions_.erase(s);
  }
  std::size_t connections() const {
    const std::lock_guard lock(mutex_);
    return sessions_.size();
  }
  std::vector<std::shared_ptr<session>> live_sessions() const {
    std::vector<std::shared_ptr<session>> out;
    const std::lock_guard lock(mutex_);
    for (const auto& [ptr, weak] : sessions_)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const session*, std::weak_ptr<session>> sessions_;
};

}  // namespace rollup::http
