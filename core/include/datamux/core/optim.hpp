// datamux/core/optim.hpp - optimizers and gradient clipping, with PyTorch's update rules.
//
// An optimizer holds the named parameters of a module (Module::named_parameters()) and updates each
// one from its accumulated gradient in one fused loop. Its per-parameter state (momentum buffers, Adam
// moments, step counts) is allocated once at construction, so a step allocates nothing, and it is
// exposed as named tensors so a checkpoint can carry it and a run can resume exactly:
//
//   AdamW opt(model.named_parameters(), {.lr = 1e-3f});
//   for (...) {
//     opt.set_lr(schedule.lr_at(step));
//     loss.backward();
//     clip_grad_norm(model.parameters(), 1.f);
//     opt.step();
//     opt.zero_grad();
//   }
//   save_safetensors(path, with_prefix("optimizer.", opt.state()));       // checkpoint.hpp
//   opt.load_state(select_prefix(load_safetensors(path).tensors, "optimizer."));
//
// A parameter with no gradient this step (zero_grad() clears gradients to none, as PyTorch's
// set_to_none) is skipped: neither it nor its state changes, as in torch.optim.
#pragma once

#include <cstdint>
#include <datamux/tensor.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace datamux {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter that has a gradient.
  void step();
  /// Clears the gradients of the parameters (to none).
  void zero_grad();
  void set_lr(double lr);
  double lr() const { return lr_; }

  /// The parameters, deduplicated (a tensor registered under two names is updated once, under its first name).
  const NamedTensors& params() const { return params_; }
  /// Updates applied to parameter i so far (its own count: skipped steps do not count).
  int64_t steps(std::size_t i) const { return steps_[i]; }

  /// State of every parameter updated at least once: "<param>.step" (i32 scalar) and one f32 tensor per
  /// slot, "<param>.<slot>" (SGD: momentum_buffer; AdamW: exp_avg, exp_avg_sq). The slot tensors share
  /// memory with the optimizer (save them; do not write into them).
  NamedTensors state() const;
  /// Restores what state() returned (the keys, without any prefix). A parameter absent from `state`
  /// starts afresh. Throws InputError naming the key for an unknown key, a wrong shape or dtype, or a
  /// step count without its slots; nothing changes when it throws.
  void load_state(const std::map<std::string, Tensor>& state);

 protected:
  /// `slot_names`: per-parameter state tensors, each shaped like its parameter and zero-initialised.
  Optimizer(const NamedTensors& params, double lr, std::vector<std::string> slot_names, const char* kind);
  /// Updates n elements of parameter i in place from its gradient. `slots[k]` is the slot_names[k]
  /// buffer of that parameter; `step` counts this update (1 on the first).
  virtual void update(float* param, const float* grad, float* const* slots, int64_t n, int64_t step) = 0;

 private:
  NamedTensors params_;
  std::vector<std::string> slot_names_;
  std::vector<std::vector<Tensor>> slots_;  // [param][slot]
  std::vector<std::vector<float*>> slot_ptrs_;
  std::vector<int64_t> steps_;
  double lr_;
  const char* kind_;
};

struct SGDOptions {
  float lr = 1e-3f;
  float momentum = 0.f;
  float dampening = 0.f;
  float weight_decay = 0.f;  // L2 penalty added to the gradient (coupled, as torch.optim.SGD)
  bool nesterov = false;     // needs momentum > 0 and dampening 0
};

/// torch.optim.SGD: g = grad + wd*p; with momentum, buf = g on the first step, then
/// buf = momentum*buf + (1-dampening)*g, and g = buf (or g + momentum*buf with nesterov); p -= lr*g.
class SGD : public Optimizer {
 public:
  /// Throws std::invalid_argument for a negative lr, momentum, dampening or weight decay, or nesterov
  /// without momentum / with dampening.
  SGD(const NamedTensors& params, SGDOptions options = {});
  const SGDOptions& options() const { return opt_; }

 private:
  void update(float* param, const float* grad, float* const* slots, int64_t n, int64_t step) override;
  SGDOptions opt_;
};

struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;  // decoupled: p *= 1 - lr*wd before the Adam update
};

/// torch.optim.AdamW: p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
/// p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
class AdamW : public Optimizer {
 public:
  /// Throws std::invalid_argument for a negative lr, eps or weight decay, or a beta outside [0, 1).
  AdamW(const NamedTensors& params, AdamWOptions options = {});
  const AdamWOptions& options() const { return opt_; }

 private:
  void update(float* param, const float* grad, float* const* slots, int64_t n, int64_t step) override;
  AdamWOptions opt_;
};

/// torch.nn.utils.clip_grad_norm_: the `norm_type` norm of all gradients together (2: Euclidean,
/// INFINITY: largest magnitude) is computed; if it exceeds max_norm, every gradient is multiplied by
/// max_norm / (norm + 1e-6). Returns the norm before clipping. Tensors without a gradient are
/// skipped. A non-finite norm is returned as is and the gradients are scaled as PyTorch scales them (by
/// NaN, or by 0 for an infinite norm): check the returned value before stepping.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm, float norm_type = 2.f);

}  // namespace datamux
