#pragma once
// SPEC §5 `log` sink: one info line per digest. Always on; always confirms.

#include <memory>

#include "rollupd/delivery/sink.hpp"

namespace rollup::delivery {

std::unique_ptr<sink> make_log_sink();

}  // namespace rollup::delivery
