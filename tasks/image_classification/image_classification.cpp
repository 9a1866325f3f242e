// The image_classification task: Fashion-MNIST (IDX files, Debian's dataset-fashion-mnist), pixels
// standardised with the training split's mean and deviation, fed flat or as [C,H,W] images.
#include <datamux/data/idx.hpp>
#include <datamux/data/image_input.hpp>
#include <datamux/tasks/task.hpp>

#include "dataset_task.hpp"

#include <fmt/format.h>

#include <cmath>

namespace datamux::runtime {
namespace {

using detail::DatasetTask;
using detail::Rows;

class ImageTask : public DatasetTask {
 public:
  ImageTask(Rows rows, data::Split split, uint64_t seed, int64_t limit, data::ImageInput input)
      : DatasetTask("image_classification", std::move(rows), std::move(split), seed, limit), input_(std::move(input)) {}
  void describe(BuildContext& ctx) const override { input_.describe(ctx); }
  // The shape and the standardisation, so that `datamux serve` reads raw pixels as training did.
  std::vector<std::pair<std::string, std::string>> metadata() const override {
    return {{"datamux.image", input_.to_string()}};
  }
  std::string summary() const override {
    return fmt::format("image classification {}x{}: {}", input_.rows, input_.cols, sizes());
  }

 private:
  data::ImageInput input_;
};

std::unique_ptr<Task> make_image_task(const PipelineConfig& c) {
  const std::string dir = c.task.get_string("data_dir");
  data::ImageSet train = data::load_fashion_mnist("train", dir);
  data::ImageSet test = data::load_fashion_mnist("test", dir);
  data::check_same_image_size(train, test);  // rows are gathered with the training row size
  const uint64_t seed = static_cast<uint64_t>(c.model.get_int("seed"));
  Rows rows;
  rows.width = train.rows * train.cols;
  rows.pixels = train.pixels;
  rows.pixels.insert(rows.pixels.end(), test.pixels.begin(), test.pixels.end());
  rows.targets = train.labels;
  rows.targets.insert(rows.targets.end(), test.labels.begin(), test.labels.end());
  // Standardise with the training pixels' statistics (as torchvision's Normalize would).
  double sum = 0, sq = 0;
  const std::size_t ntrain = train.pixels.size();
  for (std::size_t i = 0; i < ntrain; ++i) sum += rows.pixels[i], sq += rows.pixels[i] * rows.pixels[i];
  data::ImageInput input;
  input.rows = train.rows;
  input.cols = train.cols;
  input.channels = 1;
  input.labels = data::fashion_mnist_labels();
  input.mean = static_cast<float>(sum / static_cast<double>(ntrain));
  input.stddev = static_cast<float>(std::sqrt(std::max(sq / static_cast<double>(ntrain) - input.mean * input.mean, 1e-12)));
  for (float& p : rows.pixels) p = input.standardise(p);

  data::Split s = data::split_indices(train.size(), c.task.get_float("validation_fraction"), 0.0, seed);
  s.test.clear();
  for (int64_t i = 0; i < test.size(); ++i) s.test.push_back(train.size() + i);
  const std::vector<int32_t> targets = rows.targets;
  auto task = std::make_unique<ImageTask>(std::move(rows), std::move(s), seed, c.task.get_int("train_examples"), std::move(input));
  task->set_baseline(majority_class(targets, task->split().train, task->split().test));
  return task;
}

}  // namespace

DATAMUX_TASK(image_classification, {"image_classification",
                                    "Fashion-MNIST (or IDX files): one class per image, flat or [C,H,W] input",
                                    &make_image_task});

}  // namespace datamux::runtime
