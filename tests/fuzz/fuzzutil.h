/*
 * Helpers shared by the libFuzzer targets: a private scratch directory for
 * the files an input is written to (the importers read paths), a reference
 * context, and the rule every target checks besides the sanitizers: a
 * failing call must leave a message in the context.
 */
#ifndef DG_FUZZUTIL_H
#define DG_FUZZUTIL_H
#include <stddef.h>
#include <stdint.h>

#include "detgrid/detgrid.h"

/* The scratch directory (created once per process, in /dev/shm if any). */
const char *fz_dir(void);
/* fz_dir()/rel as a static path (one of 8 rotating buffers). */
const char *fz_path(const char *rel);
/* Writes n bytes to fz_dir()/rel (parent folders made); returns the path. */
const char *fz_write(const char *rel, const void *data, size_t n);
/* Removes everything under fz_dir(). */
void fz_clean(void);
/* A context on the reference path, without progress; aborts on failure. */
dg_ctx *fz_ctx(void);
/* Aborts when st < 0 and ctx holds no message (an error without words). */
void fz_check(dg_ctx *ctx, dg_status st, const char *what);

/*
 * Splits data at the separator sep (not included) into at most max parts;
 * returns the number of parts (at least 1). Parts point into data.
 */
int fz_split(const uint8_t *data, size_t n, const char *sep,
             const uint8_t **part, size_t *len, int max);

/* Input bytes read one at a time, 0 once they run out. */
typedef struct fz_bytes {
    const uint8_t *p;
    size_t n;
} fz_bytes;

static inline uint8_t fz_u8(fz_bytes *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

/* Runs every cheap query on the results of each inference set of p. */
void fz_queries(dg_ctx *ctx, dg_project *p);
#endif
