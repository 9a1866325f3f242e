// mux "learned_ortho": random_ortho with trained matrices. Each instance is multiplied by its own d x d
// matrix, initialised Haar-random orthogonal and then trained without constraint, and the results are
// summed and scaled by 1/sqrt(N):
//
//   mux(x) = sum_i O_i x_i / sqrt(N),   x: [N, B, ..., d] -> [B, ..., d]
//
// The matrices are the parameter "matrices" [N, d, d].
#include <datamux/plugin.hpp>
#include <memory>

#include "../common/codes.hpp"
#include "../common/matrix_mux.hpp"

namespace {

using namespace datamux;

class LearnedOrthoMux : public plugin_util::MatrixMux {
 public:
  LearnedOrthoMux(const Options& o, const BuildContext& ctx) : MatrixMux("learned_ortho mux", ctx) {
    Rng rng(plugin_util::resolve_seed(o, ctx));
    set_matrices(plugin_util::haar_orthogonal(layout().instances(), layout().size(), rng), /*trainable=*/true);
  }
};

}  // namespace

DATAMUX_PLUGIN(datamux::PluginKind::Mux, "learned_ortho", "1.0.0",
               "Trained d x d matrix per instance (initialised Haar-random orthogonal), sum / sqrt(N)",
               (std::vector<datamux::OptionSpec>{
                   datamux::opt_int("seed", 0, "seed of the initial matrices; 0 = derive from the model seed", 0.0),
               }),
               [](const datamux::Options& o, const datamux::BuildContext& ctx) -> std::unique_ptr<datamux::Module> {
                 return std::make_unique<LearnedOrthoMux>(o, ctx);
               })
