// Broken on purpose: a manifest too small to hold the version-1 fields.
#include "broken_manifest.hpp"
TEST_BROKEN_PLUGIN(m.struct_size = 8)
