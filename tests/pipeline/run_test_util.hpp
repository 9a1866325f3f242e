// Helpers shared by the pipeline run tests: fixture paths, scratch folders, quiet run options.
#pragma once

#include <datamux/runtime/trainer.hpp>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace datamux::testing {

inline std::string pipeline_fixture(const std::string& name) {
  return std::string(DATAMUX_TEST_DATA_DIR) + "/pipelines/" + name;
}

/// An empty folder under the temp dir, unique to this test process.
inline std::filesystem::path scratch_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("datamux-test-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

inline runtime::RunOptions quiet_run(const std::filesystem::path& out) {
  runtime::RunOptions o;
  o.out_dir = out.string();
  o.quiet = true;
  return o;
}

}  // namespace datamux::testing
