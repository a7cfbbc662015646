#include "rollupd/app/service_manager.hpp"

#include <cstdint>
#include <spdlog/spdlog.h>
#include <string>
#include <systemd/sd-daemon.h>

namespace rollup::app {
namespace {

// Newlines separate assignments in the protocol, so a status keeps one line.
std::string one_line(std::string_view text) {
  std::string s(text);
  for (auto& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

void notify(const std::string& state) {
  // sd_notify returns 0 without NOTIFY_SOCKET, > 0 when sent. A failure to
  // reach the service manager must not stop the daemon; say so and go on.
  if (const int r = sd_notify(0, state.c_str()); r < 0)
    spdlog::warn("sd_notify({}) failed: {}", state.substr(0, state.find('\n')), r);
}

}  // namespace

service_manager::service_manager() {
  std::uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID, if set, is ours.
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
    watchdog_interval_ = std::chrono::microseconds{static_cast<std::int64_t>(usec / 2)};
}

void service_manager::ready(std::string_view status) const { notify("READY=1\nSTATUS=" + one_line(status)); }

void service_manager::stopping(std::string_view status) const { notify("STOPPING=1\nSTATUS=" + one_line(status)); }

void service_manager::status(std::string_view text) const { notify("STATUS=" + one_line(text)); }

void service_manager::watchdog() const { notify("WATCHDOG=1"); }

}  // namespace rollup::app
