// A C interface to RE2 for Swift: compile a pattern once, then match it against many
// texts from any thread (a compiled RE2 is immutable).
#pragma once
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct re2shim_pattern re2shim_pattern;

/// Compiles `pattern` (UTF-8, `length` bytes). On failure returns NULL and writes RE2's
/// reason, NUL-terminated and cut to fit, into `error`.
re2shim_pattern *_Nullable re2shim_compile(
    const char *_Nonnull pattern, size_t length, char *_Nonnull error, size_t error_capacity);

void re2shim_free(re2shim_pattern *_Nonnull pattern);

/// Whether the pattern matches anywhere in `text` (unanchored), in time linear in its length.
bool re2shim_contains(const re2shim_pattern *_Nonnull pattern, const char *_Nullable text, size_t length);

#ifdef __cplusplus
}
#endif
