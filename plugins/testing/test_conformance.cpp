// Conformance of every plugin the registry discovers (the built-in folder and the example plugins of
// examples/custom_plugin): one parameterised suite, instantiated per plugin, so that a new plugin
// folder is covered without editing any test. Each plugin is built in a sequence, a vector and an
// image context; refusing a context with InputError at creation is fine, but each plugin must run
// in at least one. In every context it accepts it must keep its kind's shape contract, send gradient
// into every parameter (with its defaults, and with `trainable = true` when it has that option), and
// give the same outputs after a save/load round trip into a differently seeded instance.
#include <gmock/gmock.h>

#include <datamux/core/checkpoint.hpp>
#include <filesystem>
#include <gradcheck.hpp>
#include <optional>
#include <set>

#include "plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;

namespace {

namespace fs = std::filesystem;

/// The built-in plugins and the example plugins (built in-tree into their own folder for this test).
Registry& conformance_registry() {
  static Registry reg = [] {
    Registry r = Registry::with_default_paths();
    r.add_search_path(DATAMUX_EXAMPLE_PLUGIN_DIR);
    return r;
  }();
  return reg;
}

struct PluginId {
  PluginKind kind;
  std::string name;
};

void PrintTo(const PluginId& id, std::ostream* os) { *os << plugin_kind_name(id.kind) << " '" << id.name << "'"; }

std::vector<PluginId> discovered() {
  std::vector<PluginId> out;
  for (const PluginInfo* p : conformance_registry().list()) out.push_back({p->manifest->kind, p->manifest->name});
  return out;
}

constexpr int64_t kN = 3, kB = 2, kL = 4, kHidden = 8, kClasses = 5;

struct Probe {
  const char* label;
  BuildContext ctx;
};

std::vector<Probe> probes(uint64_t seed) {
  BuildContext base;
  base.instances = kN;
  base.hidden = kHidden;
  base.num_classes = kClasses;
  base.seed = seed;
  BuildContext seq = base, vec = base, img = base;
  seq.input = InputKind::Sequence;
  seq.dim = kHidden;
  seq.seq_len = kL;
  seq.vocab = 11;
  seq.task = "retrieval";
  vec.input = InputKind::Vector;
  vec.dim = kHidden;
  img.input = InputKind::Image;
  img.channels = 1;
  img.height = img.width = 16;  // large enough for a LeNet stack (5x5 conv, 2x2 pool, twice)
  img.dim = 256;
  return {{"sequence", seq}, {"vector", vec}, {"image", img}};
}

Tensor randn(const Shape& shape, uint64_t seed, bool leaf) {
  Rng rng(seed);
  Tensor t = Tensor::randn(shape, rng);
  if (leaf) t.set_requires_grad(true);
  return t;
}

Tensor class_targets(const Shape& shape) {
  std::vector<int32_t> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<int32_t>((k * 7 + 1) % 3);
  return Tensor::from_ints(v, shape);
}

/// One forward pass on fixed inputs. `scalar` is what backward starts from, `compared` what the
/// round trip compares, `input` the leaf the data came from.
struct Pass {
  Tensor scalar, compared, input;
};

/// Runs the kind's forward contract on inputs made for `ctx`; checks the output shapes. Returns
/// nullopt when a head takes none of the state/target layouts this context can give (it threw
/// std::invalid_argument for each).
std::optional<Pass> run(PluginKind kind, Module& m, const BuildContext& ctx) {
  const bool seq = ctx.input == InputKind::Sequence, img = ctx.input == InputKind::Image;
  switch (kind) {
    case PluginKind::Mux: {
      const Shape in = seq   ? Shape{kN, kB, kL, ctx.dim}
                       : img ? Shape{kN, kB, ctx.channels, ctx.height, ctx.width}
                             : Shape{kN, kB, ctx.dim};
      const Tensor x = randn(in, 1, true);
      const Tensor y = dynamic_cast<Multiplexer&>(m).forward(x);
      if (seq && !m.is_training()) {  // a padding mask that masks nothing changes nothing (dropout off)
        const Tensor all_tokens = Tensor::ones({kN, kB, kL});
        NoGradGuard no_grad;
        EXPECT_LE(max_abs_diff(dynamic_cast<Multiplexer&>(m).forward_masked(x, all_tokens), y), 1e-6f)
            << "forward_masked with every position a token must equal forward";
      }
      EXPECT_EQ(y.dim(), x.dim() - 1) << "a mux drops the instance axis: " << shape_str(y.shape());
      EXPECT_EQ(y.size(0), kB);
      if (img) {
        EXPECT_EQ(y.size(-2), ctx.height);
        EXPECT_EQ(y.size(-1), ctx.width);
      } else {
        EXPECT_EQ(y.size(-1), ctx.dim);
      }
      return Pass{weighted_sum(y), y, x};
    }
    case PluginKind::Backbone: {
      const Shape in = seq   ? Shape{kB, kL, ctx.dim}
                       : img ? Shape{kB, ctx.channels, ctx.height, ctx.width}
                             : Shape{kB, ctx.dim};
      const Tensor x = randn(in, 2, true);
      const Tensor y = dynamic_cast<Backbone&>(m).forward(x, seq ? Tensor::ones({kB, kL}) : Tensor());
      EXPECT_EQ(y.shape(), seq ? (Shape{kB, kL, ctx.hidden}) : (Shape{kB, ctx.hidden}));
      return Pass{weighted_sum(y), y, x};
    }
    case PluginKind::Demux: {
      auto& demux = dynamic_cast<Demultiplexer&>(m);
      const int64_t p = demux.prefix_length();
      if (!seq) {
        EXPECT_EQ(p, 0) << "prefix tokens need a sequence";
        const Tensor h = randn({kB, ctx.hidden}, 3, true);
        const Tensor y = demux.forward(h);
        EXPECT_EQ(y.shape(), (Shape{kN, kB, ctx.hidden}));
        return Pass{weighted_sum(y), y, h};
      }
      // prepare -> stand-ins for the mux (mean over instances) and the backbone (each position plus the
      // mean over positions, so every prefix token reaches every output) -> forward.
      const Tensor x = randn({kN, kB, kL, ctx.hidden}, 3, true);
      const Tensor prepared = demux.prepare(x);
      EXPECT_EQ(prepared.shape(), (Shape{kN, kB, p + kL, ctx.hidden}));
      const Tensor muxed = ops::mean(prepared, {0});
      const Tensor y = demux.forward(ops::add(muxed, ops::mean(muxed, {1}, /*keepdim=*/true)));
      EXPECT_EQ(y.shape(), (Shape{kN, kB, kL, ctx.hidden}));
      return Pass{weighted_sum(y), y, x};
    }
    case PluginKind::Head: {
      // Token level, sentence level over token states, and vector states, as the context allows.
      std::vector<std::pair<Shape, Shape>> layouts;
      if (seq) layouts = {{{kN, kB, kL, ctx.hidden}, {kN, kB, kL}}, {{kN, kB, kL, ctx.hidden}, {kN, kB}}};
      layouts.push_back({{kN, kB, ctx.hidden}, {kN, kB}});
      for (const auto& [states_shape, targets_shape] : layouts) {
        const Tensor states = randn(states_shape, 4, true);
        HeadOutput out;
        try {
          out = dynamic_cast<Head&>(m).forward(states, class_targets(targets_shape));
        } catch (const std::invalid_argument&) {
          continue;  // this head takes another layout
        }
        EXPECT_EQ(out.loss.numel(), 1) << "the loss is a scalar";
        EXPECT_TRUE(std::isfinite(out.loss.item()));
        EXPECT_EQ(out.logits.dim(), out.targets.dim() + 1);
        for (int64_t k = 0; k < out.targets.dim() && k < out.logits.dim(); ++k)
          EXPECT_EQ(out.logits.size(k), out.targets.size(k)) << "logits and targets differ on axis " << k;
        return Pass{out.loss, out.logits, states};
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool has_nonzero(const Tensor& t) {
  for (float v : t.contiguous().to_vector())
    if (v != 0.f) return true;
  return false;
}

/// The option sets every plugin is checked with: its defaults, and `trainable = true` when it has
/// that switch (fixed transforms then become parameters that must receive gradient).
std::vector<Options> option_sets(const PluginManifest& m) {
  std::vector<Options> sets(1);
  for (const OptionSpec& s : m.options)
    if (s.key == "trainable" && s.type == OptionType::Bool) {
      Options o;
      o.set("trainable", true);
      sets.push_back(o);
    }
  return sets;
}

std::string options_label(const Options& o) { return o.items().empty() ? "defaults" : "trainable = true"; }

class Conformance : public ::testing::TestWithParam<PluginId> {
 protected:
  const PluginManifest& manifest() { return *conformance_registry().find(GetParam().kind, GetParam().name).manifest; }

  std::shared_ptr<Module> create(const Options& o, const BuildContext& ctx) {
    return conformance_registry().create_module(GetParam().kind, GetParam().name, o, ctx, "[conformance]");
  }

  /// Calls `check(module, ctx)` for every probe context the plugin accepts; fails when it accepts none.
  template <class Check>
  void for_each_accepted_context(const Options& o, Check check) {
    int accepted = 0;
    for (const Probe& probe : probes(7)) {
      SCOPED_TRACE(std::string(probe.label) + " context, " + options_label(o));
      std::shared_ptr<Module> m;
      try {
        m = create(o, probe.ctx);
      } catch (const InputError&) {
        continue;  // the plugin refuses this kind of input, with a message
      }
      if (check(*m, probe.ctx)) ++accepted;
    }
    EXPECT_GT(accepted, 0) << "the plugin runs in none of the sequence, vector and image contexts";
  }
};

TEST_P(Conformance, ManifestIsComplete) {
  const PluginManifest& m = manifest();
  EXPECT_EQ(m.abi_version, kAbiVersion);
  EXPECT_STREQ(m.toolchain, DATAMUX_TOOLCHAIN);
  EXPECT_EQ(m.kind, GetParam().kind);
  EXPECT_EQ(m.create.kind, m.kind);
  EXPECT_NE(m.create.fn, nullptr);
  EXPECT_STRNE(m.name, "");
  EXPECT_STRNE(m.version, "");
  EXPECT_STRNE(m.description, "");
  std::set<std::string> keys;
  for (const OptionSpec& s : m.options) {
    EXPECT_FALSE(s.doc.empty()) << "option " << s.key << " has no doc";
    EXPECT_TRUE(keys.insert(s.key).second) << "option " << s.key << " declared twice";
  }
}

TEST_P(Conformance, EveryDefaultValidatesAgainstItsOwnSchema) {
  const PluginManifest& m = manifest();
  for (const OptionSpec& s : m.options) {
    SCOPED_TRACE(s.key);
    Options explicit_default;
    explicit_default.set(s.key, s.default_value);
    Options valid;
    EXPECT_NO_THROW(valid = validate_options(m.options, explicit_default, "[conformance]"));
    ASSERT_NE(valid.find(s.key), nullptr);
    EXPECT_EQ(option_value_str(*valid.find(s.key)), option_value_str(s.default_value));
  }
}

TEST_P(Conformance, ForwardKeepsTheShapeContractOfItsKind) {
  for_each_accepted_context(
      Options(), [&](Module& m, const BuildContext& ctx) { return run(GetParam().kind, m, ctx).has_value(); });
}

TEST_P(Conformance, GradientReachesEveryParameterAndTheInput) {
  for (const Options& o : option_sets(manifest())) {
    for_each_accepted_context(o, [&](Module& m, const BuildContext& ctx) {
      const std::optional<Pass> pass = run(GetParam().kind, m, ctx);
      if (!pass) return false;
      pass->scalar.backward();
      for (const auto& [name, p] : m.named_parameters()) {
        EXPECT_TRUE(p.grad().defined() && has_nonzero(p.grad())) << "no gradient reached parameter " << name;
      }
      EXPECT_TRUE(pass->input.grad().defined() && has_nonzero(pass->input.grad())) << "no gradient reached the input";
      if (o.has("trainable")) {
        EXPECT_FALSE(m.named_parameters().empty()) << "trainable = true must add parameters";
      }
      return true;
    });
  }
}

TEST_P(Conformance, SaveAndLoadIntoAFreshInstanceGivesTheSameOutputs) {
  const std::string file = ::testing::TempDir() + "conformance_" + GetParam().name + ".safetensors";
  for (const Options& o : option_sets(manifest())) {
    for_each_accepted_context(o, [&](Module& saved, const BuildContext& ctx) {
      saved.eval();
      const std::optional<Pass> before = run(GetParam().kind, saved, ctx);
      if (!before) return false;
      save_safetensors(file, saved.state());

      BuildContext other = ctx;
      other.seed = ctx.seed + 1000;  // a different initialisation, overwritten by the load
      std::shared_ptr<Module> fresh = create(o, other);
      fresh->eval();
      const LoadReport report = load_into(*fresh, file, /*strict=*/true);
      EXPECT_EQ(report.loaded, static_cast<int64_t>(saved.state().size()));
      const std::optional<Pass> after = run(GetParam().kind, *fresh, other);
      EXPECT_TRUE(after.has_value());
      if (after) {
        EXPECT_EQ(max_abs_diff(before->compared, after->compared), 0.f) << "outputs differ after the load";
      }
      return true;
    });
  }
  fs::remove(file);
}

INSTANTIATE_TEST_SUITE_P(Discovered, Conformance, ::testing::ValuesIn(discovered()),
                         [](const ::testing::TestParamInfo<PluginId>& info) {
                           return std::string(plugin_kind_name(info.param.kind)) + "_" + info.param.name;
                         });

// The suite covers a plugin because the registry finds it: every built-in plugin folder
// (plugins/<kind>/<name>/ with a CMakeLists.txt) and both example plugins must be discovered.
// The promises the runtime's [CLS] inference shortcut relies on: a position-wise demux gives, on the
// prefix plus position 0, what it gives at position 0 on all positions; a head that reads position 0
// only gives the same outputs whatever the other positions hold.
TEST_P(Conformance, PositionPromisesHold) {
  if (GetParam().kind != PluginKind::Demux && GetParam().kind != PluginKind::Head) return;  // no such promises
  for_each_accepted_context(Options(), [&](Module& m, const BuildContext& ctx) {
    if (ctx.input != InputKind::Sequence) return true;
    if (GetParam().kind == PluginKind::Demux) {
      auto& demux = dynamic_cast<Demultiplexer&>(m);
      if (!demux.position_wise()) return true;
      const int64_t p = demux.prefix_length();
      const Tensor h = randn({kB, p + kL, ctx.hidden}, 5, false);
      const Tensor all = demux.forward(h).slice(2, 0, 1).contiguous();
      const Tensor first = demux.forward(h.slice(1, 0, p + 1).contiguous()).contiguous();
      EXPECT_LE(max_abs_diff(all, first), 1e-5f) << "position_wise() but output 0 depends on later positions";
      return true;
    }
    auto& head = dynamic_cast<Head&>(m);
    if (!head.reads_first_position_only()) return true;
    m.eval();
    const Tensor states = randn({kN, kB, kL, ctx.hidden}, 6, false);
    Tensor changed = states.clone();
    changed.slice(2, 1, kL).copy_(randn({kN, kB, kL - 1, ctx.hidden}, 7, false));
    const Tensor targets = class_targets({kN, kB});
    EXPECT_LE(max_abs_diff(head.forward(states, targets).logits, head.forward(changed, targets).logits), 1e-6f)
        << "reads_first_position_only() but the logits depend on later positions";
    return true;
  });
}

TEST(ConformanceCoverage, EveryPluginFolderAndExampleIsDiscovered) {
  Registry& reg = conformance_registry();
  for (const PluginProblem& p : reg.problems()) ADD_FAILURE() << "refused: " << p.message;
  std::set<std::string> files;
  for (const PluginInfo* p : reg.list()) files.insert(fs::path(p->path).filename().string());
  int folders = 0;
  for (const auto& kind_dir : fs::directory_iterator(DATAMUX_SOURCE_DIR "/plugins")) {
    if (!kind_dir.is_directory()) continue;
    for (const auto& dir : fs::directory_iterator(kind_dir.path()))
      if (fs::exists(dir.path() / "CMakeLists.txt")) {
        ++folders;
        const std::string lib =
            "libdatamux-" + kind_dir.path().filename().string() + "_" + dir.path().filename().string() + ".so";
        EXPECT_EQ(files.count(lib), 1u) << "no plugin discovered from " << dir.path() << " (expected " << lib << ")";
      }
  }
  EXPECT_GE(folders, 12);
  EXPECT_NO_THROW(reg.find(PluginKind::Mux, "instance_scale"));
  EXPECT_NO_THROW(reg.find(PluginKind::Demux, "instance_gain"));
  std::set<PluginKind> kinds;
  for (const PluginId& id : discovered()) kinds.insert(id.kind);
  EXPECT_EQ(kinds.size(), 4u) << "every kind has at least one plugin";
}

}  // namespace
