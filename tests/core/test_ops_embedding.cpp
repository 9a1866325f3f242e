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

// embedding_layer_norm: the fused inference pass gives the composed ops' floats to the bit; with a
// gradient it is the composed ops (finite differences agree); bad ids are refused as embedding does.
Tensor composed(const Tensor& ids, const Tensor& table, const Tensor& pos, const Tensor& w, const Tensor& b) {
  return ops::layer_norm(ops::add(ops::embedding(ids, table), pos), w, b);
}

TEST(EmbeddingLayerNorm, FusedInferenceEqualsTheComposedOpsBitForBit) {
  Rng rng(7);
  // Large enough for the parallel loop; rows with a large mean (the shifted variance) included.
  Tensor table = ops::add(Tensor::randn({50, 96}, rng), Tensor::full({50, 96}, 30.f));
  Tensor pos = Tensor::randn({24, 96}, rng, 0.f, 0.1f);
  Tensor w = Tensor::randn({96}, rng), b = Tensor::randn({96}, rng);
  std::vector<int32_t> flat;
  for (int i = 0; i < 4 * 8 * 24; ++i) flat.push_back((i * 37 + 11) % 50);
  Tensor ids = Tensor::from_ints(flat, {4, 8, 24});
  NoGradGuard no_grad;
  Tensor fused = ops::embedding_layer_norm(ids, table, pos, w, b);
  Tensor ref = composed(ids, table, pos, w, b);
  ASSERT_EQ(fused.shape(), ref.shape());
  const float* a = fused.data<float>();
  const float* r = ref.data<float>();
  for (int64_t i = 0; i < fused.numel(); ++i) ASSERT_EQ(a[i], r[i]) << "element " << i;
  // Without weight and bias too.
  Tensor plain = ops::embedding_layer_norm(ids, table, pos, Tensor(), Tensor());
  Tensor plain_ref = composed(ids, table, pos, Tensor(), Tensor());
  for (int64_t i = 0; i < plain.numel(); ++i) ASSERT_EQ(plain.data<float>()[i], plain_ref.data<float>()[i]);
}

TEST(EmbeddingLayerNorm, GradientMatchesFiniteDifferences) {
  Rng rng(8);
  Tensor table = Tensor::randn({6, 5}, rng).set_requires_grad();
  Tensor pos = Tensor::randn({3, 5}, rng).set_requires_grad();
  Tensor w = Tensor::randn({5}, rng).set_requires_grad();
  Tensor b = Tensor::randn({5}, rng).set_requires_grad();
  Tensor ids = Tensor::from_ints({1, 5, 1, 0, 4, 4}, {2, 3});
  expect_gradients_match([&] { return weighted_sum(ops::embedding_layer_norm(ids, table, pos, w, b)); },
                         {table, pos, w, b});
}

TEST(EmbeddingLayerNorm, BadIdsAndShapesThrow) {
  NoGradGuard no_grad;
  Tensor table = Tensor::ones({4, 2}), pos = Tensor::ones({3, 2});
  EXPECT_THROW(ops::embedding_layer_norm(Tensor::from_ints({0, 4, 1}, {3}), table, pos, Tensor(), Tensor()),
               std::invalid_argument);
  EXPECT_THROW(ops::embedding_layer_norm(Tensor::from_ints({0, 1}, {2}), table, pos, Tensor(), Tensor()),
               std::invalid_argument);  // 2 ids, 3 positions
  EXPECT_THROW(ops::embedding_layer_norm(Tensor::ones({3}), table, pos, Tensor(), Tensor()), std::invalid_argument);
}

}  // namespace
