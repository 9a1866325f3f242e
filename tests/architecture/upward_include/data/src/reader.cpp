// Fixture for the layer check's own test: a data reader that includes the trainer (data sits below
// train), which cmake/check_layers.cmake must report.
#include <datamux/error.hpp>
#include <datamux/train/trainer.hpp>
