// IDX reader (plain or gzip through zlib, which reads both), and the Fashion-MNIST loader on top.
#include <datamux/data/idx.hpp>

#include <datamux/data/locate.hpp>
#include <datamux/data/read_util.hpp>

#include <datamux/core/regular_file.hpp>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace datamux::data {

namespace fs = std::filesystem;
using detail::fail;

namespace {

constexpr int kMaxDims = 16;
constexpr uint64_t kMaxBytes = uint64_t(1) << 40;  // no real IDX file is a terabyte: a corrupt header
constexpr int64_t kFashionMnistClasses = 10;  // T-shirt/top, Trouser, ... Ankle boot: labels 0..9

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

std::size_t element_size(IdxType t) {
  switch (t) {
    case IdxType::u8:
    case IdxType::i8: return 1;
    case IdxType::i16: return 2;
    case IdxType::i32:
    case IdxType::f32: return 4;
    case IdxType::f64: return 8;
  }
  return 0;
}

bool known_type(uint8_t code) {
  return code == 0x08 || code == 0x09 || code == 0x0B || code == 0x0C || code == 0x0D || code == 0x0E;
}

[[noreturn]] void fail_gzip(gzFile f, const fs::path& file, uint64_t offset) {
  int errnum = 0;
  const char* msg = gzerror(f, &errnum);
  if (errnum == Z_BUF_ERROR) {
    fail(file, "byte " + std::to_string(offset) + ": the gzip stream is cut short (zlib: " + msg +
                   "): the file is truncated");
  }
  fail(file, "byte " + std::to_string(offset) + ": corrupt gzip data (zlib: " + msg + ")");
}

// Reads up to `n` bytes; returns how many were read. A corrupt or cut gzip stream is an error.
std::size_t read_some(gzFile f, const fs::path& file, uint64_t offset, void* dst, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    int got = gzread(f, static_cast<char*>(dst) + done, chunk);
    if (got < 0) fail_gzip(f, file, offset + done);
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  if (done < n) {
    int errnum = 0;
    gzerror(f, &errnum);
    if (errnum != Z_OK) fail_gzip(f, file, offset + done);
  }
  return done;
}

// The size of the decompressed stream as the file itself tells it: a plain file's size, or a gzip
// file's trailer (ISIZE, the size modulo 2^32). Used only to decide whether to allocate the whole
// output at once; the reads below check the real size.
uint64_t stated_stream_size(const ReadOnlyFile& in, bool& gzip) {
  unsigned char head[2] = {0, 0};
  gzip = in.size() >= 2 && in.read_at(0, head, 2) && head[0] == 0x1f && head[1] == 0x8b;
  const uint64_t size = in.size();
  if (!gzip) return size;
  if (size < 18) return 0;
  unsigned char tail[4];
  if (!in.read_at(size - 4, tail, 4)) return 0;
  return uint64_t(tail[0]) | (uint64_t(tail[1]) << 8) | (uint64_t(tail[2]) << 16) | (uint64_t(tail[3]) << 24);
}

// Physical memory in bytes, or 0 when the system does not say.
uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

uint32_t big_endian_u32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

void convert(IdxType type, const unsigned char* src, std::size_t count, float* dst) {
  switch (type) {
    case IdxType::u8:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(src[i]);
      break;
    case IdxType::i8:
      for (std::size_t i = 0; i < count; ++i) dst[i] = static_cast<float>(static_cast<int8_t>(src[i]));
      break;
    case IdxType::i16:
      for (std::size_t i = 0; i < count; ++i) {
        dst[i] = static_cast<float>(static_cast<int16_t>((uint16_t(src[2 * i]) << 8) | src[2 * i + 1]));
      }
      break;
    case IdxType::i32:
      for (std::size_t i = 0; i < count; ++i) {
        dst[i] = static_cast<float>(static_cast<int32_t>(big_endian_u32(src + 4 * i)));
      }
      break;
    case IdxType::f32:
      for (std::size_t i = 0; i < count; ++i) {
        uint32_t bits = big_endian_u32(src + 4 * i);
        std::memcpy(&dst[i], &bits, 4);
      }
      break;
    case IdxType::f64:
      for (std::size_t i = 0; i < count; ++i) {
        uint64_t bits = (uint64_t(big_endian_u32(src + 8 * i)) << 32) | big_endian_u32(src + 8 * i + 4);
        double d;
        std::memcpy(&d, &bits, 8);
        dst[i] = static_cast<float>(d);
      }
      break;
  }
}

const char* idx_type_name(IdxType t) {
  switch (t) {
    case IdxType::u8: return "u8";
    case IdxType::i8: return "i8";
    case IdxType::i16: return "i16";
    case IdxType::i32: return "i32";
    case IdxType::f32: return "f32";
    case IdxType::f64: return "f64";
  }
  return "?";
}

// Opened once, checked to be a regular file on the descriptor (a FIFO would block gzopen forever),
// then handed to zlib, which reads gzip and plain files alike.
GzFile open_idx(const fs::path& file, bool& gzip, uint64_t& stated, uint64_t& compressed_size) {
  ReadOnlyFile in(file.string(), "");
  stated = stated_stream_size(in, gzip);
  compressed_size = in.size();
  const int fd = in.release();
  GzFile f(gzdopen(fd, "rb"));
  if (!f) {
    ::close(fd);
    fail(file, "cannot be opened for reading (out of memory?)");
  }
  gzbuffer(f.get(), 1 << 18);
  return f;
}

// The 4-byte magic: sets out.type and returns the rank.
int read_magic(gzFile f, const fs::path& file, IdxArray& out) {
  unsigned char magic[4];
  const std::size_t got = read_some(f, file, 0, magic, 4);
  if (got < 4) fail(file, "only " + std::to_string(got) + " bytes: too short for an IDX header (4-byte magic)");
  if (magic[0] != 0 || magic[1] != 0 || !known_type(magic[2]) || magic[3] == 0 || magic[3] > kMaxDims) {
    char shown[16];
    std::snprintf(shown, sizeof shown, "%02x %02x %02x %02x", magic[0], magic[1], magic[2], magic[3]);
    fail(file, std::string("byte 0: not an IDX file: magic is ") + shown +
                   ", expected 00 00 TT NN with TT one of 08 09 0b 0c 0d 0e and NN 1.." +
                   std::to_string(kMaxDims));
  }
  out.type = static_cast<IdxType>(magic[2]);
  return magic[3];
}

// The dimension sizes after the magic: sets out.dims and returns the number of values.
uint64_t read_dims(gzFile f, const fs::path& file, int rank, IdxArray& out) {
  std::vector<unsigned char> header(4 * static_cast<std::size_t>(rank));
  const std::size_t got = read_some(f, file, 4, header.data(), header.size());
  if (got < header.size()) {
    fail(file, "byte " + std::to_string(4 + got) + ": truncated header: " + std::to_string(rank) +
                   " dimension sizes declared, the file ends first");
  }
  const std::size_t elem = element_size(out.type);
  uint64_t numel = 1;
  for (int d = 0; d < rank; ++d) {
    uint64_t size = big_endian_u32(&header[4 * d]);
    out.dims.push_back(static_cast<int64_t>(size));
    // Checked by division before multiplying: numel * size * elem could wrap past 2^64 and look small.
    if (size != 0 && numel > kMaxBytes / elem / size) {
      fail(file, "byte " + std::to_string(4 + 4 * d) + ": dimension sizes declare more than 2^40 bytes of data: "
                     "a corrupt header");
    }
    numel *= size;
  }
  return numel;
}

// Values are held as floats: refuse up front what cannot fit in this machine's memory (a small gzip
// file can declare, and even inflate to, far more than that), instead of an out-of-memory kill later.
void check_fits_memory(const fs::path& file, uint64_t numel) {
  const uint64_t memory = physical_memory_bytes();
  if (memory > 0 && numel > memory / sizeof(float)) {
    fail(file, "byte 4: the header declares " + std::to_string(numel) + " values (" +
                   std::to_string(numel * sizeof(float) >> 20) + " MiB as floats), more than this machine's " +
                   std::to_string(memory >> 20) + " MiB of memory: a corrupt header, or a file too large to load");
  }
}

// Allocate everything up front only when the file's own size agrees with the header; otherwise
// grow as data arrives, so that a corrupt header costs no more memory than the file holds.
void reserve_values(IdxArray& out, uint64_t numel, uint64_t total, bool gzip, uint64_t stated, uint64_t compressed_size) {
  const bool sizes_agree = gzip ? stated == (total & 0xffffffffu) : stated == total;
  // A gzip trailer is four bytes anyone can write: trust it only as far as the compressed size could
  // really inflate (deflate's limit is about 1032:1), so a forged one cannot make us reserve gigabytes.
  const uint64_t could_hold = gzip ? compressed_size * 1032 / element_size(out.type) : numel;
  out.values.reserve(static_cast<std::size_t>(
      sizes_agree ? std::min(numel, could_hold) : std::min<uint64_t>(numel, 1u << 20)));
}

void read_values(gzFile f, const fs::path& file, uint64_t data_offset, uint64_t numel, IdxArray& out) {
  const std::size_t elem = element_size(out.type);
  const uint64_t bytes = numel * elem;
  constexpr std::size_t kChunk = std::size_t(1) << 20;  // a multiple of every element size
  std::vector<unsigned char> buffer(static_cast<std::size_t>(std::min<uint64_t>(bytes, kChunk)));
  uint64_t done = 0;
  while (done < bytes) {
    const std::size_t want = static_cast<std::size_t>(std::min<uint64_t>(bytes - done, kChunk));
    const std::size_t got = read_some(f, file, data_offset + done, buffer.data(), want);
    done += got;
    if (got < want) {
      fail(file, "byte " + std::to_string(data_offset + done) + ": truncated: the header declares " +
                     std::to_string(numel) + " " + idx_type_name(out.type) + " values (" + std::to_string(bytes) +
                     " bytes of data), the file has " + std::to_string(done));
    }
    const std::size_t old_size = out.values.size();
    out.values.resize(old_size + want / elem);
    convert(out.type, buffer.data(), want / elem, out.values.data() + old_size);
  }
  unsigned char extra;
  if (read_some(f, file, data_offset + bytes, &extra, 1) != 0) {
    fail(file, "byte " + std::to_string(data_offset + bytes) +
                   ": data continues after the values the header declares (wrong dimension sizes?)");
  }
}

}  // namespace

IdxArray read_idx(const fs::path& file) {
  detail::require_file(file, detail::kUserFileHint);
  bool gzip = false;
  uint64_t stated = 0, compressed_size = 0;
  GzFile f = open_idx(file, gzip, stated, compressed_size);
  IdxArray out;
  const int rank = read_magic(f.get(), file, out);
  const uint64_t numel = read_dims(f.get(), file, rank, out);
  const uint64_t data_offset = 4 + 4 * static_cast<uint64_t>(rank);
  check_fits_memory(file, numel);
  reserve_values(out, numel, data_offset + numel * element_size(out.type), gzip, stated, compressed_size);
  read_values(f.get(), file, data_offset, numel, out);
  return out;
}

ImageSet ImageSet::subset(const std::vector<int64_t>& indices) const {
  const int64_t pixels_per = rows * cols;
  ImageSet out;
  out.images_file = images_file;
  out.labels_file = labels_file;
  out.rows = rows;
  out.cols = cols;
  out.pixels.resize(indices.size() * static_cast<std::size_t>(pixels_per));
  out.labels.reserve(indices.size());
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    detail::check_index(i, size(), "ImageSet::subset");
    std::memcpy(&out.pixels[k * pixels_per], &pixels[i * pixels_per], sizeof(float) * pixels_per);
    out.labels.push_back(labels[i]);
  }
  return out;
}

ImageSet read_idx_images(const fs::path& images_file, const fs::path& labels_file, int64_t num_classes) {
  IdxArray images = read_idx(images_file);
  if (images.dims.size() != 3) {
    fail(images_file, "an images file has 3 dimensions (count, rows, cols), this one has " +
                          std::to_string(images.dims.size()));
  }
  if (images.type != IdxType::u8) {
    fail(images_file, std::string("image pixels must be u8, this file holds ") + idx_type_name(images.type));
  }
  // An empty set or a 0-pixel image would reach the model as a zero-sized input.
  if (images.dims[0] == 0 || images.dims[1] == 0 || images.dims[2] == 0) {
    fail(images_file, "byte 8: the header declares " + std::to_string(images.dims[0]) + " images of " +
                          std::to_string(images.dims[1]) + "x" + std::to_string(images.dims[2]) +
                          " pixels: an images file needs at least one image of at least 1x1");
  }
  IdxArray labels = read_idx(labels_file);
  if (labels.dims.size() != 1) {
    fail(labels_file, "a labels file has 1 dimension (count), this one has " + std::to_string(labels.dims.size()));
  }
  if (labels.type == IdxType::f32 || labels.type == IdxType::f64) {
    fail(labels_file, std::string("labels must be integers, this file holds ") + idx_type_name(labels.type));
  }
  if (labels.dims[0] != images.dims[0]) {
    throw InputError(labels_file.string() + ": " + std::to_string(labels.dims[0]) + " labels, but " +
                     images_file.string() + " has " + std::to_string(images.dims[0]) + " images");
  }
  ImageSet out;
  out.images_file = images_file;
  out.labels_file = labels_file;
  out.rows = images.dims[1];
  out.cols = images.dims[2];
  out.pixels = std::move(images.values);
  for (float& p : out.pixels) p *= 1.f / 255.f;
  out.labels.reserve(labels.values.size());
  // Checked as floats, before any conversion: 2^31-1 as an i32 label becomes 2147483648.f, which does
  // not fit int32_t (the old cast wrapped it negative and the loss indexed out of bounds).
  const double limit = num_classes > 0 ? static_cast<double>(num_classes) : 2147483647.0;
  const std::size_t elem = labels.type == IdxType::i16 ? 2 : labels.type == IdxType::i32 ? 4 : 1;
  for (std::size_t i = 0; i < labels.values.size(); ++i) {
    const double v = labels.values[i];
    if (v < 0 || v >= limit) {
      const std::string value = labels.type == IdxType::i32 && v >= 16777216.0 ? "about " + std::to_string(int64_t(v))
                                                                                : std::to_string(int64_t(v));
      fail(labels_file, "byte " + std::to_string(8 + i * elem) + ": label " + std::to_string(i) + " is " + value +
                            (num_classes > 0 ? ", outside the classes 0.." + std::to_string(num_classes - 1)
                                             : std::string(v < 0 ? ", negative" : ", too large for a class id")) +
                            " (a corrupt labels file, or one for another data set)");
    }
    out.labels.push_back(static_cast<int32_t>(v));
  }
  return out;
}

void check_same_image_size(const ImageSet& train, const ImageSet& test) {
  if (train.rows == test.rows && train.cols == test.cols) return;
  throw InputError(test.images_file.string() + ": the test images are " + std::to_string(test.rows) + "x" +
                   std::to_string(test.cols) + " pixels but the training images (" + train.images_file.string() +
                   ") are " + std::to_string(train.rows) + "x" + std::to_string(train.cols) +
                   ": both splits must have the same image size (were files from different data sets mixed?)");
}

ImageSet load_fashion_mnist(std::string_view split, const fs::path& dir_arg) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    throw InputError("Fashion-MNIST has splits 'train' and 'test', not '" + std::string(split) + "'");
  }
  const fs::path dir = dir_arg.empty() ? fashion_mnist_dir() : dir_arg;
  const fs::path images = dir / (prefix + "-images-idx3-ubyte.gz");
  const fs::path labels = dir / (prefix + "-labels-idx1-ubyte.gz");
  detail::require_file(images, fashion_mnist_hint());
  detail::require_file(labels, fashion_mnist_hint());
  return read_idx_images(images, labels, kFashionMnistClasses);
}

}  // namespace datamux::data
