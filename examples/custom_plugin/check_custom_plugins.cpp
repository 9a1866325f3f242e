// Loads the example plugins through the registry by name, as the datamux runtime does, and runs
// mux -> (identity backbone) -> demux forward and backward. Exit code 0 when everything holds.
#include <cmath>
#include <cstdio>
#include <datamux/registry.hpp>

int main() {
  using namespace datamux;
  try {
    Registry reg = Registry::with_default_paths();
    reg.add_search_path(CUSTOM_PLUGIN_DIR);

    BuildContext ctx;
    ctx.instances = 4;
    ctx.input = InputKind::Sequence;
    ctx.dim = ctx.hidden = 16;
    ctx.seq_len = 5;
    Rng rng(7);
    ctx.rng = &rng;

    Options mux_opts;
    mux_opts.set("normalize", std::string("sqrt"));
    auto mux = reg.create<Multiplexer>("instance_scale", mux_opts, ctx, "[mux]");
    auto demux = reg.create<Demultiplexer>("instance_gain", Options(), ctx, "[demux]");

    const Tensor x = Tensor::randn({4, 3, 5, 16}, rng);
    const Tensor h = mux->forward(x);
    const Tensor y = demux->forward(h);
    if (h.shape() != Shape{3, 5, 16} || y.shape() != Shape{4, 3, 5, 16}) {
      std::fprintf(stderr, "unexpected shapes: mux %s, demux %s\n", shape_str(h.shape()).c_str(),
                   shape_str(y.shape()).c_str());
      return 1;
    }
    ops::mean(ops::square(ops::sub(y, x))).backward();  // reconstruct every instance
    for (const auto& m : {std::static_pointer_cast<Module>(mux), std::static_pointer_cast<Module>(demux)})
      for (const auto& [name, p] : m->named_parameters()) {
        const Tensor g = p.grad();
        if (!g.defined()) {
          std::fprintf(stderr, "no gradient reached %s\n", name.c_str());
          return 1;
        }
        for (float v : g.to_vector())
          if (!std::isfinite(v)) {
            std::fprintf(stderr, "non-finite gradient in %s\n", name.c_str());
            return 1;
          }
      }
    std::printf("instance_scale (%s) -> instance_gain (%s): [4, 3, 5, 16] -> %s -> %s, gradients ok\n",
                reg.find(PluginKind::Mux, "instance_scale").path.c_str(),
                reg.find(PluginKind::Demux, "instance_gain").path.c_str(), shape_str(h.shape()).c_str(),
                shape_str(y.shape()).c_str());
    return 0;
  } catch (const InputError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  }
}
