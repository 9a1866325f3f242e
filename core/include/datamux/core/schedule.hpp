// datamux/core/schedule.hpp - learning rate as a function of the step.
//
// The shapes of Hugging Face's get_{constant,linear,cosine}_schedule_with_warmup, which the DataMUX
// reference scripts train with. `step` counts optimizer steps from 0; the lr for the step about to be
// taken is lr_at(step), so the first step of a warm-up runs at lr 0, as in those schedules:
//
//   warm-up   step < warmup:  peak * step / warmup
//   constant  after warm-up:  peak
//   linear    after warm-up:  from peak down to `floor` at step `total`, then floor
//   cosine    after warm-up:  floor + (peak - floor) * (1 + cos(pi * progress)) / 2, progress 0 -> 1 at `total`
//
// `floor` (default 0) is the learning rate the decay ends at.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace datamux {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  /// Learning rate for optimizer step `step` (0-based). Throws std::invalid_argument for step < 0.
  double lr_at(int64_t step) const;
  double peak() const { return peak_; }
  int64_t warmup() const { return warmup_; }
  /// For messages and logs, e.g. "linear warm-up 100 steps to 0.001, linear decay to 0 at step 1000".
  virtual std::string describe() const = 0;

 protected:
  /// Throws std::invalid_argument for a negative or non-finite peak or a negative warm-up.
  LrSchedule(double peak, int64_t warmup);
  /// The lr at `step` >= warmup.
  virtual double after_warmup(int64_t step) const = 0;
  double peak_;
  int64_t warmup_;
};

/// Warm-up, then the peak lr for ever. WarmupConstant(lr) (no warm-up) is a constant schedule.
class WarmupConstant : public LrSchedule {
 public:
  explicit WarmupConstant(double peak, int64_t warmup = 0);
  std::string describe() const override;

 private:
  double after_warmup(int64_t step) const override;
};

/// Warm-up, then a straight line from the peak at `warmup` to `floor` at `total`; `floor` after.
class WarmupLinear : public LrSchedule {
 public:
  /// Throws std::invalid_argument for total < 0 or a floor outside [0, peak].
  WarmupLinear(double peak, int64_t warmup, int64_t total, double floor = 0.0);
  std::string describe() const override;

 private:
  double after_warmup(int64_t step) const override;
  int64_t total_;
  double floor_;
};

/// Warm-up, then half a cosine from the peak at `warmup` to `floor` at `total`; `floor` after.
class WarmupCosine : public LrSchedule {
 public:
  /// Throws std::invalid_argument for total < 0 or a floor outside [0, peak].
  WarmupCosine(double peak, int64_t warmup, int64_t total, double floor = 0.0);
  std::string describe() const override;

 private:
  double after_warmup(int64_t step) const override;
  int64_t total_;
  double floor_;
};

}  // namespace datamux
