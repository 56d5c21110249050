# Warnings and the sanitizer option, applied per target.
function(genre_target_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-sign-compare)
  # The one version string: project(genre VERSION ...) in CMakeLists.txt.
  target_compile_definitions(${target} PRIVATE GENRE_VERSION="${PROJECT_VERSION}")
  if(GENRE_FUZZ)  # the library under the harnesses: coverage for libFuzzer, ASan + UBSan
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                                              -fno-sanitize-recover=undefined)
  endif()
  if(GENRE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                              -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
