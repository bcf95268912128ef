# The install test (CTest "install", see tests/CMakeLists.txt), run with
# `cmake -P` and these -D variables:
#   BUILD_DIR        the main build tree (only read: `cmake --install` copies out of it)
#   SOURCE_DIR       the source tree (tests/install_consumer is built from it)
#   WORK_DIR         scratch directory, wiped first (under BUILD_DIR/install-test)
#   MODELS_DIR       generated models (the `models` fixture)
#   ENGINES          engines built, comma-separated: torch,onnxruntime,opencv
#   CLI              1 when the polyinfer tool is built (steps 5 and 6 need it)
#   GENERATOR, MAKE_PROGRAM, CXX_COMPILER, BUILD_TYPE, CXX_FLAGS, LINKER_FLAGS
#                    the main build's, for configuring the consumer the same way
#
# Steps, each failing the test with a message that names it:
#   1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix; the expected files
#      exist, each engine's manifest (libpolyinfer_engine_<name>.json) beside
#      its plugin, naming that engine and declaring formats
#   2. no installed binary's RUNPATH points into the build or source tree
#   3. tests/install_consumer configures (find_package(polyinfer) from the
#      prefix, nowhere else) and builds
#   4. the consumer runs the mlp on each engine that is built, given the
#      directory models/mlp and the engine's name: the installed manifest's
#      formats pick the engine's file there (no file name is assumed here).
#      POLYINFER_ENGINE_PATH and LD_LIBRARY_PATH are unset, so only the
#      install's own plugin directory and RUNPATHs can find the engines
#   5. <prefix>/bin/polyinfer info --json lists every built engine as loaded
#      from <prefix>/lib/polyinfer/engines, with its manifest's formats; and
#      `polyinfer predict` runs the mlp from its TensorProto (.pb) test data on
#      the first engine, which needs polyinfer::io's TensorProto module, found
#      beside the installed libpolyinfer_io
#   6. the prefix, moved elsewhere, still works (relocatable): step 5 again
cmake_minimum_required(VERSION 3.25)

foreach(var BUILD_DIR SOURCE_DIR WORK_DIR MODELS_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "install test: -D${var}=... is required")
  endif()
endforeach()

set(step "setup")
function(fail)
  string(JOIN "" text ${ARGN})
  message(FATAL_ERROR "install test FAILED at step '${step}': ${text}")
endfunction()

# Runs a command, failing the test with its output when it exits non-zero.
# The output is left in run_output.
function(run_checked)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(JOIN " " cmd ${ARGN})
    fail("command failed (exit ${rc}):\n  ${cmd}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

string(REPLACE "," ";" ENGINES "${ENGINES}")

# Only the install's own lookup rules may find the engines.
unset(ENV{POLYINFER_ENGINE_PATH})
unset(ENV{LD_LIBRARY_PATH})

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

# ---------------------------------------------------------------- 1. install
set(step "cmake --install")
# `cmake --install` always (re)writes BUILD_DIR/install_manifest.txt; put back
# what was there, so that this test leaves the build tree as it found it.
set(manifest "${BUILD_DIR}/install_manifest.txt")
set(had_manifest FALSE)
if(EXISTS "${manifest}")
  set(had_manifest TRUE)
  file(READ "${manifest}" manifest_before)
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(had_manifest)
  file(WRITE "${manifest}" "${manifest_before}")
else()
  file(REMOVE "${manifest}")
endif()
file(WRITE "${WORK_DIR}/install.log" "${out}${err}")
if(NOT rc EQUAL 0)
  fail("cmake --install ${BUILD_DIR} --prefix ${prefix} failed (exit ${rc}):\n${out}\n${err}")
endif()

# Where GNUInstallDirs put the libraries ("lib", or "lib/<multiarch>" for /usr).
file(GLOB_RECURSE config_file "${prefix}/*polyinferConfig.cmake")
list(LENGTH config_file n)
if(NOT n EQUAL 1)
  fail("expected one polyinferConfig.cmake under ${prefix}, found ${n}: '${config_file}'")
endif()
get_filename_component(libdir "${config_file}" DIRECTORY)  # <libdir>/cmake/polyinfer
get_filename_component(libdir "${libdir}/../.." ABSOLUTE)
set(engine_dir "${libdir}/polyinfer/engines")

set(expected
  "${libdir}/cmake/polyinfer/polyinferConfigVersion.cmake"
  "${libdir}/cmake/polyinfer/polyinferTargets.cmake"
  "${libdir}/libpolyinfer.so"
  "${libdir}/libpolyinfer_io.so"
  "${libdir}/polyinfer/libpolyinfer_io_tensorproto.so"
  "${prefix}/include/polyinfer/polyinfer.hpp"
  "${prefix}/include/polyinfer/version.hpp")
if(CLI)
  list(APPEND expected "${prefix}/bin/polyinfer")
endif()
foreach(engine IN LISTS ENGINES)
  list(APPEND expected "${engine_dir}/libpolyinfer_engine_${engine}.so"
                       "${engine_dir}/libpolyinfer_engine_${engine}.json")
endforeach()
if("onnxruntime" IN_LIST ENGINES)
  # ONNX Runtime is not a system library: the install carries its own copy.
  list(APPEND expected "${engine_dir}/libonnxruntime.so.1")
endif()
set(step "installed files")
foreach(file IN LISTS expected)
  if(NOT EXISTS "${file}")
    fail("${file} was not installed")
  endif()
endforeach()

set(step "installed plugin manifests")
foreach(engine IN LISTS ENGINES)
  set(manifest_file "${engine_dir}/libpolyinfer_engine_${engine}.json")
  file(READ "${manifest_file}" manifest_text)
  string(JSON declared ERROR_VARIABLE json_error GET "${manifest_text}" engine)
  if(json_error OR NOT declared STREQUAL engine)
    fail("${manifest_file} does not declare engine '${engine}' (${json_error}${declared})")
  endif()
  string(JSON format_count ERROR_VARIABLE json_error LENGTH "${manifest_text}" formats)
  if(json_error OR NOT format_count GREATER 0)
    fail("${manifest_file} declares no model formats (${json_error})")
  endif()
endforeach()

# ---------------------------------------------------------------- 2. RUNPATHs
set(step "installed RUNPATHs")
find_program(READELF readelf)
if(READELF)
  file(GLOB binaries "${libdir}/libpolyinfer*.so" "${libdir}/polyinfer/libpolyinfer_*.so"
                     "${engine_dir}/libpolyinfer_engine_*.so"
                     "${prefix}/bin/polyinfer")
  foreach(binary IN LISTS binaries)
    run_checked("${READELF}" -d "${binary}")
    string(REGEX MATCHALL "(RPATH|RUNPATH)[^\n]*" paths "${run_output}")
    foreach(tree "${BUILD_DIR}" "${SOURCE_DIR}")
      string(FIND "${paths}" "${tree}" at)
      if(NOT at EQUAL -1)
        fail("${binary} has a run path into ${tree} (${paths}): the install "
             "would depend on the build or source tree")
      endif()
    endforeach()
  endforeach()
else()
  message(STATUS "readelf not found: RUNPATH check skipped")
endif()

# ---------------------------------------------------------------- 3. consumer build
set(step "configure the consumer project")
set(consumer_build "${WORK_DIR}/consumer-build")
set(configure_args
  -S "${SOURCE_DIR}/tests/install_consumer" -B "${consumer_build}" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
  "-DCMAKE_PREFIX_PATH=${prefix}"
  # Only the prefix: never a polyinfer registered elsewhere on this machine.
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
  "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
  "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
if(MAKE_PROGRAM)
  list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(BUILD_TYPE)
  list(APPEND configure_args "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}")
endif()
run_checked("${CMAKE_COMMAND}" ${configure_args})
file(STRINGS "${consumer_build}/CMakeCache.txt" found_dir REGEX "^polyinfer_DIR:")
string(REGEX REPLACE "^[^=]*=" "" found_dir "${found_dir}")
if(NOT found_dir STREQUAL "${libdir}/cmake/polyinfer")
  fail("find_package(polyinfer) used '${found_dir}', expected '${libdir}/cmake/polyinfer'")
endif()

set(step "build the consumer project")
run_checked("${CMAKE_COMMAND}" --build "${consumer_build}")
set(consumer "${consumer_build}/consumer")
if(NOT EXISTS "${consumer}")
  fail("${consumer} was not built")
endif()

# ---------------------------------------------------------------- 4. consumer runs
# The model each engine runs: the mlp (PyTorch's generator writes it in every
# format but TensorFlow's and MXNet's), tf_tiny's SavedModel for tensorflow,
# mx_mlp's symbol and params for mxnet; the input
# shape from the generator's meta.json.
function(model_for engine out_model out_shape)
  if(engine STREQUAL "tensorflow")
    set(model_root "${MODELS_DIR}/tf_tiny")
    set(model "${model_root}/saved_model")
  elseif(engine STREQUAL "mxnet")
    set(model_root "${MODELS_DIR}/mx_mlp")
    set(model "${model_root}")
  else()
    set(model_root "${MODELS_DIR}/mlp")
    set(model "${model_root}")
  endif()
  set(meta_file "${model_root}/meta.json")
  if(NOT EXISTS "${meta_file}")
    set(step "read the model for ${engine}")
    fail("${meta_file} is missing (the generate_models fixtures must run first)")
  endif()
  file(READ "${meta_file}" meta)
  string(JSON rank LENGTH "${meta}" inputs 0 shape)
  set(dims "")
  math(EXPR last "${rank} - 1")
  foreach(i RANGE ${last})
    string(JSON dim GET "${meta}" inputs 0 shape ${i})
    list(APPEND dims ${dim})
  endforeach()
  list(JOIN dims "," shape)
  set(${out_model} "${model}" PARENT_SCOPE)
  set(${out_shape} "${shape}" PARENT_SCOPE)
endfunction()

foreach(engine IN LISTS ENGINES)
  set(step "run the consumer with the ${engine} engine")
  # The mlp's directory holds one model file per engine format; naming the
  # engine makes the registry pick that engine's file by its installed manifest.
  model_for(${engine} model shape)
  run_checked("${consumer}" "${model}" "${shape}" "${engine}")
  message(STATUS "consumer ${model} with ${engine}:\n${run_output}")
  if(NOT run_output MATCHES "engine ${engine} ")
    fail("the consumer did not report engine ${engine}:\n${run_output}")
  endif()
  if(NOT run_output MATCHES "format [^ \n]")
    fail("the ${engine} model was not recognised by a format of the installed manifest:\n${run_output}")
  endif()
  if(NOT run_output MATCHES "output [^ ]+ float32\\[")
    fail("the consumer printed no float32 output:\n${run_output}")
  endif()
endforeach()

# ---------------------------------------------------------------- 5. polyinfer info
# Checks `<root>/bin/polyinfer info --json`: every built engine loaded from
# <root>'s plugin directory.
function(check_info root)
  file(RELATIVE_PATH rel_engine_dir "${prefix}" "${engine_dir}")
  set(dir "${root}/${rel_engine_dir}")
  run_checked("${root}/bin/polyinfer" info --json)
  set(info "${run_output}")
  string(JSON count LENGTH "${info}" engines)
  foreach(engine IN LISTS ENGINES)
    set(found FALSE)
    if(count GREATER 0)
      math(EXPR last "${count} - 1")
      foreach(i RANGE ${last})
        string(JSON name GET "${info}" engines ${i} name)
        if(name STREQUAL engine)
          set(found TRUE)
          string(JSON loaded GET "${info}" engines ${i} loaded)
          string(JSON path GET "${info}" engines ${i} path)
          if(NOT loaded)
            string(JSON error ERROR_VARIABLE no_error GET "${info}" engines ${i} error)
            fail("engine ${engine} did not load from ${path}: ${error}")
          endif()
          if(NOT path STREQUAL "${dir}/libpolyinfer_engine_${engine}.so")
            fail("engine ${engine} was loaded from ${path}, expected ${dir}")
          endif()
          string(JSON formats ERROR_VARIABLE no_formats LENGTH "${info}" engines ${i} formats)
          if(no_formats OR NOT formats GREATER 0)
            fail("polyinfer info lists no formats for engine ${engine} (its manifest's)")
          endif()
        endif()
      endforeach()
    endif()
    if(NOT found)
      fail("polyinfer info does not list engine ${engine}:\n${info}")
    endif()
  endforeach()
endfunction()

# Checks `<root>/bin/polyinfer predict` on the mlp's .pb inputs and expected
# outputs: the installed libpolyinfer_io must load its TensorProto module.
function(check_tensor_proto root)
  if(NOT ENGINES)
    return()
  endif()
  list(GET ENGINES 0 engine)
  set(data "${MODELS_DIR}/mlp/test_data_set_0")
  run_checked("${root}/bin/polyinfer" predict -e ${engine} -u "${MODELS_DIR}/mlp"
              -i "${data}" --expect "${data}")
  if(NOT run_output MATCHES "ok +output")
    fail("polyinfer predict on ${engine} did not match the mlp's expected output:\n${run_output}")
  endif()
endfunction()

if(NOT CLI)
  message(STATUS "install test passed (the polyinfer tool is not built: its steps were skipped)")
  return()
endif()
set(step "${prefix}/bin/polyinfer info")
check_info("${prefix}")
set(step "${prefix}/bin/polyinfer predict with .pb tensors")
check_tensor_proto("${prefix}")

# ---------------------------------------------------------------- 6. relocated
set(moved "${WORK_DIR}/moved-prefix")
set(step "polyinfer info from the install moved to ${moved}")
file(RENAME "${prefix}" "${moved}")
check_info("${moved}")
set(step "polyinfer predict with .pb tensors from the install moved to ${moved}")
check_tensor_proto("${moved}")

message(STATUS "install test passed: engines '${ENGINES}' installed under ${prefix}, "
               "found by find_package, by the consumer and by polyinfer info and predict, also after a move")
