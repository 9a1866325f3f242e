// libFuzzer target: the IDX reader (data/src/idx.cpp), plain and gzip'd, and the images+labels
// pairing on top of it. The input is used as an images file and as a labels file.
#include <datamux/error.hpp>
#include <datamux/data/idx.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = datamux::fuzz::write_input(data, size, ".idx");
  try {
    datamux::data::IdxArray a = datamux::data::read_idx(path);
    uint64_t numel = 1;
    for (int64_t d : a.dims) numel *= static_cast<uint64_t>(d);
    if (numel != a.values.size()) __builtin_trap();  // the reader's promise: product(dims) values
  } catch (const datamux::InputError&) {
  }
  try {
    datamux::data::ImageSet s = datamux::data::read_idx_images(path, path);
    for (int32_t label : s.labels) {
      if (label < 0) __builtin_trap();  // labels are checked, never negative
    }
    if (static_cast<int64_t>(s.pixels.size()) != s.size() * s.rows * s.cols) __builtin_trap();
  } catch (const datamux::InputError&) {
  }
  return 0;
}
