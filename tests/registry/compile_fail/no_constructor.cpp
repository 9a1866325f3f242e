// Must not compile: datamux::factory<T> for a mux without the T(const Options&, const BuildContext&) constructor.
#include <datamux/plugin.hpp>

namespace {
class NoConstructor : public datamux::Multiplexer {
 public:
  datamux::Tensor forward(const datamux::Tensor& x) override { return x; }
};
}  // namespace

DATAMUX_PLUGIN({.name = "no_constructor", .version = "0", .description = "x", .create = datamux::factory<NoConstructor>})
