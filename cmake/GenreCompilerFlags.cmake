# Warnings and the sanitizer option, applied per target.
function(genre_target_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-sign-compare)
  if(GENRE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                              -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
