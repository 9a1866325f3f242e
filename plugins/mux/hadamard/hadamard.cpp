// mux "hadamard": deterministic +-1 codes from the rows of a Sylvester-Hadamard matrix, averaged as the
// gaussian mux does:
//
//   H of order P = the next power of two >= d, H[r][c] = (-1)^popcount(r & c);
//   v_i = norm / sqrt(d) * H[r_i][0:d],  r_i = i + 1 (or i with skip_first_row = false);
//   mux(x) = (1/N) sum_i x_i ⊙ v_i
//
// Unlike random codes these are exactly orthogonal when d is a power of two (and N rows fit), so no
// two instances interfere at the mux. Row 0 is all ones; it is skipped by default so that every
// instance gets a sign pattern. x: [N, B, ..., d] -> [B, ..., d]. The codes are the buffer "codes"
// [N, d], or a parameter when trainable = true.
#include <datamux/plugin.hpp>
#include <memory>
#include <string>

#include "../common/code_mux.hpp"
#include "../common/codes.hpp"

namespace {

using namespace datamux;

class HadamardMux : public plugin_util::CodeMux {
 public:
  HadamardMux(const Options& o, const BuildContext& ctx) : CodeMux("hadamard mux", ctx) {
    const int64_t n = layout().instances(), d = layout().size();
    const int64_t first = o.get_bool("skip_first_row") ? 1 : 0;
    const int64_t rows = plugin_util::hadamard_order(d) - first;
    if (n > rows)
      throw InputError("hadamard mux: N = " + std::to_string(n) + " instances need " + std::to_string(n) +
                       " Hadamard rows, but order " + std::to_string(plugin_util::hadamard_order(d)) +
                       " (for d = " + std::to_string(d) + ") has only " + std::to_string(rows) +
                       (first ? " besides row 0; set skip_first_row = false or" : ";") + " lower [model] instances");
    set_codes(plugin_util::hadamard_codes(n, d, first, o.get_float("norm")), o.get_bool("trainable"));
  }
};

}  // namespace

DATAMUX_PLUGIN(
    {.name = "hadamard",
     .version = "1.0.0",
     .description = "Sylvester-Hadamard +-1 code per instance (orthogonal for power-of-two d), mean over instances",
     .options =
         {
             datamux::opt_float("norm", 1.0, "L2 norm of each instance code (entries are +-norm/sqrt(d))", 0.0, 1e6),
             datamux::opt_bool("skip_first_row", true,
                               "start at row 1: row 0 is all ones and would leave instance 0 unsigned"),
             datamux::opt_bool("trainable", false, "train the codes (a parameter) instead of keeping them fixed"),
         },
     .create = datamux::factory<HadamardMux>})
