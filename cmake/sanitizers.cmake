# ROLLUPD_SANITIZE=ON builds everything (tests and the daemon the e2e tests
# start) under AddressSanitizer and UndefinedBehaviorSanitizer.
if(ROLLUPD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
