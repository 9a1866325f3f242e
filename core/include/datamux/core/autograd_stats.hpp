// datamux/core/autograd_stats.hpp - how many nodes the autograd tape has recorded.
//
// Inference under NoGradGuard must record nothing (no closures, no saved activations); tests and
// `datamux bench` check it by reading this counter before and after a forward pass.
#pragma once

#include <cstdint>

namespace datamux {

/// Tape nodes recorded by ops since the process started (all threads).
uint64_t tape_nodes_recorded();

}  // namespace datamux
