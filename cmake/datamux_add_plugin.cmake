# datamux_add_plugin(NAME SOURCES src... [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# Builds one plugin as a MODULE library libdatamux-<NAME>.so (target datamux_plugin_<NAME>) that
# exports only its manifest symbol (hidden visibility; the SDK classes stay visible through
# DATAMUX_API), links the SDK, and installs it into the plugin folder. Used in-tree for the built-in
# plugins and, through find_package(datamux), by out-of-tree plugins.
#
#   OUTPUT_DIRECTORY  where the library is built (default: DATAMUX_PLUGIN_OUTPUT_DIR when set, e.g. the
#                     build tree's lib/datamux/plugins, else the current binary folder)
#   NO_INSTALL        build only (test plugins)
#
# Every plugin target is appended to the global property DATAMUX_PLUGIN_TARGETS, so that test binaries
# which load plugins at run time can depend on all of them.
# Installed plugins sit in <libdir>/datamux/plugins and find libdatamux.so two folders up; an
# out-of-tree build adds the datamux prefix's libdir (set by datamuxConfig.cmake).
if(NOT DEFINED DATAMUX_PLUGIN_RPATH)
  set(DATAMUX_PLUGIN_RPATH "$ORIGIN/../..")
endif()

function(datamux_add_plugin NAME)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "datamux_add_plugin(${NAME}): SOURCES is required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "datamux_add_plugin(${NAME}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  set(target datamux_plugin_${NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE datamux::sdk)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME datamux-${NAME}
    PREFIX lib
    SUFFIX .so
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    INSTALL_RPATH "${DATAMUX_PLUGIN_RPATH}")
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(DATAMUX_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${DATAMUX_PLUGIN_OUTPUT_DIR}")
  endif()
  if(NOT ARG_NO_INSTALL AND DATAMUX_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${DATAMUX_PLUGIN_INSTALL_DIR})
  endif()
  set_property(GLOBAL APPEND PROPERTY DATAMUX_PLUGIN_TARGETS ${target})
endfunction()

# datamux_remove_stale_plugins()
#
# A plugin whose source was deleted or renamed would otherwise stay in its build-tree folder and be
# scanned next to the current ones (refused for an old ABI, or loaded with stale code). Called once at
# the end of configuration: in every folder a plugin target builds into, removes the libdatamux-*.so
# files that no current target builds, except those listed in the global property
# DATAMUX_PLUGIN_FIXTURES (files written on purpose, e.g. a test's junk "library"). The
# CONFIGURE_DEPENDS globs re-run configuration whenever a plugin folder appears or disappears.
function(datamux_remove_stale_plugins)
  get_property(targets GLOBAL PROPERTY DATAMUX_PLUGIN_TARGETS)
  get_property(expected GLOBAL PROPERTY DATAMUX_PLUGIN_FIXTURES)
  set(dirs "")
  foreach(target ${targets})
    get_target_property(out_name ${target} OUTPUT_NAME)
    get_target_property(out_dir ${target} LIBRARY_OUTPUT_DIRECTORY)
    if(NOT out_dir)
      get_target_property(out_dir ${target} BINARY_DIR)
    endif()
    list(APPEND dirs ${out_dir})
    list(APPEND expected ${out_dir}/lib${out_name}.so)
  endforeach()
  list(REMOVE_DUPLICATES dirs)
  foreach(dir ${dirs})
    file(GLOB built ${dir}/libdatamux-*.so)
    foreach(lib ${built})
      if(NOT lib IN_LIST expected)
        message(STATUS "datamux: removing stale plugin ${lib} (no target builds it any more)")
        file(REMOVE ${lib})
      endif()
    endforeach()
  endforeach()
endfunction()
