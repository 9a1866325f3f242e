// The built-in multiplexers and demultiplexers, beyond what the conformance suite checks for every
// plugin: fixed transforms are buffers and learned ones parameters with the defaults, forward is
// deterministic, an unknown option gets a suggestion, and `datamux plugins info` prints every option
// with its default and doc.
#include <gmock/gmock.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "plugin_test_util.hpp"

using namespace datamux;
using namespace datamux::testing;
using ::testing::HasSubstr;

namespace {

struct Builtin {
  PluginKind kind;
  const char* name;
  bool image;    // takes images ([N, B, C, H, W])
  bool learned;  // trains its transform by default
};

const std::vector<Builtin> kBuiltins = {
    {PluginKind::Mux, "gaussian", false, false},     {PluginKind::Mux, "binary_hadamard", false, false},
    {PluginKind::Mux, "random_ortho", false, false}, {PluginKind::Mux, "hadamard", false, false},
    {PluginKind::Mux, "conv_gaussian", true, false}, {PluginKind::Demux, "mlp", false, true},
    {PluginKind::Demux, "index", false, true},       {PluginKind::Demux, "linear", false, true},
};

std::string run_cli(const std::string& args) {
  const std::string out = ::testing::TempDir() + "datamux_builtin_" + std::to_string(::getpid()) + ".out";
  const std::string cmd = DATAMUX_BINARY_DIR "/bin/datamux " + args + " >" + out + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream f(out);
  std::stringstream s;
  s << f.rdbuf();
  std::remove(out.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << "\n" << s.str();
  return s.str();
}

}  // namespace

TEST(BuiltinMuxDemux, EachBuildsWithDefaultsAndMapsShapesAsItsInterfaceSays) {
  const int64_t n = 3, b = 2, l = 4, d = 8;
  for (const Builtin& p : kBuiltins) {
    SCOPED_TRACE(p.name);
    const BuildContext ctx = p.image ? image_context(n, 2, 5, 5) : sequence_context(n, d);
    Rng rng(1);
    if (p.kind == PluginKind::Mux) {
      auto mux = make_mux(p.name, ctx);
      const Shape in = p.image ? Shape{n, b, 2, 5, 5} : Shape{n, b, l, d};
      const Shape out = p.image ? Shape{b, 2, 5, 5} : Shape{b, l, d};
      const Tensor x = Tensor::randn(in, rng);
      const Tensor y = mux->forward(x);
      EXPECT_EQ(y.shape(), out);
      EXPECT_EQ(max_abs_diff(y, mux->forward(x)), 0.f) << "forward must be deterministic";
      EXPECT_EQ(mux->named_parameters().empty(), !p.learned);
      EXPECT_EQ(mux->named_buffers().empty(), p.learned);
    } else {
      auto demux = make_demux(p.name, ctx);
      const int64_t prefix = demux->prefix_length();
      EXPECT_EQ(demux->prepare(Tensor::randn({n, b, l, d}, rng)).shape(), (Shape{n, b, prefix + l, d}));
      EXPECT_EQ(demux->forward(Tensor::randn({b, prefix + l, d}, rng)).shape(), (Shape{n, b, l, d}));
      EXPECT_FALSE(demux->named_parameters().empty());
    }
  }
}

TEST(BuiltinMuxDemux, UnknownOptionIsRefusedWithASuggestion) {
  Options o;
  o.set("nrom", 2.0);
  try {
    make_mux("gaussian", sequence_context(2, 4), o);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("norm"));
  }
}

TEST(BuiltinMuxDemux, PluginsInfoShowsEveryOptionWithDefaultAndDoc) {
  for (const Builtin& b : kBuiltins) {
    SCOPED_TRACE(b.name);
    const std::string out = run_cli(std::string("plugins info ") + b.name + " --kind " + plugin_kind_name(b.kind));
    const PluginManifest& m = *plugin_registry().find(b.kind, b.name).manifest;
    EXPECT_THAT(out, HasSubstr(m.description));
    for (const OptionSpec& s : m.options) {
      EXPECT_THAT(out, HasSubstr(s.key + " = " + option_value_str(s.default_value)));
      EXPECT_THAT(out, HasSubstr(s.doc));
    }
  }
}
