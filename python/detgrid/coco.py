"""pycocotools' COCO for boxes, over a detgrid project.

``COCO(path)`` reads the instances file with detgrid's C reader into a
project (no Python dicts); ``loadRes`` adds results to that project as an
inference set. What pycocotools users read from a COCO object (dataset,
anns, imgs, cats, imgToAnns, catToImgs, getAnnIds, loadAnns, ...) is
built from the JSON on first use, with pycocotools' semantics, so code
that only evaluates never pays for it.

Differences from pycocotools (docs/PYTHON.md): no annToRLE, annToMask or
showAnns; input is validated as ``detgrid import coco`` validates it (a
result on an unknown image or a negative box size raise
detgrid.FormatError naming the record and field, where pycocotools asserts
or goes on); getImgIds() without arguments lists the ids in ascending
order.
"""

import copy
import itertools
import json
import os
import time
import weakref
from collections import defaultdict

import numpy as np

from . import _convert, _detgrid

_set_counter = itertools.count(1)


def _drop_set(proj, name):
    try:
        proj.remove_inferences(name)
    except Exception:
        pass


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


class COCO:
    """pycocotools.coco.COCO for boxes: ``COCO(path_or_dict)``."""

    def __init__(self, annotation_file=None):
        self._proj = None       # the project holding the ground truth
        self._path = None       # the file it came from
        self._dataset = None    # the parsed JSON, on first use
        self._index = None
        self._gt = None         # results: the ground truth COCO
        self._set = None        # results: its inference set name
        self._res_source = None  # results: what loadRes was given
        self._finalizer = None
        self.warnings = []
        if annotation_file is None:
            self._dataset = {}
            return
        _convert.warm_devices()
        if isinstance(annotation_file, dict):
            self._dataset = annotation_file
            self._proj = _convert.project_from_dataset(annotation_file)
            self.warnings = self._take_warnings()
            return
        print("loading annotations into memory...")
        tic = time.time()
        self._path = os.fspath(annotation_file)
        self._proj = _detgrid.Project()
        # Boxes, areas and keypoints: what box and keypoint evaluations
        # read. The masks (polygons rasterized) come on first use.
        self._proj.import_coco(self._path, None, False, False)
        self.warnings = self._take_warnings()
        print("Done (t={:0.2f}s)".format(time.time() - tic))
        print("creating index...")
        print("index created!")

    def _take_warnings(self):
        w = self._proj.take_warnings()
        return w.splitlines() if w else []

    # ---- the project under it -------------------------------------------

    def _project(self, shapes=False):
        """The project of the ground truth (built from the dataset dict
        when there is none yet); shapes: one with its masks and keypoints
        (a file is read again with its masks, a dict goes through JSON,
        once)."""
        if self._gt is not None:
            return self._gt._project(shapes)
        if self._proj is None:
            self._proj = _convert.project_from_dataset(self.dataset)
        if shapes and self._path is not None:
            if getattr(self, "_proj_shapes", None) is None:
                p = _detgrid.Project()
                p.import_coco(self._path)
                w = p.take_warnings()
                # What reading the masks found that the boxes did not.
                self.warnings += [x for x in (w.splitlines() if w else [])
                                  if x not in self.warnings]
                self._proj_shapes = p
            return self._proj_shapes
        if shapes and self._path is None and \
                _convert.has_shapes(self.dataset.get("annotations") or []):
            if getattr(self, "_proj_shapes", None) is None:
                self._proj_shapes = _convert.project_from_dataset(
                    self.dataset, shapes=True)
            return self._proj_shapes
        return self._proj

    def _result_set(self, gt_proj, shapes=False):
        """The inference set of these results in gt_proj: their own when
        they were loaded by that ground truth, else a new one (dropped
        with the returned finalizer). shapes: with their masks and
        keypoints."""
        if self._gt is not None and self._gt._project() is gt_proj:
            return self._set, None
        name = "res-%d" % next(_set_counter)
        src = self._res_source
        if src is not None and src[0] == "path":
            gt_proj.import_coco(src[1], name, False)
        elif shapes and src is not None and src[0] == "list":
            _convert.import_records_json(gt_proj, name, list(src[1]))
        else:
            _convert.import_detections(
                gt_proj, name, self._detection_columns())
        return name, weakref.finalize(self, _drop_set, gt_proj, name)

    def _detection_columns(self):
        src = self._res_source
        if src is not None and src[0] == "columns":
            return src[1]
        return _convert.detection_columns(self.dataset.get("annotations",
                                                           []))

    # ---- pycocotools' dataset and index, built on first use ------------

    @property
    def dataset(self):
        if self._dataset is None:
            if self._gt is not None:
                self._dataset = self._results_dataset()
            else:
                with open(self._path) as f:
                    self._dataset = json.load(f)
        return self._dataset

    @dataset.setter
    def dataset(self, value):
        self._dataset = value
        self._index = None

    def _results_dataset(self):
        """loadRes's dataset: the ground truth's images and the results
        with pycocotools' additions (id, area, iscrowd, segmentation)."""
        res = {"images": [img for img in self._gt.dataset["images"]]}
        kind, src = self._res_source
        if kind == "path":
            with open(src) as f:
                anns = json.load(f)
            if isinstance(anns, dict):
                anns = anns.get("annotations", [])
        elif kind == "numpy":
            anns = self.loadNumpyAnnotations(src)
        else:
            anns = copy.deepcopy(list(src)) if kind == "list" else []
        if anns and "bbox" in anns[0] and anns[0]["bbox"] != []:
            res["categories"] = copy.deepcopy(self._gt.dataset["categories"])
            for i, ann in enumerate(anns):
                bb = ann["bbox"]
                x1, x2, y1, y2 = [bb[0], bb[0] + bb[2], bb[1], bb[1] + bb[3]]
                if "segmentation" not in ann:
                    ann["segmentation"] = [[x1, y1, x1, y2, x2, y2, x2, y1]]
                ann["area"] = bb[2] * bb[3]
                ann["id"] = i + 1
                ann["iscrowd"] = 0
        res["annotations"] = anns
        return res

    def _ensure_index(self):
        if self._index is not None:
            return self._index
        ds = self.dataset
        anns, cats, imgs = {}, {}, {}
        img_to_anns, cat_to_imgs = defaultdict(list), defaultdict(list)
        for ann in ds.get("annotations", []):
            img_to_anns[ann["image_id"]].append(ann)
            anns[ann["id"]] = ann
        for img in ds.get("images", []):
            imgs[img["id"]] = img
        for cat in ds.get("categories", []):
            cats[cat["id"]] = cat
        if "annotations" in ds and "categories" in ds:
            for ann in ds["annotations"]:
                cat_to_imgs[ann["category_id"]].append(ann["image_id"])
        self._index = (anns, cats, imgs, img_to_anns, cat_to_imgs)
        return self._index

    def createIndex(self):
        print("creating index...")
        self._index = None
        self._ensure_index()
        print("index created!")

    @property
    def anns(self):
        return self._ensure_index()[0]

    @property
    def cats(self):
        return self._ensure_index()[1]

    @property
    def imgs(self):
        return self._ensure_index()[2]

    @property
    def imgToAnns(self):
        return self._ensure_index()[3]

    @property
    def catToImgs(self):
        return self._ensure_index()[4]

    def info(self):
        for key, value in self.dataset["info"].items():
            print("{}: {}".format(key, value))

    # ---- queries, as pycocotools answers them ---------------------------

    def getAnnIds(self, imgIds=[], catIds=[], areaRng=[], iscrowd=None):
        imgIds = imgIds if _is_list(imgIds) else [imgIds]
        catIds = catIds if _is_list(catIds) else [catIds]
        if len(imgIds) == len(catIds) == len(areaRng) == 0:
            anns = self.dataset["annotations"]
        else:
            if not len(imgIds) == 0:
                lists = [self.imgToAnns[i] for i in imgIds
                         if i in self.imgToAnns]
                anns = list(itertools.chain.from_iterable(lists))
            else:
                anns = self.dataset["annotations"]
            if len(catIds) != 0:
                anns = [a for a in anns if a["category_id"] in catIds]
            if len(areaRng) != 0:
                anns = [a for a in anns
                        if areaRng[0] < a["area"] < areaRng[1]]
        if iscrowd is not None:
            return [a["id"] for a in anns if a["iscrowd"] == iscrowd]
        return [a["id"] for a in anns]

    def getCatIds(self, catNms=[], supNms=[], catIds=[]):
        catNms = catNms if _is_list(catNms) else [catNms]
        supNms = supNms if _is_list(supNms) else [supNms]
        catIds = catIds if _is_list(catIds) else [catIds]
        if (len(catNms) == len(supNms) == len(catIds) == 0 and
                self._dataset is None and self._proj is not None):
            # Without filters the project knows: no JSON needed.
            return [int(x) for x in
                    np.frombuffer(self._proj.ids("classes"), np.int64)]
        cats = self.dataset["categories"]
        if len(catNms) != 0:
            cats = [c for c in cats if c["name"] in catNms]
        if len(supNms) != 0:
            cats = [c for c in cats if c["supercategory"] in supNms]
        if len(catIds) != 0:
            cats = [c for c in cats if c["id"] in catIds]
        return [c["id"] for c in cats]

    def getImgIds(self, imgIds=[], catIds=[]):
        imgIds = imgIds if _is_list(imgIds) else [imgIds]
        catIds = catIds if _is_list(catIds) else [catIds]
        if (len(imgIds) == len(catIds) == 0 and self._dataset is None and
                self._proj is not None):
            return [int(x) for x in
                    np.frombuffer(self._proj.ids("frames"), np.int64)]
        if len(imgIds) == len(catIds) == 0:
            ids = self.imgs.keys()
        else:
            ids = set(imgIds)
            for i, cat_id in enumerate(catIds):
                if i == 0 and len(ids) == 0:
                    ids = set(self.catToImgs[cat_id])
                else:
                    ids &= set(self.catToImgs[cat_id])
        return list(ids)

    def loadAnns(self, ids=[]):
        if _is_list(ids):
            return [self.anns[i] for i in ids]
        if isinstance(ids, int):
            return [self.anns[ids]]

    def loadCats(self, ids=[]):
        if _is_list(ids):
            return [self.cats[i] for i in ids]
        if isinstance(ids, int):
            return [self.cats[ids]]

    def loadImgs(self, ids=[]):
        if _is_list(ids):
            return [self.imgs[i] for i in ids]
        if isinstance(ids, int):
            return [self.imgs[ids]]

    def loadRes(self, resFile):
        """Results (a file, a list of dicts or pycocotools' N x 7 array)
        as a COCO object of this ground truth."""
        res = COCO()
        res._dataset = None
        res._gt = self
        print("Loading and preparing results...")
        tic = time.time()
        proj = self._project()
        name = "res-%d" % next(_set_counter)
        if _is_path(resFile):
            path = os.fspath(resFile)
            proj.import_coco(path, name, False)
            res._res_source = ("path", path)
        elif isinstance(resFile, np.ndarray):
            cols = _convert.detection_columns(resFile)
            _convert.import_detections(proj, name, cols)
            res._res_source = ("numpy", resFile)
        elif _convert.has_shapes(resFile):
            # Masks or keypoints: through the COCO importer, which reads
            # them (the ground truth's own project, which has them when it
            # came from a file).
            _convert.import_records_json(proj, name, list(resFile))
            res._res_source = ("list", resFile)
        else:
            cols = _convert.detection_columns(resFile)
            _convert.import_detections(proj, name, cols)
            res._res_source = ("list", resFile)
        res.warnings = [w for w in proj.take_warnings().splitlines() if w]
        res._set = name
        res._finalizer = weakref.finalize(res, _drop_set, proj, name)
        print("DONE (t={:0.2f}s)".format(time.time() - tic))
        return res

    def loadNumpyAnnotations(self, data):
        """pycocotools' conversion of an N x 7 array to result dicts."""
        print("Converting ndarray to lists...")
        assert type(data) == np.ndarray
        assert data.shape[1] == 7
        N = data.shape[0]
        ann = []
        for i in range(N):
            if i % 1000000 == 0:
                print("{}/{}".format(i, N))
            ann += [{"image_id": int(data[i, 0]),
                     "bbox": [data[i, 1], data[i, 2], data[i, 3],
                              data[i, 4]],
                     "score": data[i, 5],
                     "category_id": int(data[i, 6])}]
        return ann

    def showAnns(self, anns, draw_bbox=False):
        raise NotImplementedError("detgrid's COCO has no drawing; use "
                                  "pycocotools for showAnns")

    def download(self, tarDir=None, imgIds=[]):
        raise NotImplementedError("detgrid's COCO does not download images")

    def annToRLE(self, ann):
        raise NotImplementedError("detgrid's COCO evaluates boxes; masks "
                                  "(annToRLE) need pycocotools")

    def annToMask(self, ann):
        raise NotImplementedError("detgrid's COCO evaluates boxes; masks "
                                  "(annToMask) need pycocotools")


def _is_list(x):
    return hasattr(x, "__iter__") and hasattr(x, "__len__")
