// datamux/serve/inference.hpp - one backbone pass over one multiplexed row: N encoded inputs in,
// N sets of class probabilities out.
//
// The row is a Batch of shape [N, 1, L] (token ids, or an image's standardised pixels) with every target
// ignored, run through MuxModel::forward in eval mode under NoGradGuard with the model's [model] dtype:
// the same forward pass `datamux eval` makes for a row holding the same inputs in the same order, so the
// scores are those eval computes for them.
#pragma once

#include <datamux/serve/bundle.hpp>

#include <vector>

namespace datamux::serve {

/// Softmax probabilities per slot: [C] for classification, [L * C] (row-major, position first) for
/// token tasks. `row` holds exactly N inputs (N = the model's instances).
std::vector<std::vector<float>> run_row(ServedModel& model, const std::vector<const EncodedInput*>& row, bool token_level,
                                        int64_t classes);

/// A group of k real inputs (0 < k <= N) as a full row: the real inputs in slots 0..k-1, and slot j >= k
/// repeating real input j mod k. Padding duplicates real data (as MUX-PLMs does) and is never invented;
/// the callers drop the outputs of slots >= k.
std::vector<const EncodedInput*> fill_row(const std::vector<const EncodedInput*>& real, int64_t n);

}  // namespace datamux::serve
