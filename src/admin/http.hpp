// admin/http.hpp: includes cpp-httplib the way Debian's libcpp-httplib was compiled.
// Debian builds the library with OpenSSL, zlib and Brotli support (its pkg-config Cflags
// define these); a translation unit that includes httplib.h without the same definitions sees
// other class layouts than the library it links (an ODR violation). Include this, never
// <httplib.h> directly. Heavy: keep it out of headers.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
