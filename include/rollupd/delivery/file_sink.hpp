#pragma once
// SPEC §5 `file` sink: appends one JSON line per digest and syncs it to disk
// (fdatasync) before confirming. The file is created (0640) if missing and
// opened per attempt, so it can be rotated by renaming it.

#include <memory>
#include <string>

#include "rollupd/delivery/sink.hpp"

namespace rollup::delivery {

std::unique_ptr<sink> make_file_sink(std::string path);

}  // namespace rollup::delivery
