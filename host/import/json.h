/*
 * A fast, strict JSON reader for the importers: the whole file is read
 * and checked against RFC 8259 (no leading zeros, no bare '.', no control
 * characters or invalid UTF-8 in strings, no lone surrogates, nothing after
 * the value; one extension: the number tokens NaN, Infinity and -Infinity
 * that Python's json module writes) into a flat array of nodes in
 * document order. Numbers and strings stay as byte ranges of the file
 * until asked for, so the parts a caller does not read (segmentation
 * polygons, say) cost one pass of validation and nothing more.
 *
 * Node i's children follow it: an array's elements are i + 1, then each
 * next one at dg__json_next(); an object's members are key, value pairs,
 * the first key at i + 1, its value right after it, the next key at
 * dg__json_next() of that value. dg__json_count() is the number of
 * elements or members.
 */
#ifndef DG_JSON_H
#define DG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

enum {
    DG_JSON_NULL = 0,
    DG_JSON_FALSE,
    DG_JSON_TRUE,
    DG_JSON_NUMBER,
    DG_JSON_STRING,
    DG_JSON_ARRAY,
    DG_JSON_OBJECT
};

typedef struct dg_jnode {
    uint64_t pos;  /* byte offset << 5 | flags << 3 | type */
    uint32_t len;  /* number, string: bytes; array, object: count */
    uint32_t next; /* the node after this one's subtree */
} dg_jnode;

typedef struct dg_json {
    char *buf;  /* the file, NUL-terminated; strings decode in place */
    size_t len;
    dg_jnode *node;
    uint32_t n, cap;
    /* Set by dg__json_parse (NULL in a scratch of dg__json_scan_elements):
     * where dg__json_fields and dg__json_release warn of repeated keys. */
    dg_ctx *ctx;
    const char *path;
    uint64_t n_dup; /* repeated keys dg__json_fields met */
} dg_json;

/*
 * Reads and checks path. Errors (the context's message names the file):
 * DG_EIO "'<path>': cannot open: <strerror>" / "cannot read: ...";
 * DG_EFORMAT "'<path>': not valid JSON: file is empty", or "not valid JSON
 * near byte N (line L)" with ": NUL byte" or another reason after it.
 * On success release *out with dg__json_release().
 */
dg_status dg__json_read(dg_ctx *ctx, const char *path, dg_json *out);

/*
 * dg__json_read, with the value of every object member named skip_key
 * (when not NULL) checked as any value but kept as null, its nodes never
 * stored: the ground truth's segmentation polygons when masks are not
 * read.
 */
dg_status dg__json_read_skipping(dg_ctx *ctx, const char *path,
                                 const char *skip_key, dg_json *out);

/* Parses buf[0..len) (buf[len] must be writable and is set to NUL); takes
 * ownership of buf, which must come from malloc. path names it in
 * messages. */
dg_status dg__json_parse(dg_ctx *ctx, const char *path, char *buf,
                         size_t len, dg_json *out);

/* Frees j (warning of the repeated keys dg__json_fields met, if more
 * than one). */
void dg__json_release(dg_json *j);

/*
 * For a reader that splits a top-level array between threads; nothing is
 * written to the buffer, so ranges may be scanned at once.
 *
 * dg__json_array_start: where the first element of buf's top-level array
 * starts (after a byte order mark and whitespace), or SIZE_MAX when the
 * top level is not a non-empty array. buf[len] must be NUL.
 *
 * dg__json_scan_elements: parses elements of that array from start (the
 * first byte of an element), each into scratch (whose buf and len are the
 * file's, its nodes reused: the element is node 0), calling fn on it; after
 * an element and its ',' it stops once the next element starts at or past
 * stop, setting *end there; after the array's ']' it sets *closed and *end
 * past the whitespace that follows. -1 on a syntax error, on running out
 * of memory or when fn returns < 0; the caller then falls back to
 * dg__json_parse for the message. Whether start was really an element's
 * start is the caller's to check: the scan of the range before must end
 * exactly there.
 */
typedef int (*dg_json_elem_fn)(void *arg, dg_json *j);
/*
 * fast, when given, is offered each element first: it reads the element
 * at buf + p itself (dg__json_flat_object, say) and returns 1 with *end
 * just past it, 0 to have it parsed into scratch and given to fn, or -1
 * to stop.
 */
typedef int (*dg_json_fast_fn)(void *arg, const char *buf, size_t p,
                               size_t *end);
size_t dg__json_array_start(const char *buf, size_t len);
int dg__json_scan_elements(dg_json *scratch, size_t start, size_t stop,
                           dg_json_fast_fn fast, dg_json_elem_fn fn,
                           void *arg, size_t *end, int *closed);

/*
 * A flat object at buf + p, read without nodes: its keys plain printable
 * ASCII (no escapes), its values numbers (RFC 8259; not NaN or
 * Infinity), strings of printable ASCII without escapes, true, false,
 * null, or arrays of such numbers. For each names[k] (lens[k] bytes) out[k]
 * gets the value: type -1 when absent, else its DG_JSON_* type; a number
 * in v[0] (as dg__json_number reads it) and, when written as an integer
 * that fits, in iv with is_int set (as dg__json_int64); a number's or a
 * string's text at off, len bytes; an array's count in n and its first DG_JFLAT_ELEMS
 * numbers in v. Returns the offset just past the '}', or 0 when the
 * object is not flat or repeats one of the names: the caller parses it
 * the usual way, which accepts everything this does and reads the same
 * values. Nothing is written to buf, so threads may share it.
 */
#define DG_JFLAT_ELEMS 4
typedef struct dg_jfield {
    int type;
    uint32_t n, len;
    uint8_t is_int;
    int64_t iv;
    size_t off;
    double v[DG_JFLAT_ELEMS];
} dg_jfield;
size_t dg__json_flat_object(const char *buf, size_t p,
                            const char *const *names, const uint8_t *lens,
                            int n, dg_jfield *out);

/* Reads path into a malloc'd buffer with one byte to spare for a NUL;
 * errors as dg__json_read's. */
dg_status dg__json_read_file(dg_ctx *ctx, const char *path, char **buf,
                             size_t *len);

static inline int dg__json_type(const dg_json *j, uint32_t i)
{
    return (int)(j->node[i].pos & 7);
}

static inline uint32_t dg__json_count(const dg_json *j, uint32_t i)
{
    return j->node[i].len;
}

static inline uint32_t dg__json_next(const dg_json *j, uint32_t i)
{
    return j->node[i].next;
}

/* Whether string node i has escapes (and would be decoded in place). */
static inline int dg__json_has_escape(const dg_json *j, uint32_t i)
{
    return (int)((j->node[i].pos >> 3) & 1);
}

/* "number", "string", "boolean", "null", "array" or "object". */
const char *dg__json_type_name(const dg_json *j, uint32_t i);

/*
 * Number node i exactly, when it is written as an integer (no fraction,
 * no exponent): 0 with *out set, -1 when it does not fit in int64_t, 1
 * when it is not written as an integer (read it with dg__json_number).
 * Ids above 2^53 are exact this way, as Python's int keeps them.
 */
int dg__json_int64(const dg_json *j, uint32_t i, int64_t *out);

/* The number of node i as strtod reads it (correctly rounded). */
double dg__json_number(const dg_json *j, uint32_t i);
/* The same of a number's text s[0..n) (as scanned: valid grammar). */
double dg__json_number_text(const char *s, size_t n);
/* dg__json_int64 of a number's text s[0..n). */
int dg__json_int64_text(const char *s, size_t n, int64_t *out);

/* The string of node i, unescaped and NUL-terminated (decoded in place
 * the first time). */
const char *dg__json_string(dg_json *j, uint32_t i);

/*
 * The bytes of string node i as the file has them, escapes undecoded
 * (nothing written, so safe beside other threads); *len their count.
 * Not for a string dg__json_string has decoded in place.
 */
static inline const char *dg__json_raw(const dg_json *j, uint32_t i,
                                       size_t *len)
{
    *len = j->node[i].len;
    return j->buf + (j->node[i].pos >> 5);
}

/* Whether string node i equals s (as strcmp of its decoded text). */
int dg__json_string_is(dg_json *j, uint32_t i, const char *s, size_t n);

/*
 * Finds the member of object node obj named names[k] for each k < n:
 * out[k] is its value node, or UINT32_MAX when absent. A name that occurs
 * more than once gives its last value, as Python's json does (pycocotools
 * reads COCO files with it); j->n_dup counts such repeats, the first one
 * warned of (file, byte, line, key) and the total by dg__json_release.
 */
void dg__json_fields(dg_json *j, uint32_t obj, const char *const *names,
                     int n, uint32_t *out);

#define DG_JSON_NONE UINT32_MAX

#endif
