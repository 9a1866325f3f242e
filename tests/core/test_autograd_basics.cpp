// Tensor views and the autograd walk, on the elementwise and reduction ops.
#include <datamux/ops.hpp>
#include <gradcheck.hpp>

using namespace datamux;
using datamux::testing::expect_gradients_match;
using datamux::testing::weighted_sum;

TEST(Tensor, ReshapeOfContiguousSharesStorage) {
  Tensor a = Tensor::arange(6);
  Tensor b = a.reshape({2, 3});
  EXPECT_EQ(a.impl()->storage, b.impl()->storage);
  EXPECT_FLOAT_EQ(b.at({1, 2}), 5.f);
}

TEST(Tensor, TransposeIsAViewAndContiguousCopies) {
  Tensor a = Tensor::arange(6).reshape({2, 3});
  Tensor t = a.transpose(0, 1);
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_FLOAT_EQ(t.at({2, 1}), 5.f);
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.to_vector(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
}

TEST(Tensor, SliceAndExpand) {
  Tensor a = Tensor::arange(12).reshape({3, 4});
  Tensor s = a.slice(1, 1, 3);
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_EQ(s.contiguous().to_vector(), (std::vector<float>{1, 2, 5, 6, 9, 10}));
  Tensor e = Tensor::arange(3).reshape({3, 1}).expand({3, 2});
  EXPECT_EQ(e.contiguous().to_vector(), (std::vector<float>{0, 0, 1, 1, 2, 2}));
}

TEST(Autograd, BroadcastingArithmeticGradients) {
  Rng rng(1);
  Tensor a = Tensor::randn({3, 4}, rng).set_requires_grad();
  Tensor b = Tensor::randn({4}, rng).set_requires_grad();
  Tensor c = Tensor::uniform({3, 1}, rng, 1.f, 2.f).set_requires_grad();
  expect_gradients_match([&] { return weighted_sum(ops::div(ops::mul(ops::sub(a, b), ops::add(a, b)), c)); }, {a, b, c});
}

TEST(Autograd, GradientsAccumulateOverReuse) {
  Tensor a = Tensor::from_vector({2.f}, {1}).set_requires_grad();
  Tensor y = ops::sum(ops::mul(a, a));  // y = a^2, used twice in the graph
  y.backward();
  EXPECT_FLOAT_EQ(a.grad().item(), 4.f);
  Tensor z = ops::sum(ops::mul(a, 3.f));
  z.backward();  // leaves accumulate across backward calls until zero_grad
  EXPECT_FLOAT_EQ(a.grad().item(), 7.f);
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor a = Tensor::ones({2}).set_requires_grad();
  NoGradGuard ng;
  Tensor y = ops::mul(a, 2.f);
  EXPECT_FALSE(y.requires_grad());
}
