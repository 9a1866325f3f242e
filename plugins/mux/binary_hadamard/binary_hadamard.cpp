// mux "binary_hadamard" (DataMUX): each instance keeps only its own contiguous slice of the feature
// dims, and the instances are averaged:
//
//   v_i in {0,1}^d marks dims [i*chunk, (i+1)*chunk), chunk = floor(d/N) (the last instance runs to d),
//   widened by floor(overlap * chunk / 2) dims on each inner side;   mux(x) = (1/N) sum_i x_i ⊙ v_i
//
// x: [N, B, ..., d] -> [B, ..., d]. Deterministic (no seed). The masks are the buffer "codes" [N, d],
// or a parameter when trainable = true.
#include <datamux/plugin.hpp>
#include <memory>
#include <string>

#include "../common/code_mux.hpp"
#include "../common/codes.hpp"

namespace {

using namespace datamux;

class BinaryHadamardMux : public plugin_util::CodeMux {
 public:
  BinaryHadamardMux(const Options& o, const BuildContext& ctx) : CodeMux("binary_hadamard mux", ctx) {
    const int64_t n = layout().instances(), d = layout().size();
    if (d < n)
      throw InputError("binary_hadamard mux: the " + std::to_string(d) + " features cannot be split into " +
                       std::to_string(n) +
                       " non-empty chunks (needs d >= N); lower [model] instances or use the "
                       "gaussian mux");
    set_codes(plugin_util::binary_chunk_codes(n, d, o.get_float("overlap")), o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "binary_hadamard",
     .version = "1.0.0",
     .description = "Each instance keeps its own contiguous chunk of the features (0/1 mask), mean over instances",
     .options =
         {
             datamux::opt_float("overlap", 0.0,
                                "epsilon: widen each chunk by epsilon * chunk / 2 dims on each side, so "
                                "neighbouring instances share dims",
                                0.0, 1.0),
             datamux::opt_bool("trainable", false, "train the masks (a parameter) instead of keeping them fixed"),
         },
     .create = datamux::factory<BinaryHadamardMux>})
