# Issue 15 items 2 and 7: run-folder locks, sweep children, stale temporaries, write failures (runs_locks.py)
# and the kill loop (kill_loop.py, label slow). Included from tests/CMakeLists.txt in a LibTorch build.
add_library(flatmin_fault_inject MODULE ${CMAKE_CURRENT_LIST_DIR}/fault_inject.cpp)  # LD_PRELOAD shim, tests only
set_target_properties(flatmin_fault_inject PROPERTIES PREFIX "" OUTPUT_NAME fault_inject
                      LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/robustness)
target_link_libraries(flatmin_fault_inject PRIVATE ${CMAKE_DL_LIBS})
if(Python3_EXECUTABLE)
  set(flatmin_robustness_python ${Python3_EXECUTABLE})
else()
  set(flatmin_robustness_python /usr/bin/python3)
endif()
add_test(NAME robustness_runs_locks
         COMMAND ${flatmin_robustness_python} ${CMAKE_CURRENT_LIST_DIR}/runs_locks.py
                 --flatmin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/flatmin
                 --shim ${CMAKE_BINARY_DIR}/tests/robustness/fault_inject.so)
set_tests_properties(robustness_runs_locks PROPERTIES LABELS "robustness" TIMEOUT 300)
add_test(NAME robustness_kill_loop
         COMMAND ${flatmin_robustness_python} ${CMAKE_CURRENT_LIST_DIR}/kill_loop.py
                 --flatmin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY}/flatmin)
set_tests_properties(robustness_kill_loop PROPERTIES LABELS "slow;robustness" TIMEOUT 600)
add_test(NAME robustness_divergence
         COMMAND ${flatmin_robustness_python} ${CMAKE_CURRENT_LIST_DIR}/divergence.py --bin ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
set_tests_properties(robustness_divergence PROPERTIES LABELS "robustness" TIMEOUT 300)
