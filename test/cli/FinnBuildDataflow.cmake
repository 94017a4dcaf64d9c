# FINN's build_dataflow TFC-W1A1 (test/data/finn/build_dataflow): the functional run of the imported
# FINN-ONNX model (integer weights and thresholds from its initialisers) classifies FINN's four MNIST
# digits as expected_output.npy says; the NumPy reference recomputes the same output from the run's
# parameter dump; the network YAML written by `mpsim import -o` (with its .npy parameter files)
# gives the same output.
include("${CMAKE_CURRENT_LIST_DIR}/NumpyPython.cmake")
set(D "${SRC}/test/data/finn/build_dataflow")
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")
include("${CMAKE_CURRENT_LIST_DIR}/RunOrFail.cmake")
run_or_fail("mpsim run (onnx)" "${MPSIM}" -q run "${D}/run.yaml" --input "${D}/input.npy" --out "${OUT}/onnx")
run_or_fail("classes vs FINN's expected_output.npy" "${MPSIM}" compare "${D}/expected_output.npy" "${OUT}/onnx/output.npy")
run_or_fail("test/func_ref.py" ${NUMPY_PYTHON} "${SRC}/test/func_ref.py" network "${OUT}/onnx" "${OUT}/reference.npy")
run_or_fail("NumPy reference vs simulation" "${MPSIM}" compare "${OUT}/reference.npy" "${OUT}/onnx/output.npy")
run_or_fail("mpsim import -o" "${MPSIM}" -q import "${D}/model.onnx" -o "${OUT}/tfc.yaml")
if(NOT EXISTS "${OUT}/tfc.params/MatMul_0.weights.npy" OR NOT EXISTS "${OUT}/tfc.params/MultiThreshold_0.thresholds.npy")
  message(FATAL_ERROR "mpsim import -o did not write the parameter files into ${OUT}/tfc.params")
endif()
run_or_fail("mpsim run (yaml)" "${MPSIM}" -q run "${D}/run.yaml" --set "network.model=${OUT}/tfc.yaml"
            --input "${D}/input.npy" --out "${OUT}/yaml")
run_or_fail("imported YAML vs onnx" "${MPSIM}" compare "${OUT}/onnx/output.npy" "${OUT}/yaml/output.npy")
