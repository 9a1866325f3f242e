// datamux/core/precision.hpp - the process-wide matmul input precision.
//
// bf16 rounds both matmul/linear inputs to bfloat16 and accumulates in f32 (outputs and gradients stay
// f32, master weights stay f32). It is used only where cpu_features says bf16 matmul is fast
// (AVX512-BF16 or AMX-BF16), f32 otherwise: the choice is made at run time, per host. Default f32.
#pragma once

#include <cstdint>

namespace datamux {

enum class MatmulPrecision : uint8_t { f32 = 0, bf16 = 1 };
void set_matmul_precision(MatmulPrecision p);
MatmulPrecision matmul_precision();
/// The precision matmuls actually run in: bf16 only if requested and fast on this CPU.
MatmulPrecision effective_matmul_precision();

}  // namespace datamux
