# Inputs read only by a flatten are written by the host already flattened (graph::Layer::
# host_flattened, docs/simulation.md "Input and output DMA"): the input DMA streams one token of
# C*H*W values. Functional runs of such networks must equal the NumPy reference (test/func_ref.py)
# bit for bit: a network YAML with a 3-channel spatial input (C > 1, so a C, H, W order error
# would show) and the two QONNX MLPs with a spatial input (TFC 1x1x28x28, KWS 1x1x10x49). The
# timing side: the input DMA of the 3-channel network reads the frame as one token.
include("${CMAKE_CURRENT_LIST_DIR}/NumpyPython.cmake")
include("${CMAKE_CURRENT_LIST_DIR}/RunOrFail.cmake")
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
file(WRITE "${OUT}/net.yaml" "input: {shape: [3, 4, 5], bits: 4}\nlayers:\n  - {name: fl, type: flatten}\n"
           "  - {name: fc1, type: fc, out_features: 16, weights: 3, activations: 3}\n"
           "  - {name: fc2, type: fc, out_features: 10, weights: 3, activations: 8}\n")
set(R "${SRC}/test/data/reference/onnx/qonnx_model_zoo")
foreach(case "spatial3:${OUT}/net.yaml" "tfc:${R}/TFC_1W1A.onnx" "kws:${R}/kwsmlp_w3a3.onnx")
  string(FIND "${case}" ":" colon)
  string(SUBSTRING "${case}" 0 ${colon} name)
  math(EXPR from "${colon} + 1")
  string(SUBSTRING "${case}" ${from} -1 model)
  file(WRITE "${OUT}/${name}.yaml" "network: {model: \"${model}\"}\nhardware: {device: zcu102}\nmapping: {mode: auto}\n"
             "simulation: {frames: 3, seed: 4, functional: true}\n")
  run_or_fail("mpsim run (${name})" "${MPSIM}" -q run "${OUT}/${name}.yaml" --out "${OUT}/${name}")
  run_or_fail("test/func_ref.py (${name})" ${NUMPY_PYTHON} "${SRC}/test/func_ref.py" network "${OUT}/${name}"
              "${OUT}/${name}.reference.npy")
  run_or_fail("NumPy reference vs simulation (${name})" "${MPSIM}" compare "${OUT}/${name}.reference.npy"
              "${OUT}/${name}/output.npy")
endforeach()
file(READ "${OUT}/spatial3/report.json" report)
string(JSON n LENGTH "${report}" layers)
math(EXPR last "${n} - 1")
set(found FALSE)
foreach(i RANGE ${last})
  string(JSON lname GET "${report}" layers ${i} name)
  if(lname STREQUAL "input")
    string(JSON busy GET "${report}" layers ${i} busy)
    set(found TRUE)
  endif()
endforeach()
# 3 x 4 x 5 values of 4 bits = 240 bits: one token at the port's 128 bits per cycle (zcu102) is
# ceil(240 / 128) = 2 busy cycles per frame (20 pixel tokens would be 20; the frame interval itself
# is the DRAM's, 20 cycles for its one burst).
if(NOT found OR NOT busy EQUAL 2)
  message(FATAL_ERROR "spatial3: the input DMA should be busy ceil(240 / 128) = 2 cycles per frame (one token), "
                      "report says ${busy}")
endif()
