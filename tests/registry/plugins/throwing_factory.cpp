// Test plugin whose factory fails on demand: mux "test_throws" with option `fail` choosing how.
#include <datamux/backbone.hpp>
#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>
#include <stdexcept>

namespace {

class NotAMux : public datamux::Backbone {
 public:
  datamux::Tensor forward(const datamux::Tensor& x, const datamux::Tensor&) override { return x; }
};

// Returns instance 0 ([B, ...], a valid shape), or with `keep_axis` the input itself ([N, B, ...],
// breaking the mux contract).
class Identity : public datamux::Multiplexer {
 public:
  explicit Identity(bool keep_axis) : keep_axis_(keep_axis) {}
  datamux::Tensor forward(const datamux::Tensor& x) override { return keep_axis_ ? x : x.select(0, 0); }

 private:
  bool keep_axis_;
};

std::unique_ptr<datamux::Module> make(const datamux::Options& o, const datamux::BuildContext& ctx) {
  const std::string& fail = o.get_string("fail");
  if (fail == "input_error")
    throw datamux::InputError("needs at most 4 instances, got " + std::to_string(ctx.instances));
  if (fail == "runtime_error") throw std::runtime_error("ran out of widgets");
  if (fail == "int") throw 42;
  if (fail == "null") return nullptr;
  if (fail == "wrong_kind") return std::make_unique<NotAMux>();
  return std::make_unique<Identity>(fail == "bad_shape");
}

}  // namespace

// A hand-made factory (not datamux::factory<T>): it must be able to return the wrong kind on purpose.
DATAMUX_PLUGIN({.name = "test_throws",
                .version = "0.0.1",
                .description = "Factory that fails as told",
                .options = {datamux::opt_string("fail", "none", "how to fail",
                                                {"none", "input_error", "runtime_error", "int", "null", "wrong_kind",
                                                 "bad_shape"})},
                .create = {datamux::PluginKind::Mux, make}})
