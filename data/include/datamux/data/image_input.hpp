// datamux/data/image_input.hpp - what an image model reads and how a raw image becomes it.
//
// An image task standardises its pixels with the training split's statistics: an IDX byte b becomes
// b * (1/255) (idx.cpp), then (p - mean) / stddev. The shape, those two numbers and the class names
// are saved with the checkpoint (metadata "datamux.image", see to_string) so that a model can be served
// without its data set and a served image is standardised exactly as in training.
//
//   ImageInput in = ImageInput::from_string(checkpoint.metadata.at("datamux.image"));
//   float x = in.standardise(raw * (1.f / 255.f));
#pragma once

#include <datamux/context.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace datamux::data {

struct ImageInput {
  int64_t rows = 0, cols = 0, channels = 1;
  float mean = 0.f, stddev = 1.f;   // of the training pixels in [0, 1]
  std::vector<std::string> labels;  // class names, id = position

  /// Values per image: channels * rows * cols (row-major, channel first).
  int64_t values() const { return channels * rows * cols; }
  /// A pixel already scaled to [0, 1] as training read it.
  float standardise(float unit) const { return (unit - mean) / stddev; }
  /// The model shape these images give (Task::describe of the image task, trained or served).
  void describe(BuildContext& ctx) const {
    ctx.input = InputKind::Image;
    ctx.channels = channels;
    ctx.height = rows;
    ctx.width = cols;
    ctx.num_classes = static_cast<int64_t>(labels.size());
  }

  /// JSON {"format": "datamux-image", "version": 1, "rows", "cols", "channels", "mean", "stddev", "labels"};
  /// the floats are written so that they read back bit for bit.
  std::string to_string() const;
  /// Throws InputError naming what is missing or malformed.
  static ImageInput from_string(std::string_view text);
};

/// Fashion-MNIST's class names, labels 0..9 (T-shirt/top ... Ankle boot).
const std::vector<std::string>& fashion_mnist_labels();

}  // namespace datamux::data
