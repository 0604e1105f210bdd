// Thin shim over PCRE2 (8-bit code units). Swift cannot see the unsuffixed
// macro names (pcre2_compile, PCRE2_ZERO_TERMINATED, PCRE2_UNSET): use the
// `_8` functions and these typed constants.
#ifndef CLOWDER_CPCRE2_SHIM_H
#define CLOWDER_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

static const size_t cpcre2_zero_terminated = PCRE2_ZERO_TERMINATED;
static const size_t cpcre2_unset = PCRE2_UNSET;
#endif
