/*
 * The text-folder importers' shared parts, private to host/import/: the
 * import state, growable string arrays and sets, messages naming the
 * file, line and field, and file and line reading.
 * include/detgrid/import_txt.h is the public side; docs/VOC.md has every
 * rule and message.
 *
 *   txt.c          the import: formats, frames, classes, committing
 *   txt_util.c     strings, messages, files and lines
 *   names_sizes.c  the class names file and the image sizes file
 *   txt_lines.c    the box lines of Cartucho/mAP, rafaelpadilla and YOLO
 *   voc_xml.c      Pascal VOC XML ground truth
 */
#ifndef DG_IMPORT_TXT_INTERNAL_H
#define DG_IMPORT_TXT_INTERNAL_H

#include "store.h"
#include "detgrid/import_txt.h"

#define NONE UINT32_MAX
#define MAX_NAME 1024 /* longest class name or XML text we keep */

/* ---- strings (txt_util.c) ------------------------------------------------ */

/* A growable array of owned strings. */
typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;


dg_status dg__txt_strvec_push(dg_ctx *ctx, strvec *s, const char *str,
                              size_t len);
void dg__txt_strvec_release(strvec *s);
/* strcmp for qsort over an array of char *. */
int dg__txt_cmp_str(const void *a, const void *b);

/*
 * A hash set over the strings of a strvec: maps a string to its index.
 * Open addressing, grown at half load.
 */
typedef struct strmap {
    uint32_t *slot; /* index into the strvec, NONE when empty */
    size_t mask;
    size_t n;
} strmap;


void dg__txt_strmap_release(strmap *m);
/* The index of str (len bytes) in sv, or NONE. */
uint32_t dg__txt_strmap_find(const strmap *m, const strvec *sv,
                             const char *str, size_t len);
/* Appends str to sv and indexes it; *idx is its index. */
dg_status dg__txt_strmap_add(dg_ctx *ctx, strmap *m, strvec *sv,
                             const char *str, size_t len, uint32_t *idx);

/* ---- messages (txt_util.c) ----------------------------------------------- */

/* Formats v so that it reads back as the same double (as coco.c). */
const char *dg__txt_fmt_num(char *buf, size_t size, double v);
/* "'<path>': line <n>: field '<field>': <problem>"; field may be NULL. */
dg_status dg__txt_line_fail(dg_ctx *ctx, const char *path, size_t line,
                            const char *field, const char *fmt, ...)
    DG_PRINTF(5, 6);

/* A warning that may fire on many lines: counted, reported once. */
typedef struct warn_count {
    size_t n;
    char where[2048]; /* "'<path>': line <n>: field '<f>'" of the first */
    char what[1100];  /* the problem, as found there */
} warn_count;


void dg__txt_warn_note(warn_count *w, const char *path, size_t line,
                       const char *field, const char *fmt, ...)
    DG_PRINTF(5, 6);
void dg__txt_warn_emit(dg_ctx *ctx, const warn_count *w, const char *one,
                       const char *many);

/* ---- files and lines (txt_util.c) ---------------------------------------- */

char *dg__txt_join_path(dg_ctx *ctx, const char *dir, const char *name);
/* Reads a whole file; *buf is NUL-terminated and the caller's to free. */
dg_status dg__txt_slurp(dg_ctx *ctx, const char *path, char **buf,
                        size_t *len);
/*
 * The regular files of dir whose names end in ext, sorted by name (byte
 * order). Hidden files (a leading '.', such as macOS's "._x.txt") are
 * skipped.
 */
dg_status dg__txt_list_dir(dg_ctx *ctx, const char *dir, const char *ext,
                           strvec *out);

/*
 * Line iteration over a buffer: strips a UTF-8 byte-order mark, a
 * trailing CR, and reports NUL bytes.
 */
typedef struct lines {
    char *p, *end;
    size_t no;
} lines;


void dg__txt_lines_init(lines *it, char *buf, size_t len);
/* The next line, NUL-terminated in place; NULL at the end. *nul is set
 * when the line holds a NUL byte. */
char *dg__txt_lines_next(lines *it, int *nul);
/* Splits s in place at spaces and tabs (and commas when commas is set);
 * returns the field count, storing at most max. */
int dg__txt_split(char *s, char **f, int max, int commas);
/*
 * A decimal number: [+-]digits[.digits][e[+-]digits], or .5. Returns 0,
 * -1 when t is not a number, -2 when it is one that is not finite (nan,
 * inf, 1e400).
 */
int dg__txt_parse_num(const char *t, double *out);
/* A number field of a line; errors name the file, line and field. */
dg_status dg__txt_field_num(dg_ctx *ctx, const char *path, size_t line,
                            const char *field, const char *tok, double *out);
/* The file name less its last extension (".txt"): the frame id. */
size_t dg__txt_stem_len(const char *name);

/* ---- the import state ---------------------------------------------------- */

typedef struct imp {
    dg_ctx *ctx;
    const dg_txt_opts *o;
    dg_project *p;
    int creating; /* with ground truth: classes and frames are made here */
    const char *gt_dir;

    /*
     * Classes. cnames/cmap hold the names a class token can resolve to.
     * fixed: names from a names file or the project; open: names as found
     * (first-seen order, sorted at the end). cls_of[i] is the final class
     * of name i (or NONE: not in the project) once known.
     */
    int fixed;
    strvec cnames;
    strmap cmap;
    uint32_t *cls_of;
    int64_t *class_id; /* creating: the id of each class */

    /* Frames: ids (stems) in frame order, and their sizes. */
    strvec fids;
    strmap fmap;
    double *fw, *fh;

    /* Sizes from the sizes file, by image stem. */
    strvec snames;
    strmap smap;
    double *sw, *sh;
    size_t s_cap;

    warn_count zero_box, out_of_range, dropped, conf_range;
} imp;

/* ---- the readers --------------------------------------------------------- */

/* The class names file (names_sizes.c): one name a line, into s->cnames. */
dg_status dg__txt_read_names(imp *s, const char *path);
/* The image sizes file (names_sizes.c): text or JSON, into s->snames. */
dg_status dg__txt_read_sizes(imp *s, const char *path);
/*
 * Resolves a class token to a class (txt.c): *cls, or NONE when the
 * detection is to be dropped. Errors name the file and line.
 */
dg_status dg__txt_resolve_class(imp *s, const char *path, size_t line,
                                const char *field, const char *tok, int is_dt,
                                uint32_t *cls);
/*
 * One ground-truth (is_dt 0) or detection (is_dt 1) text file of frame
 * into b (txt_lines.c).
 */
dg_status dg__txt_read_txt(imp *s, const char *path, uint32_t frame, int is_dt,
                           dg_boxset *b);
#ifdef DG_HAVE_EXPAT
/*
 * One VOC XML file of frame into b (voc_xml.c): each <object> becomes a
 * label, <difficult>1</difficult> its ignore flag; <size> sets the
 * frame's size.
 */
dg_status dg__txt_read_xml(imp *s, const char *path, uint32_t frame,
                           dg_boxset *b);
#endif

#endif
