# Warnings live in an INTERFACE target that every project target links
# PRIVATE, so they never leak to consumers.
add_library(rollupd_warnings INTERFACE)
target_compile_options(rollupd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual -Wnull-dereference
  -Wformat=2 -Wimplicit-fallthrough)
if(ROLLUPD_WERROR)
  target_compile_options(rollupd_warnings INTERFACE -Werror)
endif()
