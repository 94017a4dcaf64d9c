# CLI check: breaking one value of a golden report makes `mpsim compare` exit 1 and name its path.
file(READ "${SRC}/test/golden/tfc_io_bound/expected.json" text)
string(REPLACE "\"cycles_per_frame\": 98," "\"cycles_per_frame\": 99," broken "${text}")
if(broken STREQUAL text)
  message(FATAL_ERROR "the golden file no longer contains the value this test breaks")
endif()
file(WRITE "${OUT}/broken.json" "${broken}")
execute_process(COMMAND "${MPSIM}" compare "${OUT}/broken.json" "${SRC}/test/golden/tfc_io_bound/expected.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT out MATCHES "DIFFERENT at layers\\[0\\]\\.cycles_per_frame \\(value\\): expected 99, actual 98")
  message(FATAL_ERROR "expected exit 1 naming layers[0].cycles_per_frame, got ${rc}: ${out}${err}")
endif()
execute_process(COMMAND "${MPSIM}" compare "${SRC}/test/golden/tfc_io_bound/expected.json"
                "${SRC}/test/golden/tfc_io_bound/expected.json" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "identical reports must compare equal")
endif()
