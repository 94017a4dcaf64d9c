# Runs one golden case: mpsim run on CASE_DIR/config.yaml, then mpsim compare against
# CASE_DIR/expected.json (and CASE_DIR/expected_output.npy against output.npy when present). The expected exit code of the run is CASE_DIR/exit_code (default 0).
# Regenerate expected files only with scripts/regen_golden.sh.
set(expected_rc 0)
if(EXISTS "${CASE_DIR}/exit_code")
  file(READ "${CASE_DIR}/exit_code" expected_rc)
  string(STRIP "${expected_rc}" expected_rc)
endif()
# A functional case may bring its input frames (input.npy) and the expected output tensor
# (expected_output.npy, from outside mpsim: never regenerated).
set(input_args)
if(EXISTS "${CASE_DIR}/input.npy")
  set(input_args --input "${CASE_DIR}/input.npy")
endif()
execute_process(COMMAND "${MPSIM}" -q run "${CASE_DIR}/config.yaml" --out "${OUT_DIR}" ${input_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL expected_rc)
  message(FATAL_ERROR "mpsim run exited with ${rc}, expected ${expected_rc}\n${out}\n${err}")
endif()
execute_process(COMMAND "${MPSIM}" compare "${CASE_DIR}/expected.json" "${OUT_DIR}/report.json"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "report differs from the golden file:\n${out}${err}")
endif()
# A functional case must bring expected_output.npy: without it the data would go unchecked.
file(READ "${CASE_DIR}/config.yaml" config_text)
if(config_text MATCHES "functional: *true" AND NOT EXISTS "${CASE_DIR}/expected_output.npy")
  message(FATAL_ERROR "${CASE_DIR} is a functional case (simulation.functional: true) without expected_output.npy")
endif()
if(EXISTS "${CASE_DIR}/expected_output.npy")
  execute_process(COMMAND "${MPSIM}" compare "${CASE_DIR}/expected_output.npy" "${OUT_DIR}/output.npy"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "output.npy differs from expected_output.npy:\n${out}${err}")
  endif()
endif()
