# Included by the CLI checks that run the NumPy reference (test/func_ref.py): sets NUMPY_PYTHON to the
# first of /usr/bin/python3 (Debian's, with python3-numpy from scripts/setup.sh) and python3 on PATH
# (possibly a pyenv shim without numpy) that can import numpy. No such interpreter is a failure.
set(NUMPY_PYTHON "")
foreach(candidate /usr/bin/python3 python3)
  execute_process(COMMAND ${candidate} -c "import numpy" RESULT_VARIABLE _numpy_rc OUTPUT_QUIET ERROR_QUIET)
  if(_numpy_rc EQUAL 0)
    set(NUMPY_PYTHON ${candidate})
    break()
  endif()
endforeach()
if(NOT NUMPY_PYTHON)
  message(FATAL_ERROR "no python3 with numpy found (tried /usr/bin/python3 and python3 on PATH): the NumPy "
                      "reference cannot run; install python3-numpy (scripts/setup.sh)")
endif()
