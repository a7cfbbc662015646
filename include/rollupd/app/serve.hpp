#pragma once
// `rollupd` (serve): opens the database, builds the aggregator, starts the
// HTTP server and runs the io_context on `threads` threads until SIGTERM or
// SIGINT (SPEC §7): stop accepting, answer what is in flight for up to
// `shutdown_grace`, close the database cleanly.

#include "rollupd/app/config.hpp"

namespace rollup::app {

// Runs the daemon with a configuration that has already been validated and
// logging that has been set up. Returns the process exit code: 0 after a
// clean shutdown, 1 when it cannot start (the database cannot be opened,
// the address cannot be bound); the reason is logged. Blocks until then.
int serve(const config& cfg);

}  // namespace rollup::app
