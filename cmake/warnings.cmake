# Project-wide compile flags: warnings everywhere, -Werror in CI, optional ASan+UBSan.
add_compile_options(-Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(PERMCACHE_WERROR)
  add_compile_options(-Werror)
endif()
if(PERMCACHE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC's -Wmaybe-uninitialized is unreliable under ASan instrumentation (false positives inside
  # std::regex/std::function); the dev build keeps the warning on.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
if(PERMCACHE_LIBFUZZER)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
# Boost.Asio/Beast: use std types where possible, no deprecated APIs.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
# GCC 12 reports impossible -Wrestrict overlaps inside std::string concatenation at -O2/-O3
# (GCC bug 105329); it is a false positive that -Werror would turn into a broken build.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  add_compile_options(-Wno-restrict)
endif()
