# Warnings live in an INTERFACE target that every project target links
# PRIVATE, so they never leak to consumers.
#
# Not -Wnull-dereference: GCC runs it only at -O2 and above, so it cannot fire
# in the -Og test build where warnings are errors, and in the release build
# it printed 79 false positives from inside Boost.Asio's and libstdc++'s
# headers (none in our code) to everyone who ran the quick start.
add_library(rollupd_warnings INTERFACE)
target_compile_options(rollupd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Wunused -Woverloaded-virtual
  -Wformat=2 -Wimplicit-fallthrough)
if(ROLLUPD_WERROR)
  target_compile_options(rollupd_warnings INTERFACE -Werror)
endif()
