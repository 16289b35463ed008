# Project-wide compile flags: warnings everywhere, -Werror in CI, optional ASan+UBSan.
add_compile_options(-Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(PERMCACHE_WERROR)
  add_compile_options(-Werror)
endif()
if(PERMCACHE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
# Boost.Asio/Beast: use std types where possible, no deprecated APIs.
add_compile_definitions(BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
