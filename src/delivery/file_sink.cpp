#include "rollupd/delivery/file_sink.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace rollup::delivery {
namespace {

class file_sink final : public sink {
 public:
  explicit file_sink(std::string path) : path_(std::move(path)) {}

  std::string_view name() const override { return "file"; }
  bool finishes_inline() const override { return true; }

  void deliver(const digest&, const std::string& body, std::function<void(attempt_outcome)> done) override {
    done(append_line(body + '\n'));
  }

 private:
  attempt_outcome append_line(const std::string& line) const {
    const auto failed = [&](const char* what) {
      return attempt_outcome{false, std::string(what) + " " + path_ + ": " + std::strerror(errno), std::nullopt};
    };
    const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) return failed("cannot open");
    // One write of the whole line: with O_APPEND it lands in one piece.
    std::size_t written = 0;
    while (written < line.size()) {
      const auto n = ::write(fd, line.data() + written, line.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        auto out = failed("cannot write to");
        ::close(fd);
        return out;
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fdatasync(fd) != 0) {
      auto out = failed("cannot sync");
      ::close(fd);
      return out;
    }
    if (::close(fd) != 0) return failed("cannot close");
    return attempt_outcome{true, {}, std::nullopt};
  }

  std::string path_;
};

}  // namespace

std::unique_ptr<sink> make_file_sink(std::string path) { return std::make_unique<file_sink>(std::move(path)); }

}  // namespace rollup::delivery
