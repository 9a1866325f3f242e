// mux "gaussian" (DataMUX's Gaussian Hadamard mux): each instance is multiplied elementwise by its own
// fixed random direction of norm c, and the instances are averaged:
//
//   v_i = c * g_i / ||g_i||,  g_i ~ N(0, I_d) from the plugin's seed;   mux(x) = (1/N) sum_i x_i ⊙ v_i
//
// x: [N, B, ..., d] -> [B, ..., d] (images: the C*H*W pixels are the features). The codes are the
// buffer "codes" [N, d], or a parameter when trainable = true (the `learned` mux of earlier versions).
// The reference code uses c = 20 for the retrieval warm-up and c = 1 otherwise.
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/code_mux.hpp"
#include "../common/codes.hpp"

namespace {

using namespace datamux;

class GaussianMux : public plugin_util::CodeMux {
 public:
  GaussianMux(const Options& o, const BuildContext& ctx) : CodeMux("gaussian mux", ctx) {
    set_codes(plugin_util::gaussian_codes(layout().instances(), layout().size(), o.get_float("norm"), *ctx.rng),
              o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN({.name = "gaussian",
                .version = "1.0.0",
                .description = "Random Gaussian code per instance, elementwise product, mean over instances (DataMUX)",
                .options =
                    {
                        datamux::opt_float("norm", 1.0,
                                           "L2 norm c of each instance code (the reference uses 20 for the retrieval "
                                           "warm-up, 1 otherwise)",
                                           0.0, 1e6),
                        datamux::opt_int("seed", 0, "seed of the random codes; 0 = derive from the model seed", 0.0),
                        datamux::opt_bool("trainable", false,
                                          "train the codes (a parameter) instead of keeping them fixed; Adam moves "
                                          "each entry by about lr per step, so norm 5-20 trains more reliably than 1"),
                    },
                .create = datamux::factory<GaussianMux>})
