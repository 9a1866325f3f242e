// Learning-rate schedules: linear warm-up, then constant, linear or cosine decay.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <datamux/core/schedule.hpp>
#include <numbers>
#include <stdexcept>

namespace datamux {
namespace {

void check_decay(const char* kind, double peak, int64_t total, double floor) {
  if (total < 0) throw std::invalid_argument(fmt::format("{} schedule: total steps must be >= 0, got {}", kind, total));
  if (!(floor >= 0.0 && floor <= peak))
    throw std::invalid_argument(
        fmt::format("{} schedule: floor lr must be in [0, peak lr {}], got {}", kind, peak, floor));
}

// Fraction of the decay done at `step`: 0 at the end of warm-up, 1 at `total` and after.
double decay_progress(int64_t step, int64_t warmup, int64_t total) {
  if (step >= total) return 1.0;
  return static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
}

}  // namespace

LrSchedule::LrSchedule(double peak, int64_t warmup) : peak_(peak), warmup_(warmup) {
  if (!(peak >= 0.0) || !std::isfinite(peak))
    throw std::invalid_argument(fmt::format("lr schedule: peak lr must be finite and >= 0, got {}", peak));
  if (warmup < 0) throw std::invalid_argument(fmt::format("lr schedule: warm-up steps must be >= 0, got {}", warmup));
}

double LrSchedule::lr_at(int64_t step) const {
  if (step < 0) throw std::invalid_argument(fmt::format("lr schedule: step must be >= 0, got {}", step));
  if (step < warmup_) return peak_ * static_cast<double>(step) / static_cast<double>(warmup_);
  return after_warmup(step);
}

WarmupConstant::WarmupConstant(double peak, int64_t warmup) : LrSchedule(peak, warmup) {}

double WarmupConstant::after_warmup(int64_t) const { return peak_; }

std::string WarmupConstant::describe() const {
  if (warmup_ == 0) return fmt::format("constant lr {}", peak_);
  return fmt::format("linear warm-up {} steps to lr {}, then constant", warmup_, peak_);
}

WarmupLinear::WarmupLinear(double peak, int64_t warmup, int64_t total, double floor)
    : LrSchedule(peak, warmup), total_(total), floor_(floor) {
  check_decay("linear", peak, total, floor);
}

double WarmupLinear::after_warmup(int64_t step) const {
  return floor_ + (peak_ - floor_) * (1.0 - decay_progress(step, warmup_, total_));
}

std::string WarmupLinear::describe() const {
  return fmt::format("linear warm-up {} steps to lr {}, linear decay to {} at step {}", warmup_, peak_, floor_, total_);
}

WarmupCosine::WarmupCosine(double peak, int64_t warmup, int64_t total, double floor)
    : LrSchedule(peak, warmup), total_(total), floor_(floor) {
  check_decay("cosine", peak, total, floor);
}

double WarmupCosine::after_warmup(int64_t step) const {
  const double progress = decay_progress(step, warmup_, total_);
  return floor_ + (peak_ - floor_) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

std::string WarmupCosine::describe() const {
  return fmt::format("linear warm-up {} steps to lr {}, cosine decay to {} at step {}", warmup_, peak_, floor_, total_);
}

}  // namespace datamux
