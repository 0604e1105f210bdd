// Thin shim over PCRE2 (8-bit code units). Swift cannot see the unsuffixed
// macro names (pcre2_compile, ...): use the `_8` functions.
#ifndef CLOWDER_CPCRE2_SHIM_H
#define CLOWDER_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#endif
