// datamux/error.hpp - the one exception type for bad user input.
//
// Anything a user controls (pipeline TOML, plugin options, data files, checkpoints, the command line)
// is reported by throwing InputError with a message that names the file, line or key and says what to
// do. The CLI prints `what()` and exits with code 2; every other exception is a bug (exit 1).
// Plugins throw it too: the class is exported (DATAMUX_API) so a catch in the host matches it.
#pragma once

#include <datamux/version.hpp>

#include <stdexcept>

namespace datamux {

class DATAMUX_API InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace datamux
