// mux "random_ortho" (DataMUX): each instance is rotated by its own fixed Haar-random orthogonal
// matrix, and the rotated instances are summed and scaled by 1/sqrt(N):
//
//   O_i = Q of the QR factorisation of a Gaussian d x d matrix (diag R > 0);   mux(x) = sum_i O_i x_i / sqrt(N)
//
// x: [N, B, ..., d] -> [B, ..., d] (images: the C*H*W pixels are the features). The matrices are the
// buffer "matrices" [N, d, d], or a parameter when trainable = true (the `learned_ortho` mux of earlier versions).
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/codes.hpp"
#include "../common/matrix_mux.hpp"

namespace {

using namespace datamux;

class RandomOrthoMux : public plugin_util::MatrixMux {
 public:
  RandomOrthoMux(const Options& o, const BuildContext& ctx) : MatrixMux("random_ortho mux", ctx) {
    set_matrices(plugin_util::haar_orthogonal(layout().instances(), layout().size(), *ctx.rng),
                 o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "random_ortho",
     .version = "1.0.0",
     .description = "Haar-random orthogonal d x d matrix per instance, sum over instances / sqrt(N) (DataMUX)",
     .options =
         {
             datamux::opt_int("seed", 0, "seed of the random matrices; 0 = derive from the model seed", 0.0),
             datamux::opt_bool("trainable", false,
                               "train the matrices (a parameter; they stop being orthogonal) instead of "
                               "keeping them fixed"),
         },
     .create = datamux::factory<RandomOrthoMux>})
