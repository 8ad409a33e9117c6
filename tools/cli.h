/*
 * Shared pieces of the detgrid CLI: the option table parser (help is
 * generated from the same table, as git's parse-options does), messages,
 * exit codes and output helpers.
 */
#ifndef DG_CLI_H
#define DG_CLI_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "detgrid/detgrid.h"

/* Exit codes (documented in README.md). */
enum {
    EXIT_OK = 0,
    EXIT_GATE = 1,    /* a check ran and something did not pass */
    EXIT_ERROR = 2,   /* bad input, I/O, missing results, device failure */
    EXIT_USAGE = 129  /* bad command line */
};

typedef enum { OPT_END = 0, OPT_STR, OPT_DBL, OPT_INT, OPT_FLAG, OPT_MULTI } opt_type;

typedef struct cli_opt {
    opt_type type;
    char short_name;       /* 0 if none */
    const char *long_name;
    void *value;           /* const char **, double *, long *, int *, strlist * */
    const char *argh;      /* argument placeholder, e.g. "<file>" */
    const char *help;
    int seen;
} cli_opt;

/*
 * Table entries that several commands share, so that their help reads
 * the same everywhere (git's OPT__QUIET and friends).
 */
#define CLI_OPT_INFERENCES(v)                                                \
    {OPT_STR, 'i', "inferences", &(v), "<name>",                             \
     "inference set (default: the only one)", 0}
#define CLI_OPT_STORED_CONF(v)                                               \
    {OPT_DBL, 'c', "conf", &(v), "<c>",                                      \
     "count detections with score >= c (default: project's, 0.1)", 0}
#define CLI_OPT_STORED_IOU(v)                                                \
    {OPT_DBL, 't', "iou", &(v), "<t>",                                       \
     "match at IoU >= t, a stored threshold (default: project's, 0.5)", 0}
#define CLI_OPT_JSON(v) {OPT_FLAG, 0, "json", &(v), NULL, "JSON on stdout", 0}
#define CLI_OPT_COMPACT(v)                                                   \
    {OPT_FLAG, 0, "compact", &(v), NULL, "with --json: one line", 0}
#define CLI_OPT_SEGMENT(v)                                                   \
    {OPT_STR, 0, "segment", &(v), "<name>",                                  \
     "only the frames of this segment (default: all)", 0}

/*
 * --iou-type of the query commands: cli_open applies it to the project it
 * opens (cli_set_iou_type), so that every results load reads that type.
 */
extern const char *cli_iou_type_arg;
#define CLI_OPT_IOU_TYPE                                                     \
    {OPT_STR, 0, "iou-type", &cli_iou_type_arg, "<type>",                    \
     "the results of this IoU type: bbox (default), segm, boundary or "      \
     "keypoints (stored by 'detgrid eval --iou-type')", 0}

/* eval's and coco's settings of boundary IoU and OKS. */
#define CLI_OPT_DILATION(v)                                                  \
    {OPT_DBL, 0, "dilation-ratio", &(v), "<r>",                              \
     "boundary: the erosion radius over the image diagonal (0.02)", 0}
#define CLI_OPT_KPT_SIGMAS(v)                                                \
    {OPT_MULTI, 0, "kpt-sigmas", &(v), "[<class>=]<s1,s2,...>",              \
     "keypoints: one sigma per keypoint, of every class or of one "          \
     "(repeatable; default: COCO's 17)", 0}

/* Repeatable string option. */
typedef struct strlist {
    const char *v[64];
    int n;
} strlist;

/*
 * Parses argv[1..] (argv[0] is the subcommand name) against opts; positional
 * arguments go to pos (at most max_pos). -h/--help prints the usage to
 * stdout and exits 0; a bad option prints usage to stderr and exits 129.
 */
int cli_parse(int argc, const char **argv, cli_opt *opts,
              const char *const *usage, const char **pos, int max_pos);
void cli_usage(FILE *f, const char *const *usage, const cli_opt *opts);
/* Prints usage to stderr with a message and exits 129. */
void cli_usage_error(const char *const *usage, const cli_opt *opts,
                     const char *fmt, ...);

/* "error: <msg>" to stderr; returns EXIT_ERROR. */
int cli_error(const char *fmt, ...);
/* Reports a failed library call with the context's message. */
int cli_fail(dg_ctx *ctx, dg_status st);
/* Prints and clears the context's warnings to stderr. */
void cli_flush_warnings(dg_ctx *ctx);

/*
 * A context with the device from --device (NULL: env/auto) and the
 * progress line (cli_progress); exits on error.
 */
dg_ctx *cli_ctx(const char *device);
/* Installs a stderr progress line when stderr is a terminal. */
void cli_progress(dg_ctx *ctx);
/* A step of the command's own (a phase the library does not report), on
 * the same line. */
void cli_step(const char *phase, unsigned long long done,
              unsigned long long total);

/* Prints a cJSON tree to stdout (compact when compact != 0) and frees it. */
void cli_print_json(cJSON *j, int compact);
/* A number printed so it reads back exactly, or null for NaN/inf. */
cJSON *cli_num(double v);
/* The shortest decimal that reads back as v. */
void cli_fmt_double(char *buf, size_t cap, double v);

/*
 * Inputs and outputs. A command notes every file it reads (cli_open and
 * cli_read_all do it themselves), and no output may be one of them:
 * writing it would replace what the command reads. cli_check_output says
 * so (EXIT_ERROR, the message printed) when path is one.
 */
void cli_note_input(const char *path);
int cli_check_output(const char *path);
/* Writes text to path atomically (dg_write_file: lock, temporary file,
 * fsync, rename), after cli_check_output; "-" is stdout, checked. */
int cli_write_file(const char *path, const char *data, size_t len);
/*
 * Takes the writer lock of the project path a command is going to update
 * or write, before it reads anything: waits (saying so on stderr) up to
 * $DETGRID_LOCK_TIMEOUT seconds (default 30), or exits with the message.
 * Held until the process exits; dg_project_save to path runs under it.
 */
void cli_lock(dg_ctx *ctx, const char *path);
/*
 * Saves p to path and prints the warnings (what of the user's data could
 * not be kept); src is the file p was opened from (NULL for a new
 * project): a path other than src must not be an input. EXIT_OK, or the
 * message printed and EXIT_ERROR.
 */
int cli_save(dg_ctx *ctx, dg_project *p, const char *path, const char *src);
/*
 * main calls cli_watch_stdout first: stdout then keeps the reason of a
 * failed write, and cli_check_stdout runs at exit: it flushes and closes
 * stdout and exits 2 with the message if anything printed did not reach
 * it (a full disk, /dev/full, an I/O error; a closed pipe quietly).
 */
void cli_watch_stdout(void);
void cli_check_stdout(void);

/*
 * Micro and macro averages over classes, which `metrics` and `confusion`
 * report alike: add each class's counts in turn (from a zeroed struct).
 * micro sums the counts; the macro average of precision, recall and F1
 * is over the classes where each is defined, NaN where none is.
 */
typedef struct cli_avg {
    dg_counts micro;
    double sum_p, sum_r, sum_f;
    int n_p, n_r, n_f; /* classes with each defined */
} cli_avg;
/* Adds one class's counts; returns their precision, recall and F1. */
dg_prf cli_avg_add(cli_avg *a, const dg_counts *c);
dg_prf cli_avg_macro(const cli_avg *a);
/*
 * Adds "overall": {"micro": {tp, fp, fn, precision, recall, f1}, "macro":
 * {precision, recall, f1}} to j; returns the macro object.
 */
cJSON *cli_overall_json(cJSON *j, const cli_avg *a);
/* Adds "precision", "recall" and "f1" to o; returns o. */
cJSON *cli_prf_json(cJSON *o, dg_prf m);
/* A difference's verdict from its interval: "B better" when it lies above
 * 0, "B worse" below, else "no significant difference". */
const char *cli_verdict(double lo, double hi);
/* Adds "ci" (per figure [lo, hi] of B - A, or null) and "verdicts" of the
 * paired interval x to o, and "verdict" (on F1), as `detgrid compare`. */
void cli_ci_json(cJSON *o, const dg_prf_paired_ci *x);
/* With an image folder (dir non-NULL), adds "image" to o: frame's picture
 * there (detgrid/image.h), or null when it has none. */
void cli_add_image(cJSON *o, const dg_project *p, const char *dir,
                   uint32_t frame);
/* The option table entry of --images for commands that list frames. */
#define CLI_OPT_IMAGES(var)                                                   \
    {OPT_STR, 0, "images", &(var), "<folder>",                                \
     "the frames' pictures (default: the project's, 'detgrid import "         \
     "images'); adds \"image\" to --json", 0}
/* The three as "%9.4f %9.4f %9.4f", "-" in place of NaN. */
void cli_fmt_prf(char *buf, size_t cap, dg_prf m);

/* The per-class table and JSON of `metrics`, shared with `demo`; segment
 * (NULL: every frame) only labels the output: the caller restricts. */
int cli_metrics_report(dg_ctx *ctx, dg_project *p, const char *name,
                       const char *segment, double conf, double iou, int json,
                       int compact);


/*
 * dg_project_find: the index of the class, inference set or segment name
 * in *idx (idx may be NULL) and EXIT_OK, or its message (what there is,
 * the nearest name) printed and EXIT_ERROR.
 */
int cli_find(dg_project *p, dg_name_kind kind, const char *name,
             uint32_t *idx);
/* name, or the project's only inference set when name is NULL; NULL with a
 * message when that is ambiguous or absent. */
const char *cli_pick_inferences(dg_project *p, const char *name);
/*
 * --iou-type: the IoU type named type (NULL: bbox), or -1 with a message
 * naming the choices (printed; the caller exits EXIT_ERROR).
 */
int cli_iou_type(const char *type);
/*
 * Makes every later load of results from p (dg_results_load) read those
 * of the IoU type named type (NULL: bbox). EXIT_OK, or the message
 * printed and EXIT_ERROR.
 */
int cli_set_iou_type(dg_ctx *ctx, dg_project *p, const char *type);

/*
 * --kpt-sigmas "s1,s2,..." (every class) or "class=s1,..." (one class),
 * repeatable, for eval and coco: parsed by cli_sigmas_parse (0, or -1 with
 * the message in err), the classes looked up by cli_sigmas_resolve on the
 * project (EXIT_OK, or the message printed and EXIT_ERROR), which sets
 * all/n_all and class/n_class (NULL when no class has its own).
 */
typedef struct cli_sigmas {
    int n;
    double (*sig)[DG_COCO_MAX_SIGMAS];
    int n_sig[64];
    const char *cls[64];
    const double *all;
    int n_all;
    const double **class_sig;
    int *n_class;
} cli_sigmas;
int cli_sigmas_parse(const strlist *specs, cli_sigmas *s, char *err,
                     size_t cap);
int cli_sigmas_resolve(dg_project *p, cli_sigmas *s);
void cli_sigmas_release(cli_sigmas *s);

/* Opens a project (with --iou-type's results, cli_iou_type_arg) or exits
 * with a message (EXIT_ERROR). */
dg_project *cli_open(dg_ctx *ctx, const char *path);
/*
 * The start of a command that reads one inference set: opens the project
 * at path into *p (exits on failure, as cli_open), turns *conf and *iou
 * into the project's defaults where they are NaN (either pointer may be
 * NULL) and picks the inference set inf (as cli_pick_inferences). Returns
 * its name, or NULL with the message printed; *p is open either way.
 */
const char *cli_open_inferences(dg_ctx *ctx, const char *path,
                                const char *inf, double *conf, double *iou,
                                dg_project **p);
/*
 * Loads the stored results of inference set name into *r, finds the
 * stored threshold iou among them (*t) and checks that conf suits the
 * scores (dg_results_check_conf; NaN: no check). EXIT_OK, or the message
 * printed, *r NULL and EXIT_ERROR.
 */
int cli_load_results(dg_ctx *ctx, dg_project *p, const char *name,
                     double conf, double iou, dg_results **r, int *t);

/*
 * Restricts r (and every later load of the same results from p) to the
 * frames of segment (NULL or "all": none); tools/cli-segment.c. EXIT_OK, or
 * the message printed and EXIT_ERROR.
 */
int cli_restrict_segment(dg_ctx *ctx, dg_project *p, dg_results *r,
                         const char *segment);
/*
 * cli_load_results, then cli_restrict_segment on what it loaded: the start
 * of a query command with --segment. EXIT_OK, or the message printed, *r
 * NULL and EXIT_ERROR.
 */
int cli_load_segment_results(dg_ctx *ctx, dg_project *p, const char *name,
                             double conf, double iou, const char *segment,
                             dg_results **r, int *t);
/*
 * Loads inference set name's results and restricts them to segment (as
 * cli_restrict_segment) before a command that loads them again; the
 * restriction stays with p's copy of the results. EXIT_OK or EXIT_ERROR.
 */
int cli_preload_segment(dg_ctx *ctx, dg_project *p, const char *name,
                        const char *segment);
/* The whole file at path, NUL-terminated, malloc'd; NULL with a message. */
char *cli_read_all(const char *path, size_t *len);
/*
 * Sets mark[f] = 1 for the frames whose COCO image ids path lists
 * (integers separated by blanks, commas or brackets, so a JSON array works
 * too). EXIT_OK, or the message (file:line) printed and EXIT_ERROR.
 */
int cli_mark_coco_ids(dg_project *p, const char *path, uint8_t *mark);
/* import --split NAME=FILE: a split segment of the COCO image ids in FILE. */
int cli_add_split_segment(dg_ctx *ctx, dg_project *p, const char *spec);
/* metrics --ci (tools/metrics-ci.c): the metrics table with bootstrap
 * intervals, on segment (NULL: every frame). */
int cli_metrics_ci_report(dg_ctx *ctx, dg_project *p, const char *name,
                          double conf, double iou, const char *segment,
                          const dg_bootstrap_opts *bo, int json, int compact);

/*
 * The inference sets a command runs over: those named in sets, each of
 * which must exist in p (opened from path, for the message), else every
 * set of p; at most max of them go into names. Returns how many, or -1
 * with the message printed.
 */
int cli_pick_sets(dg_project *p, const char *path, const strlist *sets,
                  const char **names, int max);

/*
 * Text built up in memory before it is written whole (cli_write_file):
 * start from {0}, free s when done. oom is set, and the text left short,
 * when growing fails.
 */
typedef struct cli_buf {
    char *s;
    size_t n, cap;
    int oom;
} cli_buf;
/* Appends the printf-formatted text to b, growing it as needed. */
void cli_bprintf(cli_buf *b, const char *fmt, ...);

/* Monotonic seconds. */
double cli_now(void);

#endif
