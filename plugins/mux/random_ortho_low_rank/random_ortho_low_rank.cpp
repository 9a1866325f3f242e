// mux "random_ortho_low_rank" (the MUX-PLMs code's low-rank variant of random_ortho): instance i keeps
// only its own d/N-dimensional slice of a random rotation, so the instances land in orthogonal
// subspaces of the multiplexed vector:
//
//   G_i = U (H ⊙ M_i)^T = U[:, l_i:r_i] H[:, l_i:r_i]^T,   l_i = i floor(d/N), r_i = l_i + floor(d/N)
//   mux(x) = sum_i G_i x_i / sqrt(N)
//
// U, H: two fixed Haar-random rotations (det +1); M_i masks every column outside instance i's block.
// Source: princeton-nlp/datamux-pretraining, datamux_pretraining/models/multiplexing_pretraining_bert.py
// (and ..._electra.py), muxing_variant "random_ortho_low_rank": H_, U_ = special_ortho_group.rvs(d);
// G_[:, l:r] = H_[:, l:r]; instance_embedding_i = U_ @ G_.T; the sum over instances / sqrt(N) is the
// shared random_ortho branch of forward. When N does not divide d, the last d mod N columns are used by
// no instance, as in the reference. x: [N, B, ..., d] -> [B, ..., d] (images: C*H*W features). The
// matrices are the buffer "matrices" [N, d, d], or a parameter when trainable (--learn_muxing).
#include <datamux/plugin.hpp>
#include <string>

#include "../common/codes.hpp"
#include "../common/matrix_mux.hpp"

namespace {

using namespace datamux;

class RandomOrthoLowRankMux : public plugin_util::MatrixMux {
 public:
  RandomOrthoLowRankMux(const Options& o, const BuildContext& ctx) : MatrixMux("random_ortho_low_rank mux", ctx) {
    const int64_t n = layout().instances(), d = layout().size();
    if (d < n)
      throw InputError("random_ortho_low_rank mux: each instance gets floor(d / N) dimensions, but d = " +
                       std::to_string(d) + " < N = " + std::to_string(n) + "; use a larger hidden size or fewer instances");
    set_matrices(plugin_util::low_rank_ortho(n, d, *ctx.rng), o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "random_ortho_low_rank",
     .version = "1.0.0",
     .description = "Instance i's d/N column block of two random rotations, U_i H_i^T x_i summed / sqrt(N) (MUX-PLMs)",
     .options =
         {
             datamux::opt_int("seed", 0, "seed of the random rotations; 0 = derive from the model seed", 0.0),
             datamux::opt_bool("trainable", false,
                               "train the matrices (a parameter; they leave their subspaces) instead of keeping "
                               "them fixed"),
         },
     .create = datamux::factory<RandomOrthoLowRankMux>})
