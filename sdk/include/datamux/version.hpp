// datamux/version.hpp - SDK version and the ABI integer a plugin is checked against.
#pragma once

#include <cstdint>

#define DATAMUX_VERSION_STRING "0.1.0"

/// Marks the SDK classes whose vtables and typeinfo cross the plugin boundary. Plugins are built with
/// hidden visibility (only their manifest is exported); these classes must stay visible so that
/// dynamic_cast to an interface and catching an SDK exception work across libraries.
#if defined(__GNUC__) || defined(__clang__)
#define DATAMUX_API __attribute__((visibility("default")))
#else
#define DATAMUX_API
#endif

namespace datamux {

/// Bumped on every breaking change of any SDK header (class layout, virtual functions, manifest).
/// The registry refuses a plugin built against another value instead of crashing on it.
/// 2: one-statement manifest (designated initialisers, kind from datamux::factory<T>, no struct_size).
/// 3: Multiplexer::forward_masked (a virtual function: old plugins' vtables lack it; sources compile as before).
inline constexpr uint32_t kAbiVersion = 3;

/// Compiler and standard library the SDK was built with: plugins and host must match, because
/// C++ classes (std::string, std::vector, vtables) cross the plugin boundary. This string, with
/// kAbiVersion, is the ABI guarantee: the manifest is a C++ struct, not a C layout.
#define DATAMUX_STRINGIFY_(x) #x
#define DATAMUX_STRINGIFY(x) DATAMUX_STRINGIFY_(x)
#if defined(__clang__)
#define DATAMUX_COMPILER_ID "clang-" DATAMUX_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define DATAMUX_COMPILER_ID "gcc-" DATAMUX_STRINGIFY(__GNUC__)
#else
#define DATAMUX_COMPILER_ID "unknown"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI)
#define DATAMUX_STDLIB_ID "libstdc++-cxx11abi" DATAMUX_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#elif defined(_LIBCPP_VERSION)
#define DATAMUX_STDLIB_ID "libc++" DATAMUX_STRINGIFY(_LIBCPP_ABI_VERSION)
#else
#define DATAMUX_STDLIB_ID "unknown-stdlib"
#endif
#define DATAMUX_TOOLCHAIN DATAMUX_COMPILER_ID "/" DATAMUX_STDLIB_ID "/c++" DATAMUX_STRINGIFY(__cplusplus)

}  // namespace datamux
