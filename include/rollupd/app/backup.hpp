#pragma once
// `rollupd backup --to DIR`: an offline, consistent copy of data_dir.

#include <string>

namespace rollup::app {

// Opens the database in `data_dir` (rollupd must not be running on it: the
// database is locked while it is) and writes a checkpoint into `to`, which
// must not exist. Returns the process exit code and prints what happened.
int run_backup(const std::string& data_dir, const std::string& to);

}  // namespace rollup::app
