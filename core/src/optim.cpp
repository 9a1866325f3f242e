// Optimizers (SGD, AdamW) as fused per-parameter loops, their checkpointable state, gradient clipping.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <datamux/core/optim.hpp>
#include <datamux/options.hpp>
#include <limits>
#include <set>
#include <stdexcept>
#include <unordered_set>

namespace datamux {
namespace {

// Below this many elements a parameter is updated by one thread: the fork costs more than the loop.
constexpr int64_t kParallelMin = 1 << 15;

void check_hyper(bool ok, const char* kind, const std::string& what) {
  if (!ok) throw std::invalid_argument(fmt::format("{}: {}", kind, what));
}

std::string key_list(const std::vector<std::string>& keys) {
  constexpr std::size_t kShown = 8;
  std::string s;
  for (std::size_t i = 0; i < keys.size() && i < kShown; ++i) s += (i ? ", " : "") + keys[i];
  if (keys.size() > kShown) s += fmt::format(" and {} more", keys.size() - kShown);
  return s;
}

// A step count stored as i32 (ours) or f32 (as torch stores it): a non-negative integer in one element.
int64_t read_step(const std::string& key, const Tensor& t) {
  if (t.numel() != 1 || (t.dtype() != DType::i32 && t.dtype() != DType::f32))
    throw InputError(fmt::format("optimizer state '{}': expected one i32 step count, got {} {}", key,
                                 dtype_name(t.dtype()), shape_str(t.shape())));
  const double v = t.dtype() == DType::i32 ? t.to_ints()[0] : t.item();
  if (!(v >= 0) || v != std::floor(v))
    throw InputError(fmt::format("optimizer state '{}': step count {} is not a non-negative integer", key, v));
  return static_cast<int64_t>(v);
}

}  // namespace

// ---------------------------------------------------------------- Optimizer

Optimizer::Optimizer(const NamedTensors& params, double lr, std::vector<std::string> slot_names, const char* kind)
    : slot_names_(std::move(slot_names)), lr_(lr), kind_(kind) {
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& [name, p] : params) {
    if (!p.defined()) throw std::invalid_argument(fmt::format("{}: parameter '{}' is undefined", kind, name));
    if (!seen.insert(p.impl()).second) continue;
    if (p.dtype() != DType::f32 || !p.is_contiguous() || !p.is_leaf())
      throw std::invalid_argument(fmt::format("{}: parameter '{}' must be a contiguous f32 leaf tensor (got {} {}{})",
                                              kind, name, dtype_name(p.dtype()), shape_str(p.shape()),
                                              p.is_contiguous() ? "" : ", strided"));
    params_.emplace_back(name, p);
    std::vector<Tensor> slots;
    std::vector<float*> ptrs;
    for (std::size_t k = 0; k < slot_names_.size(); ++k) {
      slots.push_back(Tensor::zeros(p.shape()));
      ptrs.push_back(slots.back().data<float>());
    }
    slots_.push_back(std::move(slots));
    slot_ptrs_.push_back(std::move(ptrs));
  }
  steps_.assign(params_.size(), 0);
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0.0) || !std::isfinite(lr))
    throw std::invalid_argument(fmt::format("{}: learning rate must be finite and >= 0, got {}", kind_, lr));
  lr_ = lr;
}

void Optimizer::step() {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    TensorImpl* p = params_[i].second.impl();
    if (!p->grad) continue;
    const TensorImpl& g = *p->grad;
    if (g.shape != p->shape || g.dtype != DType::f32)
      throw std::logic_error(fmt::format("{}: gradient of '{}' is {} {}, parameter is {}", kind_, params_[i].first,
                                         dtype_name(g.dtype), shape_str(g.shape), shape_str(p->shape)));
    Tensor gt(p->grad);
    Tensor& pt = params_[i].second;
    if (!gt.is_contiguous())
      throw std::logic_error(fmt::format("{}: gradient of '{}' is not contiguous", kind_, params_[i].first));
    update(pt.data<float>(), gt.data<float>(), slot_ptrs_[i].data(), pt.numel(), ++steps_[i]);
  }
}

void Optimizer::zero_grad() {
  for (auto& [name, p] : params_) p.zero_grad();
}

NamedTensors Optimizer::state() const {
  NamedTensors out;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (steps_[i] == 0) continue;
    if (steps_[i] > std::numeric_limits<int32_t>::max())
      throw std::logic_error(fmt::format("{}: step count {} does not fit a checkpoint's i32", kind_, steps_[i]));
    const std::string& name = params_[i].first;
    out.emplace_back(name + ".step", Tensor::from_ints({static_cast<int32_t>(steps_[i])}, {}));
    for (std::size_t k = 0; k < slot_names_.size(); ++k) out.emplace_back(name + "." + slot_names_[k], slots_[i][k]);
  }
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state) {
  // Validate everything first, so a bad checkpoint leaves the optimizer as it was.
  std::set<std::string> known;
  std::vector<int64_t> steps(params_.size(), 0);
  std::vector<std::vector<const Tensor*>> sources(params_.size(), std::vector<const Tensor*>(slot_names_.size()));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const std::string& name = params_[i].first;
    const Shape& shape = params_[i].second.shape();
    const std::string step_key = name + ".step";
    known.insert(step_key);
    auto st = state.find(step_key);
    if (st != state.end()) steps[i] = read_step(step_key, st->second);
    for (std::size_t k = 0; k < slot_names_.size(); ++k) {
      const std::string key = name + "." + slot_names_[k];
      known.insert(key);
      auto it = state.find(key);
      if (it == state.end()) {
        if (steps[i] > 0)
          throw InputError(fmt::format("optimizer state: '{}' says {} steps were taken but '{}' is missing", step_key,
                                       steps[i], key));
        continue;
      }
      if (st == state.end())
        throw InputError(
            fmt::format("optimizer state: '{}' is present but its step count '{}' is missing", key, step_key));
      if (it->second.dtype() != DType::f32 || it->second.shape() != shape)
        throw InputError(fmt::format("optimizer state '{}': expected f32 {} (the shape of parameter '{}'), got {} {}",
                                     key, shape_str(shape), name, dtype_name(it->second.dtype()),
                                     shape_str(it->second.shape())));
      sources[i][k] = &it->second;
    }
  }
  std::vector<std::string> unknown;
  for (const auto& [key, t] : state)
    if (!known.count(key)) unknown.push_back(key);
  if (!unknown.empty())
    throw InputError(fmt::format("optimizer state: {} key(s) match no parameter of this {} optimizer: {}",
                                 unknown.size(), kind_, key_list(unknown)));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    steps_[i] = steps[i];
    for (std::size_t k = 0; k < slot_names_.size(); ++k) {
      if (sources[i][k])
        slots_[i][k].copy_(*sources[i][k]);
      else
        slots_[i][k].fill_(0.f);
    }
  }
}

// ---------------------------------------------------------------- SGD

SGD::SGD(const NamedTensors& params, SGDOptions o)
    : Optimizer(params, o.lr,
                o.momentum != 0.f ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{}, "SGD"),
      opt_(o) {
  check_hyper(o.lr >= 0.f, "SGD", fmt::format("lr must be >= 0, got {}", o.lr));
  check_hyper(o.momentum >= 0.f, "SGD", fmt::format("momentum must be >= 0, got {}", o.momentum));
  check_hyper(o.dampening >= 0.f, "SGD", fmt::format("dampening must be >= 0, got {}", o.dampening));
  check_hyper(o.weight_decay >= 0.f, "SGD", fmt::format("weight_decay must be >= 0, got {}", o.weight_decay));
  check_hyper(!o.nesterov || (o.momentum > 0.f && o.dampening == 0.f), "SGD",
              "nesterov momentum needs momentum > 0 and dampening 0");
}

void SGD::update(float* p, const float* g, float* const* slots, int64_t n, int64_t step) {
  const float lr = static_cast<float>(Optimizer::lr()), wd = opt_.weight_decay, mom = opt_.momentum;
  if (mom == 0.f) {
#pragma omp parallel for simd if (n > kParallelMin)
    for (int64_t j = 0; j < n; ++j) p[j] -= lr * (g[j] + wd * p[j]);
    return;
  }
  float* buf = slots[0];
  const bool nesterov = opt_.nesterov;
  // The first step copies the gradient into the buffer (no dampening), as torch does.
  const float keep = step == 1 ? 0.f : mom, take = step == 1 ? 1.f : 1.f - opt_.dampening;
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t j = 0; j < n; ++j) {
    const float d = g[j] + wd * p[j];
    const float b = keep * buf[j] + take * d;
    buf[j] = b;
    p[j] -= lr * (nesterov ? d + mom * b : b);
  }
}

// ---------------------------------------------------------------- AdamW

AdamW::AdamW(const NamedTensors& params, AdamWOptions o)
    : Optimizer(params, o.lr, {"exp_avg", "exp_avg_sq"}, "AdamW"), opt_(o) {
  check_hyper(o.lr >= 0.f, "AdamW", fmt::format("lr must be >= 0, got {}", o.lr));
  check_hyper(o.beta1 >= 0.f && o.beta1 < 1.f, "AdamW", fmt::format("beta1 must be in [0, 1), got {}", o.beta1));
  check_hyper(o.beta2 >= 0.f && o.beta2 < 1.f, "AdamW", fmt::format("beta2 must be in [0, 1), got {}", o.beta2));
  check_hyper(o.eps >= 0.f, "AdamW", fmt::format("eps must be >= 0, got {}", o.eps));
  check_hyper(o.weight_decay >= 0.f, "AdamW", fmt::format("weight_decay must be >= 0, got {}", o.weight_decay));
}

void AdamW::update(float* p, const float* g, float* const* slots, int64_t n, int64_t step) {
  const double lr = Optimizer::lr();
  const double bc1 = 1.0 - std::pow(static_cast<double>(opt_.beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(opt_.beta2), static_cast<double>(step));
  const float decay = static_cast<float>(1.0 - lr * opt_.weight_decay);
  const float step_size = static_cast<float>(lr / bc1);
  const float inv_bc2_sqrt = static_cast<float>(1.0 / std::sqrt(bc2));
  const float b1 = opt_.beta1, b2 = opt_.beta2, eps = opt_.eps;
  const float a1 = 1.f - b1, a2 = 1.f - b2;
  float* m = slots[0];
  float* v = slots[1];
#pragma omp parallel for simd if (n > kParallelMin)
  for (int64_t j = 0; j < n; ++j) {
    const float gj = g[j];
    const float mj = b1 * m[j] + a1 * gj;
    const float vj = b2 * v[j] + a2 * gj * gj;
    m[j] = mj;
    v[j] = vj;
    p[j] = p[j] * decay - step_size * mj / (std::sqrt(vj) * inv_bc2_sqrt + eps);
  }
}

// ---------------------------------------------------------------- clipping

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm, float norm_type) {
  if (!(max_norm >= 0.f))
    throw std::invalid_argument(fmt::format("clip_grad_norm: max_norm must be >= 0, got {}", max_norm));
  if (!(norm_type > 0.f))
    throw std::invalid_argument(fmt::format("clip_grad_norm: norm_type must be > 0 (or INFINITY), got {}", norm_type));
  const bool inf_norm = std::isinf(norm_type);
  const double pw = norm_type;
  double acc = 0.0;
  for (const Tensor& t : params) {
    if (!t.defined() || !t.impl()->grad) continue;
    Tensor g(t.impl()->grad);
    const float* d = g.data<float>();
    const int64_t n = g.numel();
    double part = 0.0;
    if (inf_norm) {
      int64_t nans = 0;
#pragma omp parallel for reduction(max : part) reduction(+ : nans) if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) {
        part = std::max(part, static_cast<double>(std::fabs(d[j])));
        nans += std::isnan(d[j]) ? 1 : 0;
      }
      // max() drops NaN; the norm of a gradient holding NaN is NaN, as in torch.
      acc = nans ? std::numeric_limits<double>::quiet_NaN() : (std::isnan(acc) ? acc : std::max(acc, part));
    } else if (norm_type == 2.f) {
#pragma omp parallel for simd reduction(+ : part) if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) part += static_cast<double>(d[j]) * d[j];
      acc += part;
    } else {
#pragma omp parallel for reduction(+ : part) if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) part += std::pow(std::fabs(static_cast<double>(d[j])), pw);
      acc += part;
    }
  }
  const double total = inf_norm ? acc : (norm_type == 2.f ? std::sqrt(acc) : std::pow(acc, 1.0 / pw));
  const double coef = static_cast<double>(max_norm) / (total + 1e-6);
  const float scale = static_cast<float>(std::isnan(coef) ? coef : std::min(coef, 1.0));
  if (scale != 1.f) {
    for (const Tensor& t : params) {
      if (!t.defined() || !t.impl()->grad) continue;
      Tensor g(t.impl()->grad);
      float* d = g.data<float>();
      const int64_t n = g.numel();
#pragma omp parallel for simd if (n > kParallelMin)
      for (int64_t j = 0; j < n; ++j) d[j] *= scale;
    }
  }
  return static_cast<float>(total);
}

}  // namespace datamux
