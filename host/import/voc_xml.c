/*
 * Pascal VOC XML ground truth (txt.h), read with expat. Without expat
 * this file compiles to nothing and the import says how to get it.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DG_HAVE_EXPAT
#include <expat.h>
#endif

#include "txt.h"

/* ---- Pascal VOC XML ------------------------------------------------------- */

#ifdef DG_HAVE_EXPAT

/* Elements we care about, by their place in the tree. */
enum {
    X_OTHER = 0, X_ANNOTATION, X_SIZE, X_WIDTH, X_HEIGHT, X_OBJECT, X_NAME,
    X_DIFFICULT, X_BNDBOX, X_XMIN, X_YMIN, X_XMAX, X_YMAX
};

static const char *const x_field[] = {
    "", "annotation", "size", "size/width", "size/height", "object", "name",
    "difficult", "bndbox", "bndbox/xmin", "bndbox/ymin", "bndbox/xmax",
    "bndbox/ymax"
};

#define X_DEPTH 64

typedef struct xml_state {
    imp *s;
    const char *path;
    XML_Parser parser;
    dg_status st;
    int depth;
    int stack[X_DEPTH]; /* element kind per depth (1-based) */
    /* Text of the leaf being read. */
    char text[MAX_NAME + 1];
    size_t text_len;
    int text_long;
    /* The annotation's size. */
    int have_size[2];
    double size[2];
    /* The object being read. */
    size_t obj_line;
    int have[X_YMAX + 1];        /* leaf seen */
    size_t line[X_YMAX + 1];     /* where */
    char name[MAX_NAME + 1];
    double v[4];
    uint8_t difficult;
    /* Objects so far: class token, box, difficult and line. */
    struct xobj {
        char *name;
        double v[4];
        uint8_t difficult;
        size_t line;
    } *objs;
    size_t n_objs, cap_objs;
} xml_state;

static size_t xml_line(xml_state *x)
{
    return (size_t)XML_GetCurrentLineNumber(x->parser);
}

static void xml_stop(xml_state *x, dg_status st)
{
    if (x->st == DG_OK)
        x->st = st;
    XML_StopParser(x->parser, XML_FALSE);
}

static int child_kind(int parent, int depth, const char *el)
{
    if (depth == 1)
        return !strcmp(el, "annotation") ? X_ANNOTATION : -1;
    switch (parent) {
    case X_ANNOTATION:
        if (!strcmp(el, "size"))
            return X_SIZE;
        if (!strcmp(el, "object"))
            return X_OBJECT;
        break;
    case X_SIZE:
        if (!strcmp(el, "width"))
            return X_WIDTH;
        if (!strcmp(el, "height"))
            return X_HEIGHT;
        break;
    case X_OBJECT:
        if (!strcmp(el, "name"))
            return X_NAME;
        if (!strcmp(el, "difficult"))
            return X_DIFFICULT;
        if (!strcmp(el, "bndbox"))
            return X_BNDBOX;
        break;
    case X_BNDBOX:
        if (!strcmp(el, "xmin"))
            return X_XMIN;
        if (!strcmp(el, "ymin"))
            return X_YMIN;
        if (!strcmp(el, "xmax"))
            return X_XMAX;
        if (!strcmp(el, "ymax"))
            return X_YMAX;
        break;
    }
    return X_OTHER;
}

static void XMLCALL x_start(void *ud, const XML_Char *el,
                            const XML_Char **attr)
{
    xml_state *x = ud;
    (void)attr;
    if (x->st < 0)
        return;
    int parent = x->depth ? x->stack[x->depth - 1] : 0;
    int kind = child_kind(parent, x->depth + 1, el);
    if (kind < 0) {
        xml_stop(x, dg__txt_line_fail(x->s->ctx, x->path, xml_line(x), NULL,
                                      "root element is <%s>, expected "
                                      "<annotation>", el));
        return;
    }
    if (x->depth >= X_DEPTH) {
        xml_stop(x, dg__txt_line_fail(x->s->ctx, x->path, xml_line(x), NULL,
                                      "elements nested too deep"));
        return;
    }
    x->stack[x->depth++] = kind;
    if (kind == X_OTHER)
        return;
    if (kind == X_OBJECT) {
        x->obj_line = xml_line(x);
        memset(x->have, 0, sizeof(x->have));
        x->difficult = 0;
        return;
    }
    if (kind == X_SIZE || kind == X_ANNOTATION)
        return;
    int size_leaf = kind == X_WIDTH || kind == X_HEIGHT;
    int repeated = size_leaf ? x->have_size[kind - X_WIDTH] : x->have[kind];
    if (repeated) {
        xml_stop(x, dg__txt_line_fail(x->s->ctx, x->path, xml_line(x),
                                      x_field[kind], "given twice"));
        return;
    }
    if (!size_leaf) {
        x->have[kind] = 1;
        x->line[kind] = xml_line(x);
    }
    x->text_len = 0;
    x->text_long = 0;
}

static void XMLCALL x_text(void *ud, const XML_Char *s, int len)
{
    xml_state *x = ud;
    if (x->st < 0 || !x->depth)
        return;
    int kind = x->stack[x->depth - 1];
    if (kind == X_OTHER || kind == X_ANNOTATION || kind == X_SIZE ||
        kind == X_OBJECT || kind == X_BNDBOX)
        return;
    size_t n = (size_t)len;
    if (x->text_len + n > MAX_NAME) {
        x->text_long = 1;
        n = MAX_NAME - x->text_len;
    }
    memcpy(x->text + x->text_len, s, n);
    x->text_len += n;
}

/* The leaf's text, trimmed, NUL-terminated in x->text. */
static char *leaf_text(xml_state *x)
{
    char *t = x->text;
    size_t n = x->text_len;
    while (n && isspace((unsigned char)t[n - 1]))
        n--;
    t[n] = 0;
    while (isspace((unsigned char)*t))
        t++;
    return t;
}

static dg_status end_object(xml_state *x)
{
    dg_ctx *ctx = x->s->ctx;
    char n1[40], n2[40];
    if (!x->have[X_NAME])
        return dg__txt_line_fail(ctx, x->path, x->obj_line, "name", "missing");
    if (!x->have[X_BNDBOX])
        return dg__txt_line_fail(ctx, x->path, x->obj_line, "bndbox",
                                 "missing");
    for (int i = 0; i < 4; i++) {
        if (!x->have[X_XMIN + i])
            return dg__txt_line_fail(ctx, x->path, x->line[X_BNDBOX],
                                     x_field[X_XMIN + i], "missing");
    }
    for (int i = 0; i < 2; i++) {
        if (x->v[i + 2] < x->v[i])
            return dg__txt_line_fail(ctx, x->path, x->line[X_XMAX + i],
                                     x_field[X_XMAX + i],
                                     "less than %s (%s < %s)",
                                     i ? "ymin" : "xmin",
                                     dg__txt_fmt_num(n1, sizeof(n1),
                                                     x->v[i + 2]),
                                     dg__txt_fmt_num(n2, sizeof(n2), x->v[i]));
    }
    if (!dg__box_finite(x->v[0], x->v[1], x->v[2] - x->v[0],
                        x->v[3] - x->v[1]))
        return dg__txt_line_fail(ctx, x->path, x->line[X_BNDBOX], "bndbox",
                                 "too large: its size or area is not a "
                                 "finite number");
    if (x->n_objs == x->cap_objs) {
        size_t cap = x->cap_objs ? x->cap_objs * 2 : 16;
        struct xobj *o = realloc(x->objs, cap * sizeof(*o));
        if (!o)
            return dg__fail(ctx, DG_ENOMEM, "out of memory");
        x->objs = o;
        x->cap_objs = cap;
    }
    struct xobj *o = &x->objs[x->n_objs];
    o->name = dg__strdup(ctx, x->name);
    if (!o->name)
        return DG_ENOMEM;
    memcpy(o->v, x->v, sizeof(o->v));
    o->difficult = x->difficult;
    o->line = x->obj_line;
    x->n_objs++;
    return DG_OK;
}

static void XMLCALL x_end(void *ud, const XML_Char *el)
{
    xml_state *x = ud;
    dg_ctx *ctx = x->s->ctx;
    dg_status st = DG_OK;
    (void)el;
    if (x->st < 0 || !x->depth)
        return;
    int kind = x->stack[--x->depth];
    size_t line = kind == X_WIDTH || kind == X_HEIGHT ? xml_line(x)
                  : kind <= X_YMAX && kind > 0        ? x->line[kind]
                                                      : 0;
    const char *field = x_field[kind];
    char *t;
    double d;
    switch (kind) {
    case X_OBJECT:
        st = end_object(x);
        break;
    case X_NAME:
        t = leaf_text(x);
        if (x->text_long)
            st = dg__txt_line_fail(ctx, x->path, line, field,
                                   "longer than %d bytes", MAX_NAME);
        else if (!*t)
            st = dg__txt_line_fail(ctx, x->path, line, field, "empty");
        else
            snprintf(x->name, sizeof(x->name), "%s", t);
        break;
    case X_DIFFICULT:
        t = leaf_text(x);
        if (strcmp(t, "0") && strcmp(t, "1"))
            st = dg__txt_line_fail(ctx, x->path, line, field,
                                   "not 0 or 1 ('%.40s')", t);
        else
            x->difficult = t[0] == '1';
        break;
    case X_XMIN:
    case X_YMIN:
    case X_XMAX:
    case X_YMAX:
        t = leaf_text(x);
        st = dg__txt_field_num(ctx, x->path, line, field, t,
                               &x->v[kind - X_XMIN]);
        break;
    case X_WIDTH:
    case X_HEIGHT:
        t = leaf_text(x);
        if ((st = dg__txt_field_num(ctx, x->path, line, field, t, &d)) < 0)
            break;
        if (d < 0) {
            char nb[40];
            st = dg__txt_line_fail(ctx, x->path, line, field, "negative (%s)",
                                   dg__txt_fmt_num(nb, sizeof(nb), d));
            break;
        }
        x->have_size[kind - X_WIDTH] = 1;
        /* Some tools write 0 for an unknown size. */
        x->size[kind - X_WIDTH] = d > 0 ? d : NAN;
        break;
    default:
        break;
    }
    if (st < 0)
        xml_stop(x, st);
}

static void xml_release(xml_state *x)
{
    for (size_t i = 0; i < x->n_objs; i++)
        free(x->objs[i].name);
    free(x->objs);
    if (x->parser)
        XML_ParserFree(x->parser);
}

/*
 * One VOC XML file of frame into b: each <object> becomes a label,
 * <difficult>1</difficult> its ignore flag; <size> sets the frame's size.
 */
dg_status dg__txt_read_xml(imp *s, const char *path, uint32_t frame,
                           dg_boxset *b)
{
    dg_ctx *ctx = s->ctx;
    char *buf = NULL;
    size_t len;
    dg_status st;
    xml_state *x = dg__calloc(ctx, 1, sizeof(*x));
    if (!x)
        return DG_ENOMEM;
    x->s = s;
    x->path = path;
    if ((st = dg__txt_slurp(ctx, path, &buf, &len)) < 0)
        goto out;
    if (len > INT32_MAX) {
        st = dg__fail(ctx, DG_EFORMAT, "'%s': too large", path);
        goto out;
    }
    x->parser = XML_ParserCreate(NULL);
    if (!x->parser) {
        st = dg__fail(ctx, DG_ENOMEM, "out of memory");
        goto out;
    }
    XML_SetUserData(x->parser, x);
    XML_SetElementHandler(x->parser, x_start, x_end);
    XML_SetCharacterDataHandler(x->parser, x_text);
    if (XML_Parse(x->parser, buf, (int)len, 1) == XML_STATUS_ERROR) {
        if (x->st == DG_OK)
            x->st = dg__txt_line_fail(
                ctx, path, xml_line(x), NULL, "not valid XML: %s",
                XML_ErrorString(XML_GetErrorCode(x->parser)));
    }
    if ((st = x->st) < 0)
        goto out;
    if (!isnan(x->size[0]) && x->have_size[0])
        s->fw[frame] = x->size[0];
    if (!isnan(x->size[1]) && x->have_size[1])
        s->fh[frame] = x->size[1];
    for (size_t i = 0; i < x->n_objs; i++) {
        struct xobj *o = &x->objs[i];
        uint32_t cls;
        double box[4];
        if ((st = dg__txt_resolve_class(s, path, o->line, "name", o->name, 0,
                                             &cls)) < 0)
            goto out;
        box[0] = o->v[0];
        box[1] = o->v[1];
        box[2] = o->v[2] - o->v[0];
        box[3] = o->v[3] - o->v[1];
        if (box[2] == 0 || box[3] == 0)
            dg__txt_warn_note(&s->zero_box, path, o->line, "bndbox",
                              "zero width or height");
        if ((st = dg__boxset_reserve(ctx, b, DG_BOXES_LABELS, 1)) < 0)
            goto out;
        dg__boxset_push(b, frame, cls, box[0], box[1], box[2], box[3], 0,
                        box[2] * box[3], 0, o->difficult);
    }
    st = DG_OK;
out:
    xml_release(x);
    free(x);
    free(buf);
    return st;
}

#endif /* DG_HAVE_EXPAT */
