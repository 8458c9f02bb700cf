# flatmin_set_warnings(<target>): warnings on flatmin's own targets only (dependency headers are SYSTEM).
function(flatmin_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow)
  if(FLATMIN_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
