// The process-wide oneDNN engine, per-thread streams, and the primitive cache (see dnnl_context.hpp).
#include <datamux/core/dnnl_context.hpp>

#include <mutex>
#include <unordered_map>

namespace datamux::dnnl_ctx {
namespace {

struct KeyHash {
  std::size_t operator()(const PrimitiveKey& k) const { return k.hash(); }
};

struct Cache {
  std::mutex mu;
  std::unordered_map<PrimitiveKey, std::shared_ptr<const void>, KeyHash> entries;
  std::size_t hits = 0;
  std::size_t misses = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: primitives may be used by static objects at exit
  return *c;
}

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine* eng = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *eng;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

std::size_t PrimitiveKey::hash() const {
  std::size_t h = std::hash<std::string>()(kind_);
  for (int64_t v : values_) h ^= std::hash<int64_t>()(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

PrimitiveCacheStats primitive_cache_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return {c.entries.size(), c.hits, c.misses};
}

void clear_primitive_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.entries.clear();
}

bool is_reference_impl(const dnnl::primitive_desc_base& pd) {
  const std::string impl = pd.impl_info_str();
  return impl.rfind("ref", 0) == 0;
}

namespace detail {

std::shared_ptr<const void> cache_lookup(const PrimitiveKey& key, const std::function<std::shared_ptr<const void>()>& make) {
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.entries.find(key);
    if (it != c.entries.end()) {
      ++c.hits;
      return it->second;
    }
  }
  std::shared_ptr<const void> created = make();
  std::lock_guard<std::mutex> lock(c.mu);
  ++c.misses;
  auto [it, inserted] = c.entries.emplace(key, std::move(created));
  return it->second;
}

}  // namespace detail
}  // namespace datamux::dnnl_ctx
