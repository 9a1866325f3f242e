// datamux/core/cpu_features.hpp - what this CPU can do, detected at run time with cpuid/xgetbv.
//
// The build never assumes an instruction set (no -march=native); ops ask here instead, e.g. to decide
// whether bf16 matmul inputs pay off. A feature counts only when the OS also enables its registers.
#pragma once

#include <string>

namespace datamux {

struct CpuFeatures {
  bool avx512f = false;      // AVX-512 foundation (and OS-enabled ZMM state)
  bool avx512_bf16 = false;  // VDPBF16PS: bf16 dot products at twice the f32 rate
  bool amx_bf16 = false;     // AMX tiles with bf16 (and OS-enabled tile state)
};

/// Detected once, then cached.
const CpuFeatures& cpu_features();
/// True when bf16-input matmul is faster than f32 here (AVX512-BF16 or AMX-BF16).
bool bf16_matmul_is_fast();
/// e.g. "avx512f avx512_bf16" (for logs and benchmark context).
std::string cpu_features_string();

}  // namespace datamux
