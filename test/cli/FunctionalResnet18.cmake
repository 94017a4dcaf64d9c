# Slow check: a functional ResNet-18 run (4-bit weights and activations, scheduled for a ZCU102,
# 2 frames, seeded parameters) matches the independent NumPy reference bit for bit.
include("${CMAKE_CURRENT_LIST_DIR}/NumpyPython.cmake")
file(REMOVE_RECURSE "${OUT}")
execute_process(COMMAND "${MPSIM}" -q run --set network.quant.weights=4 --set network.quant.activations=4
                --functional --frames 2 --out "${OUT}" RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mpsim run --functional failed (${rc}): ${err}")
endif()
execute_process(COMMAND ${NUMPY_PYTHON} "${SRC}/test/func_ref.py" network "${OUT}" "${OUT}/reference.npy"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "test/func_ref.py failed (${rc}): ${out}${err}")
endif()
execute_process(COMMAND "${MPSIM}" compare "${OUT}/reference.npy" "${OUT}/output.npy"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "functional ResNet-18 output differs from the NumPy reference: ${out}${err}")
endif()
