# Developer-side helpers: warnings, sanitizers, test executables, compile-fail tests.
# None of this reaches users of pulsehook::pulsehook.

add_library(pulsehook_dev INTERFACE)
target_link_libraries(pulsehook_dev INTERFACE pulsehook::pulsehook)
target_compile_options(pulsehook_dev INTERFACE -Wall -Wextra -Wpedantic
  $<$<BOOL:${PULSEHOOK_WERROR}>:-Werror>)
if(PULSEHOOK_SANITIZE)
  target_compile_options(pulsehook_dev INTERFACE -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(pulsehook_dev INTERFACE -fsanitize=address,undefined)
  # GCC's flow-based -Wmaybe-uninitialized misfires on sanitizer-instrumented code inlined
  # from Boost.Asio (use_future's `completion`); GCC documents such false positives under
  # -fsanitize. The warning stays on, as an error, in the un-instrumented -Werror builds.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(pulsehook_dev INTERFACE -Wno-maybe-uninitialized)
  endif()
  # clang 14's -fsanitize=function (part of `undefined`) cannot compile C++20 coroutines, which
  # http_transport uses: the backend stops with "Cannot represent a difference across sections"
  # (llvm/llvm-project#49689). Only that one check (calls through a function pointer of the
  # wrong type) is left out; every other UBSan check stays.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    target_compile_options(pulsehook_dev INTERFACE -fno-sanitize=function)
  endif()
endif()

# pulsehook_add_test(<name> SOURCES a.cpp b.cpp ... [LIBS x y] [LABELS l] [POSTGRES f1 f2])
# One Boost.Test executable (shared Boost.Test runtime) registered with CTest. POSTGRES names
# the Boost.Test filters (--run_test) of its test cases that need a PostgreSQL server: with
# PULSEHOOK_POSTGRES_TESTS they run as a second CTest entry, <name>.postgres, labelled
# `postgres` (run it through scripts/with-postgres.sh), and the first entry leaves them out.
function(pulsehook_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;LABELS;POSTGRES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE pulsehook_dev pulsehook_test_main ${ARG_LIBS})
  # One translation unit per test program: its files share one parse of Beast, Asio and the
  # library and one instantiation of the dispatcher, transport and receiver templates they
  # have in common: the largest cut in CI's build time. Each test file keeps its names in a
  # namespace of its own, so that file-local helpers cannot clash.
  set_target_properties(${name} PROPERTIES UNITY_BUILD ${PULSEHOOK_UNITY_TESTS} UNITY_BUILD_BATCH_SIZE 0)
  # g++ sees the files of a unity build as headers and then warns that a fixture in an anonymous
  # namespace gives test cases internal linkage, which is what a test file means by it.
  if(PULSEHOOK_UNITY_TESTS AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${name} PRIVATE -Wno-subobject-linkage)
  endif()
  set(_without)
  if(ARG_POSTGRES AND PULSEHOOK_POSTGRES_TESTS)
    set(_with)
    foreach(f ${ARG_POSTGRES})
      list(APPEND _without "--run_test=!${f}")
      list(APPEND _with "--run_test=${f}")
    endforeach()
    add_test(NAME ${name}.postgres COMMAND ${name} --log_level=message --report_level=short ${_with})
    set_tests_properties(${name}.postgres PROPERTIES LABELS "${ARG_LABELS};postgres" TIMEOUT 900)
  endif()
  add_test(NAME ${name} COMMAND ${name} --log_level=message --report_level=short ${_without})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 900)
endfunction()

# pulsehook_add_compile_fail(<name> <source> <regex> [CLANG <clang-regex>])
# Passes when compiling <source> fails AND the diagnostics match <regex>. clang 14 prints a
# fixed_string template argument as character codes ({{105, 110, ...}}) where GCC prints the
# text, so a check that names the culprit by its text may give clang its own pattern (usually:
# the message, then the user's offending file in the instantiation notes).
# A check without a CLANG pattern expects the text of one of our static_asserts, which both
# compilers print verbatim: with PULSEHOOK_COMPILE_FAIL_TESTS=COMPILER_SPECIFIC it is left out
# (CI checks it in the clang configuration, where the heavy headers parse fastest).
function(pulsehook_add_compile_fail name source regex)
  if(NOT PULSEHOOK_COMPILE_FAIL_TESTS)
    return()
  endif()
  cmake_parse_arguments(PARSE_ARGV 3 _cf "" "CLANG" "")
  if(PULSEHOOK_COMPILE_FAIL_TESTS STREQUAL "COMPILER_SPECIFIC" AND NOT _cf_CLANG)
    return()
  endif()
  if(_cf_CLANG AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    set(regex "${_cf_CLANG}")
  endif()
  add_test(NAME compile_fail.${name}
    COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only
            -I${PROJECT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/${source})
  set_tests_properties(compile_fail.${name} PROPERTIES
    PASS_REGULAR_EXPRESSION "${regex}" LABELS compile_fail TIMEOUT 300)
endfunction()
