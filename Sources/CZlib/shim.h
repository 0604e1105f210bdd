// Thin shim over zlib: deflateInit2 and inflateInit2 are macros.
#ifndef CLOWDER_CZLIB_SHIM_H
#define CLOWDER_CZLIB_SHIM_H
#include <zlib.h>

static inline int czlib_deflate_init2(z_streamp s, int level, int windowBits) {
    return deflateInit2(s, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
static inline int czlib_inflate_init2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
#endif
