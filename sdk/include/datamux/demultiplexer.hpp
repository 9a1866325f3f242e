// datamux/demultiplexer.hpp - recovers N outputs from the backbone's one.
#pragma once

#include <datamux/module.hpp>

namespace datamux {

class DATAMUX_API Demultiplexer : public Module {
 public:
  /// Tokens this demux prepends to every instance in `prepare` (0 for most demuxes).
  virtual int64_t prefix_length() const { return 0; }
  /// Runs before the mux on the embedded inputs: [N, B, L, d] -> [N, B, P+L, d]. Default: identity.
  /// The index demux prepends its prefix (index marker at position i, filler elsewhere, CLS last).
  virtual Tensor prepare(const Tensor& x) { return x; }
  /// [B, P+L, hidden] -> [N, B, L, hidden] (prefix dropped), or [B, hidden] -> [N, B, hidden].
  virtual Tensor forward(const Tensor& h) = 0;
  /// True when output position t depends on backbone position t (and the prefix) only, so the
  /// runtime may hand `forward` a slice of the positions (see Head::reads_first_position_only).
  virtual bool position_wise() const { return false; }
};

}  // namespace datamux
