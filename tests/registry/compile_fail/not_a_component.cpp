// Must not compile: datamux::factory<T> for a T that implements none of the four plugin interfaces.
#include <datamux/plugin.hpp>

namespace {
class JustAModule : public datamux::Module {
 public:
  JustAModule(const datamux::Options&, const datamux::BuildContext&) {}
};
}  // namespace

DATAMUX_PLUGIN({.name = "not_a_component", .version = "0", .description = "x", .create = datamux::factory<JustAModule>})
