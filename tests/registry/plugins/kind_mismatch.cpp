// A manifest that claims to be a backbone while its factory builds a mux: refused at load.
#include "broken_manifest.hpp"
TEST_BROKEN_PLUGIN(m.kind = datamux::PluginKind::Backbone)
