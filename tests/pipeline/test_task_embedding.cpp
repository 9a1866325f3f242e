// The task embedding's initialisation: [model] embedding_stddev sets the token and position tables,
// position_stddev (when >= 0) the position table alone (docs/results.md, "Large N").
#include <datamux/train/model.hpp>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace datamux::runtime {
namespace {

double stddev(const Tensor& t) {
  const Tensor c = t.contiguous();
  const float* p = c.data<float>();
  double sum = 0.0, sq = 0.0;
  for (int64_t i = 0; i < c.numel(); ++i) {
    sum += p[i];
    sq += static_cast<double>(p[i]) * p[i];
  }
  const double n = static_cast<double>(c.numel()), mean = sum / n;
  return std::sqrt(sq / n - mean * mean);
}

std::map<std::string, Tensor> tables(float stddev, float position_stddev) {
  Rng rng(3);
  TaskEmbedding e(500, 64, 32, stddev, rng, position_stddev);
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : e.named_parameters()) out[name] = t;
  return out;
}

TEST(TaskEmbedding, PositionStddevDefaultsToTheTokenStddev) {
  auto t = tables(0.5f, -1.f);
  EXPECT_NEAR(stddev(t.at("tokens.weight")), 0.5, 0.01);
  EXPECT_NEAR(stddev(t.at("positions.weight")), 0.5, 0.03);
}

TEST(TaskEmbedding, PositionStddevSetsThePositionTableAlone) {
  auto t = tables(1.f, 0.02f);
  EXPECT_NEAR(stddev(t.at("tokens.weight")), 1.0, 0.02);
  EXPECT_NEAR(stddev(t.at("positions.weight")), 0.02, 0.002);
  // The token table is drawn first, so it does not change with the position stddev.
  auto u = tables(1.f, -1.f);
  const Tensor a = t.at("tokens.weight").contiguous(), b = u.at("tokens.weight").contiguous();
  for (int64_t i = 0; i < a.numel(); i += 97) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]);
}

}  // namespace
}  // namespace datamux::runtime
