// Where the registry tests find their test plugins (built by tests/registry/CMakeLists.txt).
#pragma once

#include <string>

namespace datamux::test {

inline std::string good_dir() { return REGISTRY_TEST_PLUGIN_DIR "/good"; }
inline std::string dup_dir() { return REGISTRY_TEST_PLUGIN_DIR "/dup"; }
inline std::string broken_dir() { return REGISTRY_TEST_PLUGIN_DIR "/broken"; }
inline std::string good_lib() { return good_dir() + "/libdatamux-test_scale.so"; }
inline std::string throws_lib() { return good_dir() + "/libdatamux-test_throws.so"; }
inline std::string dup_lib() { return dup_dir() + "/libdatamux-test_scale_copy.so"; }
inline std::string broken_lib(const std::string& name) { return broken_dir() + "/libdatamux-test_" + name + ".so"; }

}  // namespace datamux::test
