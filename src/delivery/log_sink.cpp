#include "rollupd/delivery/log_sink.hpp"

#include <spdlog/spdlog.h>

namespace rollup::delivery {
namespace {

class log_sink final : public sink {
 public:
  std::string_view name() const override { return "log"; }
  bool uses_body() const override { return false; }
  bool finishes_inline() const override { return true; }
  void deliver(const digest& d, const std::string&, std::function<void(attempt_outcome)> done) override {
    spdlog::info("digest {} for {}: {} notification(s), reason {}{}", d.id, d.email, d.notifications.size(),
                 reason_name(d.reason), d.late ? ", late" : "");
    done(attempt_outcome{true, {}, std::nullopt});
  }
};

}  // namespace

std::unique_ptr<sink> make_log_sink() { return std::make_unique<log_sink>(); }

}  // namespace rollup::delivery
