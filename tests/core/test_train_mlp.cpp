// End to end: a small MLP (nn::Linear + tanh) learns two interleaved spirals, a
// problem no linear model separates, with AdamW, a warm-up/cosine schedule and
// gradient clipping. It must reach 98% accuracy on held-out points, be
// deterministic for its seed, and survive a checkpoint round trip.
#include <datamux/core/checkpoint.hpp>
#include <datamux/core/optim.hpp>
#include <datamux/core/schedule.hpp>
#include <datamux/nn.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numbers>

using namespace datamux;
namespace fs = std::filesystem;

namespace {

struct Points {
  Tensor x;      // [n, 2] f32
  Tensor labels; // [n] i32
};

// Two spirals, one turn and a half each, the second rotated by pi; radius grows
// with the angle. Points alternate between the classes; small Gaussian jitter
// keeps the problem from being a lattice.
Points spirals(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> xy(static_cast<std::size_t>(2 * n));
  std::vector<int32_t> y(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t c = static_cast<int32_t>(i % 2);
    const float t = rng.uniform(0.05f, 1.f); // position along the spiral
    const float angle = 3.f * std::numbers::pi_v<float> * t +
                        static_cast<float>(c) * std::numbers::pi_v<float>;
    const float r = 2.f * t;
    xy[2 * i] = r * std::cos(angle) + rng.normal(0.f, 0.02f);
    xy[2 * i + 1] = r * std::sin(angle) + rng.normal(0.f, 0.02f);
    y[i] = c;
  }
  return {Tensor::from_vector(xy, {n, 2}), Tensor::from_ints(y, {n})};
}

struct Mlp : Module {
  explicit Mlp(uint64_t seed, int64_t hidden = 64) {
    Rng rng(seed);
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(2, hidden, rng));
    fc2 = register_module("fc2",
                          std::make_shared<nn::Linear>(hidden, hidden, rng));
    out = register_module("out", std::make_shared<nn::Linear>(hidden, 2, rng));
  }
  Tensor forward(const Tensor &x) const {
    return out->forward(ops::tanh(fc2->forward(ops::relu(fc1->forward(x)))));
  }
  std::shared_ptr<nn::Linear> fc1, fc2, out;
};

double accuracy(const Mlp &m, const Points &p) {
  NoGradGuard no_grad;
  Tensor logits = m.forward(p.x);
  const std::vector<float> l = logits.to_vector();
  const std::vector<int32_t> y = p.labels.to_ints();
  int64_t correct = 0;
  for (std::size_t i = 0; i < y.size(); ++i)
    correct += ((l[2 * i + 1] > l[2 * i]) ? 1 : 0) == y[i];
  return static_cast<double>(correct) / static_cast<double>(y.size());
}

struct TrainResult {
  double test_accuracy = 0.0;
  float first_loss = 0.f, last_loss = 0.f;
  std::vector<float> weights; // fc1.weight after training
  double seconds = 0.0;
};

constexpr int64_t kSteps = 500;
constexpr int64_t kPoints = 512;

TrainResult train(Mlp &model, uint64_t data_seed, int64_t steps = kSteps) {
  const auto t0 = std::chrono::steady_clock::now();
  const Points train_set = spirals(kPoints, data_seed);
  const Points test_set = spirals(kPoints, data_seed + 1000);
  AdamW opt(model.named_parameters(), {.lr = 2e-2f, .weight_decay = 1e-4f});
  WarmupCosine schedule(2e-2, 25, steps, 1e-4);
  const std::vector<Tensor> params = model.parameters();
  TrainResult run;
  for (int64_t step = 0; step < steps; ++step) {
    opt.set_lr(schedule.lr_at(step));
    Tensor loss =
        ops::cross_entropy(model.forward(train_set.x), train_set.labels);
    const float l = loss.item();
    if (step == 0)
      run.first_loss = l;
    run.last_loss = l;
    opt.zero_grad();
    loss.backward();
    clip_grad_norm(params, 5.f);
    opt.step();
  }
  run.test_accuracy = accuracy(model, test_set);
  run.weights = model.fc1->weight.to_vector();
  run.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  return run;
}

} // namespace

TEST(TrainMlp, LearnsTwoSpiralsWithAdamW) {
  Mlp model(7);
  const Points test_set = spirals(kPoints, 42 + 1000);
  EXPECT_LT(accuracy(model, test_set),
            0.75); // untrained: no better than a guess
  const TrainResult run = train(model, 42);
  std::printf("spirals: loss %.4f -> %.4f, held-out accuracy %.4f, %lld steps "
              "in %.2f s\n",
              run.first_loss, run.last_loss, run.test_accuracy,
              static_cast<long long>(kSteps), run.seconds);
  EXPECT_GE(run.test_accuracy, 0.98);
  EXPECT_LT(run.last_loss, 0.1f * run.first_loss);
}

TEST(TrainMlp, SameSeedSameRunAndCheckpointRestoresIt) {
  constexpr int64_t kShort = 100;
  Mlp a(11), b(11);
  const TrainResult ra = train(a, 5, kShort);
  const TrainResult rb = train(b, 5, kShort);
  EXPECT_EQ(ra.weights, rb.weights); // bit for bit
  EXPECT_EQ(ra.last_loss, rb.last_loss);

  const fs::path file =
      fs::temp_directory_path() /
      ("datamux_mlp_" + std::to_string(::getpid()) + ".safetensors");
  save_safetensors(file.string(), a.state(),
                   {{"steps", std::to_string(kShort)}});
  Mlp c(999); // different initialisation
  EXPECT_TRUE(load_into(c, file.string()).clean());
  fs::remove(file);
  EXPECT_EQ(accuracy(c, spirals(kPoints, 5 + 1000)), ra.test_accuracy);
  EXPECT_EQ(c.out->weight.to_vector(), a.out->weight.to_vector());
}
