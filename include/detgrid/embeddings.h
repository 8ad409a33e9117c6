/*
 * Embeddings: vectors per frame and per box crop, stored in the project file
 * under a model name, a 2-D projection of them (PCA) and k-means clusters,
 * both on the context's OpenCL device or the plain-C reference path with
 * identical bytes, and failure-pattern discovery over the clusters.
 *
 *     const float *f; uint64_t n; uint32_t d;
 *     dg_project_get_embeddings(ctx, p, "clip", DG_EMBED_FRAMES, NULL,
 *                               &f, &n, &d);
 *     const float **rows = ...;          // rows[i] = f + i * d
 *     dg_embed_points pts = {n, d, rows}; // rows to analyse, no copy
 *     double *xy = malloc(n * 2 * sizeof(double));
 *     dg_embed_pca(ctx, &pts, 0, xy, NULL, NULL);
 *
 * Layout in the file (docs/EMBEDDINGS.md): /embeddings/<model>/frames
 * (F x D float32), /embeddings/<model>/labels (labels x D) and
 * /embeddings/<model>/inferences/<set> (detections x D, in the inference
 * set's record order); the group /embeddings/<model> carries the
 * attributes "model" (string) and "dim" (int32).
 */
#ifndef DETGRID_EMBEDDINGS_H
#define DETGRID_EMBEDDINGS_H

#include <stdint.h>

#include "detgrid/explain.h"
#include "detgrid/frames.h"
#include "detgrid/metrics.h"
#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a matrix of embeddings has one row for. */
typedef enum dg_embed_kind {
    DG_EMBED_FRAMES = 0,     /* one row per frame */
    DG_EMBED_LABELS = 1,     /* one row per label record (crop) */
    DG_EMBED_INFERENCES = 2  /* one row per detection of an inference set */
} dg_embed_kind;

/* ---- storage ------------------------------------------------------------ */

/* Embedding models the project holds, and the name of model i (or NULL). */
uint32_t dg_project_n_embedding_models(const dg_project *p);
const char *dg_project_embedding_model(const dg_project *p, uint32_t i);
/* The dimension of model's vectors; 0 when the project has no such model. */
uint32_t dg_project_embedding_dim(const dg_project *p, const char *model);
/*
 * 1 when model has a matrix of that kind (set names the inference set for
 * DG_EMBED_INFERENCES and is ignored otherwise), else 0.
 */
int dg_project_has_embeddings(const dg_project *p, const char *model,
                              dg_embed_kind kind, const char *set);

/*
 * Stores rows x dim float32 values (row-major) as model's matrix of that
 * kind, replacing one there. Takes ownership of data (malloc'd), which is
 * freed by the project, also when this fails; so a matrix read from a .npy
 * file is kept once. rows must be the frame count, the label count or the
 * inference set's detection count; dim must equal the model's dimension
 * when the model exists. Every value must be finite. DG_EINVAL (count or
 * dimension mismatch, bad model name, non-finite value, naming the row and
 * column), DG_ENOTFOUND (no such inference set).
 */
dg_status dg_project_take_embeddings(dg_ctx *ctx, dg_project *p,
                                     const char *model, dg_embed_kind kind,
                                     const char *set, float *data,
                                     uint64_t rows, uint32_t dim);

/*
 * Model's matrix of that kind, read from the file on first use (kept in p,
 * owned by p, valid until p is freed or the matrix replaced). DG_ENOTFOUND
 * naming what is missing; DG_EFORMAT when the stored shape does not fit.
 */
dg_status dg_project_get_embeddings(dg_ctx *ctx, dg_project *p,
                                    const char *model, dg_embed_kind kind,
                                    const char *set, const float **data,
                                    uint64_t *rows, uint32_t *dim);

/*
 * Reads a .npy file holding a 2-D array of little-endian float32 ('<f4')
 * or float64 ('<f8') in C order (format versions 1.0 to 3.0) into a
 * malloc'd float32 matrix (float64 is rounded to nearest). Anything else
 * (other dtypes, Fortran order, 1-D or 3-D shapes, a truncated file, a
 * non-finite value) is DG_EFORMAT with a message naming the file and the
 * header field or the row and column.
 */
dg_status dg_npy_read(dg_ctx *ctx, const char *path, float **data,
                      uint64_t *rows, uint64_t *cols);

/* ---- projection and clustering ------------------------------------------ */

/*
 * The points to analyse: n rows of dim float32 values each, anywhere in
 * memory (row[i] points at the i-th), so that frames, label crops and
 * detection crops can be mixed and filtered without copying.
 */
typedef struct dg_embed_points {
    uint64_t n;
    uint32_t dim;
    const float *const *row;
} dg_embed_points;

/*
 * PCA to 2-D: the mean and the covariance (double, each entry summed over
 * the fit rows in ascending order) are computed on the device or the
 * reference path with the same bytes; the top two eigenvectors come from
 * subspace iteration on the host (shared code), each with the sign that
 * makes its largest-magnitude entry positive; every point's coordinates
 * (centred row dotted with each vector, summed in ascending dimension
 * order) again on the device or reference. The fit uses every
 * ceil(n / max_fit)-th point when n > max_fit (max_fit 0: 20000). xy gets
 * n x 2 doubles; var (or NULL) the two eigenvalues; comp (or NULL) the two
 * unit vectors, 2 x dim.
 */
dg_status dg_embed_pca(dg_ctx *ctx, const dg_embed_points *pts,
                       uint64_t max_fit, double *xy, double *var,
                       double *comp);

/*
 * A neighbourhood-preserving 2-D layout (an option beside PCA): points are
 * mapped to q = min(16, dim) coordinates by a seeded random projection
 * (identity when dim <= 16), each point's k nearest neighbours there are
 * found by brute force, and the PCA coordinates (scaled to standard
 * deviation 3 along PC1) are moved for `iters` steps: every point at once,
 * pulled towards its neighbours with weight w - 1.25 w^2, w = 1 / (1 + d^2)
 * (so they settle about 0.5 apart rather than collapse), pushed from 5
 * pseudo-randomly picked points with weight 4 / (1 + d^2)^2, the step
 * clipped to 4 and scaled by a learning rate falling linearly from 1 to 0.
 * Each step runs on the device or the reference with identical bytes (plain
 * double arithmetic in a fixed order). The kNN search is O(n^2): at most
 * 20000 points (DG_ERANGE beyond).
 */
typedef struct dg_embed_layout_opts {
    uint32_t neighbours; /* at most 32; 0 also means 10 */
    uint32_t iters;      /* 0 also means 300 */
    uint64_t seed;
} dg_embed_layout_opts;

/* The defaults: 10 neighbours, 300 steps, seed 1. */
void dg_embed_layout_opts_init(dg_embed_layout_opts *o);

/* xy gets n x 2 doubles. o NULL means the defaults. */
dg_status dg_embed_layout(dg_ctx *ctx, const dg_embed_points *pts,
                          const dg_embed_layout_opts *o, double *xy);

/*
 * How k-means chooses k when it is not given (docs/EMBEDDINGS.md has how
 * each behaved on planted failures among many groups of frames).
 */
typedef enum dg_choose_k {
    /*
     * The default: the k of the highest BIC of a mixture of spherical
     * Gaussians with one shared variance fitted by k-means (X-means,
     * Pelleg and Moore 2000). It tends to cut groups that are not round
     * into several clusters, which the merge of split failures
     * (dg_embeddings_evaluate) undoes where it matters, but does not merge
     * groups that lie close together.
     */
    DG_CHOOSE_K_BIC = 0,
    /*
     * The mean silhouette (Rousseeuw 1987) of the sample's clustering,
     * exact pairwise Euclidean distances: the largest k that is a local
     * maximum of it and scores at least 90 % of the highest (so that
     * scenes within kinds of scenes stay apart). It merges groups that lie
     * close together.
     */
    DG_CHOOSE_K_SILHOUETTE = 1,
    /*
     * The elbow (the earlier default): the smallest k after which one more
     * cluster lowers the inertia by less than 15 %. Among many groups it
     * stops at 2 or 3.
     */
    DG_CHOOSE_K_ELBOW = 2
} dg_choose_k;

/* "bic", "silhouette", "elbow"; NULL for another value. */
const char *dg_choose_k_name(dg_choose_k c);
/* The criterion named s, or -1. */
int dg_choose_k_parse(const char *s);

/* The largest k a choice considers. */
#define DG_K_CHOICE_MAX 64

typedef struct dg_embed_kmeans_opts {
    uint32_t k;        /* clusters; 0: chosen (dg_embed_choose_k) */
    uint64_t seed;     /* k-means++ initialisation */
    uint32_t max_iter; /* 0 also means 50 */
    uint64_t max_fit;  /* iterate on every ceil(n / max_fit)-th point; 0
                        * also means 20000 */
    dg_choose_k choose; /* with k 0: the criterion */
    uint32_t k_max;    /* with k 0: candidates 2 .. k_max, at most
                        * DG_K_CHOICE_MAX; 0 also means 30 */
    /*
     * Greedy k-means++ starts (each centre the best of 2 + ln k
     * candidates), each followed by at most 20 Lloyd iterations on a
     * sample of at most 1000 evenly spaced points; the one of least
     * inertia there (the earliest on a tie) goes on to Lloyd's iterations
     * on the fit points. The first start is seeded with seed, start i > 0
     * with a seed derived from seed and i. 0 also means 4.
     */
    uint32_t starts;
} dg_embed_kmeans_opts;

/* The defaults: k chosen by the BIC among 2 .. 30, seed 1, 50 iterations,
 * max_fit 20000, 4 starts. */
void dg_embed_kmeans_opts_init(dg_embed_kmeans_opts *o);

/*
 * k-means in the full dimension: seeded k-means++ initialisation on the
 * host; Lloyd iterations on the fit points (assignment: squared Euclidean
 * distance in double summed in ascending dimension order, the lowest
 * centroid index on ties; update: the mean of each cluster's members summed
 * in ascending point order, an empty cluster keeps its centroid) until no
 * assignment changes or max_iter; then every point is assigned. Device and
 * reference give identical assignments and centroids. assign gets n
 * cluster indices; dist (or NULL) each point's squared distance to its
 * centroid; centroids (or NULL) k x dim doubles (room for k_max x dim when
 * o->k is 0); inertia (or NULL) the sum of squared distances of all
 * points. *k_used (or NULL) gets k, after choosing when o->k is 0. k must
 * not exceed n. o NULL means the defaults.
 */
dg_status dg_embed_kmeans(dg_ctx *ctx, const dg_embed_points *pts,
                          const dg_embed_kmeans_opts *o, uint32_t *assign,
                          double *dist, double *centroids, double *inertia,
                          uint32_t *k_used);

/* How k was chosen, with every candidate's score. */
typedef struct dg_k_choice {
    dg_choose_k method;
    uint32_t k;              /* the choice */
    uint32_t k_max;          /* candidates were 2 .. k_max (elbow: from 1) */
    uint64_t sample;         /* points the candidates were fitted on */
    /*
     * score[k] for each candidate k (NaN elsewhere): the BIC, the mean
     * silhouette, or for the elbow the inertia of k clusters over that of
     * k - 1. The elbow stops at the first k whose ratio exceeds 0.85, so
     * later entries stay NaN.
     */
    double score[DG_K_CHOICE_MAX + 2];
} dg_k_choice;

/*
 * Chooses k for dg_embed_kmeans by o->choose among 2 .. o->k_max (0: 30,
 * at most DG_K_CHOICE_MAX and fewer than the sample's points) on a sample
 * of at most 1000 evenly spaced points (every ceil(n / 1000)-th): per
 * candidate, seeded k-means++ (o->seed) and at most 20 Lloyd iterations on
 * the sample, on ctx's device or the reference path (identical bytes); the
 * scores are computed on the host from those, in a fixed order, so both
 * paths choose the same k. Fewer than 4 sample points: k = min(2, n). o
 * NULL means the defaults.
 */
dg_status dg_embed_choose_k(dg_ctx *ctx, const dg_embed_points *pts,
                            const dg_embed_kmeans_opts *o, dg_k_choice *out);

/* ---- failure patterns --------------------------------------------------- */

/* Outcome of a crop at (conf, IoU). */
typedef enum dg_crop_outcome {
    DG_CROP_TP = 0,
    DG_CROP_FP = 1,            /* a false positive on background or a box */
    DG_CROP_FN = 2,            /* a missed label */
    DG_CROP_MISCLASSIFIED = 3, /* a false positive on a label of another class */
    DG_CROP_IGNORED = 4        /* crowd / ignored: neither */
} dg_crop_outcome;

/* "tp", "fp", "fn", "misclassified", "ignored". */
const char *dg_crop_outcome_name(dg_crop_outcome o);

/*
 * The crops at (conf, iou index) of r: every detection with score >= conf
 * (kind 1, index = its record in the inference set) and every label that is
 * neither crowd nor ignored (kind 0, index = its label record), with its
 * frame, class and outcome. Labels matched by a counted detection are TP,
 * others FN; detections TP or FP by the stored matching, FP ones that the
 * class-agnostic matching gave to a label of another class are
 * MISCLASSIFIED. *out is malloc'd (free()).
 */
typedef struct dg_crop {
    uint8_t kind;    /* 0 label, 1 detection */
    uint8_t outcome; /* dg_crop_outcome */
    uint32_t frame, cls;
    uint64_t index;
    double score;    /* detections; NaN for labels */
} dg_crop;
dg_status dg_results_crops(dg_ctx *ctx, dg_results *r, dg_project *p,
                           double conf, int iou_idx, dg_crop **out,
                           uint64_t *n);

/* A cluster found by dg_patterns_*. */
typedef struct dg_pattern_cluster {
    uint32_t id;         /* k-means cluster index */
    uint64_t size;       /* frames (or crops) in it */
    dg_counts counts;    /* pooled TP, FP, FN (frames: all classes) */
    dg_prf prf;
    double deficit;      /* frames: overall F1 - cluster F1 */
    double fp_share, fn_share; /* crops: FP (+ misclassified) among detection crops, FN among label crops */
    /*
     * How much worse the model does there. Frames: z and the one-sided p
     * of the F1 of the cluster's frames against the other clustered
     * frames, a ratio test over frames (Welch's t; the test of
     * dg_slices_evaluate, docs/SLICES.md). Crops: z the larger of the
     * binomial z-scores of the FP share among its detection crops and of
     * the FN share among its label crops against the shares over every
     * clustered crop, p its normal tail. q: p adjusted over the k clusters
     * (Benjamini-Hochberg); a cluster is significantly worse when q <=
     * 0.05.
     */
    double z, p, q;
    /* Its classes, error types and representative frames (the frames
     * nearest the centroid). */
    dg_pattern_explain explain;
} dg_pattern_cluster;

/*
 * Frame clusters ranked worst first (the smallest p, then the larger z,
 * then the lower id). assign[f] is the cluster of frame f (n_frames
 * entries; UINT32_MAX: not clustered), dist[f] (or NULL) its distance to
 * its centroid, for the representatives. Counts at (conf, iou index), all
 * classes. *out gets k entries (malloc'd).
 */
dg_status dg_patterns_frames(dg_ctx *ctx, dg_results *r, dg_project *p,
                             double conf, int iou_idx, const uint32_t *assign,
                             const double *dist, uint32_t k,
                             dg_pattern_cluster **out);

/*
 * Crop clusters ranked worst first (the larger z, then the lower id):
 * crops (n, dg_results_crops of r at conf, iou index) with crops[i] in
 * cluster assign[i] (UINT32_MAX: not clustered), dist (or NULL) its
 * distance to the centroid.
 */
dg_status dg_patterns_crops(dg_ctx *ctx, dg_results *r, dg_project *p,
                            double conf, int iou_idx, const dg_crop *crops,
                            uint64_t n, const uint32_t *assign,
                            const double *dist, uint32_t k,
                            dg_pattern_cluster **out);

/* ---- the whole analysis (detgrid embeddings) ------------------------------ */

/*
 * What dg_embeddings_evaluate projects and clusters. Start from
 * dg_embeddings_opts_init.
 */
typedef struct dg_embeddings_opts {
    const char *model; /* the embedding model (required) */
    int crops;         /* 0: one point per frame; 1: per crop (dg_crop) */
    double conf;       /* the confidence of the counts and crops */
    int iou_idx;       /* the IoU threshold index of the results */
    /*
     * -1: every point; else a dg_crop_outcome below DG_CROP_IGNORED: only
     * crops of that outcome, or only frames that hold such a crop.
     */
    int only;
    int layout;        /* 0: PCA; 1: the kNN layout (dg_embed_layout) */
    int cluster;       /* 1: k-means and failure patterns too */
    /*
     * Clusters: 0 chosen by `choose` (dg_embed_choose_k); -1 the default:
     * chosen for frames, the classes + 2 (at most 24) for crops, which
     * gather around their classes. At most the number of points.
     */
    int32_t k;
    dg_choose_k choose; /* the criterion when k is chosen */
    uint32_t k_max;     /* the largest k it considers; 0: 30 */
    uint64_t seed;     /* k-means and the layout */
} dg_embeddings_opts;

/* Model NULL, frames, conf 0.1, IoU index 0, every point, PCA, no
 * clusters, k -1 (BIC, k_max 30), seed 1. */
void dg_embeddings_opts_init(dg_embeddings_opts *o);

typedef struct dg_embeddings_result {
    uint32_t dim;
    uint32_t n_frames;
    /* Every frame's counts (all classes) and every crop at (conf, IoU). */
    dg_frame_counts *frame_counts; /* n_frames */
    dg_crop *crop;
    uint64_t n_crop;
    /*
     * The points: frames of the results' restriction (all frames without
     * one) or crops, filtered by opts.only. n is 0 when none is left; then
     * nothing below is filled.
     */
    int crops;         /* opts.crops: the points are crops */
    uint64_t n;
    uint64_t *point;   /* n: the frame (frames) or the index into crop */
    double *xy;        /* n x 2 */
    double var[2];     /* the two PCA eigenvalues (the layout starts there) */
    /*
     * Clusters (opts.cluster), else k 0 and NULL. k-means finds k_fit;
     * clusters that are one failure split in parts are then merged (while
     * a significantly worse cluster and its nearest, also significantly
     * worse, test higher together than either: docs/EMBEDDINGS.md), which
     * leaves k.
     */
    uint32_t k, k_fit;
    int k_chosen;      /* 1 when k was chosen; then k_choice says how */
    dg_k_choice k_choice;
    uint32_t *assign;  /* n: each point's cluster */
    double *dist;      /* n: its squared distance to the centroid */
    dg_pattern_cluster *clusters; /* k, worst first (dg_patterns_*) */
    double seconds_projection, seconds_clustering;
    char device[256];  /* "reference" or "OpenCL: <platform> / <device>" */
} dg_embeddings_result;

/*
 * The analysis behind `detgrid embeddings`: the points of r (the results
 * of one of p's inference sets, restricted or not), their 2-D projection
 * (dg_embed_pca, then dg_embed_layout with opts.layout), and with
 * opts.cluster k-means clusters (dg_embed_kmeans) ranked by
 * dg_patterns_frames or dg_patterns_crops. Every stage runs on one engine
 * for ctx's device (dg_ctx_set_device), whose description ends in
 * out->device. opts NULL means the defaults of dg_embeddings_opts_init,
 * which name no model: the call then fails with DG_EINVAL, as without a
 * model. Errors: those of the steps named. Release out with
 * dg_embeddings_result_release, also on failure.
 */
dg_status dg_embeddings_evaluate(dg_ctx *ctx, dg_results *r, dg_project *p,
                                 const dg_embeddings_opts *opts,
                                 dg_embeddings_result *out);
void dg_embeddings_result_release(dg_embeddings_result *r);

/*
 * The frames of cluster c of res, ascending (malloc'd; for crops, the
 * frames of its crops), e.g. to store as a segment.
 */
dg_status dg_embeddings_cluster_frames(dg_ctx *ctx,
                                       const dg_embeddings_result *res,
                                       uint32_t c, uint32_t **frames,
                                       uint32_t *n);

/* ---- plots -------------------------------------------------------------- */

/*
 * A scatter plot. Each point has x, y and either a value in [0, 1] drawn
 * with a viridis-like colour scale (value NaN: grey, "undefined") or a
 * category index into cat_names drawn with a colour-blind-safe palette
 * (Okabe-Ito). The title, axis names, the scale or legend and the axes
 * with ticks are drawn too. When highlight is given, the other points are
 * faded towards white and the highlighted ones drawn on top in full colour
 * (with a black ring while there are at most 300 of them).
 */
typedef struct dg_plot {
    const char *title;
    const char *x_label, *y_label;
    uint64_t n;
    const double *x, *y;
    const double *value;      /* n values in [0, 1], or NULL */
    const char *value_name;   /* the colour scale's caption */
    const uint8_t *category;  /* n indices, or NULL */
    const char *const *cat_names;
    uint32_t n_cat;
    const uint8_t *highlight; /* n flags, or NULL */
    uint32_t width, height;   /* 0: 900 x 700 */
    const char *note;         /* lines under the legend ('\n'), or NULL */
} dg_plot;

/* The plot as SVG text (malloc'd, NUL-terminated). */
dg_status dg_plot_svg(dg_ctx *ctx, const dg_plot *pl, char **out,
                      size_t *len);
/* The plot as a PNG image (RGB, stored deflate blocks; malloc'd bytes). */
dg_status dg_plot_png(dg_ctx *ctx, const dg_plot *pl, unsigned char **out,
                      size_t *len);

/* ---- synthetic embeddings ----------------------------------------------- */

typedef struct dg_synth_embeddings_opts {
    uint64_t seed;
    uint32_t dim;      /* 0 also means 64 */
    uint32_t scenes;   /* frames fall into this many scenes; 0 also 8 */
    /* 0 none, 1 "miss": in one scene every detection of its most common
     * class is dropped; 2 "fp": in one scene, three confident false
     * positives per frame of one class on empty space; 3 "look": every
     * third label (in record order) of the most common class looks
     * different (its crop around a centre of its own) and its detections
     * (IoU >= 0.3 with it, of its class) are dropped, in every scene. */
    int plant;
    const char *model; /* NULL also means "synth" */
} dg_synth_embeddings_opts;

/* The defaults: seed 1, dim 64, 8 scenes, nothing planted, "synth". */
void dg_synth_embeddings_opts_init(dg_synth_embeddings_opts *o);

/*
 * Post-processes a synthetic project in memory (before eval): assigns each
 * frame to a scene, applies the planted pattern to every inference set, and
 * attaches frame, label and detection embeddings: a frame is its scene's
 * centre plus noise; a crop its class's centre plus a little of its scene's
 * plus noise (planted false positives share one centre, as do the
 * odd-looking labels). *planted_scene and *planted_class (or NULL) say what
 * was planted (UINT32_MAX: nothing; the scene is UINT32_MAX for "look").
 * scene (or NULL) gets n_frames scene indices, malloc'd. o NULL means the
 * defaults.
 */
dg_status dg_synth_embeddings(dg_ctx *ctx, dg_project *p,
                              const dg_synth_embeddings_opts *o,
                              uint32_t *planted_scene, uint32_t *planted_class,
                              uint32_t **scene);

#ifdef __cplusplus
}
#endif
#endif
