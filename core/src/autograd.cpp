// Reverse-mode autograd: graph recording, gradient accumulation and the backward walk.
#include <datamux/core/autograd_stats.hpp>
#include <datamux/core/tensor_util.hpp>
#include <datamux/ops.hpp>
#include <datamux/tensor.hpp>

#include <fmt/format.h>

#include <atomic>
#include <stdexcept>
#include <unordered_set>

namespace datamux {
namespace {
thread_local bool g_grad_enabled = true;
std::atomic<uint64_t> g_nodes_recorded{0};
}

uint64_t tape_nodes_recorded() { return g_nodes_recorded.load(std::memory_order_relaxed); }

bool grad_enabled() { return g_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool any_requires_grad(std::initializer_list<Tensor> ts) {
  for (const Tensor& t : ts)
    if (t.defined() && t.impl()->requires_grad) return true;
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts)
    if (t.defined() && t.impl()->requires_grad) return true;
  return false;
}

void record(Tensor& out, std::vector<Tensor> inputs, std::function<void(const Tensor&)> backward, const char* name) {
  if (!g_grad_enabled || !any_requires_grad(inputs)) return;
  g_nodes_recorded.fetch_add(1, std::memory_order_relaxed);
  auto node = std::make_shared<Node>();
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->name = name;
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

void accumulate_grad(const Tensor& t, const Tensor& g_in) {
  if (!t.defined() || !t.impl()->requires_grad) return;
  TensorImpl* impl = t.impl();
  if (g_in.shape() != impl->shape)
    throw std::logic_error(fmt::format("accumulate_grad: gradient of shape {} for tensor of shape {}",
                                       shape_str(g_in.shape()), shape_str(impl->shape)));
  NoGradGuard no_grad;
  Tensor g = g_in.detach();
  const bool leaf = impl->grad_fn == nullptr;
  if (!impl->grad) {
    // Leaves own their gradient buffer (it is added into in place across micro-batches); inner
    // nodes may share the incoming tensor, since nothing writes into it.
    impl->grad = (leaf || !g.is_contiguous()) ? g.clone().impl_ptr() : g.impl_ptr();
    return;
  }
  Tensor acc(impl->grad);
  if (leaf) {
    const int64_t n = acc.numel();
    Tensor cg = g.contiguous();
    float* a = acc.data<float>();
    const float* b = cg.data<float>();
#pragma omp parallel for simd if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) a[i] += b[i];
  } else {
    impl->grad = (acc + g).impl_ptr();
  }
}

void accumulate_grad(const Tensor& t, Tensor&& g) {
  // A temporary whose storage nothing else references can become a leaf's gradient buffer as it is:
  // the clone the lvalue overload makes would cost a pass over every weight gradient per step.
  if (t.defined() && t.impl()->requires_grad && !t.impl()->grad && !t.impl()->grad_fn && g.defined() &&
      g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous() && g.offset() == 0 &&
      g.shape() == t.shape() && !g.impl()->grad_fn && !g.impl()->grad && g.dtype() == DType::f32) {
    t.impl()->grad = g.impl_ptr();
    return;
  }
  accumulate_grad(t, static_cast<const Tensor&>(g));
}

bool Tensor::requires_grad() const { return impl_ && impl_->requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
  if (impl_->grad_fn) throw std::logic_error("set_requires_grad: only leaf tensors can be marked trainable");
  if (on && impl_->dtype != DType::f32) throw std::logic_error("set_requires_grad: only f32 tensors can be trainable");
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl_ && impl_->grad ? Tensor(impl_->grad) : Tensor(); }
void Tensor::zero_grad() {
  if (impl_) impl_->grad.reset();
}
bool Tensor::is_leaf() const { return !impl_->grad_fn; }

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->offset = impl_->offset;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->dtype = impl_->dtype;
  return Tensor(impl);
}

void Tensor::backward(const Tensor& grad_output) const {
  if (!requires_grad()) throw std::logic_error("backward: tensor does not require grad (no trainable input)");
  Tensor seed = grad_output;
  if (!seed.defined()) {
    if (numel() != 1)
      throw std::logic_error("backward: implicit gradient only for a scalar, got shape " + shape_str(shape()));
    seed = Tensor::ones(shape());
  }
  // Topological order by iterative DFS over nodes (post-order), then run it in reverse.
  // `order` holds the impls alive: freeing a node as we go would otherwise free its inputs' impls.
  std::vector<std::shared_ptr<TensorImpl>> order;
  std::unordered_set<TensorImpl*> seen;
  std::vector<std::pair<std::shared_ptr<TensorImpl>, std::size_t>> stack{{impl_, 0}};
  seen.insert(impl_.get());
  while (!stack.empty()) {
    auto& [t, next] = stack.back();
    Node* node = t->grad_fn.get();  // t: the stack's top
    if (node && next < node->inputs.size()) {
      std::shared_ptr<TensorImpl> in = node->inputs[next++].impl_ptr();
      if (in && in->requires_grad && in->grad_fn && seen.insert(in.get()).second) stack.emplace_back(std::move(in), 0);
      continue;
    }
    order.push_back(std::move(t));
    stack.pop_back();
  }
  NoGradGuard no_grad;  // backward closures compute with ops; no second-order graph is built
  accumulate_grad(*this, seed);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* t = it->get();
    if (!t->grad_fn) continue;  // a leaf root keeps the seed as its gradient
    std::shared_ptr<Node> node = std::move(t->grad_fn);  // frees the graph as we go
    std::shared_ptr<TensorImpl> g = std::move(t->grad);
    if (!g) continue;
    node->backward(Tensor(g));
  }
}

}  // namespace datamux
