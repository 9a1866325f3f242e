// ops::matmul and ops::linear: forward against naive loops, gradients against finite differences,
// broadcasting, transposed/sliced/permuted operands, the primitive cache and bad input.
#include <datamux/core/cpu_features.hpp>
#include <datamux/core/dnnl_context.hpp>
#include <datamux/core/matmul_kernel.hpp>
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

using namespace datamux;
using datamux::testing::expect_close;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

namespace {

// Naive batched op(a) op(b) with NumPy broadcasting of the leading dims, via element access.
Tensor naive_matmul(const Tensor& a, const Tensor& b, bool ta = false, bool tb = false) {
  const int64_t ra = a.dim(), rb = b.dim(), r = std::max(ra, rb);
  const int64_t m = ta ? a.size(-1) : a.size(-2), k = ta ? a.size(-2) : a.size(-1);
  const int64_t n = tb ? b.size(-2) : b.size(-1);
  Shape batch(r - 2);
  for (int64_t i = 0; i < r - 2; ++i) {
    const int64_t ia = i - (r - ra), ib = i - (r - rb);
    const int64_t da = ia >= 0 ? a.shape()[ia] : 1, db = ib >= 0 ? b.shape()[ib] : 1;
    batch[i] = std::max(da, db);
  }
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  std::vector<float> out(static_cast<std::size_t>(shape_numel(out_shape)));
  const int64_t nb = shape_numel(batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    Shape idx(r - 2);
    for (int64_t i = r - 3, rem = bi; i >= 0; --i) idx[i] = rem % batch[i], rem /= batch[i];
    auto index = [&](const Tensor& t, int64_t row, int64_t col) {
      std::vector<int64_t> ix;
      for (int64_t i = r - t.dim(); i < r - 2; ++i) ix.push_back(t.shape()[i - (r - t.dim())] == 1 ? 0 : idx[i]);
      ix.push_back(row);
      ix.push_back(col);
      return t.at(ix);
    };
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<double>(ta ? index(a, p, i) : index(a, i, p)) * (tb ? index(b, j, p) : index(b, p, j));
        out[static_cast<std::size_t>((bi * m + i) * n + j)] = static_cast<float>(acc);
      }
  }
  return Tensor::from_vector(out, out_shape);
}

Tensor naive_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const int64_t in = w.size(1), out = w.size(0);
  Tensor x2 = x.contiguous().reshape({-1, in});
  std::vector<float> y(static_cast<std::size_t>(x2.size(0) * out));
  for (int64_t i = 0; i < x2.size(0); ++i)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b.defined() ? b.at({o}) : 0.f;
      for (int64_t p = 0; p < in; ++p) acc += static_cast<double>(x2.at({i, p})) * w.at({o, p});
      y[static_cast<std::size_t>(i * out + o)] = static_cast<float>(acc);
    }
  Shape shape(x.shape().begin(), x.shape().end() - 1);
  shape.push_back(out);
  return Tensor::from_vector(y, shape);
}

}  // namespace

// ---------------------------------------------------------------- matmul forward

TEST(Matmul, PlainTwoDMatchesNaive) {
  Rng rng(1);
  Tensor a = Tensor::randn({5, 7}, rng), b = Tensor::randn({7, 3}, rng);
  expect_close(ops::matmul(a, b), naive_matmul(a, b), 1e-4f, 1e-4f);
}

TEST(Matmul, TransposeFlagsMatchNaive) {
  Rng rng(2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // Logical op(a): [2, 4, 6], op(b): [2, 6, 5].
      Tensor a = Tensor::randn(ta ? Shape{2, 6, 4} : Shape{2, 4, 6}, rng);
      Tensor b = Tensor::randn(tb ? Shape{2, 5, 6} : Shape{2, 6, 5}, rng);
      SCOPED_TRACE(::testing::Message() << "trans_a=" << ta << " trans_b=" << tb);
      Tensor got = ops::matmul(a, b, ta, tb);
      EXPECT_EQ(got.shape(), (Shape{2, 4, 5}));
      expect_close(got, naive_matmul(a, b, ta, tb), 1e-4f, 1e-4f);
    }
}

TEST(Matmul, BatchedAgainstSharedWeightFoldsRows) {
  Rng rng(3);
  Tensor a = Tensor::randn({3, 4, 6}, rng), b = Tensor::randn({6, 5}, rng);
  Tensor got = ops::matmul(a, b);
  EXPECT_EQ(got.shape(), (Shape{3, 4, 5}));
  expect_close(got, naive_matmul(a, b), 1e-4f, 1e-4f);
}

TEST(Matmul, FourDBatchesAndMixedBroadcast) {
  Rng rng(4);
  Tensor a = Tensor::randn({2, 3, 4, 5}, rng), b = Tensor::randn({2, 3, 5, 6}, rng);
  expect_close(ops::matmul(a, b), naive_matmul(a, b), 1e-4f, 1e-4f);
  Tensor c = Tensor::randn({2, 1, 4, 5}, rng), d = Tensor::randn({3, 5, 2}, rng);
  Tensor got = ops::matmul(c, d);
  EXPECT_EQ(got.shape(), (Shape{2, 3, 4, 2}));
  expect_close(got, naive_matmul(c, d), 1e-4f, 1e-4f);
  Tensor e = Tensor::randn({4, 5}, rng), f = Tensor::randn({2, 3, 5, 2}, rng);
  expect_close(ops::matmul(e, f), naive_matmul(e, f), 1e-4f, 1e-4f);
}

TEST(Matmul, NonContiguousViewsMatchNaive) {
  Rng rng(5);
  // Attention-style permuted heads: [B, L, H, D] -> [B, H, L, D].
  Tensor q = Tensor::randn({2, 5, 3, 4}, rng).permute({0, 2, 1, 3});
  Tensor k = Tensor::randn({2, 6, 3, 4}, rng).permute({0, 2, 1, 3});
  expect_close(ops::matmul(q, k, false, true), naive_matmul(q, k, false, true), 1e-4f, 1e-4f);
  // Column slice (row stride larger than the width) and a batch slice.
  Tensor wide = Tensor::randn({3, 4, 9}, rng);
  Tensor a = wide.slice(2, 2, 7).slice(0, 1, 3);  // [2, 4, 5]
  Tensor b = Tensor::randn({5, 3}, rng);
  expect_close(ops::matmul(a, b), naive_matmul(a, b), 1e-4f, 1e-4f);
  // Transposed view passed without the flag, and an inner dim with stride 2 (needs a copy).
  Tensor t = Tensor::randn({5, 4}, rng).transpose(0, 1);  // [4, 5], column-major
  expect_close(ops::matmul(t, b), naive_matmul(t, b), 1e-4f, 1e-4f);
  Tensor s = Tensor::randn({4, 5, 2}, rng).select(2, 1);  // [4, 5], strides (10, 2)
  expect_close(ops::matmul(s, b), naive_matmul(s, b), 1e-4f, 1e-4f);
  // Expanded (stride-0) batch on one side and on both sides.
  Tensor ea = Tensor::randn({1, 4, 5}, rng).expand({3, 4, 5});
  Tensor eb = Tensor::randn({1, 5, 2}, rng).expand({3, 5, 2});
  Tensor fb = Tensor::randn({3, 5, 2}, rng);
  expect_close(ops::matmul(ea, fb), naive_matmul(ea, fb), 1e-4f, 1e-4f);
  Tensor both = ops::matmul(ea, eb);
  EXPECT_EQ(both.shape(), (Shape{3, 4, 2}));
  expect_close(both, naive_matmul(ea, eb), 1e-4f, 1e-4f);
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  Tensor got = ops::matmul(Tensor::zeros({3, 0}), Tensor::zeros({0, 2}));
  EXPECT_EQ(got.shape(), (Shape{3, 2}));
  for (float v : got.to_vector()) EXPECT_EQ(v, 0.f);
}

// ---------------------------------------------------------------- matmul gradients

TEST(MatmulGrad, TwoDAllTransposeFlags) {
  Rng rng(10);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "trans_a=" << ta << " trans_b=" << tb);
      Tensor a = Tensor::randn(ta ? Shape{4, 3} : Shape{3, 4}, rng).set_requires_grad();
      Tensor b = Tensor::randn(tb ? Shape{5, 4} : Shape{4, 5}, rng).set_requires_grad();
      expect_gradients_match([&] { return weighted_sum(ops::matmul(a, b, ta, tb)); }, {a, b});
    }
}

TEST(MatmulGrad, BatchedWithSharedWeight) {
  Rng rng(11);
  for (bool tb : {false, true}) {
    Tensor a = Tensor::randn({2, 3, 4}, rng).set_requires_grad();
    Tensor b = Tensor::randn(tb ? Shape{5, 4} : Shape{4, 5}, rng).set_requires_grad();
    expect_gradients_match([&] { return weighted_sum(ops::matmul(a, b, false, tb)); }, {a, b});
  }
}

TEST(MatmulGrad, BroadcastBatchDimsBothWays) {
  Rng rng(12);
  Tensor a = Tensor::randn({2, 1, 3, 4}, rng).set_requires_grad();
  Tensor b = Tensor::randn({3, 4, 2}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::matmul(a, b)); }, {a, b});
  Tensor c = Tensor::randn({4, 3}, rng).set_requires_grad();
  Tensor d = Tensor::randn({2, 5, 4}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::matmul(c, d, true, true)); }, {c, d});
}

TEST(MatmulGrad, TransposedBatchedOperands) {
  Rng rng(13);
  Tensor a = Tensor::randn({2, 4, 3}, rng).set_requires_grad();
  Tensor b = Tensor::randn({2, 5, 4}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::matmul(a, b, true, true)); }, {a, b});
}

TEST(MatmulGrad, NonContiguousInputs) {
  Rng rng(14);
  Tensor q = Tensor::randn({2, 3, 2, 4}, rng).set_requires_grad();  // [B, L, H, D]
  Tensor k = Tensor::randn({2, 5, 2, 4}, rng).set_requires_grad();
  expect_gradients_match(
      [&] { return weighted_sum(ops::matmul(q.permute({0, 2, 1, 3}), k.permute({0, 2, 1, 3}), false, true)); }, {q, k});
  Tensor w = Tensor::randn({3, 7}, rng).set_requires_grad();
  Tensor b = Tensor::randn({4, 5, 2}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::matmul(w.slice(1, 1, 5), b.select(2, 1))); }, {w, b});
}

// ---------------------------------------------------------------- linear

TEST(Linear, ForwardMatchesNaiveWithAndWithoutBias) {
  Rng rng(20);
  Tensor x = Tensor::randn({2, 3, 6}, rng), w = Tensor::randn({4, 6}, rng), b = Tensor::randn({4}, rng);
  Tensor y = ops::linear(x, w, b);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  expect_close(y, naive_linear(x, w, b), 1e-4f, 1e-4f);
  expect_close(ops::linear(x, w), naive_linear(x, w, Tensor()), 1e-4f, 1e-4f);
  Tensor v = Tensor::randn({6}, rng);
  Tensor yv = ops::linear(v, w, b);
  EXPECT_EQ(yv.shape(), (Shape{4}));
  expect_close(yv, naive_linear(v, w, b), 1e-4f, 1e-4f);
}

TEST(Linear, NonContiguousInputMatchesNaive) {
  Rng rng(21);
  Tensor x = Tensor::randn({6, 3, 2}, rng).permute({2, 1, 0});  // [2, 3, 6], inner stride 6
  Tensor w = Tensor::randn({4, 6}, rng), b = Tensor::randn({4}, rng);
  expect_close(ops::linear(x, w, b), naive_linear(x, w, b), 1e-4f, 1e-4f);
  Tensor xs = Tensor::randn({5, 9}, rng).slice(1, 2, 8);  // [5, 6], row stride 9
  expect_close(ops::linear(xs, w, b), naive_linear(xs, w, b), 1e-4f, 1e-4f);
  Tensor x3 = Tensor::randn({2, 3, 10}, rng).slice(2, 4, 10);  // [2, 3, 6]: rows collapse to a strided [6, 6]
  expect_close(ops::linear(x3, w, b), naive_linear(x3, w, b), 1e-4f, 1e-4f);
}

TEST(LinearGrad, ThreeDInputWithBias) {
  Rng rng(22);
  Tensor x = Tensor::randn({2, 3, 5}, rng).set_requires_grad();
  Tensor w = Tensor::randn({4, 5}, rng).set_requires_grad();
  Tensor b = Tensor::randn({4}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::linear(x, w, b)); }, {x, w, b});
}

TEST(LinearGrad, NonContiguousInputNoBias) {
  Rng rng(23);
  Tensor x = Tensor::randn({5, 3, 2}, rng).set_requires_grad();
  Tensor w = Tensor::randn({4, 5}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::linear(x.permute({2, 1, 0}), w)); }, {x, w});
  Tensor v = Tensor::randn({5}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::linear(v, w)); }, {v, w});
  Tensor wide = Tensor::randn({2, 3, 8}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::linear(wide.slice(2, 1, 6), w)); }, {wide, w});
  Tensor batched = Tensor::randn({3, 4, 6}, rng).set_requires_grad();
  Tensor shared = Tensor::randn({5, 2}, rng).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::matmul(batched.slice(2, 1, 6), shared)); }, {batched, shared});
}

TEST(LinearGrad, OnlyTheTrainableInputsGetGradients) {
  Rng rng(24);
  Tensor x = Tensor::randn({3, 5}, rng);
  Tensor w = Tensor::randn({4, 5}, rng).set_requires_grad();
  Tensor b = Tensor::randn({4}, rng);
  ops::sum(ops::linear(x, w, b)).backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  // d sum(x W^T) / dW[o, i] = sum over rows of x[:, i].
  std::vector<float> g = w.grad().to_vector();
  for (int64_t i = 0; i < 5; ++i) {
    float col = 0.f;
    for (int64_t r = 0; r < 3; ++r) col += x.at({r, i});
    EXPECT_NEAR(g[static_cast<std::size_t>(2 * 5 + i)], col, 1e-5f);
  }
}

// ---------------------------------------------------------------- caching and errors

TEST(Matmul, RepeatedShapeCreatesNoNewPrimitive) {
  Rng rng(30);
  Tensor a = Tensor::randn({7, 13}, rng), b = Tensor::randn({13, 11}, rng);
  ops::matmul(a, b);
  const auto before = dnnl_ctx::primitive_cache_stats();
  for (int i = 0; i < 3; ++i) ops::matmul(Tensor::randn({7, 13}, rng), b);
  const auto after = dnnl_ctx::primitive_cache_stats();
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.entries, before.entries);
  EXPECT_GE(after.hits, before.hits + 3);
  ops::matmul(Tensor::randn({8, 13}, rng), b);  // a new shape is a new primitive
  EXPECT_EQ(dnnl_ctx::primitive_cache_stats().misses, after.misses + 1);
}

TEST(Matmul, ConcurrentCallsShareTheCacheSafely) {
  // Several threads create and use primitives for fresh and shared shapes at once.
  std::vector<std::thread> threads;
  std::vector<int> ok(6, 0);
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([t, &ok] {
      Rng rng(100 + t);
      bool good = true;
      for (int i = 0; i < 20; ++i) {
        const int64_t m = 3 + (i + t) % 5, k = 9 + i % 3;
        Tensor a = Tensor::randn({2, m, k}, rng), b = Tensor::randn({k, 4}, rng);
        std::vector<float> got = ops::matmul(a, b).to_vector(), want = naive_matmul(a, b).to_vector();
        for (std::size_t j = 0; j < got.size(); ++j) good = good && std::fabs(got[j] - want[j]) < 1e-4f + 1e-4f * std::fabs(want[j]);
      }
      ok[static_cast<std::size_t>(t)] = good ? 1 : 0;
    });
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < 6; ++t) EXPECT_EQ(ok[static_cast<std::size_t>(t)], 1) << "thread " << t;
}

TEST(Matmul, BadShapesThrowClearErrors) {
  Tensor a = Tensor::zeros({3, 4}), b = Tensor::zeros({5, 2});
  try {
    ops::matmul(a, b);
    FAIL() << "expected invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("inner dims"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ops::matmul(Tensor::zeros({4}), Tensor::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(ops::matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 4, 2})), std::invalid_argument);
  EXPECT_THROW(ops::matmul(Tensor::zeros({3, 4}, DType::i32), Tensor::zeros({4, 2})), std::invalid_argument);
  EXPECT_THROW(ops::linear(Tensor::zeros({3, 4}), Tensor::zeros({2, 5})), std::invalid_argument);
  EXPECT_THROW(ops::linear(Tensor::zeros({3, 4}), Tensor::zeros({2, 4}), Tensor::zeros({3})), std::invalid_argument);
  EXPECT_THROW(ops::linear(Tensor::zeros({3, 4}), Tensor::zeros({8})), std::invalid_argument);
}

// ---------------------------------------------------------------- CPU features and bf16 precision

namespace {

// The flags the kernel reports for this CPU (Linux), to cross-check our cpuid decoding.
std::string cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line + " ";
  return "";
}

bool has_flag(const std::string& flags, const std::string& name) { return flags.find(" " + name + " ") != std::string::npos; }

struct PrecisionGuard {
  explicit PrecisionGuard(MatmulPrecision p) { set_matmul_precision(p); }
  ~PrecisionGuard() { set_matmul_precision(MatmulPrecision::f32); }
};

}  // namespace

TEST(CpuFeatures, AgreeWithTheKernelsFlags) {
  const std::string flags = cpuinfo_flags();
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(f.avx512f, has_flag(flags, "avx512f"));
  EXPECT_EQ(f.avx512_bf16, has_flag(flags, "avx512_bf16"));
  EXPECT_EQ(f.amx_bf16, has_flag(flags, "amx_bf16"));
  EXPECT_EQ(bf16_matmul_is_fast(), f.avx512_bf16 || f.amx_bf16);
  EXPECT_FALSE(cpu_features_string().empty());
}

TEST(MatmulPrecisionSwitch, Bf16OnlyWhereFast) {
  EXPECT_EQ(effective_matmul_precision(), MatmulPrecision::f32);
  PrecisionGuard guard(MatmulPrecision::bf16);
  EXPECT_EQ(matmul_precision(), MatmulPrecision::bf16);
  EXPECT_EQ(effective_matmul_precision(), bf16_matmul_is_fast() ? MatmulPrecision::bf16 : MatmulPrecision::f32);
}

TEST(MatmulPrecisionSwitch, ToBf16RoundsStridedInput) {
  Tensor t = Tensor::from_vector({1.f, 1.00390625f, 3.14159f, -2.5f, 65504.f, 1e-3f}, {2, 3}).transpose(0, 1);
  Tensor h = detail::to_bf16(t);
  EXPECT_EQ(h.dtype(), DType::bf16);
  EXPECT_EQ(h.shape(), (Shape{3, 2}));
  // bf16 keeps 8 significant bits: 1 + 2^-8 ties to even (1), pi -> 3.140625, 65504 -> 65536, 1e-3 -> 0x3a83.
  EXPECT_EQ(h.to_vector(), (std::vector<float>{1.f, -2.5f, 1.f, 65536.f, 3.140625f, 0.00099945068359375f}));
}

TEST(MatmulPrecisionSwitch, Bf16ResultsAreCloseToF32) {
  Rng rng(40);
  Tensor a = Tensor::randn({3, 16, 64}, rng), b = Tensor::randn({64, 24}, rng);
  Tensor x = Tensor::randn({2, 8, 64}, rng), w = Tensor::randn({32, 64}, rng), bias = Tensor::randn({32}, rng);
  Tensor ref_mm = ops::matmul(a, b), ref_lin = ops::linear(x, w, bias);
  PrecisionGuard guard(MatmulPrecision::bf16);
  Tensor mm = ops::matmul(a, b), lin = ops::linear(x, w, bias);
  // Inputs rounded to 8 bits: errors of a 64-term dot product of N(0,1) values stay well under 0.25.
  expect_close(mm, ref_mm, 0.25f, 1e-2f);
  expect_close(lin, ref_lin, 0.25f, 1e-2f);
  if (bf16_matmul_is_fast()) {
    EXPECT_NE(mm.to_vector(), ref_mm.to_vector()) << "bf16 precision requested on a bf16 CPU but results equal f32";
    // The same products on inputs pre-rounded to bf16 in f32 are (near) exact: only accumulation order differs.
    NoGradGuard ng;
    set_matmul_precision(MatmulPrecision::f32);
    Tensor rounded = ops::matmul(detail::to_bf16(a).to(DType::f32), detail::to_bf16(b).to(DType::f32));
    set_matmul_precision(MatmulPrecision::bf16);
    expect_close(mm, rounded, 1e-4f, 1e-4f);
  } else {
    EXPECT_EQ(mm.to_vector(), ref_mm.to_vector());
  }
}

TEST(MatmulPrecisionSwitch, Bf16LinearGradientsTrackF32) {
  Rng rng(41);
  Tensor x = Tensor::randn({4, 6, 32}, rng).set_requires_grad();
  Tensor w = Tensor::randn({16, 32}, rng).set_requires_grad();
  Tensor b = Tensor::randn({16}, rng).set_requires_grad();
  weighted_sum(ops::linear(x, w, b)).backward();
  Tensor gx = x.grad().clone(), gw = w.grad().clone(), gb = b.grad().clone();
  x.zero_grad(), w.zero_grad(), b.zero_grad();
  PrecisionGuard guard(MatmulPrecision::bf16);
  weighted_sum(ops::linear(x, w, b)).backward();
  expect_close(x.grad(), gx, 0.1f, 2e-2f);
  expect_close(w.grad(), gw, 0.5f, 2e-2f);
  expect_close(b.grad(), gb, 1e-4f, 1e-4f);  // the bias gradient is a plain f32 sum
}
