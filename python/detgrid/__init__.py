"""detgrid: object-detection evaluation, from Python.

The C library under it matches detections once, at every IoU threshold of
a grid, on an OpenCL device or a plain-C reference path with identical
bytes, and answers every later question from the stored grid. From here:

- a pycocotools drop-in for boxes, bit for bit::

      from detgrid import COCO, COCOeval
      gt = COCO("instances_val2017.json")
      dt = gt.loadRes("detections.json")
      E = COCOeval(gt, dt, "bbox")
      E.evaluate(); E.accumulate(); E.summarize()

- array-in evaluation (no JSON) and an accumulator for validation loops::

      r = detgrid.evaluate(targets, preds)   # mappings of arrays
      r.stats, r.metrics(conf=0.3, iou=0.5)

- the project API: detgrid.Project(path) with every query of the CLI.

Failures raise detgrid.Error subclasses with the library's message.
"""

from . import _detgrid
from ._errors import (Error, ExistsError, FileError, FormatError,
                      InvalidArgumentError, MismatchError, NoDeviceError,
                      NotFoundError, OpenCLError, OutOfMemoryError,
                      RangeError, StaleError, VersionError)
from .coco import COCO
from .cocoeval import COCOeval, Params
from .arrays import EvalResult, Evaluator, evaluate
from .project import DetgridWarning, Project, devices

__version__ = _detgrid.version

__all__ = [
    "COCO", "COCOeval", "Params", "Project", "evaluate", "Evaluator",
    "EvalResult", "DetgridWarning", "devices", "Error", "ExistsError",
    "FileError", "FormatError", "InvalidArgumentError", "MismatchError",
    "NoDeviceError", "NotFoundError", "OpenCLError", "OutOfMemoryError",
    "RangeError", "StaleError", "VersionError", "__version__",
]
