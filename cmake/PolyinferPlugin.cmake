# polyinfer_add_engine_plugin(NAME SOURCES...): builds libpolyinfer_engine_NAME.so
# into the plugin directory of the build tree and installs it where the
# installed libpolyinfer finds it.
function(polyinfer_add_engine_plugin name)
  set(target polyinfer_engine_${name})
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE polyinfer::core)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${POLYINFER_PLUGIN_BUILD_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # Plugins sit in <libdir>/polyinfer/engines; libpolyinfer is two levels up.
    INSTALL_RPATH "$ORIGIN/../.."
    BUILD_RPATH_USE_ORIGIN ON)
  install(TARGETS ${target} LIBRARY DESTINATION ${POLYINFER_PLUGIN_INSTALL_DIR})
endfunction()
