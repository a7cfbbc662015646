#pragma once
// The daemon's side of systemd's notification protocol (sd_notify(3)):
// READY=1, STOPPING=1, STATUS= and WATCHDOG=1 sent to $NOTIFY_SOCKET.
// Started outside systemd (no NOTIFY_SOCKET), every call is a no-op.
// Thread-safe: each call sends one datagram on a socket of its own; a
// failure to send is logged and otherwise ignored.

#include <chrono>
#include <string_view>

namespace rollup::app {

class service_manager {
 public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID once; the
  // environment is left as it is.
  service_manager();

  // The service is up: the database is open and the port is bound.
  void ready(std::string_view status) const;
  // Shutdown has begun (the drain); systemd stops expecting watchdog pings.
  void stopping(std::string_view status) const;
  // A one-line, human-readable state shown by `systemctl status`.
  void status(std::string_view text) const;
  // Tells systemd the service is alive (WATCHDOG=1).
  void watchdog() const;

  // How often to call watchdog(): half of WatchdogSec=, or zero when the
  // service manager expects no pings (no WATCHDOG_USEC, or it is meant for
  // another process).
  std::chrono::microseconds watchdog_interval() const { return watchdog_interval_; }

 private:
  std::chrono::microseconds watchdog_interval_{0};
};

}  // namespace rollup::app
