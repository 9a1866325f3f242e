// datamux/data/idx.hpp - IDX files (the MNIST / Fashion-MNIST format) and image data sets.
//
// IDX: magic `00 00 TT NN` (TT element type, NN number of dims), NN big-endian u32 sizes, then the
// elements row-major and big-endian. Files may be gzip-compressed or plain; the reader looks at the
// bytes, not the name. A wrong magic, an unknown type, a file shorter than its header declares or
// with bytes after the data throws InputError naming the file and the byte offset.
//
//   ImageSet train = load_fashion_mnist("train");   // 60000 images of 28x28, pixels in [0,1]
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace datamux::data {

enum class IdxType : uint8_t { u8 = 0x08, i8 = 0x09, i16 = 0x0B, i32 = 0x0C, f32 = 0x0D, f64 = 0x0E };

/// One IDX file. Values are widened to float (exact for u8, i8, i16 and f32; i32 beyond 2^24 and f64
/// are rounded).
struct IdxArray {
  IdxType type = IdxType::u8;
  std::vector<int64_t> dims;
  std::vector<float> values;  // row-major, product(dims) values
};

IdxArray read_idx(const std::filesystem::path& file);

/// Images with one integer label each: pixels[i*rows*cols + r*cols + c] in [0,1] (u8 / 255).
struct ImageSet {
  std::filesystem::path images_file, labels_file;  // where they came from, for messages
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> pixels;
  std::vector<int32_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  /// The images at `indices`, in that order (throws std::out_of_range for an index outside [0, size)).
  ImageSet subset(const std::vector<int64_t>& indices) const;
};

/// An images file (u8, dims [count, rows, cols], none zero) and a labels file (integer type, dims
/// [count]). Throws InputError when either is malformed, the counts differ, or a label is outside
/// [0, num_classes) (num_classes 0: any label in [0, 2^31-1)), naming the labels file, the byte offset
/// and the label's index.
ImageSet read_idx_images(const std::filesystem::path& images_file, const std::filesystem::path& labels_file,
                         int64_t num_classes = 0);

/// Throws InputError naming both images files and both sizes unless `test` has the image size of `train`.
void check_same_image_size(const ImageSet& train, const ImageSet& test);

/// Fashion-MNIST split "train" (60000) or "test" (10000) from `dir` (default: fashion_mnist_dir()).
/// A missing file's message says to install the Debian package dataset-fashion-mnist.
ImageSet load_fashion_mnist(std::string_view split, const std::filesystem::path& dir = {});

}  // namespace datamux::data
