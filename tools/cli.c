/*
 * Option parsing, messages and output helpers for the CLI.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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
            cli_usage_error(usage, opts, "unknown option '%s'", a);
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

int cli_error(const char *fmt, ...)
{
    va_list ap;
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
    if (*w)
        fputs(w, stderr);
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
    return ctx;
}

static void progress_bar(void *user, const char *phase,
                         unsigned long long done, unsigned long long total)
{
    (void)user;
    if (total)
        fprintf(stderr, "\r%s: %3.0f%% (%llu/%llu)%s", phase,
                100.0 * (double)done / (double)total, done, total,
                done >= total ? "\n" : "");
    else
        fprintf(stderr, "\r%s: %llu", phase, done);
}

void cli_progress(dg_ctx *ctx)
{
    if (isatty(2))
        dg_ctx_set_progress(ctx, progress_bar, NULL);
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

int cli_write_file(const char *path, const char *data, size_t len)
{
    if (!strcmp(path, "-")) {
        fwrite(data, 1, len, stdout);
        return fflush(stdout) ? cli_error("cannot write to stdout") : EXIT_OK;
    }
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return cli_error("cannot create '%s': %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return cli_error("cannot write '%s': %s", tmp, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return cli_error("cannot write '%s': %s", tmp, strerror(e));
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return cli_error("cannot rename '%s' to '%s': %s", tmp, path,
                         strerror(e));
    }
    return EXIT_OK;
}

const char *cli_pick_inferences(dg_project *p, const char *name)
{
    dg_project_info info;
    dg_project_get_info(p, &info);
    if (name) {
        if (dg_project_inference_index(p, name) < 0) {
            cli_error("no inference set '%s' in the project", name);
            return NULL;
        }
        return name;
    }
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

dg_project *cli_open(dg_ctx *ctx, const char *path)
{
    dg_project *p;
    dg_status st = dg_project_open(ctx, path, &p);
    if (st < 0)
        exit(cli_fail(ctx, st));
    return p;
}

double dg__cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
