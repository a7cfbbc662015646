#pragma once
// Names for the daemon's threads, so that `top -H`, `ps -L` and perf tell
// them apart: rollupd-net (serving the network; the main thread, which
// serves too, keeps the process's name), rollupd-store (load–strategy–save
// cycles and reads), rollupd-sync (the write-ahead log's syncs, durability
// fsync), rollupd-deliver (the dispatcher). RocksDB names its own
// (rocksdb:low, rocksdb:high).

#include <string>

namespace rollup {

// Names the calling thread. Linux keeps 15 bytes of it.
void name_this_thread(const char* name);

// The calling thread's name.
std::string this_thread_name();

// Names the calling thread until the end of the scope, then gives it its
// name back. A thread started meanwhile takes the name (Linux copies it to
// a new thread), so a thread pool made in the scope is named without a hook
// of its own.
class thread_name_scope {
 public:
  explicit thread_name_scope(const char* name);
  ~thread_name_scope();
  thread_name_scope(const thread_name_scope&) = delete;
  thread_name_scope& operator=(const thread_name_scope&) = delete;

 private:
  std::string previous_;
};

}  // namespace rollup
