/*
 * The options of the folder-of-text-files formats (cartucho, padilla, yolo,
 * voc-xml), shared by `detgrid import <format>` and `detgrid voc --format`.
 */
#ifndef DG_IMPORT_TXT_CLI_H
#define DG_IMPORT_TXT_CLI_H

#include "cli.h"

typedef struct txt_cli {
    const char *names, *sizes, *box, *coords, *conf_pos;
    int unlabeled, no_unlabeled, drop_unknown, strict;
} txt_cli;

/* The format options, for an option table. */
#define TXT_CLI_OPTIONS(t)                                                     \
    {OPT_STR, 0, "names", &(t).names, "<file>",                                \
     "class names, one per line (yolo: required)", 0},                         \
    {OPT_STR, 0, "sizes", &(t).sizes, "<file>",                                \
     "image sizes: '<image> <width> <height>' lines or JSON", 0},              \
    {OPT_STR, 0, "box", &(t).box, "<layout>",                                  \
     "xyxy, xywh or cxcywh (default: the format's)", 0},                       \
    {OPT_STR, 0, "coords", &(t).coords, "abs|rel",                             \
     "pixels, or fractions of the image size (default: the format's)", 0},     \
    {OPT_STR, 0, "conf-pos", &(t).conf_pos, "<pos>",                           \
     "detections: 'leading' (after the class) or 'trailing' (last)", 0},       \
    {OPT_FLAG, 0, "unlabeled-frames", &(t).unlabeled, NULL,                    \
     "a detection file without a ground-truth file is a frame without "        \
     "labels (yolo's default)", 0},                                            \
    {OPT_FLAG, 0, "no-unlabeled-frames", &(t).no_unlabeled, NULL,              \
     "such a file is an error (the default except for yolo)", 0},              \
    {OPT_FLAG, 0, "drop-unknown-classes", &(t).drop_unknown, NULL,             \
     "drop detections of classes the project lacks, with a warning", 0},       \
    {OPT_FLAG, 0, "strict", &(t).strict, NULL,                                 \
     "refuse confidences outside [0, 1] (kept with a warning otherwise)", 0}

/* The formats, for messages. */
#define TXT_CLI_FORMATS "cartucho (voc-txt), padilla (rafaelpadilla), yolo, voc-xml"

/*
 * Fills o for the format named format from t; a bad value is a usage error
 * (exits 129).
 */
void txt_cli_opts(const char *format, const txt_cli *t, dg_txt_opts *o,
                  const char *const *usage, const cli_opt *opts);

/* The base name of a folder path, trailing slashes ignored, into out. */
void txt_cli_dir_name(const char *dir, char *out, size_t cap);

#endif
