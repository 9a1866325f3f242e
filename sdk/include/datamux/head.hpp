// datamux/head.hpp - maps demultiplexed states to logits and a loss.
#pragma once

#include <datamux/module.hpp>

namespace datamux {

struct HeadOutput {
  Tensor loss;     // scalar, mean over counted targets
  Tensor logits;   // [..., C]
  Tensor targets;  // i32 matching logits' leading dims; -100 = not counted. Axis 0 is the instance
                   // index whenever the head scored every instance (always in eval mode).
};

/// The usual output: mean cross-entropy of logits [..., C] against targets [...] (-100 not counted).
inline HeadOutput classification_output(const Tensor& logits, const Tensor& targets) {
  HeadOutput out;
  out.loss = ops::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape({-1}), -100);
  out.logits = logits;
  out.targets = targets;
  return out;
}

/// states: [N, B, L, hidden] (token level) or [N, B, hidden]; targets: i32 [N, B, L] or [N, B].
class DATAMUX_API Head : public Module {
 public:
  virtual HeadOutput forward(const Tensor& states, const Tensor& targets) = 0;
  /// True when the outputs depend on position 0 of each instance's token states only (a [CLS]-pooled
  /// sentence head). With a position-wise demux the runtime then demultiplexes only the prefix and
  /// position 0 at inference, instead of all L positions.
  virtual bool reads_first_position_only() const { return false; }
};

}  // namespace datamux
