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

# polyinfer_find_wheel_library(<out_prefix> LABEL name ROOT dir WHEEL_GLOB glob
#                              HEADER include/relative/header.h LIBRARIES rel/lib.so...)
#
# Finds an engine library that a user installed (ROOT, from -D<NAME>_ROOT=) or
# that scripts/setup.sh installed from the engine's wheel (WHEEL_GLOB, a glob
# under the source tree's .deps/venv/<name>, used when ROOT is empty): the
# first root holding HEADER (under include/) and one of LIBRARIES. Sets
# <out_prefix>_INCLUDE (the root's include directory) and <out_prefix>_LIBRARY
# in the caller's scope, or, when none is found, prints one STATUS line saying
# that the engine is skipped and why, and leaves both empty.
function(polyinfer_find_wheel_library out)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "LABEL;ROOT;WHEEL_GLOB;HEADER;ROOT_VARIABLE" "LIBRARIES")
  if(arg_ROOT)
    set(roots "${arg_ROOT}")
    set(where "${arg_ROOT_VARIABLE}='${arg_ROOT}'")
  else()
    file(GLOB roots "${arg_WHEEL_GLOB}")
    set(where "the wheel in ${arg_WHEEL_GLOB} (run scripts/setup.sh)")
  endif()
  set(${out}_INCLUDE "" PARENT_SCOPE)
  set(${out}_LIBRARY "" PARENT_SCOPE)
  foreach(root IN LISTS roots)
    if(NOT EXISTS "${root}/include/${arg_HEADER}")
      continue()
    endif()
    foreach(candidate IN LISTS arg_LIBRARIES)
      if(EXISTS "${root}/${candidate}")
        message(STATUS "${arg_LABEL} engine: ${root}/${candidate} (headers ${root}/include)")
        set(${out}_INCLUDE "${root}/include" PARENT_SCOPE)
        set(${out}_LIBRARY "${root}/${candidate}" PARENT_SCOPE)
        return()
      endif()
    endforeach()
  endforeach()
  list(JOIN arg_LIBRARIES " or " libraries)
  message(STATUS "${arg_LABEL} engine: skipped, none found in ${where} (needs "
                 "include/${arg_HEADER} and ${libraries}); -D${arg_ROOT_VARIABLE}=<dir> points at one")
endfunction()
