"""The usage example at the top of include/detgrid/detgrid.h, end to end.

The build extracts the example from between its marker lines into
example.c and compiles it against the public headers (tests/CMakeLists.txt,
cmake/example.cmake). Here the program it makes runs on synthetic projects
and what it prints must equal `detgrid metrics --json` at the same
confidence and IoU (0.37, 0.55); its error handling must name what failed.
"""

import os
import subprocess

import dgtest
from dgtest import Checker, TempDir, metrics_json, run

HEADER = os.path.join(dgtest.REPO, "include", "detgrid", "detgrid.h")
BEGIN = " * ---- example.c ----\n"
END = " * ---- end of example.c ----\n"


def example_bin():
    b = os.environ.get("DETGRID_EXAMPLE")
    if not b:
        b = os.path.join(os.path.dirname(dgtest.BIN), "tests", "example")
    return os.path.abspath(b)


def header_example():
    """The example as the header writes it, less the comment prefix."""
    text = open(HEADER).read()
    b, e = text.index(BEGIN) + len(BEGIN), text.index(END)
    lines = []
    for line in text[b:e].splitlines():
        # " *" then the comment's space and the example's four-space indent
        if line == " *":
            lines.append("")
        else:
            assert line.startswith(" *     "), line
            lines.append(line[7:])
    return "\n".join(lines) + "\n"


def run_example(args):
    p = subprocess.run([example_bin()] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def fmt(v):
    """A JSON figure as the example's "%.4f" prints it (NaN for null)."""
    return "nan" if v is None else "%.4f" % v


def check_project(c, d, synth_args):
    path = os.path.join(d, "p.h5")
    run(["synth", "-o", path] + synth_args)
    before = open(path, "rb").read()
    info = run(["info", path, "--json"]).json()
    sets = [s["name"] for s in info["inferences"]]
    c.ok(len(sets) >= 1, "no inference sets")

    printed = {}
    for s in sets:
        rc, out, err = run_example([path, s])
        c.eq(rc, 0, "example %s exit (stderr: %s)" % (s, err))
        lines = out.splitlines()
        c.eq(lines[0], "class tp fp fn precision recall f1", "header line")
        printed[s] = [l.rsplit(" ", 6) for l in lines[1:]]  # names: spaces
    # The example evaluates in memory: the file is untouched.
    c.ok(open(path, "rb").read() == before, "the example changed the file")

    run(["eval", path])
    n_nan = n_tp = 0
    for s in sets:
        m = metrics_json(path, conf=0.37, iou=0.55, inf=s)
        c.eq(len(printed[s]), len(m["classes"]), "%s: classes" % s)
        for row, k in zip(printed[s], m["classes"]):
            want = [k["name"], str(k["tp"]), str(k["fp"]), str(k["fn"]),
                    fmt(k["precision"]), fmt(k["recall"]), fmt(k["f1"])]
            got = [row[0]] + row[1:4] + [
                "nan" if "nan" in v else v for v in row[4:]]
            c.eq(got, want, "%s: class %s" % (s, k["name"]))
            n_tp += k["tp"]
            n_nan += k["precision"] is None or k["recall"] is None
    c.ok(n_tp > 0, "no true positives: the comparison would be empty")
    return n_nan


def main():
    c = Checker("test_example")
    exe = example_bin()
    c.ok(os.access(exe, os.X_OK), "no example program at %s" % exe)

    # The program was built from the header's current text.
    gen = os.path.join(os.path.dirname(exe), "example.c")
    got = open(gen).read().split("\n", 1)[1]
    c.eq(got, header_example(), "example.c against detgrid.h")

    with TempDir() as d:
        check_project(c, d, ["--seed", "5", "--frames", "120", "--classes",
                             "6", "--inferences", "2", "--score-levels",
                             "20"])
    with TempDir() as d:
        # Many classes on few frames: some have no labels or no
        # detections, so precision or recall is undefined (NaN / null).
        n_nan = check_project(c, d, ["--seed", "9", "--frames", "6",
                                     "--classes", "40"])
        c.ok(n_nan > 0, "no undefined figure was compared")

    # Errors: the message of dg_ctx_last_error, naming what failed.
    with TempDir() as d:
        missing = os.path.join(d, "missing.h5")
        rc, out, err = run_example([missing])
        c.eq(rc, 2, "missing file: exit")
        c.ok(err.startswith("example: ") and "missing.h5" in err,
             "missing file: message %r" % err)
        path = os.path.join(d, "p.h5")
        run(["synth", "-o", path, "--frames", "5"])
        rc, out, err = run_example([path, "nope"])
        c.eq(rc, 2, "unknown set: exit")
        c.ok("no inference set 'nope'" in err, "unknown set: message %r" % err)
    c.done()


if __name__ == "__main__":
    dgtest.main_wrapper(main)
