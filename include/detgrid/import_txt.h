/*
 * Importers for the folder-of-text-files formats that VOC-style tools use:
 * one file per image, one box per line, in a ground-truth folder and in a
 * folder per detector. docs/VOC.md describes every format, option, message
 * and decision; in short:
 *
 *     format    ground truth line                       detection line
 *     cartucho  <class> <left> <top> <right> <bottom> [difficult]
 *                                                       <class> <conf> <left> <top> <right> <bottom>
 *     padilla   <class> <left> <top> <width> <height>   <class> <conf> <left> <top> <width> <height>
 *     yolo      <index> <cx> <cy> <w> <h> (relative)    <index> <cx> <cy> <w> <h> <conf>
 *     voc-xml   Pascal VOC XML, one .xml per image       as cartucho
 *
 * "voc-txt" is another name for cartucho, "rafaelpadilla" for padilla. The
 * box layout, absolute or relative coordinates and the position of the
 * confidence can be changed from each format's default (dg_txt_opts).
 *
 * Frames are the ground-truth files, ordered by file name (byte order, as
 * the sorted glob of Cartucho's tool), with the file name less its
 * extension as the frame id. Boxes are stored as x, y, w, h with
 * w = right - left for corner layouts; a trailing "difficult" (or VOC XML's
 * <difficult>1</difficult>) sets the label's ignore column.
 *
 *     dg_txt_opts o;
 *     dg_txt_opts_init(&o, DG_TXT_CARTUCHO);
 *     const char *dt[] = { "detection-results" }, *names[] = { "yolo" };
 *     dg_import_txt(ctx, p, "ground-truth", 1, dt, names, 0, &o);
 *
 * Like the COCO importers, these validate everything before they change the
 * project, name the file, line and field in every message
 *
 *     'gt/2007_000027.txt': line 3: field 'right': less than left (10 < 20)
 *
 * and leave the project unchanged on error. Warnings go to
 * dg_ctx_take_warnings().
 */
#ifndef DETGRID_IMPORT_TXT_H
#define DETGRID_IMPORT_TXT_H

#include "detgrid/project.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    DG_TXT_CARTUCHO = 0, /* Cartucho/mAP and the VOC devkit's txt */
    DG_TXT_PADILLA,      /* rafaelpadilla's Object-Detection-Metrics txt */
    DG_TXT_YOLO,         /* YOLO label files, class indices, relative */
    DG_TXT_VOC_XML       /* Pascal VOC XML ground truth, cartucho detections */
} dg_txt_format;

/* How the four box numbers of a line are laid out. */
typedef enum {
    DG_TXT_BOX_XYXY = 0, /* left top right bottom */
    DG_TXT_BOX_XYWH,     /* left top width height */
    DG_TXT_BOX_CXCYWH    /* center-x center-y width height */
} dg_txt_box;

typedef struct dg_txt_opts {
    dg_txt_format format;
    dg_txt_box box;
    /* Coordinates are fractions of the image size (needs frame sizes). */
    int relative;
    /* Detections: 1 for <class> <conf> <box>, 0 for <class> <box> <conf>. */
    int conf_leading;
    /*
     * Class names, one per line; the line's 0-based index is the class
     * index of YOLO files and becomes the class id. Required for yolo.
     * For the named formats it fixes the classes and their order, and any
     * other class name in a file is an error. NULL: classes are the sorted
     * union of the names found in all files being imported.
     */
    const char *names_path;
    /*
     * Image sizes: lines "<image> <width> <height>" (space, tab or comma
     * separated, an optional header line) or JSON (docs/VOC.md). Required
     * with relative coordinates unless the project already stores the
     * sizes. NULL: none.
     */
    const char *sizes_path;
    /*
     * A detection file without a ground-truth file is a frame with no
     * labels (0: it is an error). Default 1 for yolo, where a missing label
     * file means an image without objects, 0 otherwise. Only applies while
     * the frames are being created (with a ground-truth folder).
     */
    int unlabeled_frames;
    /*
     * A detection whose class the project does not have is dropped with a
     * warning (0: it is an error). Only comes into play when the classes
     * are fixed: by names_path, or when adding detections to an existing
     * project.
     */
    int drop_unknown_classes;
} dg_txt_opts;

/* Fills o with format's defaults (NULL paths), the preset of each format.
 * DG_EINVAL for an unknown format. */
dg_status dg_txt_opts_init(dg_txt_opts *o, dg_txt_format format);

/*
 * The format named name ("cartucho", "voc-txt", "padilla", "rafaelpadilla",
 * "yolo", "voc-xml"), or -1.
 */
int dg_txt_format_parse(const char *name);

/* The canonical name of a format ("cartucho", ...); "?" if unknown. */
const char *dg_txt_format_name(dg_txt_format format);

/* 1 if Pascal VOC XML support (expat) was compiled in, else 0. */
int dg_import_have_xml(void);

/*
 * Imports ground truth and detections with opts (NULL: the cartucho
 * defaults).
 *
 * With gt_dir, p must be empty (DG_EINVAL otherwise): the ground-truth
 * files make the frames and labels; the classes come from names_path or,
 * without it, from every class name in the ground truth and in the
 * detection folders given, sorted (byte order, as Cartucho's tool sorts).
 * Without gt_dir (NULL), the detection folders are added to a project
 * that has frames; their files must be named after its frames and their
 * classes must be its classes.
 *
 * Each of the n_dt folders dt_dirs[i] becomes the inference set
 * set_names[i]; a frame without a detection file has no detections. A
 * name that exists is DG_EEXIST unless replace is non-zero, in which case
 * the set's boxes are replaced and its results dropped. Everything is
 * validated before p changes: on error nothing was imported.
 *
 * Errors: DG_EIO (a folder or file that cannot be read), DG_EFORMAT (a
 * malformed line or file: the message names the file, line and field),
 * DG_EINVAL (bad arguments, or voc-xml without XML support), DG_EEXIST,
 * DG_ENOMEM.
 */
dg_status dg_import_txt(dg_ctx *ctx, dg_project *p, const char *gt_dir,
                        int n_dt, const char *const *dt_dirs,
                        const char *const *set_names, int replace,
                        const dg_txt_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
