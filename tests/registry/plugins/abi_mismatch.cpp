// Broken on purpose: built for another SDK ABI version.
#include "broken_manifest.hpp"
TEST_BROKEN_PLUGIN(m.abi_version = datamux::kAbiVersion + 1)
