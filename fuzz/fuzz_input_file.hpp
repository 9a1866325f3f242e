// fuzz/fuzz_input_file.hpp - the readers under test take a path, so each fuzz input is written to a
// scratch file first (in /dev/shm when it exists: a RAM file system keeps the fuzzer fast).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace datamux::fuzz {

/// A file holding the current input; the same path is rewritten for every input of this process.
inline const std::string& write_input(const uint8_t* data, size_t size, const std::string& suffix) {
  static std::string path;
  const std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  path = dir + "/datamux-fuzz-" + std::to_string(getpid()) + suffix;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();  // the fuzzer itself cannot work: stop loudly
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace datamux::fuzz
