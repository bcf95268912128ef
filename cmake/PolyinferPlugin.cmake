# polyinfer_add_engine_plugin(NAME MANIFEST file.json SOURCES src...
#                             [OUTPUT_DIRECTORY dir] [NO_INSTALL])
#
# Builds libpolyinfer_engine_NAME.so and puts its manifest beside it as
# libpolyinfer_engine_NAME.json: in the build tree's plugin directory (or
# OUTPUT_DIRECTORY) and, unless NO_INSTALL, in the install's. The manifest
# declares the model formats the engine reads (see docs/plugins.md); the
# registry reads it at scan time, without opening the library.
function(polyinfer_add_engine_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "MANIFEST;OUTPUT_DIRECTORY" "SOURCES")
  if(NOT arg_MANIFEST OR NOT arg_SOURCES)
    message(FATAL_ERROR "polyinfer_add_engine_plugin(${name}): MANIFEST and SOURCES are required")
  endif()
  set(out_dir ${POLYINFER_PLUGIN_BUILD_DIR})
  if(arg_OUTPUT_DIRECTORY)
    set(out_dir ${arg_OUTPUT_DIRECTORY})
  endif()
  set(target polyinfer_engine_${name})
  add_library(${target} MODULE ${arg_SOURCES})
  target_link_libraries(${target} PRIVATE polyinfer::core)
  set_target_properties(${target} PROPERTIES
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${out_dir}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    # Plugins sit in <libdir>/polyinfer/engines; libpolyinfer is two levels up.
    INSTALL_RPATH "$ORIGIN/../.."
    BUILD_RPATH_USE_ORIGIN ON)
  cmake_path(ABSOLUTE_PATH arg_MANIFEST BASE_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
  set(manifest ${out_dir}/libpolyinfer_engine_${name}.json)
  configure_file(${arg_MANIFEST} ${manifest} COPYONLY)
  if(NOT arg_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${POLYINFER_PLUGIN_INSTALL_DIR})
    install(FILES ${manifest} DESTINATION ${POLYINFER_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
