"""The catalogue of bad inputs: each case runs the CLI on one bad input and
asserts the exact error message (the file, the record and the field it
names) and the exit code, and that nothing was written.

Covered: missing, unreadable and non-regular input files; not JSON; JSON of
the wrong types; duplicate and unknown ids; NaN, infinite and negative
boxes; empty datasets and datasets without classes; huge numbers and huge
counts; names that are not UTF-8 (JSON, txt files, file names, project
files); project files of a newer, an impossible or no format version;
truncated and non-HDF5 project files; outputs that cannot be written; a
full disk (DETGRID_FAULT=enospc); an OpenCL device that fails
(DETGRID_FAULT=cl-build, cl-oom, cl-none), which falls back to the
reference path with a warning and byte-identical results.

Malformed project files written with h5py (wrong types, shapes, indices)
are catalogued in tests/test_h5py_project.py; import errors that must leave
an existing output unchanged in tests/test_cli.py (test_import).
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import subprocess  # noqa: E402

from dgtest import (BIN, EXIT_ERROR, Checker, Result, TempDir,  # noqa: E402
                    file_bytes, main_wrapper)


def run(args, rc=0, env=None):
    """dgtest.run, but messages may quote paths that are not UTF-8."""
    args = [str(a) for a in args]
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BIN] + args, env=e, capture_output=True, timeout=300,
                       encoding="utf-8", errors="surrogateescape")
    if rc is not None and p.returncode != rc:
        raise AssertionError("detgrid %s: exit %d, expected %d\n%s" % (
            " ".join(args), p.returncode, rc, p.stderr[-4000:]))
    return Result(args, p.returncode, p.stdout, p.stderr)

GT = {"images": [{"id": 1, "width": 100, "height": 80}, {"id": 2}],
      "categories": [{"id": 1, "name": "cat"}, {"id": 3, "name": "dog"}],
      "annotations": [{"id": 10, "image_id": 1, "category_id": 1,
                       "bbox": [1, 2, 30, 40], "area": 1200},
                      {"id": 11, "image_id": 2, "category_id": 3,
                       "bbox": [5, 5, 10, 10]}]}
DT = [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40], "score": 0.9},
      {"image_id": 2, "category_id": 3, "bbox": [6, 5, 10, 10], "score": 0.4}]


def is_root():
    return hasattr(os, "geteuid") and os.geteuid() == 0


class Catalogue:
    def __init__(self, ck, d):
        self.ck, self.d = ck, d
        self.n = 0

    def path(self, name):
        return os.path.join(self.d, name)

    def write(self, name, content):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode())
        return p

    def expect(self, args, message, rc=EXIT_ERROR, env=None, what=None):
        """Runs detgrid args; asserts rc and that stderr has the line
        'error: <message>' exactly (message may be a callable checking the
        line). Returns the result."""
        self.n += 1
        r = run(args, rc=rc, env=env)
        lines = [ln[len("error: "):] for ln in r.err.splitlines()
                 if ln.startswith("error: ")]
        what = what or " ".join(str(a) for a in args)
        self.ck.eq(len(lines), 1, "%s: one error line in %r" % (what, r.err))
        if callable(message):
            self.ck.ok(message(lines[0]), "%s: unexpected message %r" % (what, lines[0]))
        else:
            self.ck.eq(lines[0], message, what)
        self.ck.eq(r.out, "", what + ": nothing on stdout")
        return r


def gt_variant(**changes):
    g = json.loads(json.dumps(GT))
    for k, v in changes.items():
        g[k] = v
    return json.dumps(g)


def ann(**kv):
    a = {"id": 10, "image_id": 1, "category_id": 1, "bbox": [1, 2, 30, 40]}
    a.update(kv)
    return a


def test_input_files(c):
    """Files that cannot be read at all."""
    out = c.path("never.h5")
    missing = c.path("missing.json")
    c.expect(["import", "coco", "--gt", missing, "-o", out],
             "'%s': cannot open: No such file or directory" % missing)
    c.expect(["import", "coco", "--gt", c.d, "-o", out],
             "'%s': cannot read: Is a directory" % c.d)
    if is_root():
        print("unreadable-file case skipped: running as root, which reads "
              "any file")
    else:
        p = c.write("unreadable.json", json.dumps(GT))
        os.chmod(p, 0)
        c.expect(["import", "coco", "--gt", p, "-o", out],
                 "'%s': cannot open: Permission denied" % p)
        os.chmod(p, 0o644)
    c.expect(["info", c.path("missing.h5")],
             "cannot open '%s': No such file or directory" % c.path("missing.h5"))
    c.ck.ok(not os.path.exists(out), "no output after failed imports")


def test_json(c):
    out = c.path("never.h5")
    cases = [
        # name, content, message after "'<file>': "
        ("not-json", "hello", "not valid JSON near byte 0 (line 1): expected a value"),
        ("trailing", json.dumps(GT) + " x",
         lambda m: "not valid JSON" in m and "line 1" in m),
        ("top-array", "[1, 2]", "top level is an array: this looks like a "
         "COCO results file (a list of detections), not an instances file "
         "(an object with 'categories', 'images' and 'annotations')"),
        ("top-number", "3", "top level is not an object (got number)"),
        ("images-object", gt_variant(images={"id": 1}),
         "field 'images': not an array (got object)"),
        ("id-mixed", gt_variant(images=[{"id": "1"}, {"id": 2}]),
         "images[1]: field 'id': a number, but images[0] has a string id: "
         "image ids must all be numbers or all be strings"),
        ("bbox-string", gt_variant(annotations=[ann(bbox="1,2,3,4")]),
         lambda m: m.startswith("annotations[0]: field 'bbox'")),
        ("bbox-short", gt_variant(annotations=[ann(bbox=[1, 2, 3])]),
         lambda m: m.startswith("annotations[0]: field 'bbox'") and "4" in m),
        ("dup-image", gt_variant(images=[{"id": 1}, {"id": 1}]),
         "images[1]: field 'id': duplicate image 1 (also images[0])"),
        ("dup-category", gt_variant(categories=[{"id": 1, "name": "a"},
                                                {"id": 1, "name": "b"}]),
         "categories[1]: field 'id': duplicate category 1 (also categories[0])"),
        ("unknown-image", gt_variant(annotations=[ann(image_id=7)]),
         "annotations[0]: field 'image_id': unknown image 7"),
        ("unknown-category", gt_variant(annotations=[ann(category_id=9)]),
         "annotations[0]: field 'category_id': unknown category 9"),
        ("negative-w", gt_variant(annotations=[ann(bbox=[0, 0, -1, 1])]),
         "annotations[0]: field 'bbox': width is negative (-1)"),
        ("negative-h", gt_variant(annotations=[ann(bbox=[0, 0, 1, -2.5])]),
         "annotations[0]: field 'bbox': height is negative (-2.5)"),
        # NaN as Python's json writes it: read, refused where a finite
        # number is needed
        ("nan", gt_variant(annotations=[ann()]).replace("[1, 2, 30, 40]", "[NaN, 2, 30, 40]"),
         "annotations[0]: field 'bbox': x is not a finite number (nan)"),
        ("nan-misspelt", gt_variant(annotations=[ann()]).replace("[1, 2, 30, 40]", "[nan, 2, 30, 40]"),
         lambda m: m.startswith("not valid JSON near byte") and "expected a value" in m),
        ("inf", gt_variant(annotations=[ann()]).replace("[1, 2, 30, 40]", "[1e999, 2, 30, 40]"),
         "annotations[0]: field 'bbox': x is not a finite number (inf)"),
        ("empty", gt_variant(images=[], annotations=[]), "field 'images': no images"),
        ("no-classes", gt_variant(categories=[], annotations=[]),
         "field 'categories': no categories"),
        ("huge-id", gt_variant(images=[{"id": 10 ** 23}], annotations=[]),
         "images[0]: field 'id': out of range (1e+23)"),
        ("huge-area", gt_variant(annotations=[ann(area=1e400)]).replace("Infinity", "1e400"),
         "annotations[0]: field 'area': not a finite number (inf)"),
        # masks and keypoints (docs/MASKS.md)
        ("segm-odd", gt_variant(annotations=[ann(segmentation=[[1, 2, 3]])]),
         "annotations[0]: field 'segmentation': polygon 0 has 3 numbers, "
         "expected pairs x, y (at least one)"),
        ("segm-not-number", gt_variant(annotations=[ann(segmentation=[[1, 2, "3", 4]])]),
         "annotations[0]: field 'segmentation': polygon 0: value 2 is not a "
         "number (got string)"),
        ("segm-chars", gt_variant(annotations=[ann(segmentation={
            "size": [80, 100], "counts": "0~"})]),
         "annotations[0]: field 'segmentation': counts: character 1 is not "
         "one of '0'..'o'"),
        ("segm-cover", gt_variant(annotations=[ann(segmentation={
            "size": [4, 5], "counts": [3, 4]})]),
         "annotations[0]: field 'segmentation': counts: runs cover 7 pixels, "
         "the size 4 x 5 has 20"),
        ("segm-size", gt_variant(annotations=[ann(segmentation={
            "size": [4], "counts": [20]})]),
         "annotations[0]: field 'segmentation': 'size' is not [height, width], "
         "two whole numbers >= 1"),
        ("segm-no-image-size", gt_variant(annotations=[ann(
            image_id=2, segmentation=[[1, 1, 5, 1, 5, 5]])]),
         "annotations[0]: field 'segmentation': polygons need the image's "
         "width and height (the image has none)"),
        ("kp-pairs", gt_variant(annotations=[ann(keypoints=[1, 2])]),
         "annotations[0]: field 'keypoints': has 2 numbers, expected x, y, v "
         "triples"),
        ("kp-count", gt_variant(annotations=[ann(keypoints=[1, 2, 2],
                                                 num_keypoints=-1)]),
         "annotations[0]: field 'num_keypoints': out of range (-1)"),
    ]
    # what the default accepts with a warning, --strict refuses
    strict_cases = [
        ("id-string", gt_variant(images=[{"id": "1"}]),
         "images[0]: field 'id': not a number (got string)"),
        ("dup-name", gt_variant(categories=[{"id": 1, "name": "a"},
                                            {"id": 2, "name": "a"}]),
         "categories[1]: field 'name': duplicate name 'a' (also categories[0])"),
        ("no-name", gt_variant(categories=[{"id": 1}]),
         "categories[0]: field 'name': missing"),
    ]
    for strict, cs in ((False, cases), (True, strict_cases)):
        for name, content, msg in cs:
            p = c.write("%s.json" % name, content)
            full = msg if callable(msg) else "'%s': %s" % (p, msg)
            if callable(msg):
                full = (lambda m0, pp: lambda line: line.startswith("'%s': " % pp)
                        and m0(line[len("'%s': " % pp):]))(msg, p)
            c.expect(["import", "coco", "--gt", p, "-o", out] +
                     (["--strict"] if strict else []), full,
                     what="json " + name)
    # a name that is not UTF-8
    p = c.write("latin1.json", json.dumps(GT).replace('"cat"', '"caf\\u00e9"')
                .encode().replace(b"caf\\u00e9", b"caf\xe9"))
    c.expect(["import", "coco", "--gt", p, "-o", out],
             lambda m: m.startswith("'%s': not valid JSON near byte" % p)
             and m.endswith("invalid UTF-8"), what="json non-UTF-8 name")
    c.ck.ok(not os.path.exists(out), "no output after failed imports")

    # results files against a good project
    proj = c.path("good.h5")
    run(["import", "coco", "--gt", c.write("gt.json", json.dumps(GT)), "-o", proj])
    before = file_bytes(proj)

    def det(**kv):
        a = dict(DT[0])
        a.update(kv)
        return [a]

    dcases = [
        ("dt-object", json.dumps({"x": 1}),
         lambda m: "annotations" in m or "array" in m),
        ("dt-unknown-image", json.dumps(det(image_id=5)),
         "[0]: field 'image_id': unknown image 5"),
        ("dt-unknown-category", json.dumps(det(category_id=2)),
         "[0]: field 'category_id': unknown category 2", ["--strict"]),
        ("dt-score-high", json.dumps(det(score=1.5)),
         "[0]: field 'score': out of range [0, 1] (1.5)", ["--strict"]),
        ("dt-score-nan", json.dumps(det(score=float("nan"))),
         "[0]: field 'score': not a finite number (nan)"),
        ("dt-instances", json.dumps(GT),
         "this is a COCO instances file (ground truth: it has 'images' and "
         "'categories', and its annotations no scores), not a results file "
         "(a list of detections with scores)"),
        ("dt-score-missing", json.dumps([{k: v for k, v in DT[0].items() if k != "score"}]),
         "[0]: field 'score': missing"),
        ("dt-negative", json.dumps(det(bbox=[0, 0, 5, -1])),
         "[0]: field 'bbox': height is negative (-1)"),
        ("dt-inf", json.dumps(det()).replace("0.9", "-1e999"),
         lambda m: "[0]: field 'score'" in m),
        ("dt-nothing", json.dumps([{k: v for k, v in DT[0].items() if k != "bbox"}]),
         "[0]: field 'bbox': missing (and no 'segmentation' or 'keypoints' "
         "to take it from)"),
        ("dt-first-decides", json.dumps(
            [DT[0], {"image_id": 1, "category_id": 1, "score": 0.5,
                     "segmentation": {"size": [80, 100], "counts": [8000]}}]),
         "[1]: field 'bbox': missing (the first detection has one, and "
         "pycocotools takes every detection's box and area as the first's)"),
        ("dt-segm-cover", json.dumps(det(segmentation={"size": [2, 2],
                                                       "counts": "1"})),
         "[0]: field 'segmentation': counts: runs cover 1 pixels, the size "
         "2 x 2 has 4"),
    ]
    for case in dcases:
        name, content, msg = case[:3]
        extra = case[3] if len(case) > 3 else []
        p = c.write("%s.json" % name, content)
        if callable(msg):
            full = (lambda m0, pp: lambda line: line.startswith("'%s': " % pp)
                    and m0(line[len("'%s': " % pp):]))(msg, p)
        else:
            full = "'%s': %s" % (p, msg)
        c.expect(["import", "coco", "--dt", p, "--name", "m", "-o", proj] +
                 extra, full, what="json " + name)
        c.ck.ok(file_bytes(proj) == before, name + ": the project changed")


def test_txt(c):
    """Names that are not UTF-8 in the folder formats."""
    out = c.path("never.h5")
    gt, dt = c.path("txt/gt"), c.path("txt/dt")
    c.write("txt/gt/a.txt", b"caf\xe9 1 2 30 40\n")
    c.write("txt/dt/a.txt", b"cat 0.5 1 2 30 40\n")
    c.expect(["import", "cartucho", "--gt-dir", gt, "--dt-dir", dt, "-o", out],
             "'%s/a.txt': line 1: field 'class': class name is not valid UTF-8" % gt)
    c.write("txt/gt/a.txt", b"cat 1 2 30 40\n")
    names = c.write("txt/names.txt", b"cat\ncaf\xe9\n")
    c.expect(["import", "cartucho", "--gt-dir", gt, "--dt-dir", dt,
              "--names", names, "-o", out],
             "'%s': line 2: class name is not valid UTF-8" % names)
    c.write(os.fsdecode(b"txt/gt/b\xff.txt"), b"cat 1 2 3 4\n")
    c.expect(["import", "cartucho", "--gt-dir", gt, "--dt-dir", dt, "-o", out],
             lambda m: m.endswith("the file name (the frame id) is not valid UTF-8")
             and m.startswith("'%s/b" % gt), what="txt non-UTF-8 file name")
    c.ck.ok(not os.path.exists(out), "no output after failed imports")


def small_project(c, name):
    p = c.path(name)
    run(["synth", "-o", p, "--frames", "20", "--classes", "3", "--seed", "5"])
    run(["eval", p, "-q", "--device", "ref"])
    return p


def mutated(c, src, name, fn):
    p = c.path(name)
    shutil.copyfile(src, p)
    with h5py.File(p, "r+") as f:
        fn(f)
    return p


def test_project_files(c):
    base = small_project(c, "base.h5")

    def version(v):
        def fn(f):
            if v is None:
                del f.attrs["format_version"]
            else:
                f.attrs["format_version"] = np.int32(v)
        return fn

    p = mutated(c, base, "v2.h5", version(2))
    for cmd in (["info", p], ["metrics", p], ["eval", p, "-q"]):
        c.expect(cmd, "'%s' was written by a newer detgrid (format version 2); this "
                 "detgrid reads up to 1: upgrade detgrid" % p)
    p = mutated(c, base, "v0.h5", version(0))
    c.expect(["info", p], "'%s': format_version 0 is not a detgrid format "
             "version (they start at 1; this detgrid reads 1 to 1): the file "
             "was not written by detgrid" % p)
    p = mutated(c, base, "v-1.h5", version(-1))
    c.expect(["info", p], "'%s': format_version -1 is not a detgrid format "
             "version (they start at 1; this detgrid reads 1 to 1): the file "
             "was not written by detgrid" % p)
    p = mutated(c, base, "vnone.h5", version(None))
    c.expect(["info", p], "'%s': root attribute 'format_version' is missing "
             "(every detgrid project has it; a file written by hand needs "
             "format_version = 1, see docs/FORMAT.md)" % p)
    # results of a newer results version
    p = mutated(c, base, "r3.h5", lambda f: f["results/model-a"].attrs.__setitem__(
        "results_version", np.int32(3)))
    c.expect(["metrics", p], "'%s': /results/model-a: results_version 3 is not "
             "supported (this detgrid reads 1 and 2); upgrade detgrid or run "
             "'detgrid eval' again" % p)

    # not HDF5, truncated
    txt = c.write("text.h5", "hello\n")
    c.expect(["info", txt], "'%s' is not an HDF5 file" % txt)
    data = file_bytes(base)
    for k in (64, 2048, len(data) // 2, len(data) - 64):
        t = c.write("trunc-%d.h5" % k, data[:k])
        for cmd in (["info", t], ["metrics", t], ["eval", t, "-q"]):
            c.expect(cmd, lambda m, t=t: m in (
                "'%s' is not an HDF5 file" % t,
                "cannot open '%s': HDF5 cannot read it (damaged or truncated?)" % t),
                what="truncated to %d: %s" % (k, cmd[0]))
        c.ck.eq(file_bytes(t), data[:k], "a truncated file was changed")

    # huge counts: offsets and attributes claiming far more than the file holds
    def set_ds(path, fn):
        def f2(f):
            v = fn(f[path][()])
            del f[path]
            f[path] = v
        return f2

    def last(v):
        def fn(a):
            a = a.copy()
            a[-1] = v
            return a
        return fn

    n_det = int(h5py.File(base, "r")["results/model-a/class_offsets"][-1])
    p = mutated(c, base, "huge-class-off.h5",
                set_ds("results/model-a/class_offsets", last(np.uint64(1 << 40))))
    c.expect(["metrics", p], "'%s': /results/model-a/class_offsets counts "
             "1099511627776 detections, but /results/model-a/score has %d "
             "values" % (p, n_det))
    p = mutated(c, base, "huge-class-off2.h5",
                set_ds("results/model-a/class_offsets", last(np.uint64((1 << 64) - 1))))
    c.expect(["metrics", p], "'%s': /results/model-a/class_offsets counts "
             "18446744073709551615 detections, but /results/model-a/score "
             "has %d values" % (p, n_det))
    n_gt = int(h5py.File(base, "r")["labels/frame"].shape[0])
    p = mutated(c, base, "huge-ngt.h5", lambda f: f["results/model-a"].attrs.__setitem__(
        "n_gt", np.uint64(1 << 40)))
    c.expect(["confusion", p], "'%s': /results/model-a/label_class has %d "
             "values, n_gt is 1099511627776" % (p, n_gt))
    p = mutated(c, base, "huge-offsets.h5",
                set_ds("labels/frame_offsets", last(np.uint64(1 << 40))))
    c.expect(["eval", p, "-q"], "'%s': /labels/frame_offsets is not a "
             "non-decreasing list from 0 to %d" % (p, n_gt))

    def big_x(f):
        del f["labels/x"]
        f["labels"].create_dataset("x", shape=(1 << 36,), dtype="f8",
                                   chunks=(1 << 20,))
    p = mutated(c, base, "huge-dataset.h5", big_x)
    c.expect(["eval", p, "-q"], "'%s': dataset '/labels/x' has 68719476736 "
             "values, expected %d" % (p, n_gt))

    def bad_name(f):
        names = [s.encode() if isinstance(s, str) else s
                 for s in f["classes/name"].asstr(errors="surrogateescape")[()]]
        names[1] = b"caf\xe9"
        del f["classes/name"]
        f.create_dataset("classes/name", data=np.array(names, dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
    p = mutated(c, base, "latin1.h5", bad_name)
    c.expect(["info", p], "'%s': dataset '/classes/name' record 1: not valid "
             "UTF-8" % p)


def test_outputs(c):
    good = c.write("gt2.json", json.dumps(GT))
    p = c.path("nodir/sub/out.h5")
    c.expect(["import", "coco", "--gt", good, "-o", p],
             "cannot write '%s': directory '%s': No such file or directory"
             % (p, os.path.dirname(p)), what="missing directory")
    notdir = c.write("plain-file", "x")
    p = os.path.join(notdir, "out.h5")
    c.expect(["import", "coco", "--gt", good, "-o", p],
             "cannot write '%s': '%s' is not a directory" % (p, notdir),
             what="parent is a file")
    if is_root():
        print("read-only-directory case skipped: running as root, which "
              "writes anywhere")
    else:
        ro = c.path("readonly")
        os.mkdir(ro)
        os.chmod(ro, 0o555)
        p = os.path.join(ro, "out.h5")
        c.expect(["import", "coco", "--gt", good, "-o", p],
                 lambda m: m.startswith("cannot lock '%s': cannot open" % p)
                 and m.endswith("': Permission denied"), what="read-only directory")
        c.ck.eq(os.listdir(ro), [], "nothing left in the read-only directory")
        os.chmod(ro, 0o755)

    # a full disk, simulated: the old file stays byte for byte, no temporary
    sub = c.path("full")
    os.mkdir(sub)
    shutil.copyfile(c.path("base.h5"), os.path.join(sub, "p.h5"))
    p = os.path.join(sub, "p.h5")
    before = file_bytes(p)
    for args in (["eval", p, "-q", "--iou-thresholds", "0.5"],
                 ["import", "coco", "--gt", good, "-o", p, "--force"]):
        c.expect(args, "cannot write '%s': No space left on device (simulated: "
                 "DETGRID_FAULT=enospc); it is unchanged" % p,
                 env={"DETGRID_FAULT": "enospc"}, what="full disk: " + args[0])
        c.ck.ok(file_bytes(p) == before, "full disk changed the file")
        c.ck.eq(os.listdir(sub), ["p.h5"], "full disk left a temporary file")


def results_tables(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()].tobytes()
        f["results"].visititems(visit)
        for name, g in f["results"].items():
            for k, v in g.attrs.items():
                if k != "device":
                    out["%s@%s" % (name, k)] = np.asarray(v).tobytes()
    return out


def test_device_failure(c):
    """An OpenCL device that fails falls back to the reference path with a
    warning, and gives the same bytes."""
    have_cpu = "cpu" in run(["devices"], rc=None).out
    ref = c.path("dev-ref.h5")
    run(["synth", "-o", ref, "--frames", "60", "--classes", "4", "--seed", "8"])
    src = c.path("dev-src.h5")
    shutil.copyfile(ref, src)
    run(["eval", ref, "-q", "--device", "ref"])
    want_tables = results_tables(ref)
    want_metrics = run(["metrics", ref, "--json", "--conf", "0.3"]).out
    faults = [("cl-none", "no OpenCL platform found (simulated: DETGRID_FAULT=cl-none)")]
    if have_cpu:
        faults += [("cl-build", "simulated build failure (DETGRID_FAULT=cl-build)"),
                   ("cl-oom", "simulated: DETGRID_FAULT=cl-oom")]
    else:
        print("cl-build and cl-oom cases skipped: no OpenCL CPU device")
    for fault, words in faults:
        p = c.path("dev-%s.h5" % fault)
        shutil.copyfile(src, p)
        r = run(["eval", p, "-q", "--device", "cpu"], env={"DETGRID_FAULT": fault})
        # One policy (host/engine/engine.c): "warning: OpenCL <stage>
        # failed, falling back to the reference path: <reason>".
        stage = "device" if fault == "cl-none" else "matching"
        c.ck.contains(r.err, "warning: OpenCL %s failed, falling back to the "
                      "reference path: " % stage, words,
                      what="fallback warning " + fault)
        c.ck.ok(results_tables(p) == want_tables,
                "%s: stored tables differ from the reference's" % fault)
        c.ck.eq(run(["metrics", p, "--json", "--conf", "0.3"]).out, want_metrics,
                "%s: metrics --json" % fault)
        c.n += 1


def main():
    ck = Checker("test_bad_inputs")
    with TempDir() as d:
        c = Catalogue(ck, d)
        test_input_files(c)
        test_json(c)
        test_txt(c)
        test_project_files(c)
        test_outputs(c)
        test_device_failure(c)
        print("%d bad inputs catalogued" % c.n)
    ck.done()


if __name__ == "__main__":
    main_wrapper(main)
