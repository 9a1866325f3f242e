// datamux/core/dnnl_context.hpp - the process-wide oneDNN engine and stream, and a primitive cache.
//
// Creating a oneDNN primitive descriptor walks the implementation list and JIT-compiles kernels: far
// too slow to do per call. Ops build a PrimitiveKey from everything that shapes the primitive (op kind,
// dims, strides, dtypes, flags) and fetch their primitive with `cached_primitive`, so each one is
// created once per shape and then shared. Internal to the core library (plugins never see oneDNN).
//
//   PrimitiveKey key("matmul");
//   key.add(dims).add(strides).add(int64_t(dtype));
//   auto entry = cached_primitive<MatmulEntry>(key, [&] { return make_matmul_entry(...); });
//   entry->prim.execute(cpu_stream(), args);
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace datamux::dnnl_ctx {

/// The CPU engine every primitive and memory object uses.
const dnnl::engine& cpu_engine();
/// An in-order CPU stream, one per calling thread (oneDNN streams are not shared between threads).
dnnl::stream& cpu_stream();

/// Everything that makes two primitives different: an op kind plus a flat list of integers.
class PrimitiveKey {
 public:
  explicit PrimitiveKey(std::string kind) : kind_(std::move(kind)) {}
  PrimitiveKey& add(int64_t v) {
    values_.push_back(v);
    return *this;
  }
  PrimitiveKey& add(const std::vector<int64_t>& vs) {
    values_.push_back(static_cast<int64_t>(vs.size()));
    values_.insert(values_.end(), vs.begin(), vs.end());
    return *this;
  }
  bool operator==(const PrimitiveKey& o) const { return kind_ == o.kind_ && values_ == o.values_; }
  std::size_t hash() const;
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::vector<int64_t> values_;
};

/// Cache counters, so tests can check that a repeated shape creates nothing new.
struct PrimitiveCacheStats {
  std::size_t entries = 0;
  std::size_t hits = 0;
  std::size_t misses = 0;
};
PrimitiveCacheStats primitive_cache_stats();
/// Drops every cached primitive (e.g. between sweep runs with different shapes).
void clear_primitive_cache();

namespace detail {
/// Thread-safe lookup; `make` runs outside the lock on a miss (two threads racing on one new key may
/// both build it; the first stored wins).
std::shared_ptr<const void> cache_lookup(const PrimitiveKey& key,
                                         const std::function<std::shared_ptr<const void>()>& make);
}  // namespace detail

/// The cached Entry for `key`, created by `make()` (returning Entry by value) on first use.
/// Every key kind must always map to the same Entry type.
template <class Entry, class Make>
std::shared_ptr<const Entry> cached_primitive(const PrimitiveKey& key, Make&& make) {
  auto p = detail::cache_lookup(key, [&]() -> std::shared_ptr<const void> { return std::make_shared<const Entry>(make()); });
  return std::static_pointer_cast<const Entry>(p);
}

/// oneDNN dims from ours (both int64).
inline dnnl::memory::dims to_dims(const std::vector<int64_t>& v) { return dnnl::memory::dims(v.begin(), v.end()); }

/// True when oneDNN picked its slow reference implementation for `pd`.
bool is_reference_impl(const dnnl::primitive_desc_base& pd);

}  // namespace datamux::dnnl_ctx
