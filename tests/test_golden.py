#!/usr/bin/env python3
"""Golden outputs: every subcommand's stdout, stderr and exit code, and the
datasets of the project files, on small seeded projects, compared byte for
byte with the files under tests/golden/.

This is a regression net for refactors: it says nothing about whether an
output is right (the oracle tests do that), only that it did not change.

    .venv/bin/python tests/test_golden.py            compare; exit 1 with
                                                     diffs on any change
    .venv/bin/python tests/test_golden.py --update   rewrite tests/golden/
                    (after reviewing that a change of output is intended)
    (DETGRID_BIN=... selects the binary, default build/detgrid; ctest runs
    it as py_test_golden; --actual DIR writes what this build gives to DIR,
    --keep keeps the temporary workspace)

Every invocation runs in a fresh temporary directory with relative paths
(inputs from tests/data and ../shared/data are copied there first), with the
reference path forced (DETGRID_DEVICE=ref and --device ref on eval), LC_ALL=C
and TZ=UTC. One golden file per invocation: the command, the exit code,
stdout, stderr and any files it wrote; a stream over LARGE bytes is stored as
its size and sha256 plus its first HEAD_LINES lines. tests/golden/MANIFEST
lists every invocation in order with its exit code and the sha256 of its
golden file. The only rewriting before comparison is NORMALISATIONS below.

Exit status: 0 all equal (or --update done), 1 any difference, 77 (skip)
when the detgrid binary is missing. Inputs from ../shared/data that are
absent are skipped with a note (their golden files are then not compared).
"""

import argparse
import difflib
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GOLDEN = os.path.join(HERE, "golden")
MANIFEST = "MANIFEST"

LARGE = 20000       # bytes: larger streams are stored as sha256 + first lines
HEAD_LINES = 40     # lines kept of a large stream
HEAD_WIDTH = 240    # characters kept of each of those lines
DIFF_LINES = 40     # lines of unified diff printed per differing file


def _binary():
    b = os.environ.get("DETGRID_BIN")
    if not b:
        for d in ("build-py", "build"):
            p = os.path.join(REPO, d, "detgrid")
            if os.access(p, os.X_OK):
                b = p
                break
    if not b or not os.access(b, os.X_OK):
        print("test_golden: detgrid binary not found (DETGRID_BIN=%r); skipped"
              % os.environ.get("DETGRID_BIN"))
        sys.exit(77)
    os.environ["DETGRID_BIN"] = os.path.abspath(b)   # dgtest reads it
    return os.path.abspath(b)


_binary()
import dgtest  # noqa: E402  (after the binary check: dgtest exits without one)
from dgtest import TempDir  # noqa: E402


# --------------------------------------------------------------------------
# Normalisation: only what is genuinely not deterministic. Each entry is
# (why, pattern, replacement), applied in order to every text stream and
# text file. Nothing else is rewritten: numbers, names, order, spacing and
# messages must stay byte for byte. Timings become <T>.
#
# Device descriptions ("on reference", the results' "device" attribute,
# info's "evaluated on") are NOT rewritten: the reference path is forced
# (DETGRID_DEVICE=ref, eval --device ref), so they never name the machine's
# OpenCL device. The project files' own bytes are not compared at all (HDF5
# stores object modification times in them); their datasets and attributes
# are, through h5_dump().

_NUM = r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"

NORMALISATIONS = [
    # The workspace is a fresh mkdtemp() directory. Commands run inside it
    # with relative paths, so it should never appear; this is a safety net
    # (and it would show in the golden file as <TMP>).
    ("temporary directory", None, "<TMP>"),   # a plain replace in normalise()
    # eval on stderr: "... in 0.003 s on reference (load 0.001, order 0.001,
    # match 0.000)" -- wall-clock timings (tools/cmd-eval.c).
    ("eval: timings on stderr",
     re.compile(r"(IoU thresholds in )%s( s on .*?\(load )%s(, order )%s"
                r"(, match )%s(\))" % ((_NUM,) * 4)),
     r"\g<1><T>\g<2><T>\g<3><T>\g<4><T>\g<5>"),
    # eval on stderr: "stored results in 'x.h5' (0.015 s)" (tools/cmd-eval.c).
    ("eval: store time on stderr",
     re.compile(r"(stored results in '[^']*' \()%s( s\))" % _NUM),
     r"\g<1><T>\g<2>"),
    # eval --json: load_s, order_s, match_s, accumulate_s, total_s, store_s
    # and the device profile's upload_s, kernel_s, download_s.
    ("eval --json: timing fields",
     re.compile(r'("(?:load_s|order_s|match_s|accumulate_s|total_s|store_s|'
                r'upload_s|kernel_s|download_s)":\s*)%s' % _NUM),
     r'\g<1>"<T>"'),
    # eval --json: "threads": the machine's processors (tools/cmd-eval.c).
    ("eval --json: host threads",
     re.compile(r'("threads":\s*)[0-9]+'),
     r'\g<1>"<N>"'),
    # demo on stderr: "evaluated 'model-a' at 19 IoU thresholds in 0.004 s
    # on reference" (tools/cmd-demo.c).
    ("demo: eval time on stderr",
     re.compile(r"(evaluated '[^']*' at [0-9]+ IoU thresholds in )%s( s on )"
                % _NUM),
     r"\g<1><T>\g<2>"),
    # embeddings table header: "PCA: variance 3.451, 2.849; 0.033 s; k-means:
    # k = 4, 0.000 s" (tools/cmd-embeddings.c). The variances stay.
    ("embeddings: projection time",
     re.compile(r"^((?:PCA:|kNN layout from PCA of) variance [^;\n]*; )%s( s)"
                % _NUM, re.M),
     r"\g<1><T>\g<2>"),
    ("embeddings: k-means time",
     re.compile(r"(; k-means: k = [0-9]+(?: \(by [a-z]+\))?(?:, [0-9]+ merged)?, )"
                r"%s( s)" % _NUM),
     r"\g<1><T>\g<2>"),
    # slices: "... 1 reported; 0.055 s" (tools/cmd-slices.c).
    ("slices: search time",
     re.compile(r"( reported; )%s( s)$" % _NUM, re.M),
     r"\g<1><T>\g<2>"),
    # embeddings --json: "seconds": {"projection": x, "clustering": y}
    # (tools/cmd-embeddings.c): every number inside that object.
    ('embeddings --json: the "seconds" object',
     re.compile(r'"seconds":\s*\{[^{}]*\}'),
     lambda m: re.sub(r'(":\s*)%s' % _NUM, r'\g<1>"<T>"', m.group(0))),
    # errors --json, label-errors --json: "seconds": x; compare --json:
    # "bootstrap": {..., "seconds": x} (tools/cmd-errors.c,
    # cmd-label-errors.c, cmd-compare.c).
    ('--json: scalar "seconds"',
     re.compile(r'("seconds":\s*)%s' % _NUM),
     r'\g<1>"<T>"'),
    # check --junit: <testsuites ... time="0.060"> (tools/cmd-check.c; the
    # testsuite and testcase times are a constant "0").
    ("check --junit: testsuites time",
     re.compile(r'(<testsuites [^>]*time=")%s(")' % _NUM),
     r"\g<1><T>\g<2>"),
    # coco -v: timings on stderr (tools/cmd-coco.c).
    ("coco -v: import times",
     re.compile(r"^(import: ground truth )%s( s, detections )%s( s)$"
                % (_NUM, _NUM), re.M),
     r"\g<1><T>\g<2><T>\g<3>"),
    ("coco -v: stage times",
     re.compile(r"(labels on [^:\n]*: )%s( s \(load )%s(, prepare )%s"
                r"(, \w+ IoU )%s(, match )%s(, accumulate )%s(, summarize )%s"
                r"(\))" % ((_NUM,) * 7)),
     r"\g<1><T>\g<2><T>\g<3><T>\g<4><T>\g<5><T>\g<6><T>\g<7><T>\g<8>"),
    ("coco -v: total time",
     re.compile(r"^(total: )%s( s)$" % _NUM, re.M),
     r"\g<1><T>\g<2>"),
]


def normalise(text, tmp):
    for why, pat, rep in NORMALISATIONS:
        if pat is None:   # the temporary directory
            for t in sorted({tmp, os.path.realpath(tmp)}, key=len, reverse=True):
                text = text.replace(t, rep)
        else:
            text = pat.sub(rep, text)
    return text


# --------------------------------------------------------------------------
# Records


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def stream_block(title, text):
    """One stream (text) as it goes into a golden file."""
    b = text.encode("utf-8", "surrogateescape")
    if len(b) <= LARGE:
        body = text
        if body and not body.endswith("\n"):
            body += "\n[no newline at end]\n"
        return "--- %s (%d bytes)\n%s" % (title, len(b), body)
    lines = text.split("\n")[:HEAD_LINES]
    head = []
    for ln in lines:
        if len(ln) > HEAD_WIDTH:
            ln = ln[:HEAD_WIDTH] + " [... %d more characters]" % (len(ln) - HEAD_WIDTH)
        head.append(ln)
    return ("--- %s (%d bytes, %d lines, sha256 %s; first %d lines)\n%s\n"
            % (title, len(b), text.count("\n"), sha256(b), len(lines),
               "\n".join(head)))


def binary_block(title, data):
    return "--- %s (%d bytes, binary, sha256 %s)\n" % (title, len(data),
                                                       sha256(data))


class Golden:
    def __init__(self, work):
        self.work = work
        self.records = []          # (id, command, exit code, text)
        self.ids = set()
        self.skipped = []          # ids skipped for missing shared data

    def add(self, rid, command, rc, text):
        if rid in self.ids:
            raise SystemExit("test_golden: duplicate id %r" % rid)
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", rid):
            raise SystemExit("test_golden: bad id %r" % rid)
        self.ids.add(rid)
        self.records.append((rid, command, rc, text))

    def _file_block(self, f):
        path = os.path.join(self.work, f)
        if not os.path.exists(path):
            return "--- file %s: absent\n" % f
        data = dgtest.file_bytes(path)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return binary_block("file " + f, data)
        if "\0" in text:
            return binary_block("file " + f, data)
        return stream_block("file " + f, normalise(text, self.work))

    def cli(self, rid, args, files=(), rc=None, env=None):
        """Runs detgrid args in the workspace; records exit code, stdout,
        stderr and the files it wrote (paths relative to the workspace).
        rc: the expected exit code, a sanity check while writing the list
        (the golden file records the actual one either way)."""
        args = [str(a) for a in args]
        e = dict(os.environ)
        e.update(ENV)
        e.update(env or {})
        # bytes, not dgtest.run's text mode: its newline translation would
        # hide a '\r' appearing in an output
        p = subprocess.run([dgtest.BIN] + args, cwd=self.work, env=e,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=300)
        r = dgtest.Result(args, p.returncode,
                          p.stdout.decode("utf-8", "surrogateescape"),
                          p.stderr.decode("utf-8", "surrogateescape"))
        if rc is not None and r.rc != rc:
            print("note: %s: exit %d (expected %d while writing the test)"
                  % (rid, r.rc, rc), file=sys.stderr)
        cmd = "".join("%s=%s " % (k, shlex.quote(v)) for k, v in (env or {}).items())
        cmd += "detgrid " + " ".join(shlex.quote(a) for a in args)
        text = "$ %s\nexit: %d\n" % (cmd, r.rc)
        text += stream_block("stdout", normalise(r.out, self.work))
        text += stream_block("stderr", normalise(r.err, self.work))
        for f in files:
            text += self._file_block(f)
        self.add(rid, cmd, r.rc, text)
        return r

    def files(self, rid, files):
        """Records files (inputs the test generated or data copied in)."""
        text = "$ (files)\n"
        for f in files:
            text += self._file_block(f)
        self.add(rid, "(files) " + " ".join(files), 0, text)

    def h5(self, rid, path):
        """Records every group, dataset and attribute of a project file."""
        text = "$ (h5 dump) %s\n" % path
        text += h5_dump(os.path.join(self.work, path))
        self.add(rid, "(h5 dump) " + path, 0, text)

    def skip(self, rid):
        self.skipped.append(rid)


# --------------------------------------------------------------------------
# HDF5 dump


def _fmt_value(v):
    """A Python value the same on every numpy version."""
    import numpy as np
    if isinstance(v, bytes):
        return repr(v.decode("utf-8", "surrogateescape"))
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, np.ndarray):
        return "[%s]" % ", ".join(_fmt_value(x) for x in v.tolist())
    if isinstance(v, np.generic):
        return _fmt_value(v.item())
    if isinstance(v, list):
        return "[%s]" % ", ".join(_fmt_value(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return repr(v)


def _attr_lines(obj, indent):
    import numpy as np
    out = []
    for k in sorted(obj.attrs.keys()):
        aid = obj.attrs.get_id(k)
        v = obj.attrs[k]
        dt = aid.dtype
        shape = aid.shape
        if isinstance(v, np.ndarray) and v.dtype.kind not in "OSU":
            v = v.astype(v.dtype.newbyteorder("<"))
        out.append("%s@%s %s %s = %s" % (indent, k, _dtype_name(dt), shape,
                                         _fmt_value(v)))
    return out


def _dtype_name(dt):
    import h5py
    s = h5py.check_string_dtype(dt)
    if s is not None:
        return "str(%s,%s)" % (s.encoding,
                               "vlen" if s.length is None else s.length)
    return dt.str if dt.kind not in "V" else str(dt.descr)


def _raw_bytes(ds):
    """The dataset's values as bytes, independent of the machine: strings
    length-prefixed UTF-8, numbers little-endian."""
    import h5py
    import numpy as np
    v = ds[()]
    if h5py.check_string_dtype(ds.dtype) is not None or ds.dtype.kind == "O":
        parts = []
        for s in np.asarray(v, dtype=object).reshape(-1):
            b = s if isinstance(s, bytes) else str(s).encode("utf-8")
            parts.append(len(b).to_bytes(8, "little") + b)
        return b"".join(parts), np.asarray(v, dtype=object).reshape(-1)
    a = np.ascontiguousarray(np.asarray(v).astype(ds.dtype.newbyteorder("<")))
    return a.tobytes(), a.reshape(-1)


def h5_dump(path):
    import h5py
    lines = []
    with h5py.File(path, "r") as f:
        lines.append("/")
        lines += _attr_lines(f, "  ")

        def walk(g, prefix):
            for k in sorted(g.keys()):
                o = g[k]
                name = prefix + k
                if isinstance(o, h5py.Group):
                    lines.append("%s/ (group)" % name)
                    lines.extend(_attr_lines(o, "  "))
                    walk(o, name + "/")
                else:
                    raw, flat = _raw_bytes(o)
                    filt = []
                    if o.compression:
                        filt.append("%s=%r" % (o.compression, o.compression_opts))
                    if o.shuffle:
                        filt.append("shuffle")
                    if o.fletcher32:
                        filt.append("fletcher32")
                    lines.append("%s %s %s chunks=%s filters=%s sha256=%s"
                                 % (name, _dtype_name(o.dtype), o.shape,
                                    o.chunks, ",".join(filt) or "none",
                                    sha256(raw)))
                    if 0 < len(flat) <= 12:
                        lines.append("  = %s" % _fmt_value(list(flat)))
                    lines.extend(_attr_lines(o, "  "))
        walk(f, "/")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The invocations

COMMANDS = ["demo", "synth", "import", "info", "eval", "metrics", "sweep",
            "confusion", "examples", "frames", "segment", "scenarios", "check",
            "compare", "coco", "voc", "errors", "label-errors", "embeddings",
            "slices", "report", "devices"]

ENV = {"DETGRID_DEVICE": "ref", "LC_ALL": "C", "TZ": "UTC"}
# Settings from the caller's environment that could change what detgrid does
# (DETGRID_KERNEL_DIR, DETGRID_CHUNK_DETS, DETGRID_JSON_PAR, ...) are dropped;
# these three only say where things are.
for _k in [k for k in os.environ if k.startswith("DETGRID_")]:
    if _k not in ("DETGRID_BIN", "DETGRID_SHARED_DATA", "DETGRID_CACHE_DIR"):
        del os.environ[_k]


def write(work, rel, text):
    p = os.path.join(work, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)


def prepare_inputs(g):
    """Copies the small fixtures into the workspace and writes the ones the
    test makes itself (deterministic)."""
    w = g.work
    shutil.copytree(os.path.join(HERE, "data", "import"),
                    os.path.join(w, "data", "import"))
    sd = dgtest.SHARED_DATA
    have = {}
    for name, src in (
            ("cartucho", os.path.join(sd, "cartucho_map_sample")),
            ("padilla1", os.path.join(sd, "rafaelpadilla_toy_voc", "test_case_1")),
            ("toy", os.path.join(sd, "rafaelpadilla_toy_voc", "toyexample"))):
        have[name] = os.path.isdir(src)
        if have[name]:
            shutil.copytree(src, os.path.join(w, "data", name),
                            ignore=shutil.ignore_patterns("*.md", "LICENSE*"))
        else:
            print("note: %s not found; its invocations are skipped" % src)

    # A YOLO fixture: names, image sizes, relative cxcywh boxes.
    write(w, "data/yolo/names.txt", "cat\ndog\nbird\n")
    write(w, "data/yolo/sizes.txt", "im1 640 480\nim2 320 240\nim3 100 100\n")
    write(w, "data/yolo/gt/im1.txt",
          "0 0.5 0.5 0.2 0.3\n1 0.25 0.25 0.1 0.1\n2 0.8 0.7 0.1 0.2\n")
    write(w, "data/yolo/gt/im2.txt", "1 0.5 0.5 0.5 0.5\n0 0.1 0.1 0.05 0.05\n")
    write(w, "data/yolo/gt/im3.txt", "")
    write(w, "data/yolo/dt/im1.txt",
          "0 0.51 0.5 0.2 0.3 0.9\n1 0.26 0.25 0.1 0.12 0.8\n"
          "1 0.8 0.7 0.1 0.2 0.7\n0 0.5 0.52 0.19 0.3 0.4\n")
    write(w, "data/yolo/dt/im2.txt", "1 0.5 0.5 0.45 0.5 0.95\n2 0.9 0.9 0.1 0.1 0.3\n")
    write(w, "data/yolo/dt/im3.txt", "2 0.5 0.5 0.3 0.3 0.6\n")
    # Frame-id and COCO-id lists for segments.
    write(w, "gen/a-frames.txt",
          "# a hand-picked scenario\nframe-000003\nframe-000010\nframe-000011\n"
          "frame-000042\nframe-000077\nframe-000100\nframe-000120\n")
    write(w, "gen/a-more.txt", "frame-000001\nframe-000002\n")
    write(w, "gen/a-less.txt", "frame-000010\n")
    # Frame embeddings for the imported COCO project: a 64-bit LCG (Knuth's
    # MMIX constants), not numpy's generators, whose streams may change
    # between numpy versions. Values are multiples of 2**-10 in [-4, 4).
    import numpy as np
    x, vals = 20240607, []
    for _ in range(60 * 8):
        x = (6364136223846793005 * x + 1442695040888963407) % (1 << 64)
        vals.append(((x >> 51) - 4096) / 1024.0)
    np.save(os.path.join(w, "gen", "c-frames.npy"),
            np.array(vals, dtype="<f4").reshape(60, 8))
    return have


def run_all(g):
    have = prepare_inputs(g)
    cli, h5 = g.cli, g.h5

    # ---- usage, help, errors -------------------------------------------
    cli("usage-noargs", [], rc=129)
    cli("usage-help", ["--help"])
    cli("usage-h", ["-h"])
    cli("usage-help-cmd", ["help"])
    cli("usage-version", ["--version"])
    cli("usage-nosuchcmd", ["nosuchcmd"], rc=129)
    cli("usage-nosuchcmd-help", ["nosuchcmd", "--help"], rc=129)
    for c in COMMANDS:
        cli("help-" + c, [c, "--help"])
    cli("help-help-metrics", ["help", "metrics"])
    cli("help-h-segment", ["segment", "-h"])
    for fmt in ("coco", "cartucho", "padilla", "yolo", "voc-xml", "embeddings"):
        cli("help-import-" + fmt, ["import", fmt, "--help"])
    cli("usage-metrics-bogus", ["metrics", "--bogus"], rc=129)
    cli("usage-metrics-noargs", ["metrics"], rc=129)
    cli("usage-eval-bad-iou", ["eval", "x.h5", "--iou-thresholds", "0.5,0.4"], rc=129)
    cli("usage-sweep-bad-format", ["sweep", "x.h5", "--format", "xml"], rc=129)
    cli("usage-synth-frames0", ["synth", "-o", "x.h5", "--frames", "0"], rc=129)
    cli("usage-import-nosuchfmt", ["import", "json", "--gt", "x.json", "-o", "x.h5"], rc=129)
    cli("err-metrics-missing-file", ["metrics", "missing.h5"], rc=2)
    cli("err-info-missing-file", ["info", "missing.h5"], rc=2)
    cli("err-eval-missing-file", ["eval", "missing.h5", "--device", "ref"], rc=2)
    cli("err-import-coco-missing-json",
        ["import", "coco", "--gt", "missing.json", "-o", "x.h5"], rc=2)
    write(g.work, "gen/not-hdf5.h5", "this is not an HDF5 file\n")
    cli("err-info-not-hdf5", ["info", "gen/not-hdf5.h5"], rc=2)

    # ---- project A: 120 frames, 4 classes, 2 sets, plants, embeddings ----
    cli("a-synth", ["synth", "-o", "a.h5", "--seed", "3", "--frames", "120",
                    "--classes", "4", "--inferences", "2", "--crowd-rate", "0.1",
                    "--score-levels", "50", "--embeddings", "16", "--scenes", "4",
                    "--plant-pattern", "miss", "--plant-missing", "0.05",
                    "--plant-wrong-class", "0.05", "--plant-bad-box", "0.05",
                    "--plant-spurious", "0.02", "--planted", "a-planted.json"],
        files=["a-planted.json"], rc=0)
    cli("a-info-before-eval", ["info", "a.h5"], rc=0)
    cli("a-err-metrics-before-eval", ["metrics", "a.h5", "-i", "model-a"], rc=2)
    cli("a-err-confusion-before-eval", ["confusion", "a.h5", "-i", "model-a"], rc=2)
    h5("a-h5-synth", "a.h5")
    cli("a-eval", ["eval", "a.h5", "--device", "ref"], rc=0)
    h5("a-h5-eval", "a.h5")
    cli("a-eval-json-out", ["eval", "a.h5", "--device", "ref", "--json",
                            "-o", "a-json.h5"], rc=0)
    cli("a-eval-memory-budget", ["eval", "a.h5", "--device", "ref", "-q",
                                 "--memory-budget", "1", "-o", "a-mb.h5"], rc=0)
    h5("a-h5-eval-memory-budget", "a-mb.h5")
    cli("a-eval-two-thresholds", ["eval", "a.h5", "--device", "ref", "-i", "model-a",
                                  "--iou-thresholds", "0.5,0.75", "-o", "a-2t.h5"], rc=0)
    cli("a-eval-range-thresholds", ["eval", "a-2t.h5", "--device", "ref", "-i", "model-b",
                                    "--iou-thresholds", "0.3:0.9:0.2"], rc=0)
    h5("a-h5-eval-thresholds", "a-2t.h5")
    cli("a-2t-info", ["info", "a-2t.h5"], rc=0)
    cli("a-2t-metrics-iou075", ["metrics", "a-2t.h5", "-i", "model-a", "--iou", "0.75"], rc=0)
    cli("a-2t-err-metrics-unstored-iou", ["metrics", "a-2t.h5", "-i", "model-a",
                                          "--iou", "0.6"], rc=2)
    cli("a-2t-metrics-b-iou07", ["metrics", "a-2t.h5", "-i", "model-b", "--iou", "0.7"], rc=0)
    cli("a-err-eval-unknown-set", ["eval", "a.h5", "--device", "ref", "-i", "nosuch",
                                   "-o", "a-x.h5"], rc=2)

    cli("a-info", ["info", "a.h5"], rc=0)
    cli("a-info-json", ["info", "a.h5", "--json"], rc=0)

    # metrics
    cli("a-err-metrics-two-sets", ["metrics", "a.h5"], rc=2)
    cli("a-metrics", ["metrics", "a.h5", "-i", "model-a"], rc=0)
    cli("a-metrics-b", ["metrics", "a.h5", "-i", "model-b"], rc=0)
    cli("a-metrics-json", ["metrics", "a.h5", "-i", "model-a", "--json"], rc=0)
    cli("a-metrics-json-compact", ["metrics", "a.h5", "-i", "model-b", "--json",
                                   "--compact"], rc=0)
    cli("a-metrics-conf-iou", ["metrics", "a.h5", "-i", "model-b", "--conf", "0.37",
                               "--iou", "0.55"], rc=0)
    cli("a-metrics-conf0-iou095-json", ["metrics", "a.h5", "-i", "model-a", "--conf",
                                        "0", "--iou", "0.95", "--json"], rc=0)
    cli("a-metrics-conf1", ["metrics", "a.h5", "-i", "model-a", "--conf", "1"], rc=0)
    cli("a-metrics-ci", ["metrics", "a.h5", "-i", "model-a", "--ci", "0.95"], rc=0)
    cli("a-metrics-ci-json", ["metrics", "a.h5", "-i", "model-b", "--ci", "0.9",
                              "--resamples", "200", "--seed", "3", "--json"], rc=0)
    cli("a-err-metrics-unknown-set", ["metrics", "a.h5", "-i", "nosuch"], rc=2)
    cli("a-err-metrics-bad-conf", ["metrics", "a.h5", "-i", "model-a", "--conf", "abc"],
        rc=129)

    # sweep
    cli("a-sweep", ["sweep", "a.h5", "-i", "model-a"], rc=0)
    cli("a-sweep-iou05", ["sweep", "a.h5", "-i", "model-a", "--iou", "0.5"], rc=0)
    cli("a-sweep-class-json", ["sweep", "a.h5", "-i", "model-b", "--iou", "0.5",
                               "--class", "car", "--format", "json"], rc=0)
    cli("a-sweep-step", ["sweep", "a.h5", "-i", "model-a", "--step", "0.1"], rc=0)
    cli("a-sweep-step-json", ["sweep", "a.h5", "-i", "model-a", "--step", "0.25",
                              "--iou", "0.75", "--json"], rc=0)
    cli("a-sweep-output-file", ["sweep", "a.h5", "-i", "model-b", "--iou", "0.5",
                                "--step", "0.05", "-o", "a-sweep.csv"],
        files=["a-sweep.csv"], rc=0)
    cli("a-sweep-best", ["sweep", "a.h5", "-i", "model-a", "--best"], rc=0)
    cli("a-sweep-best-csv", ["sweep", "a.h5", "-i", "model-a", "--best",
                             "--format", "csv"], rc=0)
    cli("a-sweep-best-json", ["sweep", "a.h5", "-i", "model-b", "--best", "--json"], rc=0)
    cli("a-sweep-best-iou075", ["sweep", "a.h5", "-i", "model-a", "--best",
                                "--iou", "0.75"], rc=0)
    cli("a-err-sweep-bad-class", ["sweep", "a.h5", "-i", "model-a", "--class",
                                  "nosuch"], rc=2)

    # confusion
    cli("a-confusion", ["confusion", "a.h5", "-i", "model-a"], rc=0)
    cli("a-confusion-normalize-gt", ["confusion", "a.h5", "-i", "model-a",
                                     "--normalize", "gt"], rc=0)
    cli("a-confusion-normalize-pred-json", ["confusion", "a.h5", "-i", "model-b",
                                            "--normalize", "pred", "--json"], rc=0)
    cli("a-confusion-class", ["confusion", "a.h5", "-i", "model-a", "--class", "car"],
        rc=0)
    cli("a-confusion-conf-iou-json", ["confusion", "a.h5", "-i", "model-a", "--conf",
                                      "0.4", "--iou", "0.75", "--json", "--compact"],
        rc=0)
    cli("a-err-confusion-unstored-iou", ["confusion", "a.h5", "-i", "model-a",
                                         "--iou", "0.33"], rc=2)

    # examples
    cli("a-examples-bg-car", ["examples", "a.h5", "-i", "model-a", "--cell",
                              "background,car"], rc=0)
    cli("a-examples-car-bg-area", ["examples", "a.h5", "-i", "model-a", "--cell",
                                   "car,background", "--sort", "area"], rc=0)
    cli("a-examples-person-iou-asc", ["examples", "a.h5", "-i", "model-b", "--cell",
                                      "person,person", "--sort", "iou", "--asc",
                                      "--limit", "5"], rc=0)
    cli("a-examples-confusions-json", ["examples", "a.h5", "-i", "model-a", "--cell",
                                       "car,chair", "--limit", "0", "--json"], rc=0)
    cli("a-examples-offset", ["examples", "a.h5", "-i", "model-a", "--cell",
                              "chair,chair", "--offset", "3", "--limit", "4",
                              "--conf", "0.3", "--iou", "0.7"], rc=0)
    cli("a-err-examples-no-cell", ["examples", "a.h5", "-i", "model-a"], rc=129)
    cli("a-err-examples-bad-class", ["examples", "a.h5", "-i", "model-a", "--cell",
                                     "nosuch,car"], rc=2)

    # frames
    cli("a-frames", ["frames", "a.h5", "-i", "model-a", "--limit", "15"], rc=0)
    cli("a-frames-sort-f1", ["frames", "a.h5", "-i", "model-a", "--sort", "f1",
                             "--limit", "10"], rc=0)
    cli("a-frames-sort-fp", ["frames", "a.h5", "-i", "model-b", "--sort", "fp",
                             "--limit", "10"], rc=0)
    cli("a-frames-sort-fn-json", ["frames", "a.h5", "-i", "model-a", "--sort", "fn",
                                  "--limit", "5", "--json"], rc=0)
    cli("a-frames-sort-precision", ["frames", "a.h5", "-i", "model-a", "--sort",
                                    "precision", "--limit", "10", "--conf", "0.5"], rc=0)
    cli("a-frames-sort-recall-class", ["frames", "a.h5", "-i", "model-a", "--sort",
                                       "recall", "--class", "car", "--limit", "0"], rc=0)

    # segments
    cli("a-segment-split", ["segment", "create", "a.h5", "--split",
                            "train=0.6,val=0.2,test=0.2", "--seed", "7"], rc=0)
    cli("a-segment-regression-where", ["segment", "create", "a.h5", "hard", "--kind",
                                       "regression", "--where", "scene=3",
                                       "--min-recall", "0.6", "--min-precision", "0.5"],
        rc=0)
    cli("a-segment-regression-range", ["segment", "create", "a.h5", "easy", "--kind",
                                       "regression", "--where", "0<=scene<2",
                                       "--min-f1", "0.3", "--min-ap", "0.2",
                                       "--meta", "owner=qa"], rc=0)
    cli("a-segment-scenario-frames", ["segment", "create", "a.h5", "picked",
                                      "--frames", "gen/a-frames.txt", "--conf", "0.2",
                                      "--iou", "0.75"], rc=0)
    cli("a-segment-add", ["segment", "add", "a.h5", "picked", "--frames",
                          "gen/a-more.txt"], rc=0)
    cli("a-segment-remove", ["segment", "remove", "a.h5", "picked", "--frames",
                             "gen/a-less.txt"], rc=0)
    cli("a-segment-set", ["segment", "set", "a.h5", "picked", "--kind", "regression",
                          "--min-recall", "0.4", "--meta", "note=hand", "--meta",
                          "tmp=1"], rc=0)
    cli("a-segment-set-unset", ["segment", "set", "a.h5", "picked", "--min-recall",
                                "none", "--unset-meta", "tmp"], rc=0)
    cli("a-segment-create-tmp", ["segment", "create", "a.h5", "temp", "--where",
                                 "scene!=0"], rc=0)
    cli("a-segment-rename", ["segment", "rename", "a.h5", "temp", "temp2"], rc=0)
    cli("a-segment-delete", ["segment", "delete", "a.h5", "temp2"], rc=0)
    cli("a-err-segment-exists", ["segment", "create", "a.h5", "hard", "--where",
                                 "scene=1"], rc=2)
    cli("a-err-segment-show-missing", ["segment", "show", "a.h5", "nosuch"], rc=2)
    cli("a-segment-list", ["segment", "list", "a.h5"], rc=0)
    cli("a-segment-list-json", ["segment", "list", "a.h5", "--json"], rc=0)
    cli("a-segment-show", ["segment", "show", "a.h5", "hard"], rc=0)
    cli("a-segment-show-meta", ["segment", "show", "a.h5", "picked"], rc=0)
    cli("a-segment-show-frames-list", ["segment", "show", "a.h5", "val",
                                       "--frames-list"], rc=0)
    cli("a-segment-show-json", ["segment", "show", "a.h5", "easy", "--json"], rc=0)
    cli("a-metrics-segment", ["metrics", "a.h5", "-i", "model-a", "--segment", "test"],
        rc=0)
    cli("a-metrics-segment-ci-json", ["metrics", "a.h5", "-i", "model-a", "--segment",
                                      "hard", "--ci", "0.95", "--json"], rc=0)
    cli("a-sweep-segment", ["sweep", "a.h5", "-i", "model-a", "--segment", "val",
                            "--iou", "0.5", "--step", "0.2"], rc=0)
    cli("a-confusion-segment", ["confusion", "a.h5", "-i", "model-b", "--segment",
                                "train"], rc=0)
    cli("a-examples-segment", ["examples", "a.h5", "-i", "model-a", "--segment",
                               "hard", "--cell", "person,background", "--limit", "5"],
        rc=0)
    cli("a-frames-segment-json", ["frames", "a.h5", "-i", "model-a", "--segment",
                                  "picked", "--json"], rc=0)
    cli("a-err-metrics-unknown-segment", ["metrics", "a.h5", "-i", "model-a",
                                          "--segment", "nosuch"], rc=2)

    # scenarios, check
    cli("a-scenarios", ["scenarios", "a.h5"], rc=0)
    cli("a-scenarios-one", ["scenarios", "a.h5", "-i", "model-a"], rc=0)
    cli("a-scenarios-two-json", ["scenarios", "a.h5", "-i", "model-b", "-i", "model-a",
                                 "--json"], rc=0)
    cli("a-scenarios-conf-iou", ["scenarios", "a.h5", "-i", "model-a", "-i", "model-b",
                                 "--conf-a", "0.3", "--conf-b", "0.5", "--iou-b",
                                 "0.75"], rc=0)
    cli("a-check", ["check", "a.h5"], rc=1)
    cli("a-check-json", ["check", "a.h5", "--json"], rc=1)
    cli("a-check-junit", ["check", "a.h5", "--junit", "a-junit.xml"],
        files=["a-junit.xml"], rc=1)
    cli("a-check-strict", ["check", "a.h5", "--strict", "--resamples", "200",
                           "--seed", "2", "--level", "0.9", "--junit", "a-junit-strict.xml"],
        files=["a-junit-strict.xml"], rc=1)
    cli("a-check-one-conf", ["check", "a.h5", "-i", "model-a", "--conf", "0.05",
                             "--iou", "0.3", "--json", "--compact"], rc=1)

    # compare
    cli("a-compare", ["compare", "a.h5", "model-a", "model-b"], rc=0)
    cli("a-compare-json", ["compare", "a.h5", "model-a", "model-b", "--json"], rc=0)
    cli("a-compare-segment", ["compare", "a.h5", "model-b", "model-a", "--segment",
                              "test", "--resamples", "200", "--seed", "5",
                              "--device", "ref"], rc=0)
    cli("a-compare-churn", ["compare", "a.h5", "model-a", "model-b", "--churn",
                            "a-only", "--limit", "5"], rc=0)
    cli("a-compare-churn-json", ["compare", "a.h5", "model-a", "model-b", "--churn",
                                 "b-only", "--limit", "3", "--json",
                                 "--resamples", "100"], rc=0)
    cli("a-compare-conf-iou", ["compare", "a.h5", "model-a", "model-b", "--conf-a",
                               "0.2", "--conf-b", "0.4", "--iou-b", "0.75",
                               "--level", "0.9", "--resamples", "300"], rc=0)
    cli("a-err-compare-unknown-set", ["compare", "a.h5", "model-a", "nosuch"], rc=2)

    # coco, voc, errors, label-errors
    cli("a-coco", ["coco", "a.h5", "-i", "model-a"], rc=0)
    cli("a-coco-json", ["coco", "a.h5", "-i", "model-b", "--json"], rc=0)
    cli("a-coco-per-class", ["coco", "a.h5", "-i", "model-a", "--per-class",
                             "--exact-iou"], rc=0)
    cli("a-coco-use-ignore-curves", ["coco", "a.h5", "-i", "model-a", "--use-ignore",
                                     "--curves", "a-curves.json", "--threads", "1"],
        files=["a-curves.json"], rc=0)
    cli("a-voc", ["voc", "a.h5", "-i", "model-a"], rc=0)
    cli("a-voc07", ["voc", "a.h5", "-i", "model-a", "--protocol", "voc07"], rc=0)
    cli("a-voc-noplus1-json", ["voc", "a.h5", "-i", "model-b", "--no-plus1",
                               "--iou", "0.3", "--json"], rc=0)
    cli("a-voc07-exact-curves", ["voc", "a.h5", "-i", "model-a", "--protocol", "voc07",
                                 "--recall-points", "exact", "--json", "--curves"],
        rc=0)
    cli("a-errors", ["errors", "a.h5", "-i", "model-a"], rc=0)
    cli("a-errors-json", ["errors", "a.h5", "-i", "model-a", "--json"], rc=0)
    cli("a-errors-thresholds", ["errors", "a.h5", "-i", "model-b", "--conf", "0.3",
                                "--fg-iou", "0.6", "--bg-iou", "0.2", "--max-dets",
                                "5"], rc=0)
    cli("a-label-errors", ["label-errors", "a.h5", "-i", "model-a"], rc=0)
    cli("a-label-errors-json", ["label-errors", "a.h5", "-i", "model-a", "--json",
                                "--limit", "10"], rc=0)
    cli("a-label-errors-kinds", ["label-errors", "a.h5", "-i", "model-b", "--kind",
                                 "missing,wrong-class", "--limit", "5"], rc=0)
    cli("a-label-errors-bad-box", ["label-errors", "a.h5", "-i", "model-a", "--kind",
                                   "bad-box", "--conf", "0.2", "--iou", "0.6",
                                   "--bg-iou", "0.2", "--limit", "0"], rc=0)
    cli("a-label-errors-low-conf", ["label-errors", "a.h5", "-i", "model-a", "--kind",
                                    "low-conf-agreement,spurious", "--json",
                                    "--limit", "4"], rc=0)

    # embeddings
    cli("a-embeddings", ["embeddings", "a.h5", "-i", "model-a"], rc=0)
    cli("a-embeddings-json", ["embeddings", "a.h5", "-i", "model-a", "--json"], rc=0)
    cli("a-embeddings-patterns", ["embeddings", "a.h5", "-i", "model-a", "--patterns"],
        rc=0)
    cli("a-embeddings-patterns-json", ["embeddings", "a.h5", "-i", "model-b",
                                       "--patterns", "--json", "--compact"], rc=0)
    cli("a-embeddings-crops", ["embeddings", "a.h5", "-i", "model-a", "--crops",
                               "--patterns"], rc=0)
    cli("a-embeddings-crops-only-fp", ["embeddings", "a.h5", "-i", "model-a", "--crops",
                                       "--only", "fp", "--json", "--compact"], rc=0)
    cli("a-embeddings-layout", ["embeddings", "a.h5", "-i", "model-a", "--projection",
                                "layout", "--clusters", "3", "--color", "recall",
                                "--patterns"], rc=0)
    cli("a-embeddings-plot-svg", ["embeddings", "a.h5", "-i", "model-a", "--patterns",
                                  "--plot", "a-emb.svg"], files=["a-emb.svg"], rc=0)
    cli("a-embeddings-plot-png", ["embeddings", "a.h5", "-i", "model-a", "--crops",
                                  "--color", "confusion", "--plot", "a-emb.png"],
        files=["a-emb.png"], rc=0)
    cli("a-embeddings-segment-seed", ["embeddings", "a.h5", "-i", "model-a",
                                      "--segment", "train", "--seed", "2",
                                      "--conf", "0.3", "--iou", "0.75", "--patterns"],
        rc=0)
    cli("a-embeddings-save-segment", ["embeddings", "a.h5", "-i", "model-a",
                                      "--patterns", "--save-segment", "emb-worst"],
        rc=0)
    cli("a-err-embeddings-model", ["embeddings", "a.h5", "-i", "model-a", "--model",
                                   "nosuch"], rc=2)
    cli("a-segment-list-final", ["segment", "list", "a.h5"], rc=0)
    cli("a-segment-show-emb-worst", ["segment", "show", "a.h5", "emb-worst",
                                     "--json"], rc=0)

    # report
    cli("a-report-one", ["report", "a.h5", "-i", "model-a", "-o", "a-one.html"],
        files=["a-one.html"], rc=0)
    cli("a-report-two", ["report", "a.h5", "-i", "model-a", "-i", "model-b", "-o",
                         "a-two.html", "--title", "Golden A", "--label-errors", "5"],
        files=["a-two.html"], rc=0)
    cli("a-report-stdout", ["report", "a.h5", "-i", "model-b", "-o", "-",
                            "--label-errors", "0"], rc=0)
    h5("a-h5-final", "a.h5")

    # ---- project B: 30 classes (the confusion report) ------------------
    cli("b-synth", ["synth", "-o", "b.h5", "--seed", "11", "--frames", "150",
                    "--classes", "30", "--inferences", "2", "--objects", "5",
                    "--confuse-rate", "0.15", "--duplicate-rate", "0.05",
                    "--background-fp", "0.5", "--low-score-fp", "1",
                    "--embeddings", "8", "--scenes", "5", "--plant-pattern", "fp",
                    "--plant-wrong-class", "0.03", "--max-dets", "40"], rc=0)
    cli("b-eval", ["eval", "b.h5", "--device", "ref", "-q"], rc=0)
    h5("b-h5-eval", "b.h5")
    cli("b-info", ["info", "b.h5"], rc=0)
    cli("b-metrics", ["metrics", "b.h5", "-i", "model-a"], rc=0)
    cli("b-confusion-report", ["confusion", "b.h5", "-i", "model-a"], rc=0)
    cli("b-confusion-report-b", ["confusion", "b.h5", "-i", "model-b", "--conf", "0.5",
                                 "--iou", "0.75"], rc=0)
    cli("b-confusion-class", ["confusion", "b.h5", "-i", "model-a", "--class",
                              "person"], rc=0)
    cli("b-confusion-normalize-gt", ["confusion", "b.h5", "-i", "model-a",
                                     "--normalize", "gt"], rc=0)
    cli("b-confusion-json", ["confusion", "b.h5", "-i", "model-a", "--json"],
        rc=0)
    cli("b-examples", ["examples", "b.h5", "-i", "model-a", "--cell", "car,truck",
                       "--limit", "0"], rc=0)
    cli("b-sweep-best", ["sweep", "b.h5", "-i", "model-a", "--best"], rc=0)
    cli("b-segment-lax", ["segment", "create", "b.h5", "lax", "--kind", "regression",
                          "--where", "scene>=1", "--min-recall", "0.1",
                          "--min-precision", "0.1"], rc=0)
    cli("b-check-pass", ["check", "b.h5"], rc=0)
    cli("b-check-pass-junit", ["check", "b.h5", "-i", "model-b", "--json", "--junit",
                               "b-junit.xml"], files=["b-junit.xml"], rc=0)
    cli("b-scenarios", ["scenarios", "b.h5", "-i", "model-a"], rc=0)
    cli("b-compare-json", ["compare", "b.h5", "model-b", "model-a", "--json",
                           "--compact", "--resamples", "200"], rc=0)
    cli("b-errors", ["errors", "b.h5", "-i", "model-a"], rc=0)
    cli("b-label-errors", ["label-errors", "b.h5", "-i", "model-a", "--limit", "5"],
        rc=0)
    cli("b-voc", ["voc", "b.h5", "-i", "model-a"], rc=0)
    cli("b-coco-per-class", ["coco", "b.h5", "-i", "model-a", "--per-class"], rc=0)
    cli("b-embeddings-patterns", ["embeddings", "b.h5", "-i", "model-a", "--patterns"],
        rc=0)
    cli("b-report", ["report", "b.h5", "-i", "model-a", "-o", "b.html"],
        files=["b.html"], rc=0)
    h5("b-h5-final", "b.h5")

    # ---- project C: COCO JSON from synth, import coco, coco one-shot -----
    cli("c-synth-coco", ["synth", "--coco-gt", "c-gt.json", "--coco-dt-prefix", "c-dt",
                         "--seed", "5", "--frames", "60", "--classes", "6",
                         "--inferences", "2", "--crowd-rate", "0.2"],
        files=["c-gt.json", "c-dt-model-a.json", "c-dt-model-b.json"], rc=0)
    cli("c-coco-json-oneshot", ["coco", "--gt", "c-gt.json", "--dt", "c-dt-model-a.json"],
        rc=0)
    cli("c-coco-json-oneshot-json", ["coco", "--gt", "c-gt.json", "--dt",
                                     "c-dt-model-b.json", "--json", "--per-class"], rc=0)
    cli("c-coco-json-oneshot-verbose", ["coco", "--gt", "c-gt.json", "--dt",
                                        "c-dt-model-a.json", "-v", "--threads", "1"],
        rc=0)
    import json as _json
    with open(os.path.join(g.work, "c-gt.json")) as f:
        ids = [im["id"] for im in _json.load(f)["images"]]
    write(g.work, "gen/c-val-ids.txt", "".join("%d\n" % i for i in ids[::3]))
    write(g.work, "gen/c-sub-ids.json", _json.dumps(ids[1:12:2]) + "\n")
    g.files("c-gen-ids", ["gen/c-val-ids.txt", "gen/c-sub-ids.json"])
    cli("c-import-coco", ["import", "coco", "--gt", "c-gt.json", "--dt",
                          "c-dt-model-a.json", "--name", "yolo", "--dt",
                          "c-dt-model-b.json", "--name", "detr", "--split",
                          "val=gen/c-val-ids.txt", "-o", "c.h5"], rc=0)
    cli("c-err-import-coco-exists", ["import", "coco", "--gt", "c-gt.json", "-o",
                                     "c.h5"], rc=2)
    cli("c-import-coco-add-set", ["import", "coco", "--dt", "c-dt-model-b.json", "-o",
                                  "c.h5"], rc=0)
    cli("c-err-import-coco-dup-set", ["import", "coco", "--dt", "c-dt-model-a.json",
                                      "--name", "yolo", "-o", "c.h5"], rc=2)
    cli("c-import-coco-replace", ["import", "coco", "--dt", "c-dt-model-a.json",
                                  "--name", "yolo", "-o", "c.h5", "--replace"], rc=0)
    # The parallel COCO results reader (host/import/coco.c) starts only on
    # large files; its test hook DETGRID_JSON_PAR="<min bytes>,<parts>" cuts
    # this small one into 5 parts. Same datasets as c.h5's 'yolo' expected.
    cli("c-import-coco-parallel", ["import", "coco", "--gt", "c-gt.json", "--dt",
                                   "c-dt-model-a.json", "--name", "yolo", "-o",
                                   "c-par.h5"], env={"DETGRID_JSON_PAR": "4096,5"},
        rc=0)
    h5("c-h5-import-parallel", "c-par.h5")
    cli("c-import-embeddings", ["import", "embeddings", "c.h5", "--model", "rnd",
                                "--frames", "gen/c-frames.npy"], rc=0)
    cli("c-eval", ["eval", "c.h5", "--device", "ref"], rc=0)
    h5("c-h5-eval", "c.h5")
    cli("c-info-json", ["info", "c.h5", "--json"], rc=0)
    cli("c-coco-project", ["coco", "c.h5", "-i", "yolo"], rc=0)
    cli("c-coco-project-json", ["coco", "c.h5", "-i", "detr", "--json", "--per-class"],
        rc=0)
    cli("c-segment-coco-ids", ["segment", "create", "c.h5", "sub", "--coco-ids",
                               "gen/c-sub-ids.json", "--kind", "regression",
                               "--min-ap", "0.3"], rc=0)
    cli("c-segment-list", ["segment", "list", "c.h5"], rc=0)
    cli("c-metrics-segment", ["metrics", "c.h5", "-i", "yolo", "--segment", "val"], rc=0)
    cli("c-check", ["check", "c.h5"], rc=None)
    cli("c-embeddings-json", ["embeddings", "c.h5", "-i", "yolo", "--model", "rnd",
                              "--clusters", "3", "--patterns", "--json"], rc=0)
    cli("c-errors", ["errors", "c.h5", "-i", "detr"], rc=0)
    h5("c-h5-final", "c.h5")

    # small COCO fixtures from tests/data/import
    cli("s-import-coco", ["import", "coco", "--gt", "data/import/gt-small.json",
                          "--dt", "data/import/dt-small.json", "--name", "small", "--dt",
                          "data/import/dt-wrapped.json", "--name", "wrapped",
                          "-o", "s.h5"], rc=0)
    cli("s-eval", ["eval", "s.h5", "--device", "ref", "--iou-thresholds", "0.5:0.95:0.05"],
        rc=0)
    cli("s-info", ["info", "s.h5"], rc=0)
    cli("s-metrics-json", ["metrics", "s.h5", "-i", "small", "--conf", "0",
                           "--json"], rc=0)
    cli("s-coco-oneshot", ["coco", "--gt", "data/import/gt-small.json", "--dt",
                           "data/import/dt-small.json", "--per-class"], rc=0)
    h5("s-h5-eval", "s.h5")

    # ---- txt importers and voc on folders --------------------------------
    if have["cartucho"]:
        cli("v-import-cartucho", ["import", "cartucho", "--gt-dir",
                                  "data/cartucho/ground-truth", "--dt-dir",
                                  "data/cartucho/detection-results", "--name", "yolo",
                                  "-o", "v.h5"], rc=0)
        cli("v-eval", ["eval", "v.h5", "--device", "ref"], rc=0)
        h5("v-h5-eval", "v.h5")
        cli("v-info", ["info", "v.h5"], rc=0)
        cli("v-metrics", ["metrics", "v.h5", "--conf", "0.5"], rc=0)
        cli("v-voc", ["voc", "v.h5"], rc=0)
        cli("v-voc07", ["voc", "v.h5", "--protocol", "voc07"], rc=0)
        cli("v-voc-noplus1-json", ["voc", "v.h5", "--no-plus1", "--json", "--compact"],
            rc=0)
        cli("v-voc-folders", ["voc", "--format", "cartucho", "--gt-dir",
                              "data/cartucho/ground-truth", "--dt-dir",
                              "data/cartucho/detection-results"], rc=0)
        cli("v-voc-folders-iou075-json", ["voc", "--format", "cartucho", "--gt-dir",
                                          "data/cartucho/ground-truth", "--dt-dir",
                                          "data/cartucho/detection-results", "--iou",
                                          "0.75", "--protocol", "voc07", "--json"], rc=0)
        cli("v-confusion-report", ["confusion", "v.h5", "--conf", "0.3"], rc=0)
        cli("v-label-errors", ["label-errors", "v.h5", "--limit", "5"], rc=0)
    else:
        for r in ("v-import-cartucho", "v-eval", "v-h5-eval", "v-info", "v-metrics",
                  "v-voc", "v-voc07", "v-voc-noplus1-json", "v-voc-folders",
                  "v-voc-folders-iou075-json", "v-confusion-report",
                  "v-label-errors"):
            g.skip(r)
    if have["padilla1"]:
        cli("p-import-padilla", ["import", "padilla", "--gt-dir", "data/padilla1/gts",
                                 "--dt-dir", "data/padilla1/dets", "-o", "p.h5"], rc=0)
        cli("p-voc-iou03", ["voc", "p.h5", "--iou", "0.3"], rc=0)
        cli("p-voc-folders-exact", ["voc", "--format", "padilla", "--gt-dir",
                                    "data/padilla1/gts", "--dt-dir", "data/padilla1/dets",
                                    "--protocol", "voc07", "--iou", "0.1",
                                    "--recall-points", "exact", "--json"], rc=0)
        cli("p-eval", ["eval", "p.h5", "--device", "ref", "-q"], rc=0)
        cli("p-metrics", ["metrics", "p.h5", "--conf", "0.5", "--iou", "0.3"], rc=0)
        h5("p-h5-eval", "p.h5")
    else:
        for r in ("p-import-padilla", "p-voc-iou03", "p-voc-folders-exact", "p-eval",
                  "p-metrics", "p-h5-eval"):
            g.skip(r)
    if have["toy"]:
        cli("t-import-voc-xml", ["import", "voc-xml", "--gt-dir",
                                 "data/toy/gts_vocpascal_format", "--dt-dir",
                                 "data/toy/dets_classname_abs_xyx2y2", "--name", "toy",
                                 "-o", "t.h5"], rc=0)
        cli("t-eval", ["eval", "t.h5", "--device", "ref", "-q"], rc=0)
        cli("t-metrics", ["metrics", "t.h5"], rc=0)
        cli("t-voc", ["voc", "t.h5", "--protocol", "voc07"], rc=0)
        cli("t-coco-json-oneshot", ["coco", "--gt",
                                    "data/toy/gts_coco_format/toy_example_coco.JSON",
                                    "--dt", "data/toy/dets_coco_format/coco_dets.json",
                                    "--per-class"], rc=None)
        # the toy file numbers its annotations from 0
        cli("t-coco-json-id0", ["coco", "--gt",
                                "data/toy/gts_coco_format/toy_example_coco.JSON",
                                "--dt", "data/toy/dets_coco_format/coco_dets.json",
                                "--pycocotools-id0"], rc=0)
        h5("t-h5-eval", "t.h5")
    else:
        for r in ("t-import-voc-xml", "t-eval", "t-metrics", "t-voc",
                  "t-coco-json-oneshot", "t-coco-json-id0", "t-h5-eval"):
            g.skip(r)
    cli("y-import-yolo", ["import", "yolo", "--gt-dir", "data/yolo/gt", "--dt-dir",
                          "data/yolo/dt", "--name", "yolo", "--names",
                          "data/yolo/names.txt", "--sizes", "data/yolo/sizes.txt",
                          "-o", "y.h5"], rc=0)
    cli("y-eval", ["eval", "y.h5", "--device", "ref", "-q"], rc=0)
    cli("y-metrics-json", ["metrics", "y.h5", "--conf", "0", "--json"], rc=0)
    cli("y-voc-folders", ["voc", "--format", "yolo", "--gt-dir", "data/yolo/gt",
                          "--dt-dir", "data/yolo/dt", "--names", "data/yolo/names.txt",
                          "--sizes", "data/yolo/sizes.txt", "--no-plus1"], rc=0)
    h5("y-h5-eval", "y.h5")

    # ---- project D: metadata and a planted failing slice -------------------
    cli("d-synth", ["synth", "-o", "d.h5", "--seed", "2", "--frames", "400",
                    "--metadata", "--plant-slice", "--embeddings", "8",
                    "--scenes", "10", "--plant-pattern", "miss"], rc=0)
    cli("d-eval", ["eval", "d.h5", "--device", "ref", "-q"], rc=0)
    cli("d-slices", ["slices", "d.h5"], rc=0)
    cli("d-slices-json", ["slices", "d.h5", "--json", "--compact"], rc=0)
    cli("d-slices-three", ["slices", "d.h5", "--conditions", "3",
                           "--metric", "recall", "--min-support", "15",
                           "--alpha", "0.2", "--limit", "4"], rc=0)
    cli("d-slices-columns", ["slices", "d.h5", "--columns", "speed,weather",
                             "--bins", "3", "--rank", "effect-support",
                             "--conf", "0.3", "--iou", "0.75"], rc=0)
    cli("d-slices-save", ["slices", "d.h5", "--save-segment", "found"], rc=0)
    cli("d-slices-segment", ["slices", "d.h5", "--segment", "found",
                             "--min-support", "10"], rc=0)
    cli("d-embeddings-patterns", ["embeddings", "d.h5", "--patterns"], rc=0)
    cli("d-embeddings-patterns-json", ["embeddings", "d.h5", "--patterns",
                                       "--choose-k", "bic", "--json", "--compact"],
        rc=0)
    cli("d-embeddings-elbow", ["embeddings", "d.h5", "--patterns", "--choose-k",
                               "elbow", "--k-max", "12"], rc=0)
    cli("d-err-slices-column", ["slices", "d.h5", "--columns", "nosuch"], rc=2)
    cli("d-err-slices-slice", ["slices", "d.h5", "--save-segment", "x",
                               "--slice", "40"], rc=2)
    cli("d-usage-slices-conditions", ["slices", "d.h5", "--conditions", "5"],
        rc=129)
    cli("d-usage-choose-k", ["embeddings", "d.h5", "--choose-k", "gap"], rc=129)
    h5("d-h5-final", "d.h5")

    # ---- demo ------------------------------------------------------------
    cli("demo", ["demo", "-o", "demo.h5", "--device", "ref", "--seed", "2"], rc=0)
    h5("demo-h5", "demo.h5")


# --------------------------------------------------------------------------
# Compare / update


def golden_name(rid):
    return rid + ".txt"


def manifest_text(g):
    out = ["# detgrid golden outputs: id, exit code, sha256 of the golden file,",
           "# command. Regenerate with tests/test_golden.py --update.",
           ""]
    for rid, cmd, rc, text in g.records:
        out.append("%s\t%d\t%s\t%s" % (rid, rc, sha256(text.encode()), cmd))
    for rid in g.skipped:
        out.append("%s\t-\t(skipped: shared data absent)\t" % rid)
    return "\n".join(out) + "\n"


def read(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def update(g):
    os.makedirs(GOLDEN, exist_ok=True)
    if g.skipped:
        sys.exit("test_golden --update: shared data absent (%d invocations "
                 "skipped); refusing to write an incomplete golden set"
                 % len(g.skipped))
    keep = {golden_name(r[0]) for r in g.records} | {MANIFEST}
    for f in os.listdir(GOLDEN):
        if f not in keep:
            os.remove(os.path.join(GOLDEN, f))
    for rid, cmd, rc, text in g.records:
        with open(os.path.join(GOLDEN, golden_name(rid)), "w",
                  encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
    with open(os.path.join(GOLDEN, MANIFEST), "w") as f:
        f.write(manifest_text(g))
    size = sum(os.path.getsize(os.path.join(GOLDEN, f)) for f in os.listdir(GOLDEN))
    print("test_golden: wrote %d golden files (%d bytes) to %s"
          % (len(g.records) + 1, size, GOLDEN))


def crop_diff(lines, width=300):
    """Long lines (compact JSON, embedded HTML) cropped in a diff around the
    first character where the removed and the added line differ."""
    out = []
    minus = [l for l in lines if l.startswith("-") and not l.startswith("---")]
    plus = [l for l in lines if l.startswith("+") and not l.startswith("+++")]
    for l in lines:
        if len(l) <= width or l.startswith(("---", "+++")):
            out.append(l if l.endswith("\n") else l + "\n")
            continue
        other = plus if l.startswith("-") else minus if l.startswith("+") else []
        mine = minus if l.startswith("-") else plus
        k = mine.index(l) if l in mine else -1
        o = other[k] if 0 <= k < len(other) else ""
        i = next((j for j, (x, y) in enumerate(zip(l[1:], o[1:])) if x != y),
                 min(len(l), len(o)) - 1)
        lo = max(1, i - width // 3)
        hi = min(len(l), lo + width)
        out.append("%s[%d characters ...]%s[... %d characters] (first "
                   "difference at character %d)\n"
                   % (l[0], lo - 1, l[lo:hi].rstrip("\n"), len(l) - hi, i))
    return out


def compare(g):
    bad = []
    have = set(os.listdir(GOLDEN)) if os.path.isdir(GOLDEN) else set()
    files = [(golden_name(r[0]), r[3]) for r in g.records]
    files.append((MANIFEST, manifest_text(g)))
    skipped = {golden_name(r) for r in g.skipped}
    for name, text in files:
        path = os.path.join(GOLDEN, name)
        if name not in have:
            bad.append((name, "no golden file (new invocation?)"))
            continue
        want = read(path)
        if name == MANIFEST and g.skipped:
            # without the shared data, compare only the lines we ran
            text = "\n".join(l for l in text.splitlines()
                             if "(skipped: shared data absent)" not in l) + "\n"
            keepids = {l.split("\t")[0] for l in text.splitlines()}
            want = "\n".join(l for l in want.splitlines()
                             if not l or l.startswith("#")
                             or l.split("\t")[0] in keepids) + "\n"
        if want == text:
            continue
        bad.append((name, "differs"))
        d = list(difflib.unified_diff(
            want.splitlines(keepends=True), text.splitlines(keepends=True),
            "golden/" + name, "actual/" + name, n=2))
        print("".join(crop_diff(d[:DIFF_LINES])), end="")
        if len(d) > DIFF_LINES:
            print("[... %d more diff lines]" % (len(d) - DIFF_LINES))
        print()
    produced = {f for f, _ in files} | skipped
    for name in sorted(have - produced):
        bad.append((name, "golden file no longer produced"))
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--update", action="store_true",
                    help="rewrite tests/golden/ from this build")
    ap.add_argument("--actual", metavar="DIR",
                    help="also write the actual golden files to DIR")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary workspace")
    a = ap.parse_args()

    import time
    t0 = time.monotonic()
    tmp = TempDir(prefix="dg-golden-")
    try:
        g = Golden(tmp.path)
        run_all(g)
        if a.actual:
            os.makedirs(a.actual, exist_ok=True)
            for rid, _cmd, _rc, text in g.records:
                with open(os.path.join(a.actual, golden_name(rid)), "w",
                          encoding="utf-8", errors="surrogateescape") as f:
                    f.write(text)
            with open(os.path.join(a.actual, MANIFEST), "w") as f:
                f.write(manifest_text(g))
        n = len(g.records)
        if a.update:
            update(g)
            print("test_golden: %d invocations in %.1f s" % (n, time.monotonic() - t0))
            return 0
        bad = compare(g)
    finally:
        if a.keep:
            print("test_golden: workspace kept in %s" % tmp.path)
        else:
            shutil.rmtree(tmp.path, ignore_errors=True)
    dt = time.monotonic() - t0
    if g.skipped:
        print("note: %d invocations skipped (shared data absent)" % len(g.skipped))
    if bad:
        print("test_golden: %d of %d golden files differ:" % (len(bad), n + 1))
        for name, why in bad:
            print("  %s: %s" % (name, why))
        print("(if the change is intended and reviewed: tests/test_golden.py --update)")
        return 1
    print("test_golden: %d invocations, all %d golden files equal (%.1f s)"
          % (n, n + 1, dt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
