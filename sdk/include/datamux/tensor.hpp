// datamux/tensor.hpp - the n-dimensional array every component computes with.
//
// A Tensor is a cheap handle (one shared_ptr) to a TensorImpl: shape, strides and an offset into a
// Storage that views share. f32 is the compute type; i32 holds token ids and labels; bf16 is a
// storage type for matmul/conv inputs on hosts that support it.
//
// Autograd: a tensor produced by an op from inputs that require grad records a Node (the backward
// closure and the inputs it feeds). `loss.backward()` walks the graph in reverse topological order and
// accumulates into `.grad()` of every leaf that requires grad (parameters). Inside a NoGradGuard no
// graph is recorded (evaluation). Plugins never write backward passes: they compose ops (ops.hpp).
//
//   Rng rng(42);
//   Tensor w = Tensor::randn({4, 3}, rng).set_requires_grad(true);
//   Tensor y = ops::sum(ops::matmul(x, w));
//   y.backward();            // w.grad() now holds dy/dw
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace datamux {

using Shape = std::vector<int64_t>;

enum class DType : uint8_t { f32 = 0, i32 = 1, bf16 = 2 };
const char* dtype_name(DType t);
std::size_t dtype_size(DType t);

/// Deterministic random source. Every random init and sampling takes one explicitly, so a run is a
/// function of its seed.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}
  float normal(float mean = 0.f, float stddev = 1.f) { return std::normal_distribution<float>(mean, stddev)(engine_); }
  float uniform(float lo = 0.f, float hi = 1.f) { return std::uniform_real_distribution<float>(lo, hi)(engine_); }
  /// Uniform integer in [lo, hi).
  int64_t randint(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi - 1)(engine_); }
  uint64_t next() { return engine_(); }
  std::mt19937_64& engine() { return engine_; }
  const std::mt19937_64& engine() const { return engine_; }

 private:
  std::mt19937_64 engine_;
};

/// Raw memory, owned through a size-bucketed cache so that per-step activations reuse freed blocks
/// instead of going back to malloc (glibc returns large blocks to the OS, which costs 2-3x step time).
struct Storage {
  explicit Storage(std::size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  std::size_t bytes = 0;
};

class Tensor;
struct Node;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  Shape shape;
  Shape strides;  // in elements
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;  // accumulated gradient (same shape, contiguous)
  std::shared_ptr<Node> grad_fn;     // null for leaves
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories ----
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32);
  static Tensor ones(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const std::vector<float>& values, const Shape& shape);
  static Tensor from_ints(const std::vector<int32_t>& values, const Shape& shape);
  static Tensor scalar(float value);
  static Tensor arange(int64_t n);  // f32 0..n-1
  static Tensor randn(const Shape& shape, Rng& rng, float mean = 0.f, float stddev = 1.f);
  static Tensor uniform(const Shape& shape, Rng& rng, float lo, float hi);
  /// He/Kaiming uniform (a = sqrt(5) as torch.nn.Linear/Conv2d use) for a [fan_out, fan_in, ...] weight.
  static Tensor kaiming_uniform(const Shape& shape, Rng& rng);

  // ---- metadata ----
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  /// Size of dimension d; negative d counts from the end.
  int64_t size(int64_t d) const;
  int64_t numel() const;
  DType dtype() const;
  bool is_contiguous() const;
  int64_t offset() const;

  // ---- data access (element pointers already include the view offset) ----
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  /// Value of a one-element tensor.
  float item() const;
  std::vector<float> to_vector() const;  // f32 (or i32/bf16 converted), logical order
  std::vector<int32_t> to_ints() const;  // i32, logical order
  /// Element at a multi-index (slow; for tests and printing).
  float at(const std::vector<int64_t>& index) const;

  // ---- views (share storage, differentiable) ----
  Tensor reshape(const Shape& shape) const;  // a view when possible, else a contiguous copy; one dim may be -1
  Tensor permute(const std::vector<int64_t>& order) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end) const;  // [start, end) along dim
  Tensor select(int64_t dim, int64_t index) const;               // drops dim
  Tensor expand(const Shape& shape) const;                       // broadcast size-1 dims (stride 0)
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor contiguous() const;  // self if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy (differentiable)
  Tensor to(DType dtype) const;  // conversion (not differentiable)

  // ---- autograd ----
  bool requires_grad() const;
  /// Marks a leaf as trainable. Returns *this for chaining.
  Tensor& set_requires_grad(bool on = true);
  Tensor grad() const;  // undefined if none accumulated yet
  void zero_grad();
  /// Back-propagates from this scalar (or from `grad_output` of the same shape).
  void backward(const Tensor& grad_output = Tensor()) const;
  Tensor detach() const;  // same storage, no history
  bool is_leaf() const;

  // ---- in-place (no autograd; for optimizers, init and buffers) ----
  void fill_(float value);
  void copy_(const Tensor& src);  // shapes must match (src may broadcast)

  std::string to_string(int64_t max_per_dim = 6) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

/// Shape as text, e.g. "[2, 3, 4]".
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);
Shape contiguous_strides(const Shape& shape);

// ---- autograd machinery ----

/// A recorded op: the inputs whose gradients it produces and the closure that computes them.
/// `backward(grad_out)` must call `accumulate_grad(inputs[k], g)` for the inputs it differentiates.
struct Node {
  std::vector<Tensor> inputs;
  std::function<void(const Tensor& grad_out)> backward;
  const char* name = "op";
};

/// Adds g into the gradient slot of t (allocating it on first use). No-op when t needs no grad.
void accumulate_grad(const Tensor& t, const Tensor& g);
/// The same for a temporary: when nothing else shares its storage it becomes t's gradient without a copy.
void accumulate_grad(const Tensor& t, Tensor&& g);

/// True when ops should record graph (no NoGradGuard active and some input requires grad).
bool grad_enabled();
bool any_requires_grad(std::initializer_list<Tensor> ts);
bool any_requires_grad(const std::vector<Tensor>& ts);
/// Attaches a Node to `out` if grad is enabled and an input requires grad. Used by op implementations.
void record(Tensor& out, std::vector<Tensor> inputs, std::function<void(const Tensor&)> backward,
            const char* name);

/// Disables graph recording in its scope (thread-local), e.g. for evaluation.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace datamux
