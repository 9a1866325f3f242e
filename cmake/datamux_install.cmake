# Install/export rules for find_package(datamux): the datamuxTargets export set (every target
# installed with EXPORT datamuxTargets), the package config and version files, and the plugin helper.
include(CMakePackageConfigHelpers)

set(DATAMUX_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/datamux)
file(STRINGS ${PROJECT_SOURCE_DIR}/sdk/include/datamux/version.hpp _abi_line REGEX "kAbiVersion = [0-9]+")
string(REGEX MATCH "[0-9]+" DATAMUX_ABI_VERSION "${_abi_line}")
string(REGEX MATCH "^[0-9]+" DATAMUX_COMPILER_MAJOR "${CMAKE_CXX_COMPILER_VERSION}")

install(EXPORT datamuxTargets NAMESPACE datamux:: DESTINATION ${DATAMUX_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/datamuxConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/datamuxConfig.cmake
  INSTALL_DESTINATION ${DATAMUX_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_BINDIR DATAMUX_PLUGIN_INSTALL_DIR)
# The ABI changes between minor versions before 1.0: only the same minor version is compatible.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/datamuxConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/datamuxConfig.cmake
  ${PROJECT_BINARY_DIR}/cmake/datamuxConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/datamux_add_plugin.cmake
  DESTINATION ${DATAMUX_CMAKE_INSTALL_DIR})
