# datamux_add_plugin(NAME SOURCES src...)
# Builds one plugin as a MODULE library named libdatamux-<NAME>.so into the plugin folder, exporting
# only its manifest symbol (hidden visibility), and installs it next to the built-in plugins.
function(datamux_add_plugin NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "datamux_add_plugin(${NAME}): SOURCES is required")
  endif()
  set(target datamux_plugin_${NAME})
  add_library(${target} MODULE ${ARG_SOURCES})
  if(TARGET datamux::sdk)
    target_link_libraries(${target} PRIVATE datamux::sdk)
  endif()
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME datamux-${NAME}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${DATAMUX_PLUGIN_OUTPUT_DIR}"
    INSTALL_RPATH "$ORIGIN/../..")
  if(DATAMUX_PLUGIN_INSTALL_DIR)
    install(TARGETS ${target} LIBRARY DESTINATION ${DATAMUX_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
