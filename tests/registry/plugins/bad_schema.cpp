// Broken on purpose: an option whose default fails its own range.
#include "broken_manifest.hpp"
TEST_BROKEN_PLUGIN(m.options = {datamux::opt_float("ratio", 5.0, "a ratio", 0.0, 1.0)})
