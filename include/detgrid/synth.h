/*
 * Synthetic datasets and detectors, deterministic for a seed: the demo, the
 * tests and the benchmarks all use them. Defaults give a COCO-like mix:
 * long-tailed class frequencies, objects of small, medium and large size,
 * a few crowd regions, and a detector that misses, jitters, confuses
 * classes, duplicates and hallucinates, with scores that follow quality.
 */
#ifndef DETGRID_SYNTH_H
#define DETGRID_SYNTH_H

#include <stdint.h>

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_synth_opts {
    uint64_t seed;
    uint32_t n_frames;       /* 0 means 200 */
    uint32_t n_classes;      /* 0 means 10 */
    double objects_per_frame; /* mean, Poisson-ish; 0 means 7.3 (COCO) */
    double crowd_rate;       /* fraction of frames with one crowd region */
    uint32_t n_inferences;   /* inference sets "model-a", "model-b", ...; 0 means 1 */
    /* Detector behaviour (each a probability or rate). */
    double miss_rate;        /* a ground truth gets no detection */
    double jitter;           /* localization noise, fraction of box size */
    double confuse_rate;     /* detection takes another class */
    double duplicate_rate;   /* a second, worse box on the same object */
    double background_fp;    /* mean false positives per frame */
    double low_score_fp;     /* mean extra low-score detections per frame */
    uint32_t score_levels;   /* scores rounded to this many levels (ties); 0 = none */
    int frame_width, frame_height; /* 0 means 640 x 480 */
    /* Keep at most this many detections per frame, the best by score, as
     * COCO submissions keep 100 per image; 0 = no cap. */
    uint32_t max_dets_per_frame;
} dg_synth_opts;

/* Fills opts with the defaults above (seed 1). */
void dg_synth_opts_default(dg_synth_opts *opts);

/* Opts scaled to COCO val2017 size: 5000 frames, 80 classes, ~36k boxes,
 * ~400k detections, times scale. */
void dg_synth_opts_coco(dg_synth_opts *opts, double scale);

/* Builds a new project from opts. */
dg_status dg_synth_project(dg_ctx *ctx, const dg_synth_opts *opts,
                           dg_project **out);

/*
 * Writes the same data as COCO JSON: an instances file at gt_path and, for
 * each inference set k, a results file at dt_prefix + "-<name>.json".
 * Either path may be NULL to skip it.
 */
dg_status dg_synth_coco_json(dg_ctx *ctx, const dg_synth_opts *opts,
                             const char *gt_path, const char *dt_prefix);

#ifdef __cplusplus
}
#endif
#endif
