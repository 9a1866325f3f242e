// libFuzzer target: the TOML pipeline loader with schema validation (pipeline/src/pipeline_config.cpp,
// through its public load_pipeline()). The input is the pipeline file; `base` files it names resolve
// next to it in the scratch folder, which holds nothing else.
#include <datamux/error.hpp>
#include <datamux/pipeline/pipeline_config.hpp>

#include "fuzz_input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = datamux::fuzz::write_input(data, size, ".toml");
  try {
    (void)datamux::runtime::load_pipeline(path);
  } catch (const datamux::InputError&) {
  }
  return 0;
}
