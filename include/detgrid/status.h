/*
 * detgrid status codes.
 *
 * Zero is success and every error is negative, as in libuv. One X-macro
 * feeds both the enum and dg_strerror() so the two cannot drift. OpenCL
 * failures map to DG_ECL; the cl_int and the failing call are kept in the
 * context's last-error text.
 */
#ifndef DETGRID_STATUS_H
#define DETGRID_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DG_STATUS_MAP(X)                                              \
    X(OK, 0, "success")                                               \
    X(EINVAL, -1, "invalid argument")                                 \
    X(ENOMEM, -2, "out of memory")                                    \
    X(EIO, -3, "input/output error")                                  \
    X(EFORMAT, -4, "malformed input")                                 \
    X(ENOTFOUND, -5, "not found")                                     \
    X(EVERSION, -6, "unsupported format version")                     \
    X(ECL, -7, "OpenCL error")                                        \
    X(ENODEV, -8, "no usable OpenCL device")                          \
    X(EEXIST, -9, "already exists")                                   \
    X(ESTALE, -10, "results missing or out of date")                  \
    X(ERANGE, -11, "value out of range")                              \
    X(EMISMATCH, -12, "device and reference results differ")          \
    X(EBUSY, -13, "locked by another writer")                         \
    X(ECONFLICT, -14, "changed by another writer")

typedef enum {
#define X(name, code, msg) DG_##name = code,
    DG_STATUS_MAP(X)
#undef X
} dg_status;

/* A static string describing st; never NULL. */
const char *dg_strerror(dg_status st);

/* The enum's name without prefix ("EFORMAT"); never NULL. */
const char *dg_status_name(dg_status st);

/*
 * For messages about a name that is none of n choices (an inference set,
 * class, segment, column or command): the choice nearest to name -- the
 * least edit distance (typos, adjacent swaps, case) when at most a third
 * of the name's letters differ (one for names under 6 letters), else one
 * that name begins -- or NULL when none is close.
 */
const char *dg_nearest_name(const char *name, const char *const *choices,
                            size_t n);

/*
 * The hint such a message ends with, written to buf (cap bytes, always
 * terminated, cut short with "..."):
 *     "; did you mean 'yolo'? (inference sets: yolo, detr)"
 * the suggestion only when dg_nearest_name finds one (name may be NULL
 * for none), the first 25 choices and how many more, kind naming them;
 * " (there are no inference sets)" when n is 0. Returns buf.
 */
const char *dg_choices_hint(char *buf, size_t cap, const char *name,
                            const char *const *choices, size_t n,
                            const char *kind);

#ifdef __cplusplus
}
#endif
#endif
