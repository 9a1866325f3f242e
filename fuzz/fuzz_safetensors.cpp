// libFuzzer target: the safetensors checkpoint reader (core/src/checkpoint.cpp). Any input must either
// load or throw InputError; a crash, a sanitizer report or another exception type is a finding.
#include <datamux/core/checkpoint.hpp>
#include <datamux/error.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = datamux::fuzz::write_input(data, size, ".safetensors");
  try {
    datamux::SafetensorsFile f = datamux::load_safetensors(path);
    // What loaded must be usable: touch every element so a short allocation shows up under ASan.
    for (auto& [name, t] : f.tensors) {
      volatile float sink = 0;
      if (t.dtype() == datamux::DType::f32 && t.numel() > 0) sink = t.data<float>()[t.numel() - 1];
      (void)sink;
    }
  } catch (const datamux::InputError&) {
  }
  return 0;
}
