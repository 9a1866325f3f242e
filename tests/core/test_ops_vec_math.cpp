// The row kernels behind softmax, cross-entropy and layer norm, on every ISA path this CPU can run
// (AVX-512F, AVX2, SSE2), so a host with a different vector unit runs code that was tested here:
// exp accuracy and special values, and reductions over lengths that exercise the padded tails.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "../../core/src/ops/vec_math.hpp"

namespace vec = datamux::detail::vec;

namespace {

// Runs body(k) for every kernel set this CPU supports (SSE2 always), tagging failures with the ISA.
template <class F>
void for_each_isa(F body) {
  int ran = 0;
  for (const char* isa : {"avx512", "avx2", "sse2"}) {
    const vec::Kernels* k = vec::kernels_for(isa);
    if (!k) continue;
    SCOPED_TRACE(isa);
    body(k);
    ++ran;
  }
  ASSERT_GE(ran, 1);
}

TEST(VecKernels, ExpIsWithinThreeUlpAcrossTheRange) {
  for_each_isa([](const vec::Kernels* k) {
    std::vector<float> x;
    for (float t = -87.f; t <= 88.5f; t += 0.01317f) x.push_back(t);
    std::vector<float> y(x.size());
    k->exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double want = std::exp(static_cast<double>(x[i]));
      ASSERT_NEAR(y[i], want, 3.6e-7 * want) << "exp(" << x[i] << ")";
    }
  });
}

TEST(VecKernels, ExpSpecialValues) {
  for_each_isa([](const vec::Kernels* k) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> x = {-inf, -1000.f, -88.f, 0.f, 89.f, inf, NAN};
    std::vector<float> y(x.size());
    k->exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(y[0], 0.f);
    EXPECT_EQ(y[1], 0.f);
    EXPECT_EQ(y[2], 0.f);  // below the normal range: flushed to 0
    EXPECT_EQ(y[3], 1.f);
    EXPECT_EQ(y[4], inf);
    EXPECT_EQ(y[5], inf);
    EXPECT_TRUE(std::isnan(y[6]));
  });
}

TEST(VecKernels, ReductionsMatchDoublePrecisionForEveryTailLength) {
  for_each_isa([](const vec::Kernels* k) {
    std::mt19937 gen(7);
    std::normal_distribution<float> nd(0.f, 2.f);
    for (int64_t n = 0; n <= 40; ++n) {
      std::vector<float> a(n), b(n), e(n, -1.f);
      for (auto& v : a) v = nd(gen);
      for (auto& v : b) v = nd(gen);
      double mx = -INFINITY, s = 0, dot = 0, es = 0, m1 = 0, m2 = 0;
      const float shift = n ? a[0] : 0.f;
      for (int64_t i = 0; i < n; ++i) {
        mx = std::max(mx, static_cast<double>(a[i]));
        s += a[i];
        dot += static_cast<double>(a[i]) * b[i];
        es += std::exp(static_cast<double>(a[i]) - 1.0);
        m1 += a[i] - shift;
        m2 += (a[i] - shift) * (a[i] - shift);
      }
      const float tol = 1e-5f * static_cast<float>(n + 1) * 4.f;
      EXPECT_EQ(k->max(a.data(), n), static_cast<float>(mx)) << n;
      EXPECT_NEAR(k->sum(a.data(), n), s, tol) << n;
      EXPECT_NEAR(k->dot(a.data(), b.data(), n), dot, tol * 4) << n;
      EXPECT_NEAR(k->exp_sum(a.data(), 1.f, e.data(), n), es, tol * (1 + es)) << n;
      EXPECT_NEAR(k->exp_sum(a.data(), 1.f, nullptr, n), es, tol * (1 + es)) << n;
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(e[i], std::exp(a[i] - 1.0), 4e-7 * std::exp(a[i] - 1.0)) << n;
      float f1 = 0, f2 = 0;
      k->moments(a.data(), shift, n, &f1, &f2);
      EXPECT_NEAR(f1, m1, tol) << n;
      EXPECT_NEAR(f2, m2, tol * (1 + m2)) << n;
    }
  });
}

TEST(VecKernels, ExpInPlaceAndTailDoesNotWritePastTheEnd) {
  for_each_isa([](const vec::Kernels* k) {
    std::vector<float> x = {0.f, 1.f, 2.f, 3.f, 4.f, 99.f};
    k->exp(x.data(), x.data(), 5);
    for (int i = 0; i < 5; ++i) EXPECT_NEAR(x[i], std::exp(static_cast<double>(i)), 4e-7 * std::exp(i));
    EXPECT_EQ(x[5], 99.f);
  });
}

TEST(VecKernelsSelection, PicksTheWidestSupportedSet) {
  const std::string isa = vec::kernels().isa;
  EXPECT_NE(vec::kernels_for(isa.c_str()), nullptr);
  if (vec::kernels_for("avx512")) {
    EXPECT_EQ(isa, "avx512");
  }
  EXPECT_EQ(vec::kernels_for("neon"), nullptr);
}

}  // namespace
