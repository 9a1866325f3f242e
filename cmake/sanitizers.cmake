# Sanitizer and fuzzer builds (off by default; see scripts/test_sanitizers.sh and scripts/fuzz.sh).
#
#   -DDATAMUX_SANITIZE=address,undefined   ASan + UBSan (GCC or Clang)
#   -DDATAMUX_SANITIZE=thread              TSan (cannot be combined with address)
#   -DDATAMUX_BUILD_FUZZERS=ON             libFuzzer targets in fuzz/ (Clang only); the libraries are
#                                          then built with -fsanitize=fuzzer-no-link so coverage reaches them
#
# Every target gets the flags (compile and link), so the plugins, the libraries and the tests agree:
# a sanitizer runtime must be in every shared object or in none.
set(DATAMUX_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined or thread (empty: none)")
option(DATAMUX_BUILD_FUZZERS "Build the libFuzzer targets in fuzz/ (needs Clang)" OFF)

if(DATAMUX_SANITIZE)
  string(REPLACE "," ";" _datamux_sanitizers "${DATAMUX_SANITIZE}")
  foreach(s IN LISTS _datamux_sanitizers)
    if(NOT s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "DATAMUX_SANITIZE: unknown sanitizer '${s}' (use address, undefined, thread, leak)")
    endif()
  endforeach()
  if("thread" IN_LIST _datamux_sanitizers AND "address" IN_LIST _datamux_sanitizers)
    message(FATAL_ERROR "DATAMUX_SANITIZE: thread and address cannot be combined")
  endif()
  # -O1, line tables (-g1) and frame pointers keep stack traces readable and the build quick; UBSan findings are errors, not warnings, so a
  # test run fails on them (-fno-sanitize-recover).
  add_compile_options(-fsanitize=${DATAMUX_SANITIZE} -fno-omit-frame-pointer -g1 -O1)
  add_link_options(-fsanitize=${DATAMUX_SANITIZE})
  if("undefined" IN_LIST _datamux_sanitizers)
    add_compile_options(-fno-sanitize-recover=undefined)
  endif()
endif()

if(DATAMUX_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "DATAMUX_BUILD_FUZZERS needs Clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++-14")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# Called by the top-level CMakeLists after every library is defined: core asks for -O3 on itself, which
# would win over the -O1 above; a sanitizer or fuzzer build wants -O1 there too (it builds in half the
# time on a small machine, and reports are clearer).
function(datamux_sanitizer_finish)
  if(DATAMUX_SANITIZE OR DATAMUX_BUILD_FUZZERS)
    target_compile_options(datamux_core PRIVATE "SHELL:-O1")  # SHELL: so CMake does not drop it as a duplicate
  endif()
  if(DATAMUX_SANITIZE MATCHES "thread")
    # Not a race of ours: GCC's target_clones resolvers (the AVX-512/AVX2 attention kernels) are IFUNCs
    # that the dynamic loader runs while relocating libdatamux.so, before TSan's runtime is set up;
    # instrumented, they call into TSan too early and every program linking the library crashes at
    # load. The kernels are single-threaded loops over their own buffers, so leaving this one file
    # uninstrumented hides nothing the TSan run is for (the registry's and matmul's shared state).
    set_source_files_properties(${PROJECT_SOURCE_DIR}/core/src/ops/attention.cpp TARGET_DIRECTORY datamux_core
      PROPERTIES COMPILE_OPTIONS "-fno-sanitize=thread")
  endif()
endfunction()
