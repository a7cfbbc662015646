#include "rollupd/app/backup.hpp"

#include <exception>
#include <filesystem>
#include <iostream>

#include "rollupd/storage/database.hpp"

namespace rollup::app {

int run_backup(const std::string& data_dir, const std::string& to) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(data_dir) / "CURRENT", ec)) {
    std::cerr << "rollupd backup: no database in " << data_dir << " (set --data-dir)\n";
    return 1;
  }
  std::unique_ptr<storage::database> db;
  try {
    db = storage::database::open({data_dir, true, std::chrono::milliseconds{2000}});
  } catch (const std::exception& e) {
    std::cerr << "rollupd backup: " << e.what()
              << "\n  (is rollupd running on it? stop it first, or ask the running daemon: POST /v1/admin/checkpoint)\n";
    return 1;
  }
  if (auto r = db->checkpoint_to(to); !r) {
    std::cerr << "rollupd backup: " << r.err().detail << "\n";
    return 1;
  }
  std::cout << "rollupd backup: " << data_dir << " copied to " << to << "\n";
  return 0;
}

}  // namespace rollup::app
