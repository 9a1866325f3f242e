// Broken on purpose: claims another compiler and standard library.
#include "broken_manifest.hpp"
TEST_BROKEN_PLUGIN(m.toolchain = "othercc-99/otherlib/c++201703L")
