// mux "random_ortho" (DataMUX): each instance is rotated by its own fixed Haar-random orthogonal
// matrix, and the rotated instances are summed and scaled by 1/sqrt(N):
//
//   O_i = Q of the QR factorisation of a Gaussian d x d matrix (diag R > 0);   mux(x) = sum_i O_i x_i / sqrt(N)
//
// x: [N, B, ..., d] -> [B, ..., d] (images: the C*H*W pixels are the features). The matrices are the
// buffer "matrices" [N, d, d], or a parameter when trainable = true (then this is `learned_ortho`).
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/codes.hpp"
#include "../common/matrix_mux.hpp"

namespace {

using namespace datamux;

class RandomOrthoMux : public plugin_util::MatrixMux {
 public:
  RandomOrthoMux(const Options& o, const BuildContext& ctx) : MatrixMux("random_ortho mux", ctx) {
    Rng rng(plugin_util::resolve_seed(o, ctx));
    set_matrices(plugin_util::haar_orthogonal(layout().instances(), layout().size(), rng), o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN(datamux::PluginKind::Mux, "random_ortho", "1.0.0",
               "Haar-random orthogonal d x d matrix per instance, sum over instances / sqrt(N) (DataMUX)",
               (std::vector<datamux::OptionSpec>{
                   datamux::opt_int("seed", 0, "seed of the random matrices; 0 = derive from the model seed", 0.0),
                   datamux::opt_bool("trainable", false,
                                     "train the matrices (a parameter; they stop being orthogonal) instead of "
                                     "keeping them fixed"),
               }),
               [](const datamux::Options& o, const datamux::BuildContext& ctx) -> std::unique_ptr<datamux::Module> {
                 return std::make_unique<RandomOrthoMux>(o, ctx);
               })
