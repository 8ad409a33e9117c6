/*
 * The COCO evaluator's private parts, shared by its steps (the protocol
 * and the steps are described in coco.c):
 *
 *   coco_prepare.c     1, 2: order, ranks, truncation; the matcher's input
 *   coco_tiles.c       3a: IoU tiles of masks, boundaries, keypoints
 *   coco_match.c       3: matching, into TP/FP masks per area range
 *   coco_accumulate.c  4: the PR curves (and numpy's arithmetic)
 *   coco.c             5: summaries; the driver and the API
 *
 * For host/query/coco*.c only; tests see coco_internal.h.
 */
#ifndef DG_COCO_IMPL_H
#define DG_COCO_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "coco_internal.h"
#include "engine.h"
#include "store.h"

#define NT DG_COCO_N_IOU
#define NR DG_COCO_N_REC
#define NA DG_COCO_N_AREA
/* The TP/FP mask of evaluated detection i (sorted position) in area range a. */
#define MASK(s, i, a) ((s)->mask[(size_t)(i) * NA + (size_t)(a)])
#define NM DG_COCO_N_MAXDET
#define MAX_THREADS 16


/* ---- the evaluation's state --------------------------------------------- */

typedef struct chunk {
    uint32_t lo, hi;     /* frames */
    uint64_t *goff, *doff; /* hi - lo + 1, relative to the chunk */
} chunk;

typedef struct coco_state {
    dg_ctx *ctx;
    dg_project *p;
    const dg_boxset *gt;  /* the project's labels */
    /*
     * The protocol's parameters (pycocotools' Params for the iou type):
     * na area ranges, nm maxDets, the last of which bounds the
     * detections matched per image and category.
     */
    int iou_type;
    const dg_shapes *gsh, *dsh; /* masks and keypoints of gt and dt */
    int na, nm;
    double area_rng[NA][2];
    int max_dets[NM];
    /*
     * The matcher's input: "frames" are the n_pf (image, category) groups
     * with detections; w holds the detections evaluated (rank < 100) and
     * g the labels of those groups, both grouped, input order within a
     * group; pf_doff, pf_goff (n_pf + 1) delimit the groups.
     */
    dg_boxset w, g;
    uint32_t n_pf;
    uint64_t *pf_doff, *pf_goff;
    uint32_t *pf_k;       /* n_pf: the group's category */
    uint32_t *pf_first;   /* F + 1: the groups of frame f start here */
    uint32_t K;
    uint32_t *class_rank; /* class index -> k */
    uint64_t *class_off;  /* K + 1, into order */
    uint32_t *order;      /* per category, accumulation order (w indices) */
    uint8_t *rank;        /* per detection of w, saturating at 255 */
    uint32_t *w_src;      /* per detection of w: its index in the set */
    uint32_t *g_src;      /* per label of g: its index in the labels */
    /* Per detection of w, its area for the area ranges when that is not
     * its box's w * h (masks, keypoints: pycocotools' loadRes), else
     * NULL. */
    double *w_area;
    /* In accumulation order (position i of category k's list is
     * class_off[k] + i): score and rank; pos maps w indices there. */
    uint32_t *pos;
    double *acc_score;
    uint8_t *acc_rank;
    uint8_t *ign;         /* na x g.n: area outside the range (or ignore) */
    /* g.n: 1 for a label whose COCO annotation id was 0, with
     * pycocotools_id0; else NULL */
    uint8_t *zid;
    uint64_t *npig;       /* K x NA */
    /* n_w x NA, a detection's area ranges side by side (MASK(s, i, a)),
     * so that the matcher's stores to a sorted position touch one cache
     * line, not one per range: TP bits, FP bits << 16 */
    uint32_t *mask;
    /*
     * The IoUs to match on when they are not box IoUs (coco_tiles.c):
     * group q's tile is nd x ng values, its detections (in group order)
     * by its labels, at tile[tile_off[q]]; NULL for boxes.
     */
    double *tile;
    uint64_t *tile_off;
    double iou[NT];
    double rec[NR];
    int n_threads;

    /* matching */
    dg_engine *engine;
    chunk *chunks;
    uint32_t n_chunks;
    uint64_t max_chunk_dets;

    /* shared by workers */
    atomic_uint next_job;
    atomic_int failed;
    pthread_mutex_t lock;
    dg_status st;
    char err[DG_ERR_CAP];

    dg_coco_result *out;
} coco_state;

/* ---- threads ------------------------------------------------------------ */

/* Runs fn(arg, tid) on n threads (the caller is tid 0). Work is handed out
 * through counters in arg, so threads that fail to start cost only time. */
typedef void (*work_fn)(void *arg, int tid);
void dg__coco_run_parallel(int n, work_fn fn, void *arg);
/* Records a worker's failure (the first one wins) and stops the others. */
void dg__coco_worker_fail(coco_state *s, dg_status st, const char *msg);

/* ---- the steps ----------------------------------------------------------- */

/*
 * Steps 1 and 2 (coco_prepare.c): categories and images in order, each
 * category's detections in accumulation order, ranks, the detections
 * evaluated grouped by (image, category) into s->w; the out->cat_class,
 * n_det and n_det_dropped of the result.
 */
dg_status dg__coco_prepare(coco_state *s, const dg_boxset *dt);
/*
 * The labels of the matcher's groups, grouped likewise into s->g, with
 * their ignore column per area range; and npig. With id0, s->zid marks
 * the labels whose annotation id was 0 (dg_coco_opts.pycocotools_id0).
 */
dg_status dg__coco_prepare_labels(coco_state *s, int use_ignore, int id0);
/*
 * Step 3a (coco_tiles.c): the tiles of s->iou_type's IoUs, on the engine's
 * device; a no-op for boxes. Checks that every object has what the type
 * compares.
 */
dg_status dg__coco_tiles(coco_state *s, const dg_coco_opts *opts);
/* Step 3 (coco_match.c): s->mask, by s->engine or the one-pass matcher. */
dg_status dg__coco_match(coco_state *s);
/* Step 4 (coco_accumulate.c): precision, scores and recall of s->out. */
dg_status dg__coco_accumulate(coco_state *s);

/* ---- changed params (coco_params.c) ------------------------------------ */

/*
 * Allocates r's parameter arrays for T, R, A and M entries and sets their
 * sizes (the values are the caller's to fill).
 */
dg_status dg__coco_result_params(dg_ctx *ctx, dg_coco_result *r, uint32_t T,
                                 uint32_t R, int A, int M);
/*
 * Sets r->area_lbl to copies of lbl[0 .. n_lbl) for r->n_area entries
 * (NULL past n_lbl), in one allocation.
 */
dg_status dg__coco_result_labels(dg_ctx *ctx, dg_coco_result *r,
                                 const char *const *lbl, uint32_t n_lbl);
/* *dflt = 1 when opts->params changes nothing (the fast path applies). */
dg_status dg__coco_params_default(dg_ctx *ctx, dg_project *p,
                                  const dg_coco_opts *opts, int *dflt);
/* The evaluation with any params: the general path of coco_params.c. */
dg_status dg__coco_evaluate_params(dg_ctx *ctx, dg_project *p, uint32_t which,
                                   const dg_coco_opts *opts,
                                   dg_coco_result *out);

#endif
