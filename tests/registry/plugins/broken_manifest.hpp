// Writes a hand-made manifest for a broken-on-purpose test plugin: TEST_BROKEN_PLUGIN(stmt) exports
// a mux "test_broken" whose manifest `m` is first filled correctly, then altered by `stmt`.
#pragma once

#include <datamux/multiplexer.hpp>
#include <datamux/plugin.hpp>

#include <boost/dll/alias.hpp>

#define TEST_BROKEN_PLUGIN(ALTER)                                                               \
  namespace {                                                                                   \
  class Unused : public datamux::Multiplexer {                                                  \
   public:                                                                                      \
    Unused(const datamux::Options&, const datamux::BuildContext&) {}                            \
    datamux::Tensor forward(const datamux::Tensor& x) override { return x; }                    \
  };                                                                                            \
  const datamux::PluginManifest& broken_manifest() {                                            \
    static const datamux::PluginManifest m_ = [] {                                              \
      datamux::PluginManifest m;                                                                \
      m.name = "test_broken";                                                                   \
      m.version = "0.0.0";                                                                      \
      m.description = "broken on purpose";                                                      \
      m.create = datamux::factory<Unused>;                                                      \
      ALTER;                                                                                    \
      return m;                                                                                 \
    }();                                                                                        \
    return m_;                                                                                  \
  }                                                                                             \
  }                                                                                             \
  BOOST_DLL_ALIAS(broken_manifest, datamux_plugin)
