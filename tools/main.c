/*
 * detgrid: the command table and dispatch, as git's builtin table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmds.h"

static const struct cmd {
    const char *name;
    int (*fn)(int argc, const char **argv);
    const char *help;
} commands[] = {
    {"demo", cmd_demo, "generate a synthetic project, evaluate it, print metrics"},
    {"synth", cmd_synth, "write a synthetic project or COCO JSON files"},
    {"import", cmd_import, "import COCO JSON, VOC/YOLO txt, VOC XML or .npy embeddings"},
    {"info", cmd_info, "summarise a project file"},
    {"eval", cmd_eval, "match detections to labels at every IoU threshold"},
    {"metrics", cmd_metrics, "per-class TP/FP/FN, precision, recall, F1"},
    {"sweep", cmd_sweep, "precision/recall/F1 against confidence; best-F1 thresholds"},
    {"confusion", cmd_confusion, "class-agnostic confusion matrix with background"},
    {"examples", cmd_examples, "the boxes behind one confusion-matrix cell, sorted"},
    {"frames", cmd_frames, "per-frame TP/FP/FN, precision, recall, F1, sorted"},
    {"segment", cmd_segment, "named frame sets (splits, regression tests, scenarios) with targets"},
    {"scenarios", cmd_scenarios, "per-segment cards: precision/recall/F1 against targets, A vs B"},
    {"check", cmd_check, "regression gate: every inference set against every regression test"},
    {"compare", cmd_compare, "two inference sets side by side: differences, bootstrap intervals, churn"},
    {"coco", cmd_coco, "COCO AP/AR exactly as pycocotools, from JSON or a project"},
    {"voc", cmd_voc, "Pascal VOC AP per class and mAP (voc07, voc12)"},
    {"errors", cmd_errors, "TIDE error taxonomy: Cls/Loc/Both/Dupe/Bkg/Miss and their dAP"},
    {"label-errors", cmd_label_errors, "ranked likely labelling mistakes (missing, wrong class, ...)"},
    {"embeddings", cmd_embeddings, "2-D projection of embeddings, clusters, failure patterns, plots"},
    {"slices", cmd_slices, "metadata slices where a model does significantly worse, explained"},
    {"report", cmd_report, "self-contained interactive HTML report (sliders, confusion, errors)"},
    {"devices", cmd_devices, "list OpenCL platforms and devices"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: detgrid <command> [<options>] [<args>]\n"
               "       detgrid <command> --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "    %-13s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit codes: 0 success, 1 a check did not pass, 2 error, "
               "129 usage error\n");
}

int main(int argc, const char **argv)
{
    cli_watch_stdout();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("detgrid %s (project format %d)\n", DG_VERSION_STRING,
               DG_FORMAT_VERSION);
        return EXIT_OK;
    }
    if (!strcmp(name, "help")) {
        if (argc < 3) {
            usage(stdout);
            return EXIT_OK;
        }
        name = argv[2];
        static const char *hv[3];
        hv[0] = name;
        hv[1] = "--help";
        argv = hv;
        argc = 2;
    } else {
        argv++;
        argc--;
    }
    enum { N = sizeof(commands) / sizeof(commands[0]) };
    const char *names[N];
    for (size_t i = 0; i < N; i++) {
        if (!strcmp(commands[i].name, name))
            return commands[i].fn(argc, argv);
        names[i] = commands[i].name;
    }
    char hint[1024];
    dg_choices_hint(hint, sizeof(hint), name, names, N, "commands");
    fprintf(stderr, "error: '%s' is not a detgrid command%s\n", name, hint);
    return EXIT_USAGE;
}
