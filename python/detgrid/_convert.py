"""Shared conversions: arrays in, projects from COCO datasets and records.

Everything that reaches the C extension goes through here as a
C-contiguous NumPy array of the dtype it expects, so the extension reads it
without a copy; anything with ``__array__`` (a CPU torch tensor, a list)
works.
"""

import json
import math
import os
import tempfile

import numpy as np

from . import _detgrid
from ._errors import FormatError


def f64(x):
    return np.ascontiguousarray(x, dtype=np.float64)


def i64(x):
    """Integer ids: integers, or floats with no fractional part."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if a.size and not np.all(np.isfinite(a) & (a == np.floor(a))):
            raise TypeError("ids must be integers")
    elif a.dtype.kind not in "iub":
        if a.size == 0:
            return np.zeros(0, np.int64)
        raise TypeError("ids must be integers (got %s)" % a.dtype)
    return np.ascontiguousarray(a, dtype=np.int64)


def flags(x, source, field):
    """0/1 flags as uint8; another value is a FormatError naming the
    record, as the import names it."""
    a = np.asarray(x)
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a, dtype=np.uint8)
    bad = np.flatnonzero((a != 0) & (a != 1))
    if bad.size:
        i = int(bad[0])
        raise FormatError("'%s': annotations[%d]: field '%s': not 0 or 1 (%s)"
                          % (source, i, field, a[i]))
    return np.ascontiguousarray(a, dtype=np.uint8)


def boxes(x, n=None):
    b = f64(x)
    if b.size == 0:
        b = b.reshape(0, 4)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError("boxes: an N x 4 array (x, y, width, height), got "
                         "shape %s" % (b.shape,))
    if n is not None and b.shape[0] != n:
        raise ValueError("boxes: %d rows for %d ids" % (b.shape[0], n))
    return b


def _field(rec, key, where, i):
    try:
        return rec[key]
    except KeyError:
        raise FormatError("'%s': %s[%d]: field '%s': missing" %
                          ("dataset", where, i, key)) from None
    except TypeError:
        raise FormatError("'%s': %s[%d]: not an object" %
                          ("dataset", where, i)) from None


def _number(v, where, i, key):
    if v is None:
        return math.nan
    try:
        return float(v)
    except (TypeError, ValueError):
        raise FormatError("'dataset': %s[%d]: field '%s': not a number" %
                          (where, i, key)) from None


def has_shapes(records):
    """Whether COCO records carry masks or keypoints."""
    return any(isinstance(r, dict) and ("segmentation" in r or
                                        "keypoints" in r)
               for r in records)


def _jsonable(x):
    """json.dump's default: what pycocotools' objects hold (RLE counts as
    bytes, numpy numbers and arrays)."""
    if isinstance(x, bytes):
        return x.decode("ascii")
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError("not JSON: %r" % type(x).__name__)


def _via_json(obj, fn):
    """fn(path) of a temporary JSON file holding obj."""
    fd, path = tempfile.mkstemp(suffix=".json", prefix="detgrid-")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(obj, f, default=_jsonable)
        fn(path)
    finally:
        os.unlink(path)


def unload_res(anns):
    """Results as pycocotools' loadRes left them, as results again: a mask
    result got its area from the mask and a bbox from toBbox, so that bbox
    goes (the importer then takes the mask's area, as loadRes did); a box
    result's area is its width x height and stays as it is."""
    out = []
    for a in anns:
        bb = a.get("bbox")
        if "segmentation" in a and bb is not None and "area" in a and \
                len(bb) == 4 and float(a["area"]) != float(bb[2]) * \
                float(bb[3]):
            a = {k: v for k, v in a.items() if k != "bbox"}
        out.append(a)
    return out


def import_records_json(proj, name, records, replace=False):
    """Results with masks or keypoints, read by the COCO importer."""
    _via_json(records, lambda path: proj.import_coco(path, name, replace))


def project_from_dataset(ds, source="dataset", shapes=False):
    """A _detgrid.Project of a COCO instances dict (images, categories,
    annotations), validated as a file would be; shapes: with masks and
    keypoints (read by the COCO importer, through a temporary file)."""
    if not isinstance(ds, dict):
        raise FormatError("'%s': top level is not an object" % source)
    if shapes:
        p = _detgrid.Project()
        _via_json(ds, lambda path: p.import_coco(path))
        return p
    imgs = ds.get("images") or []
    cats = ds.get("categories") or []
    anns = ds.get("annotations") or []
    img_ids = i64([_field(im, "id", "images", i) for i, im in enumerate(imgs)])
    width = f64([_number(im.get("width"), "images", i, "width")
                 for i, im in enumerate(imgs)])
    height = f64([_number(im.get("height"), "images", i, "height")
                  for i, im in enumerate(imgs)])
    cat_ids = i64([_field(c, "id", "categories", i)
                   for i, c in enumerate(cats)])
    names = []
    for i, c in enumerate(cats):
        nm = _field(c, "name", "categories", i)
        if not isinstance(nm, str):
            raise FormatError("'%s': categories[%d]: field 'name': not a "
                              "string" % (source, i))
        names.append(nm)
    cols = _detgrid.records(anns, "annotations", False)
    p = _detgrid.Project()
    p.import_arrays(source, None, False,
                    np.frombuffer(cols["image_id"], np.int64),
                    np.frombuffer(cols["category_id"], np.int64),
                    np.frombuffer(cols["bbox"], np.float64), None,
                    np.frombuffer(cols["area"], np.float64),
                    np.frombuffer(cols["iscrowd"], np.uint8),
                    np.frombuffer(cols["ignore"], np.uint8),
                    img_ids, width, height, cat_ids, names)
    return p


def detection_columns(res):
    """The columns (image_id, category_id, bbox, score) of results: a list
    of dicts, or pycocotools' N x 7 array [image, x, y, w, h, score,
    class]."""
    if isinstance(res, np.ndarray):
        a = f64(res)
        if a.ndim != 2 or a.shape[1] != 7:
            raise ValueError("results: an N x 7 array [image_id, x, y, w, "
                             "h, score, category_id], got shape %s" %
                             (a.shape,))
        return {"image_id": i64(a[:, 0]), "category_id": i64(a[:, 6]),
                "bbox": np.ascontiguousarray(a[:, 1:5]),
                "score": np.ascontiguousarray(a[:, 5])}
    cols = _detgrid.records(res, "results", True)
    return {"image_id": np.frombuffer(cols["image_id"], np.int64),
            "category_id": np.frombuffer(cols["category_id"], np.int64),
            "bbox": np.frombuffer(cols["bbox"], np.float64).reshape(-1, 4),
            "score": np.frombuffer(cols["score"], np.float64)}


def import_detections(proj, name, cols, source="results", replace=False):
    n = len(cols["image_id"])
    proj.import_arrays(source, name, replace, i64(cols["image_id"]),
                       i64(cols["category_id"]), boxes(cols["bbox"], n),
                       f64(cols["score"]), None, None, None, None, None,
                       None, None, None)


def warm_devices():
    """Starts loading the OpenCL platforms on a thread of the extension's
    own (once per process), so that it overlaps reading the input; the
    first evaluation waits for it. Not when DETGRID_DEVICE asks for the
    reference path, which needs no platform."""
    if not (os.environ.get("DETGRID_DEVICE") or "").startswith("ref"):
        _detgrid.warm_devices()
