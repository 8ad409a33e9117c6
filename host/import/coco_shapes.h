/*
 * Masks and keypoints of COCO records (coco_shapes.c), for coco.c: the
 * 'segmentation' field (polygons, uncompressed or compressed RLE) becomes
 * runs as pycocotools' annToRLE makes them, 'keypoints' (x, y, v)
 * triples. Nothing is written to the JSON buffer, so threads may read
 * records of one file at once, each with its own reader.
 */
#ifndef DG_COCO_SHAPES_H
#define DG_COCO_SHAPES_H

#include "json.h"

/* Scratch of one reading thread. */
typedef struct dg_shape_reader {
    dg_runs parts;   /* the polygons of one object, one after another */
    uint64_t *poff;  /* their offsets */
    size_t poff_cap;
    double *xy;      /* one polygon's coordinates */
    size_t xy_cap;
    char *str;       /* a counts string, unescaped */
    size_t str_cap;
    /*
     * Set by a reader of a file other threads read too: a key with escapes
     * (which dg__json_fields would decode in place) then gives
     * DG_SHAPE_BAIL, for the caller to leave the file to a reader of its
     * own.
     */
    int shared;
} dg_shape_reader;

void dg__shape_reader_release(dg_shape_reader *rd);

/* What a reader found, besides an error. */
enum {
    DG_SHAPE_OK = 0,
    DG_SHAPE_BAD = -1,    /* the field is wrong: err says how */
    DG_SHAPE_NOMEM = -2,
    DG_SHAPE_BAIL = -3    /* rd->shared and a key has escapes */
};

/*
 * Reads 'segmentation' node item into the last entry of sh (pushed by the
 * caller; its mask columns are added when missing). Polygons are
 * rasterised at the image's size img_w x img_h (non-finite or <= 0 when
 * unknown: an error for polygons); an RLE keeps its own 'size', and
 * *other_size is set when that differs from a known image size. An empty
 * list gives no mask. *area gets the mask's pixels.
 */
int dg__coco_read_segm(dg_json *j, uint32_t item, double img_w, double img_h,
                       dg_shapes *sh, dg_shape_reader *rd, uint64_t *area,
                       int *other_size, char *err, size_t errcap);

/*
 * Reads 'keypoints' node item (a list of 3k finite numbers, k <=
 * DG_OKS_MAX_KP) into the last entry of sh. Sets ext[4] to the extent of
 * the keypoints' x and y as pycocotools' loadRes takes it (x0, y0, x1, y1
 * over every keypoint, visible or not).
 */
int dg__coco_read_kp(dg_json *j, uint32_t item, dg_shapes *sh, double ext[4],
                     char *err, size_t errcap);

#endif
