/*
 * Synthetic datasets and detectors, deterministic for a seed: the demo, the
 * tests and the benchmarks all use them. Defaults give a COCO-like mix:
 * long-tailed class frequencies, objects of small, medium and large size,
 * a few crowd regions, and a detector that misses, jitters, confuses
 * classes, duplicates and hallucinates, with scores that follow quality.
 */
#ifndef DETGRID_SYNTH_H
#define DETGRID_SYNTH_H

#include <stddef.h>
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
    /*
     * Planted label mistakes (each 0 = none; docs/ERRORS.md). The detector
     * still sees the true objects; only the labels written change. Each
     * regular object gets at most one of the first three, so their sum
     * must not exceed 1:
     *   plant_missing:     fraction of objects whose label is dropped;
     *   plant_wrong_class: fraction labelled with another class (uniform
     *                      among the others);
     *   plant_bad_box:     fraction whose label box is shifted or scaled to
     *                      IoU 0.15-0.5 with the object;
     *   plant_spurious:    labels on empty space (IoU < 0.1 with every
     *                      object), per true object: a frame with n
     *                      objects gets Poisson(n * plant_spurious).
     * dg_synth_planted() lists what was planted.
     */
    double plant_missing;
    double plant_wrong_class;
    double plant_bad_box;
    double plant_spurious;
} dg_synth_opts;

/* The kinds of planted label mistakes. */
typedef enum {
    DG_PLANT_MISSING = 0,
    DG_PLANT_WRONG_CLASS,
    DG_PLANT_BAD_BOX,
    DG_PLANT_SPURIOUS,
    DG_PLANT_N_KINDS
} dg_plant_kind;

/* "missing", "wrong-class", "bad-box", "spurious"; NULL for another k. */
const char *dg_plant_kind_name(dg_plant_kind k);

/* One planted label mistake. */
typedef struct dg_synth_plant {
    dg_plant_kind kind;
    uint32_t frame;     /* frame index (the COCO image id is frame + 1) */
    /*
     * The label's record index in the project's labels, which is also its
     * COCO annotation id - 1; -1 for a missing label (there is none).
     */
    int64_t label;
    uint32_t cls;       /* class as labelled (missing: the object's) */
    uint32_t true_cls;  /* the object's class (spurious: same as cls) */
    double box[4];      /* x, y, w, h as labelled (missing: the object's) */
    double true_box[4]; /* the object's box (spurious: same as box) */
    double iou;         /* IoU(box, true_box): < 0.5 for bad-box, else 1 */
} dg_synth_plant;

/*
 * The defaults: seed 1, 200 frames of 640 x 480, 10 classes, 7.3 objects a
 * frame, crowd rate 0.01, one inference set; miss rate 0.15, jitter 0.08,
 * confusion 0.05, duplicates 0.05, 1 background and 2 low-score false
 * positives a frame; no score levels, no cap, nothing planted. Every
 * function below takes opts NULL as these.
 */
void dg_synth_opts_init(dg_synth_opts *opts);

/* A preset: the defaults scaled to COCO val2017 size: 5000 frames, 80
 * classes, ~36k boxes, ~400k detections, times scale. */
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

/*
 * The label mistakes that dg_synth_project() and dg_synth_coco_json() plant
 * with opts, in frame order and, within a frame, in object order with
 * spurious labels last. *out is malloc'd (free() it; NULL when *n is 0).
 * Fails with DG_EINVAL on bad opts, DG_ENOMEM.
 */
dg_status dg_synth_planted(dg_ctx *ctx, const dg_synth_opts *opts,
                           dg_synth_plant **out, uint64_t *n);

/* ---- synthetic frame metadata and a planted failing slice ------------- */

typedef struct dg_synth_metadata_opts {
    uint64_t seed;
    /* 1: plant a failure in the frames of two metadata conditions that
     * hold together (neither alone). */
    int plant;
    /* With plant: the share of those frames' detections that vanish;
     * 0 also means 0.6. */
    double drop;
} dg_synth_metadata_opts;

/* The defaults: seed 1, nothing planted, drop 0.6. */
void dg_synth_metadata_opts_init(dg_synth_metadata_opts *o);

/* The planted slice: two conditions, as `segment --where` takes them. */
typedef struct dg_synth_slice {
    char where[2][64];
    uint32_t n_frames; /* frames where both hold; 0: nothing planted */
} dg_synth_slice;

/*
 * Adds six frame metadata columns to a synthetic project in memory (before
 * eval): weather, time, camera and location (strings) and speed and
 * brightness (numbers), drawn per frame from the seed, with speed
 * depending on the location and brightness on the time of day; the
 * detector ignores them. With o->plant, a pair of conditions on two
 * columns (a categorical value or a numeric column's lowest or highest
 * quarter) is drawn among those that hold together on 4-15 % of the frames
 * while each alone holds on at least twice as many, and a share o->drop of
 * the detections of every inference set vanishes in those frames; *planted
 * (or NULL) names it. Replaces columns of those names. o NULL means the
 * defaults. DG_EINVAL for a bad drop or when no pair qualifies (too few
 * frames).
 */
dg_status dg_synth_metadata(dg_ctx *ctx, dg_project *p,
                            const dg_synth_metadata_opts *o,
                            dg_synth_slice *planted);

/* The frame id ("frame-000001" for frame 0) and class name ("person" for
 * class 0) that synthetic projects use, into buf. */
void dg_synth_frame_id(uint32_t f, char *buf, size_t size);
void dg_synth_class_name(uint32_t c, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
