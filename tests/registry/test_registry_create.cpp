// Creating components through the registry: options validated first, factory failures reported with
// the plugin's name, the kind's interface checked, objects that keep their library loaded after the
// Registry is gone, and concurrent use from several threads.
#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/core/demangle.hpp>
#include <boost/dll/library_info.hpp>
#include <datamux/registry.hpp>
#include <thread>

#include "registry_test_paths.hpp"

namespace datamux {
namespace {

using ::testing::HasSubstr;
using namespace datamux::test;

BuildContext context(int64_t n) {
  BuildContext ctx;
  ctx.instances = n;
  ctx.dim = ctx.hidden = 4;
  ctx.seq_len = 3;
  return ctx;
}

Options opts(std::initializer_list<std::pair<std::string, OptionValue>> kv) {
  Options o;
  for (const auto& [k, v] : kv) o.set(k, v);
  return o;
}

std::string create_error(Registry& reg, const std::string& name, const Options& o, int64_t n = 2) {
  try {
    reg.create_module(PluginKind::Mux, name, o, context(n), "[mux]");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(created)";
}

// True while the dynamic loader has `path` loaded (RTLD_NOLOAD never loads it).
bool is_loaded(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (h) dlclose(h);
  return h != nullptr;
}

TEST(RegistryCreate, ForwardPassThroughAGoodPlugin) {
  Registry reg;
  reg.add_search_path(good_dir());
  auto mux = reg.create<Multiplexer>("test_scale", opts({{"init", 2.0}}), context(3), "[mux]");
  // x_i = i + 1 everywhere: mean_i 2 * x_i = 2 * (1 + 2 + 3) / 3 = 4.
  std::vector<float> v;
  for (int i = 0; i < 3; ++i) v.insert(v.end(), 2 * 3 * 4, static_cast<float>(i + 1));
  const Tensor y = mux->forward(Tensor::from_vector(v, {3, 2, 3, 4}));
  ASSERT_EQ(y.shape(), (Shape{2, 3, 4}));
  for (float x : y.to_vector()) EXPECT_FLOAT_EQ(x, 4.f);
  EXPECT_EQ(mux->named_parameters().size(), 1u);
  EXPECT_EQ(mux->named_parameters()[0].first, "gain");
}

TEST(RegistryCreate, GradientsReachThePluginsParameters) {
  Registry reg;
  reg.add_search_path(good_dir());
  auto mux = reg.create<Multiplexer>("test_scale", opts({{"reduce", std::string("sum")}}), context(2), "[mux]");
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {2, 1, 2});  // instance 0: 1,2; instance 1: 3,4
  ops::sum(mux->forward(x)).backward();
  const Tensor g = mux->named_parameters()[0].second.grad();
  ASSERT_TRUE(g.defined());
  EXPECT_EQ(g.to_vector(), (std::vector<float>{3, 7}));  // d/dg_i sum(g_i x_i) = sum x_i
}

TEST(RegistryCreate, OptionsAreValidatedWithTheSection) {
  Registry reg;
  reg.add_search_path(good_dir());
  EXPECT_THAT(create_error(reg, "test_scale", opts({{"int", 2.0}})),
              HasSubstr("[mux] int: unknown option; did you mean 'init'?"));
  EXPECT_THAT(create_error(reg, "test_scale", opts({{"init", std::string("x")}})),
              HasSubstr("[mux] init: expects a float"));
  EXPECT_THAT(create_error(reg, "test_scale", opts({{"init", 101.0}})),
              HasSubstr("[mux] init: 101.0 is out of range [0.0, 100.0]"));
  EXPECT_THAT(create_error(reg, "test_scale", opts({{"reduce", std::string("max")}})),
              HasSubstr("[mux] reduce: \"max\" is not one of \"mean\", \"sum\""));
}

TEST(RegistryCreate, FactoryInputErrorNamesThePluginAndItsMessage) {
  Registry reg;
  reg.add_search_path(good_dir());
  const std::string e = create_error(reg, "test_throws", opts({{"fail", std::string("input_error")}}), 7);
  EXPECT_THAT(e, HasSubstr("[mux]: mux plugin 'test_throws' (" + throws_lib() + ") cannot be built: "));
  EXPECT_THAT(e, HasSubstr("needs at most 4 instances, got 7"));  // caught as InputError across the boundary
}

TEST(RegistryCreate, FactoryFailuresOfEveryKindBecomeInputErrors) {
  Registry reg;
  reg.add_search_path(good_dir());
  auto fail = [&](const char* how) { return create_error(reg, "test_throws", opts({{"fail", std::string(how)}})); };
  EXPECT_THAT(fail("runtime_error"),
              HasSubstr("mux plugin 'test_throws' (" + throws_lib() + ") failed while building: ran out of widgets"));
  EXPECT_THAT(fail("int"), HasSubstr("failed while building (a non-standard exception)"));
  EXPECT_THAT(fail("null"), HasSubstr("returned no object"));
  EXPECT_THAT(fail("wrong_kind"), HasSubstr("created an object that is not a datamux::Multiplexer"));
  EXPECT_THAT(fail("none"), "(created)");
}

TEST(RegistryCreate, CreateLooksUpTheKindOfTheRequestedInterface) {
  Registry reg;
  reg.add_search_path(good_dir());
  try {
    reg.create<Backbone>("test_scale", {}, context(2), "[backbone]");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no backbone plugin named 'test_scale'"));
    EXPECT_THAT(e.what(), HasSubstr("(there is a mux named 'test_scale')"));
  }
  static_assert(plugin_kind_of<Multiplexer>() == PluginKind::Mux && plugin_kind_of<Head>() == PluginKind::Head);
}

// The gains test_scale drew from the stream the registry handed its factory.
std::vector<float> drawn_gains(Registry& reg, uint64_t ctx_seed, int64_t seed_option = 0, Rng* rng = nullptr) {
  BuildContext ctx = context(3);
  ctx.seed = ctx_seed;
  ctx.rng = rng;
  auto mux = reg.create<Multiplexer>("test_scale", opts({{"jitter", 1.0}, {"seed", seed_option}}), ctx, "[mux]");
  return mux->named_parameters().at(0).second.to_vector();
}

TEST(RegistryRandomness, WithoutACallerRngTheFactoryGetsAStreamFromTheContextSeed) {
  Registry reg;
  reg.add_search_path(good_dir());
  EXPECT_EQ(drawn_gains(reg, 5), drawn_gains(reg, 5)) << "same seed, same initialisation";
  EXPECT_NE(drawn_gains(reg, 5), drawn_gains(reg, 6));
  Rng same(5);
  EXPECT_EQ(drawn_gains(reg, 99, 0, &same), drawn_gains(reg, 5)) << "the registry's stream is Rng(ctx.seed)";
}

TEST(RegistryRandomness, ACallerRngIsPassedOn) {
  Registry reg;
  reg.add_search_path(good_dir());
  Rng a(123), b(123);
  EXPECT_EQ(drawn_gains(reg, 5, 0, &a), drawn_gains(reg, 6, 0, &b)) << "ctx.rng, not ctx.seed, draws the init";
}

TEST(RegistryRandomness, ASeedOptionReplacesTheContextSeedAndStream) {
  Registry reg;
  reg.add_search_path(good_dir());
  Rng caller(1);
  const std::vector<float> seeded = drawn_gains(reg, 5, 9, &caller);
  EXPECT_EQ(seeded, drawn_gains(reg, 6, 9));
  EXPECT_EQ(seeded, drawn_gains(reg, 9)) << "seed = 9 draws as a context seeded 9 would";
  EXPECT_NE(seeded, drawn_gains(reg, 5));
}

TEST(RegistryLifetime, ObjectsOutliveTheRegistryAndHoldTheirLibrary) {
  std::shared_ptr<Multiplexer> mux;
  {
    Registry reg;
    reg.add_search_path(good_dir());
    mux = reg.create<Multiplexer>("test_scale", opts({{"init", 3.0}}), context(2), "[mux]");
    EXPECT_TRUE(is_loaded(good_lib()));
  }
  ASSERT_TRUE(is_loaded(good_lib())) << "the object must keep its library loaded";
  const Tensor y = mux->forward(Tensor::ones({2, 1, 5}));  // plugin code runs after the registry is gone
  for (float x : y.to_vector()) EXPECT_FLOAT_EQ(x, 3.f);
  mux.reset();  // destroys the object (plugin code), then releases the library
  EXPECT_FALSE(is_loaded(good_lib())) << "the library should unload once nothing holds it";
}

TEST(RegistryLifetime, ListedPluginsStayLoadedWhileTheRegistryLives) {
  Registry reg;
  reg.add_search_path(good_dir());
  ASSERT_EQ(reg.list().size(), 2u);
  EXPECT_TRUE(is_loaded(good_lib()));
  Registry moved = std::move(reg);
  EXPECT_EQ(moved.find(PluginKind::Mux, "test_scale").path, good_lib());
}

TEST(RegistryExports, OnlyTheManifestAndSdkSymbolsAreExported) {
  // The plugin's own classes and functions stay hidden; what is visible is the entry symbol and the
  // SDK classes' vague-linkage data (DATAMUX_API) that lets dynamic_cast and catch work.
  boost::dll::library_info info(good_lib());
  bool entry = false;
  for (const std::string& s : info.symbols()) {
    if (s.empty()) continue;
    const std::string d = boost::core::demangle(s.c_str());
    if (s == "datamux_plugin") {
      entry = true;
      continue;
    }
    EXPECT_THAT(d, ::testing::Not(HasSubstr("ScaleMux"))) << "plugin class exported: " << d;
    EXPECT_THAT(d, ::testing::Not(HasSubstr("anonymous namespace"))) << "plugin internals exported: " << d;
  }
  EXPECT_TRUE(entry);
}

TEST(RegistryThreads, ConcurrentLookupsAndCreation) {
  Registry reg;
  reg.add_search_path(good_dir());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        try {
          if (reg.list().size() < 2) ++failures;
          if (std::string(reg.find(PluginKind::Mux, "test_throws").manifest->name) != "test_throws") ++failures;
          auto mux = reg.create<Multiplexer>("test_scale", opts({{"init", double(t)}}), context(2), "[mux]");
          const Tensor y = mux->forward(Tensor::ones({2, 1, 3}));
          if (y.to_vector()[0] != static_cast<float>(t)) ++failures;
          reg.add_search_path(dup_dir() + "/../good");  // same folder under another spelling: no duplicate
        } catch (const std::exception&) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(reg.problems().empty());
}

}  // namespace
}  // namespace datamux
