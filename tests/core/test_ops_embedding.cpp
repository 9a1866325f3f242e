// embedding: row gather, scatter-add backward (repeated ids, deterministic), id validation.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

#include <stdexcept>
#include <string>

using namespace datamux;
using namespace datamux::testing;

namespace {

TEST(Embedding, GathersRowsIntoIdsShapePlusDim) {
  Tensor w = Tensor::arange(12).reshape({4, 3});
  Tensor ids = Tensor::from_ints({3, 0, 3, 1, 2, 2}, {2, 3});
  Tensor y = ops::embedding(ids, w);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3}));
  const std::vector<int32_t> flat = ids.to_ints();
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(y.at({i / 3, i % 3, k}), static_cast<float>(flat[i] * 3 + k));
}

TEST(Embedding, NonContiguousIdsAndWeight) {
  Tensor wt = Tensor::arange(15).reshape({3, 5});  // [D, V]
  Tensor w = wt.transpose(0, 1);                   // [V, D] view, not contiguous
  Tensor ids = Tensor::from_ints({4, 1, 0, 2}, {2, 2}).transpose(0, 1);  // logical [[4, 0], [1, 2]]
  Tensor y = ops::embedding(ids, w);
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_FLOAT_EQ(y.at({0, 0, 1}), w.at({4, 1}));
  EXPECT_FLOAT_EQ(y.at({0, 1, 2}), w.at({0, 2}));
  EXPECT_FLOAT_EQ(y.at({1, 0, 0}), w.at({1, 0}));
  EXPECT_FLOAT_EQ(y.at({1, 1, 2}), w.at({2, 2}));
}

TEST(Embedding, GradientMatchesFiniteDifferencesWithRepeatedIds) {
  Rng rng(1);
  Tensor w = Tensor::randn({5, 3}, rng).set_requires_grad();
  Tensor ids = Tensor::from_ints({1, 4, 1, 1, 0, 4}, {3, 2});  // id 2 and 3 unused: zero gradient rows
  expect_gradients_match([&] { return weighted_sum(ops::embedding(ids, w)); }, {w});
}

TEST(Embedding, GradientThroughTransposedWeightView) {
  Rng rng(2);
  Tensor wt = Tensor::randn({4, 6}, rng).set_requires_grad();  // [D, V]
  Tensor ids = Tensor::from_ints({5, 0, 5, 2}, {4});
  expect_gradients_match([&] { return weighted_sum(ops::embedding(ids, wt.transpose(0, 1))); }, {wt});
}

TEST(Embedding, LargeScatterAddMatchesNaiveAndIsDeterministic) {
  Rng rng(3);
  const int64_t vocab = 50, d = 40, n = 2000;
  std::vector<int32_t> id(n);
  for (auto& v : id) v = static_cast<int32_t>(rng.randint(0, vocab));
  Tensor ids = Tensor::from_ints(id, {n});
  Tensor w = Tensor::randn({vocab, d}, rng).set_requires_grad();
  Tensor g = Tensor::randn({n, d}, rng);
  ops::embedding(ids, w).backward(g);
  std::vector<double> want(static_cast<std::size_t>(vocab * d), 0.0);
  std::vector<float> gv = g.to_vector();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) want[id[i] * d + k] += gv[i * d + k];
  std::vector<float> got = w.grad().to_vector();
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-4 * (1.0 + std::fabs(want[i]))) << i;
  w.zero_grad();
  ops::embedding(ids, w).backward(g);
  EXPECT_EQ(w.grad().to_vector(), got);
}

TEST(Embedding, OutOfRangeIdThrowsNamingIdAndVocab) {
  Tensor w = Tensor::ones({7, 2});
  for (int32_t bad : {7, -1, 1000}) {
    try {
      ops::embedding(Tensor::from_ints({0, bad, 3}, {3}), w);
      FAIL() << "expected std::invalid_argument for id " << bad;
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("id " + std::to_string(bad)), std::string::npos) << msg;
      EXPECT_NE(msg.find("7"), std::string::npos) << msg;
    }
  }
}

TEST(Embedding, WrongDtypesAndShapesThrow) {
  EXPECT_THROW(ops::embedding(Tensor::ones({3}), Tensor::ones({4, 2})), std::invalid_argument);
  EXPECT_THROW(ops::embedding(Tensor::from_ints({0}, {1}), Tensor::ones({4})), std::invalid_argument);
}

TEST(Embedding, NoGraphWhenWeightIsFrozen) {
  Tensor y = ops::embedding(Tensor::from_ints({1}, {1}), Tensor::ones({2, 2}));
  EXPECT_FALSE(y.requires_grad());
}

}  // namespace
