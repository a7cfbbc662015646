# Every find_package of the project, in one place.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)
find_package(RocksDB REQUIRED CONFIG)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(OpenSSL REQUIRED)
# sd_notify(3) for Type=notify and the watchdog (config/rollupd.service).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
if(ROLLUPD_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
