/*
 * Option parsing, messages and output helpers for the CLI.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "detgrid/image.h"

void cli_usage(FILE *f, const char *const *usage, const cli_opt *opts)
{
    for (int i = 0; usage[i]; i++)
        fprintf(f, "%s%s\n", i ? "   or: " : "usage: ", usage[i]);
    fputc('\n', f);
    for (const cli_opt *o = opts; o->type != OPT_END; o++) {
        char left[64];
        int n = snprintf(left, sizeof(left), "    %s%c%s--%s%s%s",
                         o->short_name ? "-" : "",
                         o->short_name ? o->short_name : ' ',
                         o->short_name ? ", " : "  ", o->long_name,
                         o->argh ? " " : "", o->argh ? o->argh : "");
        if (n < 30)
            fprintf(f, "%-30s%s\n", left, o->help);
        else
            fprintf(f, "%s\n%30s%s\n", left, "", o->help);
    }
    fprintf(f, "    -h, --help                print this help\n");
}

void cli_usage_error(const char *const *usage, const cli_opt *opts,
                     const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cli_usage(stderr, usage, opts);
    exit(EXIT_USAGE);
}

static int set_value(cli_opt *o, const char *arg, const char *const *usage,
                     cli_opt *opts)
{
    char *end;
    switch (o->type) {
    case OPT_STR:
        *(const char **)o->value = arg;
        break;
    case OPT_DBL:
        errno = 0;
        *(double *)o->value = strtod(arg, &end);
        if (errno == ERANGE && fabs(*(double *)o->value) < 1)
            errno = 0; /* underflow to a subnormal or 0 is still a number */
        if (!*arg || *end || errno || !isfinite(*(double *)o->value))
            cli_usage_error(usage, opts, "option '--%s' needs a number, got '%s'",
                            o->long_name, arg);
        break;
    case OPT_INT:
        errno = 0;
        *(long *)o->value = strtol(arg, &end, 10);
        if (!*arg || *end || errno)
            cli_usage_error(usage, opts,
                            "option '--%s' needs an integer, got '%s'",
                            o->long_name, arg);
        break;
    case OPT_MULTI: {
        strlist *l = o->value;
        if (l->n >= (int)(sizeof(l->v) / sizeof(l->v[0])))
            cli_usage_error(usage, opts, "too many '--%s' options",
                            o->long_name);
        l->v[l->n++] = arg;
        break;
    }
    default:
        break;
    }
    o->seen = 1;
    return 0;
}

/*
 * An unknown option: named, with the nearest of the command's options
 * and where its help is, without printing the whole help (exit 129).
 */
static void unknown_option(const char *cmd, const char *a,
                           const cli_opt *opts)
{
    const char *names[128];
    size_t n = 0;
    for (const cli_opt *o = opts; o->type != OPT_END && n < 127; o++)
        names[n++] = o->long_name;
    names[n++] = "help";
    char name[256], hint[300] = "";
    size_t len = strcspn(a, "=");
    snprintf(name, sizeof(name), "%.*s", (int)len, a);
    const char *near = NULL;
    if (a[1] == '-')
        near = dg_nearest_name(name + 2, names, n);
    if (near)
        snprintf(hint, sizeof(hint), "; did you mean '--%s'?", near);
    fprintf(stderr, "error: unknown option '%s' for 'detgrid %s'%s (see "
            "'detgrid %s --help')\n", name, cmd, hint, cmd);
    exit(EXIT_USAGE);
}

int cli_parse(int argc, const char **argv, cli_opt *opts,
              const char *const *usage, const char **pos, int max_pos)
{
    int npos = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !a[1]) {
            if (npos >= max_pos)
                cli_usage_error(usage, opts, "unexpected argument '%s'", a);
            pos[npos++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            cli_usage(stdout, usage, opts);
            exit(EXIT_OK);
        }
        cli_opt *o = NULL;
        const char *inline_arg = NULL;
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (cli_opt *k = opts; k->type != OPT_END; k++)
                if (strlen(k->long_name) == len &&
                    !strncmp(k->long_name, name, len))
                    o = k;
            if (eq)
                inline_arg = eq + 1;
        } else if (!a[2]) {
            for (cli_opt *k = opts; k->type != OPT_END; k++)
                if (k->short_name == a[1])
                    o = k;
        }
        if (!o)
            unknown_option(argv[0], a, opts);
        if (o->type == OPT_FLAG) {
            if (inline_arg)
                cli_usage_error(usage, opts, "option '--%s' takes no value",
                                o->long_name);
            *(int *)o->value = 1;
            o->seen = 1;
            continue;
        }
        if (!inline_arg) {
            if (i + 1 >= argc)
                cli_usage_error(usage, opts, "option '%s' needs a value", a);
            inline_arg = argv[++i];
        }
        set_value(o, inline_arg, usage, opts);
    }
    return npos;
}

/*
 * The progress line on a terminal: "\r<phase>: 42% (420/1000)", redrawn
 * only when the percentage (or the phase) changes, ended with a newline
 * when the phase is done or another one starts before it is. Nothing is
 * shown in the first DETGRID_PROGRESS_DELAY seconds (default 0.5) of the
 * first phase, so quick commands stay quiet.
 */
typedef struct progress_state {
    char phase[64];
    int pct;   /* last shown, -1 none */
    int open;  /* a line without its newline */
    double t0; /* the first report, 0 before it */
    int shown; /* anything printed yet */
} progress_state;

static progress_state progress = {"", -1, 0, 0, 0};

/* Ends an open progress line, so that a message starts on its own. */
static void progress_close(void)
{
    if (progress.open)
        fputc('\n', stderr);
    progress.open = 0;
    progress.phase[0] = 0;
}

static void progress_bar(void *user, const char *phase,
                         unsigned long long done, unsigned long long total)
{
    progress_state *s = user;
    if (!s->shown) {
        const char *d = getenv("DETGRID_PROGRESS_DELAY");
        double delay = d && *d ? atof(d) : 0.5, now = cli_now();
        if (!s->t0)
            s->t0 = now;
        if (now - s->t0 < delay)
            return;
        s->shown = 1;
    }
    int same = !strncmp(s->phase, phase, sizeof(s->phase) - 1);
    int pct = total ? (int)(100.0 * (double)done / (double)total) : -1;
    if (same && pct == s->pct && done < total && total)
        return;
    if (!same && s->open)
        fputc('\n', stderr);
    snprintf(s->phase, sizeof(s->phase), "%s", phase);
    s->pct = pct;
    if (total)
        fprintf(stderr, "\r%s: %3d%% (%llu/%llu)", phase, pct, done, total);
    else
        fprintf(stderr, "\r%s: %llu", phase, done);
    s->open = !(total && done >= total);
    if (!s->open) {
        fputc('\n', stderr);
        s->phase[0] = 0;
    }
    fflush(stderr);
}

void cli_progress(dg_ctx *ctx)
{
    if (isatty(2))
        dg_ctx_set_progress(ctx, progress_bar, &progress);
}

void cli_step(const char *phase, unsigned long long done,
              unsigned long long total)
{
    if (isatty(2))
        progress_bar(&progress, phase, done, total);
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    progress_close();
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_ERROR;
}

void cli_flush_warnings(dg_ctx *ctx)
{
    const char *w = dg_ctx_take_warnings(ctx);
    if (*w) {
        progress_close();
        fputs(w, stderr);
    }
}

int cli_fail(dg_ctx *ctx, dg_status st)
{
    cli_flush_warnings(ctx);
    const char *m = dg_ctx_last_error(ctx);
    return cli_error("%s", *m ? m : dg_strerror(st));
}

dg_ctx *cli_ctx(const char *device)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0) {
        cli_error("out of memory");
        exit(EXIT_ERROR);
    }
    dg_status st = dg_ctx_set_device(ctx, device);
    if (st < 0) {
        cli_fail(ctx, st);
        exit(EXIT_USAGE);
    }
    cli_progress(ctx);
    return ctx;
}


void cli_fmt_double(char *buf, size_t cap, double v)
{
    /* The shortest of %.15g..%.17g that reads back as the same double:
     * cJSON's own printing settles for "close", which is not exact. */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

cJSON *cli_num(double v)
{
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40];
    cli_fmt_double(buf, sizeof(buf), v);
    return cJSON_CreateRaw(buf);
}

void cli_print_json(cJSON *j, int compact)
{
    char *s = compact ? cJSON_PrintUnformatted(j) : cJSON_Print(j);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    cJSON_Delete(j);
}

/* ---- inputs, outputs, locks ---------------------------------------------- */

static const char *inputs[64];
static int n_inputs;
static int stdout_reported; /* an error on stdout was already reported */
static int stdout_errno;    /* the first error writing stdout (errno) */

void cli_note_input(const char *path)
{
    if (path && strcmp(path, "-") && n_inputs < 64)
        inputs[n_inputs++] = path;
}

int cli_check_output(const char *path)
{
    if (!path || !strcmp(path, "-"))
        return EXIT_OK;
    for (int i = 0; i < n_inputs; i++)
        if (dg_same_file(path, inputs[i]))
            return cli_error("output '%s' is the input '%s': writing it "
                             "would replace what this command reads (write "
                             "elsewhere)", path, inputs[i]);
    return EXIT_OK;
}

int cli_write_file(const char *path, const char *data, size_t len)
{
    int rc = cli_check_output(path);
    if (rc != EXIT_OK)
        return rc;
    if (!strcmp(path, "-")) {
        errno = 0;
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout)) {
            stdout_reported = 1;
            return cli_error("cannot write to stdout: %s",
                             strerror(stdout_errno   ? stdout_errno
                                      : errno        ? errno
                                                     : EIO));
        }
        return EXIT_OK;
    }
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0)
        return cli_error("out of memory");
    dg_status st = dg_write_file(ctx, path, data, len);
    rc = st < 0 ? cli_fail(ctx, st) : EXIT_OK;
    dg_ctx_free(ctx);
    return rc;
}

static dg_lock *locks[8];
static int n_locks;

static void release_locks(void)
{
    while (n_locks)
        dg_lock_release(locks[--n_locks]);
}

void cli_lock(dg_ctx *ctx, const char *path)
{
    dg_lock *lk;
    dg_status st = dg_lock_take(ctx, path, 0, &lk);
    if (st == DG_EBUSY) {
        fprintf(stderr, "%s; waiting for it\n", dg_ctx_last_error(ctx));
        st = dg_lock_take(ctx, path, -1, &lk);
    }
    if (st < 0)
        exit(cli_fail(ctx, st));
    if (!n_locks)
        atexit(release_locks);
    if (n_locks < 8)
        locks[n_locks++] = lk;
}

int cli_save(dg_ctx *ctx, dg_project *p, const char *path, const char *src)
{
    int rc = EXIT_OK;
    if (!src || !dg_same_file(path, src))
        rc = cli_check_output(path);
    dg_status st = rc == EXIT_OK ? dg_project_save(ctx, p, path) : DG_OK;
    if (st < 0)
        return cli_fail(ctx, st);
    cli_flush_warnings(ctx);
    return rc;
}

#if defined(__GLIBC__)
static ssize_t stdout_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(STDOUT_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (!stdout_errno)
                stdout_errno = w < 0 ? errno : EIO;
            errno = stdout_errno;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)n;
}
#endif

void cli_watch_stdout(void)
{
#if defined(__GLIBC__)
    /* stdout through a writer that keeps the reason of a failure. */
    cookie_io_functions_t io = {NULL, stdout_write, NULL, NULL};
    FILE *f = fopencookie(NULL, "w", io);
    if (f) {
        setvbuf(f, NULL, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF, BUFSIZ);
        fflush(stdout);
        stdout = f;
    }
#endif
    atexit(cli_check_stdout);
}

void cli_check_stdout(void)
{
    /* What was printed must have reached its file: a full disk or a
     * closed pipe behind stdout is an error, not a success (git does the
     * same in run_builtin). */
    errno = 0;
    if (fflush(stdout) || ferror(stdout) || fclose(stdout) || stdout_errno) {
        int e = stdout_errno ? stdout_errno : errno ? errno : EIO;
        if (e != EPIPE && !stdout_reported)
            fprintf(stderr, "error: cannot write to stdout: %s\n",
                    strerror(e));
        _exit(EXIT_ERROR);
    }
}

dg_prf cli_avg_add(cli_avg *a, const dg_counts *c)
{
    dg_prf m = dg_counts_prf(c);
    a->micro.tp += c->tp;
    a->micro.fp += c->fp;
    a->micro.fn += c->fn;
    a->micro.n_gt += c->n_gt;
    a->micro.n_det += c->n_det;
    if (!isnan(m.precision))
        a->sum_p += m.precision, a->n_p++;
    if (!isnan(m.recall))
        a->sum_r += m.recall, a->n_r++;
    if (!isnan(m.f1))
        a->sum_f += m.f1, a->n_f++;
    return m;
}

dg_prf cli_avg_macro(const cli_avg *a)
{
    dg_prf m = {a->n_p ? a->sum_p / a->n_p : NAN,
                a->n_r ? a->sum_r / a->n_r : NAN,
                a->n_f ? a->sum_f / a->n_f : NAN};
    return m;
}

cJSON *cli_prf_json(cJSON *o, dg_prf m)
{
    cJSON_AddItemToObject(o, "precision", cli_num(m.precision));
    cJSON_AddItemToObject(o, "recall", cli_num(m.recall));
    cJSON_AddItemToObject(o, "f1", cli_num(m.f1));
    return o;
}

cJSON *cli_overall_json(cJSON *j, const cli_avg *a)
{
    cJSON *ov = cJSON_AddObjectToObject(j, "overall");
    cJSON *mi = cJSON_AddObjectToObject(ov, "micro");
    cJSON_AddNumberToObject(mi, "tp", (double)a->micro.tp);
    cJSON_AddNumberToObject(mi, "fp", (double)a->micro.fp);
    cJSON_AddNumberToObject(mi, "fn", (double)a->micro.fn);
    cli_prf_json(mi, dg_counts_prf(&a->micro));
    return cli_prf_json(cJSON_AddObjectToObject(ov, "macro"),
                        cli_avg_macro(a));
}

static void fmt_ratio(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "%9s", "-");
    else
        snprintf(buf, cap, "%9.4f", v);
}

void cli_fmt_prf(char *buf, size_t cap, dg_prf m)
{
    char a[16], b[16], f[16];
    fmt_ratio(a, sizeof(a), m.precision);
    fmt_ratio(b, sizeof(b), m.recall);
    fmt_ratio(f, sizeof(f), m.f1);
    snprintf(buf, cap, "%s %s %s", a, b, f);
}

int cli_find(dg_project *p, dg_name_kind kind, const char *name,
             uint32_t *idx)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0)
        return cli_error("out of memory");
    dg_status st = dg_project_find(ctx, p, kind, name, idx);
    int rc = st < 0 ? cli_fail(ctx, st) : EXIT_OK;
    dg_ctx_free(ctx);
    return rc;
}

const char *cli_pick_inferences(dg_project *p, const char *name)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    if (name)
        return cli_find(p, DG_NAME_INFERENCES, name, NULL) == EXIT_OK ? name
                                                                     : NULL;
    if (info.n_inferences == 1)
        return dg_project_inference_name(p, 0);
    if (!info.n_inferences)
        cli_error("the project has no inference sets (add one with "
                  "'detgrid import coco --dt')");
    else
        cli_error("the project has %u inference sets; choose one with "
                  "--inferences",
                  info.n_inferences);
    return NULL;
}

const char *cli_iou_type_arg;

int cli_iou_type(const char *type)
{
    int t = dg_coco_iou_type_parse(type ? type : "bbox");
    if (t < 0)
        cli_error("--iou-type must be bbox, segm, boundary or keypoints, "
                  "not '%s'", type);
    return t;
}

int cli_set_iou_type(dg_ctx *ctx, dg_project *p, const char *type)
{
    int t = cli_iou_type(type);
    if (t < 0)
        return EXIT_ERROR;
    dg_status st = dg_project_set_iou_type(ctx, p, t);
    return st < 0 ? cli_fail(ctx, st) : EXIT_OK;
}

int cli_sigmas_parse(const strlist *specs, cli_sigmas *s, char *err,
                     size_t cap)
{
    memset(s, 0, sizeof(*s));
    if (!specs->n)
        return 0;
    s->sig = calloc((size_t)specs->n, sizeof(*s->sig));
    if (!s->sig) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    s->n = specs->n;
    for (int k = 0; k < specs->n; k++) {
        const char *q = specs->v[k], *eq = strrchr(q, '=');
        if (eq) {
            s->cls[k] = q;
            q = eq + 1;
        }
        for (;;) {
            char *end;
            double v = strtod(q, &end);
            if (end == q || !(v > 0 && v < 1e6) ||
                s->n_sig[k] == DG_COCO_MAX_SIGMAS || (*end && *end != ',')) {
                snprintf(err, cap, "--kpt-sigmas: positive numbers separated "
                         "by commas, after 'class=' for one class");
                return -1;
            }
            s->sig[k][s->n_sig[k]++] = v;
            if (*end == 0)
                break;
            q = end + 1;
        }
    }
    return 0;
}

int cli_sigmas_resolve(dg_project *p, cli_sigmas *s)
{
    dg_project_info pinfo;
    dg_project_get_info(p, &pinfo);
    uint32_t nc = pinfo.n_classes;
    for (int k = 0; k < s->n; k++) {
        if (!s->cls[k]) {
            s->all = s->sig[k];
            s->n_all = s->n_sig[k];
            continue;
        }
        if (!s->class_sig) {
            s->class_sig = calloc(nc ? nc : 1, sizeof(*s->class_sig));
            s->n_class = calloc(nc ? nc : 1, sizeof(*s->n_class));
            if (!s->class_sig || !s->n_class)
                return cli_error("out of memory");
        }
        char name[512];
        size_t len = (size_t)(strrchr(s->cls[k], '=') - s->cls[k]);
        snprintf(name, sizeof(name), "%.*s", (int)len, s->cls[k]);
        int64_t c = dg_project_class_index(p, name);
        if (c < 0)
            return cli_error("--kpt-sigmas: no class '%s'", name);
        s->class_sig[c] = s->sig[k];
        s->n_class[c] = s->n_sig[k];
    }
    return EXIT_OK;
}

void cli_sigmas_release(cli_sigmas *s)
{
    free(s->sig);
    free(s->class_sig);
    free(s->n_class);
    memset(s, 0, sizeof(*s));
}

dg_project *cli_open(dg_ctx *ctx, const char *path)
{
    dg_project *p;
    cli_note_input(path);
    dg_status st = dg_project_open(ctx, path, &p);
    if (st < 0)
        exit(cli_fail(ctx, st));
    cli_flush_warnings(ctx);
    if (cli_iou_type_arg && cli_set_iou_type(ctx, p, cli_iou_type_arg)) {
        dg_project_free(p);
        exit(EXIT_ERROR);
    }
    return p;
}

const char *cli_open_inferences(dg_ctx *ctx, const char *path,
                                const char *inf, double *conf, double *iou,
                                dg_project **p)
{
    dg_project_info info;
    *p = cli_open(ctx, path);
    dg_project_get_info(*p, &info);
    if (conf && isnan(*conf))
        *conf = info.default_conf;
    if (iou && isnan(*iou))
        *iou = info.default_iou;
    return cli_pick_inferences(*p, inf);
}

int cli_load_results(dg_ctx *ctx, dg_project *p, const char *name,
                     double conf, double iou, dg_results **r, int *t)
{
    dg_status st = dg_results_load(ctx, p, name, r);
    if (st < 0) {
        *r = NULL;
        return cli_fail(ctx, st);
    }
    *t = dg_results_find_iou(ctx, *r, iou);
    st = *t < 0 ? (dg_status)*t
         : isnan(conf) ? DG_OK
                       : dg_results_check_conf(ctx, *r, conf);
    if (st < 0) {
        dg_results_free(*r);
        *r = NULL;
        return cli_fail(ctx, st);
    }
    return EXIT_OK;
}

int cli_pick_sets(dg_project *p, const char *path, const strlist *sets,
                  const char **names, int max)
{
    int ns = 0;
    (void)path;
    if (sets->n) {
        for (int k = 0; k < sets->n && ns < max; k++) {
            if (cli_find(p, DG_NAME_INFERENCES, sets->v[k], NULL) != EXIT_OK)
                return -1;
            names[ns++] = sets->v[k];
        }
    } else {
        dg_project_info in;
        dg_project_get_info(p, &in);
        for (uint32_t k = 0; k < in.n_inferences && ns < max; k++)
            names[ns++] = dg_project_inference_name(p, k);
    }
    return ns;
}

void cli_bprintf(cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int need = vsnprintf(b->s ? b->s + b->n : NULL,
                             b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (need < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && b->n + (size_t)need < b->cap) {
            b->n += (size_t)need;
            return;
        }
        size_t nc = (b->cap ? b->cap * 2 : 4096) + (size_t)need;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_add_image(cJSON *o, const dg_project *p, const char *dir,
                   uint32_t frame)
{
    char path[8192];
    if (!dir)
        return;
    if (dg_project_frame_image(NULL, p, dir, frame, path, sizeof(path)) ==
        DG_OK)
        cJSON_AddStringToObject(o, "image", path);
    else
        cJSON_AddNullToObject(o, "image");
}

void cli_ci_json(cJSON *o, const dg_prf_paired_ci *x)
{
    static const char *const nm[3] = {"precision", "recall", "f1"};
    const double lo[3] = {x->diff.lo.precision, x->diff.lo.recall,
                          x->diff.lo.f1};
    const double hi[3] = {x->diff.hi.precision, x->diff.hi.recall,
                          x->diff.hi.f1};
    cJSON *ci = cJSON_AddObjectToObject(o, "ci");
    cJSON *v = cJSON_AddObjectToObject(o, "verdicts");
    for (int k = 0; k < 3; k++) {
        if (isnan(lo[k])) {
            cJSON_AddNullToObject(ci, nm[k]);
        } else {
            cJSON *a = cJSON_AddArrayToObject(ci, nm[k]);
            cJSON_AddItemToArray(a, cli_num(lo[k]));
            cJSON_AddItemToArray(a, cli_num(hi[k]));
        }
        cJSON_AddStringToObject(v, nm[k], cli_verdict(lo[k], hi[k]));
    }
    cJSON_AddStringToObject(o, "verdict", cli_verdict(lo[2], hi[2]));
}

const char *cli_verdict(double lo, double hi)
{
    if (lo > 0)
        return "B better";
    if (hi < 0)
        return "B worse";
    return "no significant difference";
}
