# `mpsim import -o net.yaml` round trip for the reference models with a bipolar input
# (test/data/reference, origins in its README): the written network YAML with its .npy parameters
# loads (`mpsim info`); a timing run of it gives the report of the timing run of the .onnx; and a
# functional run of it gives the output of the functional run of the .onnx on the same input frames
# (cybsec: finn-examples' golden sample, given as -1 / +1; TFC: seeded frames).
cmake_minimum_required(VERSION 3.18) # policies of the project (if() quoting, IN_LIST)
set(R "${SRC}/test/data/reference/onnx")
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
include("${CMAKE_CURRENT_LIST_DIR}/RunOrFail.cmake")
set(cybsec_input "${R}/finn-examples/golden_io_1168db11/cybersecurity-mlp__cybersecurity_input.npy")
# Which runs are compared: cybsec's import brings FINN's PE / SIMD (the YAML has them as comments
# only), so its timing differs by design; unsw_nb15-mlp-w2a2's layer names contain '/' (the
# functional run's weights/ dump uses safe file names for them).
foreach(model qonnx_model_zoo/TFC_1W1A:timing,functional finn/cybsec_PE_SIMD:functional
              qonnx_model_zoo/unsw_nb15-mlp-w2a2:timing,functional)
  string(REPLACE ":" ";" parts "${model}")
  list(GET parts 0 rel)
  list(GET parts 1 kinds)
  string(REPLACE "," ";" kinds "${kinds}")
  get_filename_component(name "${rel}" NAME)
  set(model_file "${R}/${rel}.onnx")
  if(NOT EXISTS "${model_file}")
    message(FATAL_ERROR "missing test fixture ${model_file} (test/data/reference is part of the repository)")
  endif()
  set(dir "${OUT}/${name}")
  run_or_fail("mpsim import -o (${name})" "${MPSIM}" -q import "${model_file}" -o "${dir}/net.yaml")
  file(READ "${dir}/net.yaml" text)
  if(NOT text MATCHES "\n  type: bipolar\n")
    message(FATAL_ERROR "${name}: the written network YAML does not declare a bipolar input:\n${text}")
  endif()
  run_or_fail("mpsim info (${name}, written YAML)" "${MPSIM}" -q info "${dir}/net.yaml")
  set(input_args)
  if(name STREQUAL "cybsec_PE_SIMD")
    if(NOT EXISTS "${cybsec_input}")
      message(FATAL_ERROR "missing test fixture ${cybsec_input}")
    endif()
    set(input_args --input "${cybsec_input}")
  endif()
  foreach(kind ${kinds})
    foreach(from onnx yaml)
      if(from STREQUAL "onnx")
        set(net "${model_file}")
      else()
        set(net "${dir}/net.yaml")
      endif()
      set(run "${dir}/${kind}_${from}")
      set(sim "frames: 3, seed: 4")
      set(args)
      if(kind STREQUAL "functional")
        set(sim "${sim}, functional: true")
        set(args ${input_args})
      endif()
      file(WRITE "${run}.yaml" "network: {model: \"${net}\"}\nhardware: {device: zcu102}\nmapping: {mode: auto}\n"
                 "simulation: {${sim}}\n")
      run_or_fail("mpsim run (${name}, ${kind}, from ${from})" "${MPSIM}" -q run "${run}.yaml" ${args} --out "${run}")
    endforeach()
    if(kind STREQUAL "timing")
      run_or_fail("${name}: report of the YAML run vs the ONNX run" "${MPSIM}" compare "${dir}/timing_onnx/report.json"
                  "${dir}/timing_yaml/report.json")
    endif()
  endforeach()
  if("functional" IN_LIST kinds)
    run_or_fail("${name}: input frames of the YAML run vs the ONNX run" "${MPSIM}" compare
                "${dir}/functional_onnx/input.npy" "${dir}/functional_yaml/input.npy")
    run_or_fail("${name}: output of the YAML run vs the ONNX run" "${MPSIM}" compare
                "${dir}/functional_onnx/output.npy" "${dir}/functional_yaml/output.npy")
  endif()
endforeach()
