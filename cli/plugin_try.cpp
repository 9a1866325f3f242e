// Builds one plugin with a small context, runs forward and backward on random data, and checks the
// shapes its kind's interface promises (see multiplexer.hpp, demultiplexer.hpp, backbone.hpp, head.hpp).
#include "plugin_try.hpp"

#include <datamux/pipeline/located_options.hpp>
#include <fmt/format.h>

#include <cmath>
#include <optional>
#include <utility>

namespace datamux::cli {
namespace {

InputKind parse_input(const std::string& s) {
  if (s == "sequence") return InputKind::Sequence;
  if (s == "vector") return InputKind::Vector;
  if (s == "image") return InputKind::Image;
  throw InputError(fmt::format("--input: '{}' is not one of sequence, vector, image", s));
}

bool all_finite(const Tensor& t) {
  for (float v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

// A scalar whose gradient reaches every output element with a different weight.
Tensor probe_loss(const Tensor& y, Rng& rng) { return ops::sum(ops::mul(y, Tensor::randn(y.shape(), rng))); }

struct Run {
  Tensor input;   // what gradients should reach
  Tensor output;  // checked against `expected`
  Tensor loss;    // scalar to back-propagate
  Shape expected;
  std::string forward;  // "[..] -> [..]" description
};

void check_sizes(const TrySettings& st) {
  const std::pair<const char*, int64_t> sizes[] = {
      {"--instances", st.instances}, {"--batch", st.batch},   {"--seq-len", st.seq_len},
      {"--hidden", st.hidden},       {"--vocab", st.vocab},   {"--classes", st.classes},
      {"--channels", st.channels},   {"--height", st.height}, {"--width", st.width}};
  for (const auto& [flag, v] : sizes)
    if (v < 1 || v > 4096) throw InputError(fmt::format("{}: {} is out of range [1, 4096]", flag, v));
}

// The build context of the try, all but its rng.
BuildContext make_context(const TrySettings& st) {
  BuildContext ctx;
  ctx.instances = st.instances;
  ctx.input = parse_input(st.input);
  ctx.hidden = st.hidden;
  ctx.seq_len = ctx.input == InputKind::Sequence ? st.seq_len : 0;
  ctx.vocab = st.vocab;
  ctx.num_classes = st.classes;
  ctx.channels = st.channels;
  ctx.height = st.height;
  ctx.width = st.width;
  ctx.dim = ctx.input == InputKind::Sequence ? st.hidden : st.channels * st.height * st.width;
  ctx.task = "try";
  ctx.seed = st.seed;
  return ctx;
}

// The report's first lines: the plugin, the context, the options used and the module's state.
std::string describe(PluginKind kind, const std::string& name, const PluginInfo& info, const BuildContext& ctx,
                     const TrySettings& st, const Options& used, const Module& module) {
  std::string text =
      fmt::format("{} plugin '{}' {} ({})\n", plugin_kind_name(kind), name, info.manifest->version, info.path);
  const std::string shape = ctx.input == InputKind::Sequence ? fmt::format(" L={}", ctx.seq_len)
                            : ctx.input == InputKind::Image
                                ? fmt::format(" C={} H={} W={}", ctx.channels, ctx.height, ctx.width)
                                : "";
  text += fmt::format("  context:  N={} B={}{} dim={} hidden={}, {} input, seed {}\n", ctx.instances, st.batch, shape,
                      ctx.dim, ctx.hidden, input_kind_name(ctx.input), st.seed);
  std::string opts;
  for (const auto& [k, v] : used.items()) opts += (opts.empty() ? "" : ", ") + k + " = " + option_value_str(v);
  text += fmt::format("  options:  {}\n", opts.empty() ? "(none)" : opts);
  text += fmt::format("  state:    {} parameters in {} tensors, {} buffers\n", module.parameter_count(),
                      module.named_parameters().size(), module.named_buffers().size());
  return text;
}

// One try of a built plugin: forward on random data, the output checked against the kind's shape, then
// backward. Each step appends to `text`; a failing step gives the reason.
struct Trial {
  PluginKind kind;
  const TrySettings& st;
  const BuildContext& ctx;
  Module& module;
  std::string text;
  Rng rng;
  int64_t N, B, L, H;
  bool seq;

  Trial(PluginKind k, const TrySettings& settings, const BuildContext& c, Module& m, std::string header)
      : kind(k), st(settings), ctx(c), module(m), text(std::move(header)), rng(settings.seed + 1), N(c.instances),
        B(settings.batch), L(c.seq_len), H(c.hidden), seq(c.input == InputKind::Sequence) {}

  TryReport fail(const std::string& why) const { return TryReport{text + "error: " + why + "\nFAILED\n", false}; }
  Tensor randn(const Shape& s) { return Tensor::randn(s, rng).set_requires_grad(true); }

  void forward_mux(Run& run) {
    run.input = randn(ctx.input == InputKind::Image ? Shape{N, B, ctx.channels, ctx.height, ctx.width}
                      : seq                         ? Shape{N, B, L, ctx.dim}
                                                    : Shape{N, B, ctx.dim});
    run.output = static_cast<Multiplexer&>(module).forward(run.input);
    run.expected = run.input.shape();
    run.expected.erase(run.expected.begin());
    if (ctx.input == InputKind::Image && run.output.dim() == 4)
      run.expected[1] = run.output.size(1);  // C may change
  }

  std::optional<std::string> forward_demux(Run& run) {
    auto& demux = static_cast<Demultiplexer&>(module);
    const int64_t P = demux.prefix_length();
    if (seq) {
      const Tensor prepared = demux.prepare(Tensor::randn({N, B, L, ctx.dim}, rng));
      const Shape want{N, B, P + L, ctx.dim};
      text += fmt::format("  prepare:  {} -> {} (prefix_length {})\n", shape_str({N, B, L, ctx.dim}),
                          shape_str(prepared.shape()), P);
      if (prepared.shape() != want) return fmt::format("prepare should return {}", shape_str(want));
    }
    run.input = randn(seq ? Shape{B, P + L, H} : Shape{B, H});
    run.output = demux.forward(run.input);
    run.expected = seq ? Shape{N, B, L, H} : Shape{N, B, H};
    return std::nullopt;
  }

  void forward_backbone(Run& run) {
    run.input = randn(ctx.input == InputKind::Image ? Shape{B, ctx.channels, ctx.height, ctx.width}
                      : seq                         ? Shape{B, L, ctx.dim}
                                                    : Shape{B, ctx.dim});
    run.output = static_cast<Backbone&>(module).forward(run.input, seq ? Tensor::ones({B, L}) : Tensor());
    run.expected = seq ? Shape{B, L, H} : Shape{B, H};
  }

  void forward_head(Run& run) {
    // Token-level targets label every position; sentence-level ones every instance row.
    const bool token = seq && st.level == "token";
    run.input = randn(seq ? Shape{N, B, L, H} : Shape{N, B, H});
    const Shape tshape = token ? Shape{N, B, L} : Shape{N, B};
    std::vector<int32_t> t(static_cast<size_t>(shape_numel(tshape)));
    for (auto& x : t) x = static_cast<int32_t>(rng.randint(0, std::min(st.classes, st.vocab)));
    HeadOutput out = static_cast<Head&>(module).forward(run.input, Tensor::from_ints(t, tshape));
    run.output = run.loss = out.loss;
    run.expected = {};
    text += fmt::format("  targets:  {} ({} level), logits {}\n", shape_str(tshape), token ? "token" : "sentence",
                        out.logits.defined() ? shape_str(out.logits.shape()) : "(none)");
  }

  std::optional<std::string> forward(Run& run) {
    try {
      switch (kind) {
        case PluginKind::Mux: forward_mux(run); break;
        case PluginKind::Demux: return forward_demux(run);
        case PluginKind::Backbone: forward_backbone(run); break;
        case PluginKind::Head: forward_head(run); break;
      }
    } catch (const std::exception& e) {
      return fmt::format("forward threw: {}", e.what());
    }
    return std::nullopt;
  }

  std::optional<std::string> check_output(const Run& run) {
    if (!run.output.defined()) return "forward returned an undefined tensor";
    text += fmt::format("  forward:  {} -> {}\n", shape_str(run.input.shape()), shape_str(run.output.shape()));
    if (run.output.shape() != run.expected)
      return fmt::format("the output should be {} for a {} plugin", shape_str(run.expected), plugin_kind_name(kind));
    if (!all_finite(run.output)) return "the output holds NaN or infinite values";
    const std::vector<float> values = run.output.to_vector();
    double sum = 0, abs_sum = 0;
    for (float v : values) sum += v, abs_sum += std::fabs(v);
    const double n = static_cast<double>(std::max<size_t>(values.size(), 1));
    text += fmt::format("  output:   mean {:.6g}, mean |x| {:.6g}\n", sum / n, abs_sum / n);
    return std::nullopt;
  }

  std::optional<std::string> check_backward(Run& run) {
    if (!run.loss.defined()) run.loss = probe_loss(run.output, rng);
    if (!run.loss.requires_grad()) return "the output is not connected to the input or any parameter (no autograd graph)";
    try {
      run.loss.backward();
    } catch (const std::exception& e) {
      return fmt::format("backward threw: {}", e.what());
    }
    size_t reached = 0;
    const auto params = module.named_parameters();
    for (const auto& [pname, p] : params) {
      if (!p.grad().defined()) continue;
      if (!all_finite(p.grad())) return fmt::format("the gradient of parameter '{}' is not finite", pname);
      ++reached;
    }
    const bool input_grad = run.input.grad().defined();
    if (input_grad && !all_finite(run.input.grad())) return "the gradient of the input is not finite";
    text += fmt::format("  backward: gradient reached {} and {} of {} parameter tensors\n",
                        input_grad ? "the input" : "not the input", reached, params.size());
    return std::nullopt;
  }

  TryReport report() {
    Run run;
    if (auto why = forward(run)) return fail(*why);
    if (auto why = check_output(run)) return fail(*why);
    if (auto why = check_backward(run)) return fail(*why);
    return {text + "ok\n", true};
  }
};

}  // namespace

TryReport try_plugin(Registry& registry, PluginKind kind, const std::string& name, const TrySettings& st) {
  const PluginInfo& info = registry.find(kind, name);
  const std::string where = fmt::format("[{}]", plugin_kind_name(kind));
  // Read as TOML and checked here, so a mistake names its --set argument.
  const runtime::LocatedOptions given = runtime::parse_assignments(st.sets, "--set");
  const Options used = runtime::validate_located(info.manifest->options, given, where);
  check_sizes(st);

  BuildContext ctx = make_context(st);
  Rng init(st.seed);
  ctx.rng = &init;
  std::shared_ptr<Module> module = registry.create_module(kind, name, given.values, ctx, where);
  return Trial(kind, st, ctx, *module, describe(kind, name, info, ctx, st, used, *module)).report();
}

}  // namespace datamux::cli
