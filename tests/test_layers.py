"""The layer rules of docs/HACKING.md, checked three ways.

1. Includes: every file of host/<layer>/ includes only system headers, the
   public headers (detgrid/...), its own folder's headers and the interface
   headers of the layers it may use; never a path with a directory part.
2. Symbols: every object file of a layer references only symbols defined in
   its own layer, in the layers it may use, or outside the library (libc,
   HDF5, OpenCL, ...). This catches a hand-written extern that walks around
   the headers.
3. The compiler itself: a file compiled with a layer's real include path
   cannot include a header it must not see (a store-private header from a
   query, the engine's private header from a query, cl.h from the store),
   and can include the ones it may.

The rules come from build/layers/rules.txt, which cmake/layers.cmake writes
from the dg_layer() calls in CMakeLists.txt; there is no second copy here.
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

import dgtest

REPO = dgtest.REPO
BUILD = os.path.abspath(os.environ.get("DETGRID_BUILD_DIR") or
                        os.path.join(REPO, "build"))
CC = os.environ.get("DETGRID_CC") or "cc"


def read_rules():
    path = os.path.join(BUILD, "layers", "rules.txt")
    if not os.path.exists(path):
        print("no %s: configure the build first" % path)
        sys.exit(77)
    uses, iface = {}, {}
    for line in open(path):
        if not line.strip():
            continue
        name, rest = line.split(":", 1)
        u, i = rest.split("|")
        uses[name.strip()] = u.split()
        iface[name.strip()] = i.split()
    return uses, iface


def check_includes(ck, uses, iface):
    inc_re = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
    n_files = 0
    for layer in uses:
        own = set(os.path.basename(p)
                  for p in glob.glob(os.path.join(REPO, "host", layer, "*.h")))
        allowed = set(own)
        for u in uses[layer]:
            allowed.update(iface[u])
        for path in sorted(glob.glob(os.path.join(REPO, "host", layer, "*.[ch]"))):
            n_files += 1
            rel = os.path.relpath(path, REPO)
            for inc in inc_re.findall(open(path).read()):
                if inc.startswith("detgrid/"):
                    ck.ok(os.path.exists(os.path.join(REPO, "include", inc)),
                          "%s: no public header %s" % (rel, inc))
                    continue
                ck.ok("/" not in inc,
                      "%s includes \"%s\": a path reaches around the layer "
                      "rules" % (rel, inc))
                ck.ok(inc in allowed,
                      "%s includes \"%s\", which layer %s may not see "
                      "(allowed: %s)" % (rel, inc, layer,
                                         ", ".join(sorted(allowed))))
    # Every folder of host/ is a layer.
    for d in glob.glob(os.path.join(REPO, "host", "*")):
        if os.path.isdir(d):
            ck.ok(os.path.basename(d) in uses,
                  "host/%s is not a layer in CMakeLists.txt" %
                  os.path.basename(d))
    return n_files


def nm(path, flag):
    out = subprocess.run(["nm", flag, path], capture_output=True, text=True,
                         check=True).stdout
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        if flag == "-u":
            syms.add(parts[-1])
        elif len(parts) >= 3 and parts[1] in "TDBRCVWGS" + "tdbr":
            if parts[1].isupper() or parts[1] in "VW":
                syms.add(parts[2])
    return syms


def check_symbols(ck, uses):
    objs = {}
    for layer in uses:
        objs[layer] = glob.glob(os.path.join(
            BUILD, "CMakeFiles", "dg_%s.dir" % layer, "**", "*.o"),
            recursive=True)
        ck.ok(objs[layer] or not glob.glob(os.path.join(REPO, "host", layer,
                                                         "*.c")),
              "no object files of layer %s under %s" % (layer, BUILD))
    defined = {}
    for layer, paths in objs.items():
        for p in paths:
            for s in nm(p, "--defined-only"):
                defined[s] = layer
    n = 0
    for layer, paths in objs.items():
        ok_layers = set(uses[layer]) | {layer}
        for p in paths:
            for s in nm(p, "-u"):
                owner = defined.get(s)
                if owner is None:
                    continue  # libc, HDF5, OpenCL, MPI, expat, zlib
                n += 1
                ck.ok(owner in ok_layers,
                      "%s (layer %s) uses %s of layer %s" %
                      (os.path.basename(p), layer, s, owner))
    return n


def compiles(layer, source):
    inc = os.path.join(BUILD, "layers", layer)
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "probe.c")
        with open(src, "w") as f:
            f.write(source)
        # -iquote host/<layer>: the layer's own headers, found as they are
        # for a file of that folder (quoted includes look beside the file).
        r = subprocess.run([CC, "-std=c11", "-fsyntax-only",
                            "-iquote", os.path.join(REPO, "host", layer),
                            "-I", os.path.join(REPO, "include"), "-I", inc,
                            "-DCL_TARGET_OPENCL_VERSION=120", src],
                           capture_output=True, text=True, cwd=d)
    return r.returncode == 0, r.stderr


def check_compiler(ck, uses):
    cases = [
        # layer, header, may it?
        ("query", "engine.h", True),
        ("query", "store.h", True),
        ("query", "store_impl.h", False),   # the store's private layouts
        ("query", "engine_impl.h", False),  # the engine's private steps
        ("query", "ref.h", False),          # queries reach ref via the engine
        ("query", "cl.h", False),
        ("import", "store.h", True),
        ("import", "engine.h", False),
        ("store", "engine.h", False),
        ("store", "cl.h", False),
        ("core", "store.h", False),
        ("ref", "store.h", False),
        ("engine", "ref.h", True),
    ]
    if "cl" in uses:
        cases += [("cl", "core.h", True), ("cl", "ref.h", False),
                  ("engine", "cl.h", True)]
    for layer, header, may in cases:
        if layer not in uses:
            continue
        ok, err = compiles(layer, '#include "%s"\nint dg_probe;\n' % header)
        ck.ok(ok == may, "layer %s including \"%s\": %s (expected %s)\n%s" % (
            layer, header, "compiles" if ok else "does not compile",
            "to compile" if may else "to fail", err[-600:]))
        if not may:
            print("  %-6s #include \"%s\" -> %s" % (
                layer, header, err.strip().splitlines()[0] if err else "?"))
    return len(cases)


def main():
    uses, iface = read_rules()
    ck = dgtest.Checker("layers")
    nf = check_includes(ck, uses, iface)
    ns = check_symbols(ck, uses)
    nc = check_compiler(ck, uses)
    print("layers: %d files' includes, %d cross-file symbol uses, %d compiler "
          "probes; %d checks passed" % (nf, ns, nc, ck.n))


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
