/*
 * detgrid report: the page's logic, plain JavaScript, no dependencies.
 *
 * Everything shown is computed here from the exported per-detection data
 * (docs/REPORT.md): per inference set the sorted scores (float64), the
 * class-wise outcome at every stored IoU threshold (two bit planes: TP,
 * ignored) and the class-agnostic match (a frame-relative label code per
 * detection; row 0 in full, later rows as changes). A slider move is, per
 * class, one binary search in the scores plus two prefix-sum lookups, so
 * the counts are exactly those of `detgrid metrics` at the same point, and
 * a pass over the counted detections gives `detgrid confusion`'s matrix.
 */
"use strict";
(function () {
  var DG = JSON.parse(document.getElementById("dg-data").textContent);
  var K = DG.classes.length;
  var F = DG.frames.length;
  var MANY = K > 25;
  var EX_LIMIT = 200;
  var timings = { decode: 0, firstRender: 0, renders: [] };
  window.__dg = { data: DG, timings: timings, ready: false };

  /* ---- decoding ---------------------------------------------------------- */

  var SIZES = { f64: 8, f32: 4, u32: 4, i32: 4, u16: 2, u8: 1 };

  function b64bytes(txt) {
    if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(txt);
    var bin = atob(txt), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }

  function typed(ref, bytes) {
    var b = bytes.buffer;
    if (bytes.byteOffset) b = bytes.slice().buffer;
    switch (ref.type) {
      case "f64": return new Float64Array(b, 0, ref.n);
      case "f32": return new Float32Array(b, 0, ref.n);
      case "u32": return new Uint32Array(b, 0, ref.n);
      case "i32": return new Int32Array(b, 0, ref.n);
      case "u16": return new Uint16Array(b, 0, ref.n);
      default: return new Uint8Array(b, 0, ref.n);
    }
  }

  /* One blob: base64, then (z) inflate and (shuffle) undo the byte shuffle. */
  function decodeBlob(ref) {
    var bytes = b64bytes(document.getElementById("dg-b" + ref.blob).textContent);
    if (!ref.z) return Promise.resolve(typed(ref, bytes));
    var ds = new DecompressionStream("deflate");
    return new Response(new Blob([bytes]).stream().pipeThrough(ds)).arrayBuffer().then(function (buf) {
      var z = new Uint8Array(buf), es = SIZES[ref.type];
      if (ref.shuffle && es > 1) {
        var n = ref.n, out = new Uint8Array(z.length);
        for (var k = 0; k < es; k++) {
          var src = k * n;
          for (var i = 0; i < n; i++) out[i * es + k] = z[src + i];
        }
        z = out;
      }
      return typed(ref, z);
    });
  }

  /* Every blob reference in the payload, decoded once, before anything else. */
  function decodeAll() {
    var refs = [];
    (function walk(o) {
      if (!o || typeof o !== "object") return;
      if (typeof o.blob === "number" && o.type) { refs.push(o); return; }
      for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) walk(o[k]);
    })(DG);
    if (refs.some(function (r) { return r.z; }) && typeof DecompressionStream === "undefined")
      return Promise.reject(new Error("this browser lacks DecompressionStream; open the report in a current browser"));
    return Promise.all(refs.map(function (r) {
      return decodeBlob(r).then(function (a) { r.arr = a; });
    })).then(function () {
      /* the base64 text is no longer needed: let it be freed */
      refs.forEach(function (r) {
        var e = document.getElementById("dg-b" + r.blob);
        if (e) e.remove();
      });
    });
  }

  /* Arrays with a "scale" are decimals sent as integers: value = int / scale. */
  function blob(ref) {
    if (!ref) return null;
    if (ref.scale && !ref.dbl) {
      var a = ref.arr, d = new Float64Array(a.length);
      for (var i = 0; i < a.length; i++) d[i] = a[i] / ref.scale;
      ref.dbl = d;
    }
    return ref.scale ? ref.dbl : ref.arr;
  }

  var t0 = performance.now();
  decodeAll().then(main, function (e) {
    document.getElementById("app").innerHTML = '<p style="color:#c4321c">Cannot read the report data: ' +
      String(e && e.message || e) + "</p>";
  });

  function main() {
    var L = {
      n: DG.labels.n,
      off: blob(DG.labels.frame_off),
      cls: blob(DG.labels.cls),
      flags: blob(DG.labels.flags),
      box: blob(DG.labels.box)
    };
    var SETS = DG.sets.map(function (d, si) {
      var S = {
        i: si, name: d.name, n: d.n_det, iou: d.iou, T: d.iou.length,
        off: d.class_off, gt: d.gt_count, device: d.device,
        score: blob(d.score), bits: blob(d.status), frame: blob(d.det_frame),
        box: blob(d.det_box), agn: null, rows: [], pre: {}, curves: {},
        le: d.label_errors, emb: d.embeddings || null,
        conf: DG.default_conf, t: 0
      };
      if (d.agnostic) {
        var a = d.agnostic, start = [0];
        for (var t = 1; t < a.n_changes.length; t++)
          start.push(start[t - 1] + a.n_changes[t - 1]);
        S.agn = { row0: blob(a.row0), pos: blob(a.chg_pos), val: blob(a.chg_val),
                  n: a.n_changes, start: start };
      }
      var best = 0;
      for (var k = 0; k < S.T; k++)
        if (Math.abs(S.iou[k] - DG.default_iou) < Math.abs(S.iou[best] - DG.default_iou))
          best = k;
      S.t = best;
      return S;
    });
    var SEGS = (DG.segments || []).map(function (s) {
      return { name: s.name, kind: s.kind, frames: s.frames ? blob(s.frames) : null,
               targets: s.targets || {}, mask: null, gt: null, frameGt: null };
    });
    var EMB = DG.embeddings ? {
      kind: DG.embeddings.kind, x: blob(DG.embeddings.x), y: blob(DG.embeddings.y),
      frame: DG.embeddings.frame ? blob(DG.embeddings.frame) : null, n: DG.embeddings.n
    } : null;
    timings.decode = performance.now() - t0;

    /* ---- state --------------------------------------------------------------- */

    var st = {
      seg: 0,            /* index into SEGS (0: every frame), -1 none exported */
      sel: [],           /* classes drawn in the PR curves */
      focus: -1,         /* many-class view: the class the confusion list shows */
      filter: "",
      sort: { key: "name", asc: true },
      cm: 0,             /* inference set whose confusion matrix is shown */
      cell: null,        /* { s, g, p } examples shown */
      exSort: "confidence", exAsc: false,
      le: 0, leKind: 0,
      embMetric: "f1", embSet: 0
    };
    if (!SEGS.length) st.seg = -1;

    /* ---- queries ----------------------------------------------------------- */

    /* Entries of the descending s[lo, hi) that are >= c (dg__count_at_least). */
    function countAtLeast(s, lo, hi, c) {
      var a = lo, b = hi;
      while (a < b) {
        var m = a + Math.floor((b - a) / 2);
        if (s[m] >= c) a = m + 1; else b = m;
      }
      return a - lo;
    }

    function segMask() {
      if (st.seg <= 0) return null;
      var g = SEGS[st.seg];
      if (!g.mask) {
        g.mask = new Uint8Array(F);
        for (var i = 0; i < g.frames.length; i++) g.mask[g.frames[i]] = 1;
      }
      return g.mask;
    }

    /* Regular (neither crowd nor ignored) labels per frame and class. */
    var frameGt = null;
    function regularPerFrame() {
      if (frameGt) return frameGt;
      frameGt = new Int32Array(F);
      for (var f = 0; f < F; f++)
        for (var j = L.off[f]; j < L.off[f + 1]; j++)
          if (!L.flags[j]) frameGt[f]++;
      return frameGt;
    }

    /* Non-ignored ground truths per class within the current segment. */
    function gtCounts(S) {
      var mask = segMask();
      if (!mask) return S.gt;
      var g = SEGS[st.seg];
      if (!g.gt) {
        g.gt = new Float64Array(K);
        for (var f = 0; f < F; f++) {
          if (!mask[f]) continue;
          for (var j = L.off[f]; j < L.off[f + 1]; j++)
            if (!L.flags[j]) g.gt[L.cls[j]]++;
        }
      }
      return g.gt;
    }

    /* Prefix counts of TP, ignored and kept detections at threshold t. */
    function prefix(S, t) {
      var key = t + ":" + st.seg;
      if (S.pre[key]) return S.pre[key];
      var n = S.n, nb = (n + 7) >> 3, mask = segMask(), fr = S.frame;
      var tpb = S.bits.subarray(2 * t * nb, 2 * t * nb + nb);
      var igb = S.bits.subarray((2 * t + 1) * nb, (2 * t + 2) * nb);
      var TP = new Int32Array(n + 1), IG = new Int32Array(n + 1);
      var M = mask ? new Int32Array(n + 1) : null;
      var a = 0, b = 0, m = 0;
      for (var j = 0; j < n; j++) {
        if (!mask || mask[fr[j]]) {
          var bit = 1 << (j & 7), by = j >> 3;
          if (tpb[by] & bit) a++;
          else if (igb[by] & bit) b++;
          m++;
        }
        TP[j + 1] = a;
        IG[j + 1] = b;
        if (M) M[j + 1] = m;
      }
      return (S.pre[key] = { TP: TP, IG: IG, M: M });
    }

    function prf(tp, fp, fn, ngt) {
      var den = 2 * tp + fp + fn;
      return {
        precision: tp + fp ? tp / (tp + fp) : NaN,
        recall: ngt ? tp / ngt : NaN,
        f1: den ? 2 * tp / den : NaN
      };
    }

    /* Per-class counts at the set's (conf, threshold), as dg_results_counts. */
    function counts(S) {
      var P = prefix(S, S.t), gt = gtCounts(S), out = new Array(K);
      for (var c = 0; c < K; c++) {
        var lo = S.off[c], hi = S.off[c + 1];
        var k = countAtLeast(S.score, lo, hi, S.conf);
        var tp = P.TP[lo + k] - P.TP[lo], ig = P.IG[lo + k] - P.IG[lo];
        var kept = P.M ? P.M[lo + k] - P.M[lo] : k;
        var fp = kept - tp - ig, fn = gt[c] - tp;
        var m = prf(tp, fp, fn, gt[c]);
        out[c] = { tp: tp, fp: fp, fn: fn, n_gt: gt[c], precision: m.precision,
                   recall: m.recall, f1: m.f1, k: k };
      }
      return out;
    }

    /* Micro and macro averages, as the CLI's cli_avg. */
    function overall(cs) {
      var tp = 0, fp = 0, fn = 0, ngt = 0, sp = 0, sr = 0, sf = 0, np = 0, nr = 0, nf = 0;
      for (var c = 0; c < cs.length; c++) {
        var x = cs[c];
        tp += x.tp; fp += x.fp; fn += x.fn; ngt += x.n_gt;
        if (!isNaN(x.precision)) { sp += x.precision; np++; }
        if (!isNaN(x.recall)) { sr += x.recall; nr++; }
        if (!isNaN(x.f1)) { sf += x.f1; nf++; }
      }
      var mi = prf(tp, fp, fn, ngt);
      return {
        micro: { tp: tp, fp: fp, fn: fn, precision: mi.precision, recall: mi.recall, f1: mi.f1 },
        macro: { precision: np ? sp / np : NaN, recall: nr ? sr / nr : NaN, f1: nf ? sf / nf : NaN }
      };
    }

    /* Agnostic codes at threshold t: 0 background, 1 ignored, 2 + label in frame. */
    function agnRow(S, t) {
      if (S.rows[t]) return S.rows[t];
      var r = t === 0 ? S.agn.row0 : agnRow(S, t - 1).slice();
      if (t > 0) {
        var a = S.agn.start[t], e = a + S.agn.n[t], pos = S.agn.pos, val = S.agn.val;
        for (var i = a; i < e; i++) r[pos[i]] = val[i];
      }
      return (S.rows[t] = r);
    }

    /*
     * The row of threshold t as matrix rows: the class of the label each
     * detection took, K for background, K + 1 for ignored (built once).
     */
    function agnClass(S, t) {
      S.gcls = S.gcls || [];
      if (S.gcls[t]) return S.gcls[t];
      var row = agnRow(S, t), fr = S.frame, n = S.n;
      var g = K + 2 <= 256 ? new Uint8Array(n) : new Uint16Array(n);
      for (var j = 0; j < n; j++) {
        var a = row[j];
        g[j] = a === 0 ? K : a === 1 ? K + 1 : L.cls[L.off[fr[j]] + a - 2];
      }
      return (S.gcls[t] = g);
    }

    /* The confusion matrix (K + 1)^2, [gt][pred], as dg_confusion_matrix. */
    function confusion(S) {
      var w = K + 1, m = new Float64Array((K + 2) * w), ign;
      var gc = agnClass(S, S.t), fr = S.frame, mask = segMask(), gt = gtCounts(S);
      for (var c = 0; c < K; c++) {
        var lo = S.off[c], k = countAtLeast(S.score, lo, S.off[c + 1], S.conf), j;
        if (mask) {
          for (j = lo; j < lo + k; j++) if (mask[fr[j]]) m[gc[j] * w + c]++;
        } else {
          for (j = lo; j < lo + k; j++) m[gc[j] * w + c]++;
        }
      }
      /* row K + 1 collected the ignored detections */
      ign = 0;
      for (c = 0; c < K; c++) ign += m[(K + 1) * w + c];
      m = m.subarray(0, w * w);
      for (var g = 0; g < K; g++) {
        var taken = 0;
        for (var p = 0; p < K; p++) taken += m[g * w + p];
        m[g * w + K] = gt[g] - taken;
      }
      return { m: m, ignored: ign };
    }

    /* PR curve of class c: a point at the end of every run of equal scores. */
    function curve(S, c) {
      var key = S.t + ":" + st.seg + ":" + c;
      if (S.curves[key]) return S.curves[key];
      var P = prefix(S, S.t), gt = gtCounts(S)[c], lo = S.off[c], hi = S.off[c + 1];
      var xs = [], ys = [], sc = S.score;
      for (var j = lo; j < hi; j++) {
        if (j + 1 < hi && sc[j + 1] === sc[j]) continue;
        var tp = P.TP[j + 1] - P.TP[lo], ig = P.IG[j + 1] - P.IG[lo];
        var kept = P.M ? P.M[j + 1] - P.M[lo] : j + 1 - lo;
        var fp = kept - tp - ig;
        if (tp + fp === 0 || !gt) continue;
        xs.push(tp / gt);
        ys.push(tp / (tp + fp));
      }
      return (S.curves[key] = { x: xs, y: ys });
    }

    function boxIou(b, i, g, j, crowd) {
      var dx = b[4 * i], dy = b[4 * i + 1], dw = b[4 * i + 2], dh = b[4 * i + 3];
      var gx = g[4 * j], gy = g[4 * j + 1], gw = g[4 * j + 2], gh = g[4 * j + 3];
      var w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) return 0;
      var h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) return 0;
      var inter = w * h, da = dw * dh;
      return inter / (crowd ? da : da + gw * gh - inter);
    }

    /* Sorted positions of each frame's detections (built on first use). */
    function byFrame(S) {
      if (S.byFrame) return S.byFrame;
      var start = new Int32Array(F + 1), idx = new Int32Array(S.n), fr = S.frame;
      for (var j = 0; j < S.n; j++) start[fr[j] + 1]++;
      for (var f = 0; f < F; f++) start[f + 1] += start[f];
      var fill = start.slice(0, F);
      for (j = 0; j < S.n; j++) idx[fill[fr[j]]++] = j;
      return (S.byFrame = { start: start, idx: idx });
    }

    /* The examples behind cell (g, p) (K = background), as dg_examples_new. */
    function examples(S, g, p) {
      var out = [], row = agnRow(S, S.t), fr = S.frame, mask = segMask();
      var lo, k, j, f, q;
      if (p !== K) {
        lo = S.off[p];
        k = countAtLeast(S.score, lo, S.off[p + 1], S.conf);
        for (j = lo; j < lo + k; j++) {
          f = fr[j];
          if (mask && !mask[f]) continue;
          var a = row[j];
          if (g === K ? a !== 0 : (a < 2 || L.cls[L.off[f] + a - 2] !== g)) continue;
          var e = { frame: f, det: j, gt: -1, iou: 0 };
          if (a >= 2) {
            e.gt = L.off[f] + a - 2;
            e.iou = boxIou(S.box, j, L.box, e.gt, 0);
          } else {
            for (q = L.off[f]; q < L.off[f + 1]; q++)
              if (!L.flags[q]) e.iou = Math.max(e.iou, boxIou(S.box, j, L.box, q, 0));
          }
          out.push(e);
        }
      } else {
        var taken = new Uint8Array(L.n);
        for (var c = 0; c < K; c++) {
          lo = S.off[c];
          k = countAtLeast(S.score, lo, S.off[c + 1], S.conf);
          for (j = lo; j < lo + k; j++)
            if (row[j] >= 2) taken[L.off[fr[j]] + row[j] - 2] = 1;
        }
        var bf = byFrame(S);
        for (f = 0; f < F; f++) {
          if (mask && !mask[f]) continue;
          for (q = L.off[f]; q < L.off[f + 1]; q++) {
            if (taken[q] || L.flags[q] || L.cls[q] !== g) continue;
            var best = 0;
            for (var u = bf.start[f]; u < bf.start[f + 1]; u++) {
              var d = bf.idx[u];
              if (S.score[d] >= S.conf) best = Math.max(best, boxIou(S.box, d, L.box, q, 0));
            }
            out.push({ frame: f, det: -1, gt: q, iou: best });
          }
        }
      }
      out.forEach(function (e) {
        e.score = e.det >= 0 ? S.score[e.det] : NaN;
        var b = e.gt >= 0 ? L.box : S.box, i = e.gt >= 0 ? e.gt : e.det;
        e.area = b[4 * i + 2] * b[4 * i + 3];
      });
      return out;
    }

    function sortExamples(list) {
      var key = st.exSort === "iou" ? "iou" : st.exSort === "area" ? "area" : "score";
      var sgn = st.exAsc ? 1 : -1;
      list.sort(function (x, y) {
        var a = x[key], b = y[key], an = isNaN(a), bn = isNaN(b);
        if (an !== bn) return an ? 1 : -1;
        if (!an && a !== b) return (a < b ? -1 : 1) * sgn;
        if (x.frame !== y.frame) return x.frame - y.frame;
        if (x.det !== y.det) return x.det - y.det;
        return x.gt - y.gt;
      });
      return list;
    }

    /* ---- formatting ---------------------------------------------------------- */

    function esc(s) {
      return String(s).replace(/[&<>"]/g, function (c) {
        return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
      });
    }
    function f4(v) { return isNaN(v) ? "–" : v.toFixed(4); }
    function f3(v) { return isNaN(v) ? "–" : v.toFixed(3); }
    /* data-v: the exact value (JavaScript's shortest round-trip form) or null. */
    function dv(v) { return isNaN(v) ? "null" : String(v); }
    function cname(c) { return c === K ? "background" : DG.classes[c]; }
    function boxText(b, i) {
      if (i < 0) return "–";
      return [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]].map(function (v) {
        return (+v.toFixed(1)).toString();
      }).join(", ");
    }
    var PAL = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
               "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f", "#393b79", "#637939"];
    function selColor(c) {
      var i = st.sel.indexOf(c);
      return i < 0 ? null : PAL[i % PAL.length];
    }

    /* ---- layout ----------------------------------------------------------- */

    var $ = function (id) { return document.getElementById(id); };
    document.getElementById("title").textContent = DG.title;
    $("meta").textContent = DG.project + " · " + K + " classes · " + F + " frames · " +
      L.n + " labels · " + SETS.map(function (S) {
        return S.name + " (" + S.n + " detections, " + S.device + ")";
      }).join(" vs ");

    var app = $("app");
    app.innerHTML = "";
    function section(id, title, extra) {
      var s = document.createElement("section");
      s.className = "card";
      s.id = id;
      s.innerHTML = "<h2>" + esc(title) + (extra ? " <small>" + extra + "</small>" : "") + "</h2>";
      app.appendChild(s);
      return s;
    }

    /* Controls: one confidence and one IoU slider per inference set. */
    var ctl = $("controls");
    SETS.forEach(function (S) {
      /* The slider spans [0, 1] and the scores, which may reach beyond
       * it (logits, percentages): a confidence applies to them as they
       * are. */
      var lo = 0, hi = 1, k;
      for (k = 0; k < S.score.length; k++) {
        if (S.score[k] < lo) lo = S.score[k];
        if (S.score[k] > hi) hi = S.score[k];
      }
      var st = hi - lo > 1 ? (hi - lo) / 1000 : 0.001;
      var d = document.createElement("div");
      d.className = "ctl s" + S.i;
      d.innerHTML =
        '<span class="setname">' + esc(S.name) + "</span>" +
        '<label>confidence ≥ <input type="range" id="set' + S.i + '-conf" min="' + lo + '" max="' + hi +
        '" step="' + st + '" value="' +
        S.conf + '"><input type="number" id="set' + S.i + '-conf-num" min="' + lo + '" max="' + hi +
        '" step="any" value="' +
        S.conf + '"></label>' +
        '<label>IoU ≥ <input type="range" id="set' + S.i + '-iou" min="0" max="' + (S.T - 1) +
        '" step="1" value="' + S.t + '"><span class="ioulab" id="set' + S.i + '-iou-val">' + S.iou[S.t] +
        "</span></label>";
      ctl.appendChild(d);
      var cr = $("set" + S.i + "-conf"), cn = $("set" + S.i + "-conf-num"), ir = $("set" + S.i + "-iou");
      cr.addEventListener("input", function () {
        S.conf = parseFloat(cr.value);
        cn.value = cr.value;
        render();
      });
      cn.addEventListener("input", function () {
        var v = parseFloat(cn.value);
        if (isNaN(v)) return;
        S.conf = v;
        cr.value = cn.value;
        render();
      });
      ir.addEventListener("input", function () {
        S.t = parseInt(ir.value, 10);
        $("set" + S.i + "-iou-val").textContent = S.iou[S.t];
        render();
      });
    });
    var pill = document.createElement("div");
    pill.className = "segpill";
    pill.id = "segpill";
    ctl.appendChild(pill);

    var secCards = SEGS.length ? section("scenarios", "Scenarios",
      "segments with their targets at each set's thresholds (or the segment's own); click a card to filter the page") : null;
    var secOverall = section("overall", "Overall");
    var secClasses = section("classes", MANY ? "Classes (many-class view)" : "Classes",
      "click a class to draw its PR curve" + (MANY ? " and list its confusions" : ""));
    var rowCP = document.createElement("div");
    rowCP.className = "row2";
    app.appendChild(rowCP);
    var secCm = section("confusion", "Confusion matrix",
      "class-agnostic matching; rows: ground truth, columns: prediction; click a cell for its examples");
    var secPr = section("pr", "Precision–recall curves", "at the set's IoU; dot: the current confidence");
    if (MANY && SETS.length === 1) {
      /* the seed's many-class layout: the class table left, the confusions right
       * (with two sets the table needs the whole width) */
      app.insertBefore(rowCP, secClasses);
      rowCP.appendChild(secClasses);
      rowCP.appendChild(secCm);
      app.insertBefore(secPr, rowCP.nextSibling);
    } else {
      rowCP.appendChild(secCm);
      rowCP.appendChild(secPr);
    }
    var secEx = section("examples", "Examples");
    secEx.style.display = "none";
    var secLe = SETS.some(function (S) { return S.le; }) ? section("label-errors", "Likely label errors",
      "computed at export with the project's default IoU; the lists follow the segment filter") : null;
    var secEmb = EMB ? section("embeddings", "Embeddings", "2-D projection, coloured by the chosen metric") : null;
    var tip = document.createElement("div");
    tip.className = "tip";
    document.body.appendChild(tip);

    /* ---- renderers -------------------------------------------------------- */

    var C = [];  /* per set: counts of the last render */

    function renderOverall() {
      var h = '<div class="overall">';
      SETS.forEach(function (S) {
        var o = overall(C[S.i]);
        var cell = function (k, v, isInt) {
          return '<div><div class="k">' + k + '</div><div class="big" data-set="' + S.i + '" data-k="' + k.replace(" ", "-") +
            '" data-v="' + dv(v) + '">' + (isInt ? v : f4(v)) + "</div></div>";
        };
        h += '<div class="ov s' + S.i + '"><h3>' + esc(S.name) + ' <span class="muted">at confidence ≥ ' +
          S.conf + ", IoU ≥ " + S.iou[S.t] + "</span></h3>" + '<div class="kv">' +
          cell("micro precision", o.micro.precision) + cell("micro recall", o.micro.recall) +
          cell("micro f1", o.micro.f1) + cell("macro precision", o.macro.precision) +
          cell("macro recall", o.macro.recall) + cell("macro f1", o.macro.f1) +
          cell("tp", o.micro.tp, 1) + cell("fp", o.micro.fp, 1) + cell("fn", o.micro.fn, 1) +
          "</div></div>";
      });
      secOverall.innerHTML = "<h2>Overall" + (st.seg > 0 ? " <small>segment " + esc(SEGS[st.seg].name) + "</small>" : "") +
        "</h2>" + h + "</div>";
    }

    var FIELDS = ["tp", "fp", "fn", "precision", "recall", "f1"];
    var tableHost = document.createElement("div");
    function renderClasses() {
      if (!tableHost.parentNode) {
        var tb = document.createElement("div");
        tb.className = "toolbar";
        tb.innerHTML = '<input type="search" id="class-filter" placeholder="filter classes…">' +
          '<span class="muted" id="class-count"></span>' +
          '<button class="small" id="sel-none">clear curve selection</button>';
        secClasses.appendChild(tb);
        tableHost.className = "scroll" + (MANY ? " compact" : "");
        secClasses.appendChild(tableHost);
        $("class-filter").addEventListener("input", function (e) {
          st.filter = e.target.value.toLowerCase();
          renderClasses();
        });
        $("sel-none").addEventListener("click", function () { st.sel = []; st.focus = -1; render(); });
        tableHost.addEventListener("click", function (e) {
          var th = e.target.closest("th");
          if (th && th.dataset.sort) {
            var k = th.dataset.sort;
            if (st.sort.key === k) st.sort.asc = !st.sort.asc;
            else st.sort = { key: k, asc: k === "name" };
            renderClasses();
            return;
          }
          var tr = e.target.closest("tr[data-cls]");
          if (tr) {
            var c = +tr.dataset.cls, i = st.sel.indexOf(c);
            if (MANY && st.focus !== c) {
              /* many classes: a click focuses the class (its confusions) */
              if (i < 0) st.sel.push(c);
              st.focus = c;
            } else {
              if (i >= 0) st.sel.splice(i, 1); else st.sel.push(c);
              st.focus = i >= 0 ? -1 : c;
            }
            render();
          }
        });
      }
      var rows = [];
      for (var c = 0; c < K; c++)
        if (!st.filter || DG.classes[c].toLowerCase().indexOf(st.filter) >= 0) rows.push(c);
      var key = st.sort.key, sgn = st.sort.asc ? 1 : -1;
      rows.sort(function (a, b) {
        var x, y;
        if (key === "name") { x = DG.classes[a]; y = DG.classes[b]; }
        else if (key === "n_gt") { x = C[0][a].n_gt; y = C[0][b].n_gt; }
        else { var p = key.split(":"); x = C[+p[0]][a][p[1]]; y = C[+p[0]][b][p[1]]; }
        var xn = typeof x === "number" && isNaN(x), yn = typeof y === "number" && isNaN(y);
        if (xn !== yn) return xn ? 1 : -1;
        if (x < y) return -sgn;
        if (x > y) return sgn;
        return a - b;
      });
      $("class-count").textContent = rows.length + " of " + K + " classes";
      var th = function (k, label, cls) {
        var s = st.sort.key === k ? " sorted" + (st.sort.asc ? " asc" : "") : "";
        return '<th class="' + (cls || "") + s + '" data-sort="' + k + '">' + label + "</th>";
      };
      /* Same rows, order, selection and sort as last time: update the cells in place. */
      var sig = rows.join(",") + "|" + st.sel.join(",") + "|" + st.focus + "|" + st.sort.key + st.sort.asc + "|" + st.seg;
      if (sig === tableSig && tableCells) {
        var q = 0;
        rows.forEach(function (c) {
          tableCells[q++].textContent = C[0][c].n_gt;
          SETS.forEach(function (S) {
            var x = C[S.i][c];
            FIELDS.forEach(function (f) {
              var v = x[f], td = tableCells[q++], isInt = f === "tp" || f === "fp" || f === "fn";
              td.setAttribute("data-v", dv(v));
              td.textContent = isInt ? v : f4(v);
            });
          });
        });
        return;
      }
      tableSig = sig;
      var h = "<table class=\"grid\" id=\"class-table\"><thead><tr>" + th("name", "class", "l") + th("n_gt", "GT");
      SETS.forEach(function (S) {
        FIELDS.forEach(function (f) {
          h += th(S.i + ":" + f, (SETS.length > 1 ? esc(S.name) + " " : "") +
            { tp: "TP", fp: "FP", fn: "FN", precision: "P", recall: "R", f1: "F1" }[f], "sg" + S.i);
        });
      });
      h += "</tr></thead><tbody>";
      rows.forEach(function (c) {
        var col = selColor(c);
        h += '<tr data-cls="' + c + '"' + (col || c === st.focus ? ' class="' + (col ? "sel" : "") + (c === st.focus ? " focus" : "") + '"' : "") + '><td class="l cls" title="' + esc(DG.classes[c]) +
          '"><span class="sw" style="' + (col ? "background:" + col + ";border-color:" + col : "") + '"></span>' +
          esc(DG.classes[c]) + '</td><td class="num">' + C[0][c].n_gt + "</td>";
        SETS.forEach(function (S) {
          var x = C[S.i][c];
          FIELDS.forEach(function (f) {
            var v = x[f], isInt = f === "tp" || f === "fp" || f === "fn";
            h += '<td class="num" data-set="' + S.i + '" data-cls="' + c + '" data-f="' + f + '" data-v="' + dv(v) +
              '">' + (isInt ? v : f4(v)) + "</td>";
          });
        });
        h += "</tr>";
      });
      tableHost.innerHTML = h + "</tbody></table>";
      tableCells = tableHost.querySelectorAll("tbody td.num");
    }
    var tableSig = null, tableCells = null;

    function heatColor(v, max) {
      if (!v) return "#fff";
      var a = Math.sqrt(v / max);
      return "rgba(47,111,222," + (0.08 + 0.85 * a).toFixed(3) + ")";
    }

    function renderConfusion() {
      var S = SETS[st.cm];
      var h = "";
      if (SETS.length > 1) {
        h += '<div class="tabs">' + SETS.map(function (T) {
          return '<button data-cmset="' + T.i + '" class="' + (T.i === st.cm ? "on" : "") + '">' + esc(T.name) + "</button>";
        }).join("") + "</div>";
      }
      if (!S.agn) {
        secCm.innerHTML = "<h2>Confusion matrix</h2>" + h +
          '<p class="err">These results hold no class-agnostic matching (results version 1): run <code>detgrid eval</code> again.</p>';
        return;
      }
      var cm = confusion(S), w = K + 1, m = cm.m;
      h += '<div class="muted" style="margin-bottom:6px">' + esc(S.name) + " at confidence ≥ " + S.conf + ", IoU ≥ " +
        S.iou[S.t] + ' · ignored detections: <span data-set="' + S.i + '" data-k="ignored" data-v="' + cm.ignored + '">' +
        cm.ignored + "</span></div>";
      if (!MANY) {
        var max = 1;
        for (var i = 0; i < w * w; i++) if (m[i] > max) max = m[i];
        h += '<table class="cm" id="cm-table"><tr><th class="axis">gt \\ pred</th>';
        for (var p = 0; p < w; p++) h += '<th class="rot" title="' + esc(cname(p)) + '"><div>' + esc(cname(p)) + "</div></th>";
        h += "</tr>";
        for (var g = 0; g < w; g++) {
          h += '<tr><th style="text-align:right" title="' + esc(cname(g)) + '">' + esc(cname(g)) + "</th>";
          for (p = 0; p < w; p++) {
            var v = m[g * w + p], on = st.cell && st.cell.s === S.i && st.cell.g === g && st.cell.p === p;
            if (g === K && p === K) { h += '<td class="z">·</td>'; continue; }
            var dark = v && Math.sqrt(v / max) > 0.55;
            h += '<td data-set="' + S.i + '" data-g="' + g + '" data-p="' + p + '" data-v="' + v + '" class="' +
              (v ? "" : "z") + (on ? " on" : "") + '" style="background:' + heatColor(v, max) +
              (dark ? ";color:#fff" : "") + '" title="' + esc(cname(g) + " → " + cname(p) + ": " + v) + '">' + v + "</td>";
          }
          h += "</tr>";
        }
        h += "</table>";
        secCm.innerHTML = "<h2>Confusion matrix <small>rows: ground truth, columns: prediction; click a cell for its examples</small></h2>" + h;
      } else {
        /* Many classes: the classification report and the confusions of the
         * focused class (or the top ones), with a heatmap beside them. */
        var rowS = new Float64Array(w), colS = new Float64Array(w);
        for (g = 0; g < w; g++)
          for (p = 0; p < w; p++) { rowS[g] += m[g * w + p]; colS[p] += m[g * w + p]; }
        var cells = [];
        for (g = 0; g < w; g++)
          for (p = 0; p < w; p++) {
            var x = m[g * w + p];
            if (!x || (g === K && p === K)) continue;
            if (st.focus >= 0 && g !== st.focus && p !== st.focus) continue;
            cells.push({ g: g, p: p, n: x });
          }
        cells.sort(function (a, b) {
          var ad = a.g === a.p, bd = b.g === b.p;
          if (ad !== bd) return ad ? 1 : -1;
          if (a.n !== b.n) return b.n - a.n;
          return a.g !== b.g ? a.g - b.g : a.p - b.p;
        });
        if (st.focus < 0) cells = cells.filter(function (c) { return c.g !== c.p; }).slice(0, 20);
        var hs = Math.min(440, Math.max(260, 6 * w + 20));
        h += '<div class="heat"><div><canvas id="cm-heat" width="' + hs + '" height="' + hs + '"></canvas><div class="axis">rows: ground truth · columns: prediction (last: background)</div></div>';
        h += '<div style="flex:1;min-width:300px"><div class="muted">' + (st.focus >= 0 ? "every non-zero cell of <b>" +
          esc(DG.classes[st.focus]) + "</b>" : "top confusions (click a class in the table for all of its cells)") +
          '</div><div class="scroll compact" style="max-height:330px"><table class="grid" id="cm-cells"><thead><tr>' +
          '<th class="l">ground truth</th><th class="l">predicted</th><th>count</th></tr></thead><tbody>';
        cells.forEach(function (c) {
          h += '<tr data-set="' + S.i + '" data-g="' + c.g + '" data-p="' + c.p + '" style="cursor:pointer"><td class="l">' +
            esc(cname(c.g)) + '</td><td class="l">' + esc(cname(c.p)) + '</td><td class="num" data-v="' + c.n + '">' + c.n + "</td></tr>";
        });
        h += "</tbody></table></div></div></div>";
        /* classification report: TP = the diagonal */
        h += '<details style="margin-top:8px"><summary>classification report (TP: the diagonal)</summary>' +
          '<div class="scroll compact" style="max-height:300px"><table class="grid" id="cm-report"><thead><tr><th class="l">class</th>' +
          "<th>TP</th><th>FP</th><th>FN</th><th>support</th><th>P</th><th>R</th><th>F1</th></tr></thead><tbody>";
        for (g = 0; g < K; g++) {
          var tp = m[g * w + g], fp = colS[g] - tp, fn = rowS[g] - tp, r = prf(tp, fp, fn, rowS[g]);
          h += '<tr><td class="l">' + esc(DG.classes[g]) + "</td>" + [tp, fp, fn, rowS[g]].map(function (v, i) {
            return '<td class="num" data-set="' + S.i + '" data-rep="' + g + '" data-f="' + ["tp", "fp", "fn", "support"][i] +
              '" data-v="' + v + '">' + v + "</td>";
          }).join("") + [r.precision, r.recall, r.f1].map(function (v) {
            return '<td class="num">' + f4(v) + "</td>";
          }).join("") + "</tr>";
        }
        h += "</tbody></table></div></details>";
        secCm.innerHTML = "<h2>Confusion matrix <small>many-class view</small></h2>" + h;
        drawHeat($("cm-heat"), m, w, S);
      }
    }

    function drawHeat(cv, m, w, S) {
      var ctx = cv.getContext("2d"), size = cv.width - 20, cs = size / w, max = 1;
      for (var i = 0; i < w * w; i++) if (m[i] > max && i % (w + 1)) max = m[i];
      ctx.clearRect(0, 0, cv.width, cv.height);
      for (var g = 0; g < w; g++)
        for (var p = 0; p < w; p++) {
          var v = m[g * w + p];
          if (!v || (g === K && p === K)) continue;
          ctx.fillStyle = g === p ? "rgba(26,127,55," + (0.2 + 0.8 * Math.min(1, Math.sqrt(v / max))) + ")" : heatColor(v, max);
          ctx.fillRect(10 + p * cs, 10 + g * cs, Math.max(1, cs - 0.5), Math.max(1, cs - 0.5));
        }
      ctx.strokeStyle = "#ccd";
      ctx.strokeRect(10, 10, size, size);
      cv.onmousemove = function (e) {
        var r = cv.getBoundingClientRect(), sx = cv.width / r.width;
        var p = Math.floor(((e.clientX - r.left) * sx - 10) / cs), g = Math.floor(((e.clientY - r.top) * sx - 10) / cs);
        if (p < 0 || g < 0 || p >= w || g >= w) { tip.style.display = "none"; return; }
        tip.style.display = "block";
        tip.style.left = e.clientX + 12 + "px";
        tip.style.top = e.clientY + 12 + "px";
        tip.textContent = cname(g) + " → " + cname(p) + ": " + m[g * w + p];
      };
      cv.onmouseleave = function () { tip.style.display = "none"; };
      cv.onclick = function (e) {
        var r = cv.getBoundingClientRect(), sx = cv.width / r.width;
        var p = Math.floor(((e.clientX - r.left) * sx - 10) / cs), g = Math.floor(((e.clientY - r.top) * sx - 10) / cs);
        if (p >= 0 && g >= 0 && p < w && g < w && !(g === K && p === K)) openCell(S.i, g, p);
      };
    }

    secCm.addEventListener("click", function (e) {
      var b = e.target.closest("[data-cmset]");
      if (b) { st.cm = +b.dataset.cmset; renderConfusion(); return; }
      var c = e.target.closest("[data-g]");
      if (c && c.dataset.p !== undefined && c.dataset.set !== undefined && !c.classList.contains("z"))
        openCell(+c.dataset.set, +c.dataset.g, +c.dataset.p);
    });

    function openCell(s, g, p) {
      st.cell = { s: s, g: g, p: p };
      renderExamples();
      renderConfusion();
      secEx.scrollIntoView({ behavior: "instant", block: "nearest" });
    }

    function renderExamples() {
      if (!st.cell) { secEx.style.display = "none"; return; }
      var S = SETS[st.cell.s], g = st.cell.g, p = st.cell.p;
      var list = sortExamples(examples(S, g, p));
      secEx.style.display = "";
      var opt = function (k, label) {
        return '<button data-exsort="' + k + '" class="' + (st.exSort === k ? "on" : "") + '">' + label + "</button>";
      };
      var h = "<h2>Examples: " + esc(cname(g)) + " → " + esc(cname(p)) + " <small>" + esc(S.name) + ", confidence ≥ " + S.conf +
        ", IoU ≥ " + S.iou[S.t] + ' · <span id="ex-total" data-v="' + list.length + '">' + list.length + "</span> in this cell" +
        (list.length > EX_LIMIT ? ", the first " + EX_LIMIT + " shown" : "") + "</small></h2>";
      h += '<div class="tabs">sort by&nbsp;' + opt("confidence", "confidence") + opt("iou", "IoU") + opt("area", "size") +
        '<button data-exdir="1">' + (st.exAsc ? "ascending" : "descending") + '</button><button data-exclose="1">close</button></div>';
      h += '<div class="scroll compact" style="max-height:420px"><table class="grid" id="ex-table"><thead><tr>' +
        '<th class="l">frame</th><th class="l">ground-truth box (x, y, w, h)</th><th class="l">detection box</th>' +
        "<th>score</th><th>IoU</th><th>area</th></tr></thead><tbody>";
      list.slice(0, EX_LIMIT).forEach(function (e) {
        h += '<tr><td class="l">' + esc(DG.frames[e.frame]) + '</td><td class="l boxes">' + boxText(L.box, e.gt) +
          '</td><td class="l boxes">' + boxText(S.box, e.det) + '</td><td class="num" data-v="' + dv(e.score) + '">' + f4(e.score) +
          '</td><td class="num" data-v="' + dv(e.iou) + '">' + f3(e.iou) + '</td><td class="num" data-v="' + dv(e.area) + '">' +
          (+e.area.toFixed(1)) + "</td></tr>";
      });
      secEx.innerHTML = h + "</tbody></table></div>";
    }
    secEx.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.exsort) st.exSort = b.dataset.exsort;
      if (b.dataset.exdir) st.exAsc = !st.exAsc;
      if (b.dataset.exclose) { st.cell = null; renderConfusion(); }
      renderExamples();
    });

    /* PR curves: one canvas per set, the selected classes, the current point. */
    var prKey = null;
    function renderPr() {
      var key = st.sel.join(",");
      if (prKey !== key) {
        prKey = key;
        var h = '<h2>Precision–recall curves <small>per class at the set\'s IoU; dot: the current confidence</small></h2><div class="heat">';
        SETS.forEach(function (S) {
          h += '<div><div class="muted" id="pr' + S.i + '-lab"></div><canvas id="pr' + S.i + '" width="420" height="300"></canvas></div>';
        });
        h += '</div><div class="legend">' + (st.sel.length ? st.sel.map(function (c) {
          return '<span><i style="background:' + selColor(c) + '"></i>' + esc(DG.classes[c]) + "</span>";
        }).join("") : '<span class="muted">select classes in the table</span>') + "</div>";
        secPr.innerHTML = h;
      }
      SETS.forEach(function (S) {
        $("pr" + S.i + "-lab").textContent = S.name + " · IoU ≥ " + S.iou[S.t];
        var cv = $("pr" + S.i), ctx = cv.getContext("2d");
        var X0 = 40, Y0 = 10, W = cv.width - 55, H = cv.height - 40;
        /* axes and curves depend on (threshold, segment, selection): cached */
        var ck = S.t + ":" + st.seg + ":" + key;
        if (!S.prImg || S.prImg.key !== ck) {
          var off = document.createElement("canvas");
          off.width = cv.width;
          off.height = cv.height;
          var o = off.getContext("2d");
          o.strokeStyle = "#e3e6ec";
          o.fillStyle = "#667085";
          o.font = "11px system-ui, sans-serif";
          for (var i = 0; i <= 5; i++) {
            var v = i / 5;
            o.beginPath(); o.moveTo(X0 + v * W, Y0); o.lineTo(X0 + v * W, Y0 + H); o.stroke();
            o.beginPath(); o.moveTo(X0, Y0 + H - v * H); o.lineTo(X0 + W, Y0 + H - v * H); o.stroke();
            o.fillText(v.toFixed(1), X0 + v * W - 8, Y0 + H + 14);
            o.fillText(v.toFixed(1), X0 - 24, Y0 + H - v * H + 4);
          }
          o.fillText("recall", X0 + W / 2 - 15, Y0 + H + 28);
          o.save(); o.translate(11, Y0 + H / 2 + 20); o.rotate(-Math.PI / 2); o.fillText("precision", 0, 0); o.restore();
          st.sel.forEach(function (c) {
            var cu = curve(S, c), n = cu.x.length;
            o.strokeStyle = selColor(c);
            o.lineWidth = 1.6;
            o.beginPath();
            var step = Math.max(1, Math.floor(n / 1500));
            for (var j = 0; j < n; j += (j + step < n ? step : Math.max(1, n - 1 - j))) {
              var x = X0 + cu.x[j] * W, y = Y0 + H - cu.y[j] * H;
              if (j === 0) o.moveTo(x, y); else o.lineTo(x, y);
              if (j === n - 1) break;
            }
            o.stroke();
          });
          S.prImg = { key: ck, canvas: off };
        }
        ctx.clearRect(0, 0, cv.width, cv.height);
        ctx.drawImage(S.prImg.canvas, 0, 0);
        st.sel.forEach(function (c) {
          var k = C[S.i][c];
          if (!isNaN(k.precision) && !isNaN(k.recall)) {
            ctx.fillStyle = selColor(c);
            ctx.beginPath();
            ctx.arc(X0 + k.recall * W, Y0 + H - k.precision * H, 4, 0, 2 * Math.PI);
            ctx.fill();
          }
        });
      });
    }

    /*
     * TP and FP of every frame at (conf, t), all classes: one pass over the
     * counted detections, kept for the last few points. Scenario cards and
     * the embeddings scatter sum them over frames.
     */
    function frameCounts(S, conf, t) {
      var key = conf + ":" + t;
      S.fc = S.fc || [];
      for (var i = 0; i < S.fc.length; i++) if (S.fc[i].key === key) return S.fc[i];
      var tp = new Int32Array(F), fp = new Int32Array(F), fr = S.frame;
      var nb = (S.n + 7) >> 3, tpb = S.bits.subarray(2 * t * nb, 2 * t * nb + nb);
      var igb = S.bits.subarray((2 * t + 1) * nb, (2 * t + 2) * nb);
      for (var c = 0; c < K; c++) {
        var lo = S.off[c], k = countAtLeast(S.score, lo, S.off[c + 1], conf);
        for (var j = lo; j < lo + k; j++) {
          var bit = 1 << (j & 7), by = j >> 3;
          if (tpb[by] & bit) tp[fr[j]]++;
          else if (!(igb[by] & bit)) fp[fr[j]]++;
        }
      }
      var r = { key: key, tp: tp, fp: fp };
      S.fc.unshift(r);
      if (S.fc.length > 4) S.fc.pop();
      return r;
    }

    /* Scenario cards: micro P/R/F1 of a segment, pooled over its frames. */
    function segCounts(S, seg, conf, t) {
      var fc = frameCounts(S, conf, t), gtf = regularPerFrame(), g = SEGS[seg];
      var tp = 0, fp = 0, ngt = 0, f;
      if (!g.frames) {
        for (f = 0; f < F; f++) { tp += fc.tp[f]; fp += fc.fp[f]; ngt += gtf[f]; }
      } else {
        for (var i = 0; i < g.frames.length; i++) {
          f = g.frames[i];
          tp += fc.tp[f]; fp += fc.fp[f]; ngt += gtf[f];
        }
      }
      var m = prf(tp, fp, ngt - tp, ngt);
      return { tp: tp, fp: fp, fn: ngt - tp, precision: m.precision, recall: m.recall, f1: m.f1 };
    }
    function findT(S, iou) {
      for (var t = 0; t < S.T; t++) if (Math.abs(S.iou[t] - iou) <= 1e-9) return t;
      return -1;
    }
    function renderCards() {
      if (!secCards) return;
      var h = '<h2>Scenarios <small>click a card to filter the page to its frames; thresholds: the segment\'s own, else the sliders\'</small></h2>';
      var order = [], groups = { split: "Splits", regression: "Regression tests", scenario: "Scenarios" }, lastKind = null;
      ["split", "regression", "scenario"].forEach(function (kd) {
        SEGS.forEach(function (g, gi) { if (g.kind === kd) order.push(gi); });
      });
      SEGS.forEach(function (g, gi) { if (order.indexOf(gi) < 0) order.push(gi); });
      order.forEach(function (gi) {
        var g = SEGS[gi];
        if (g.kind !== lastKind) {
          h += (lastKind === null ? "" : "</div>") + '<h3 class="kindh">' + esc(groups[g.kind] || g.kind) + '</h3><div class="cards">';
          lastKind = g.kind;
        }
        var tg = g.targets || {}, allPass = true, any = false, body = "";
        SETS.forEach(function (S) {
          var conf = tg.conf !== undefined && tg.conf !== null ? tg.conf : S.conf;
          var t = tg.iou !== undefined && tg.iou !== null ? findT(S, tg.iou) : S.t;
          if (t < 0) { body += '<tr><td colspan="4" class="err">' + esc(S.name) + ": IoU " + tg.iou + " not evaluated</td></tr>"; allPass = false; return; }
          var mi = segCounts(S, gi, conf, t);
          body += '<tr><td class="who"><b>' + esc(S.name) + '</b><div class="muted">conf ' + conf + " · IoU " + S.iou[t] + "</div></td>";
          ["precision", "recall", "f1"].forEach(function (k) {
            var v = mi[k], tv = tg[k], cls = "";
            if (tv !== undefined && tv !== null) {
              any = true;
              var ok = !isNaN(v) && v >= tv;
              if (!ok) allPass = false;
              cls = ok ? "pass" : "fail";
            }
            body += '<td class="num ' + cls + '" data-seg="' + gi + '" data-set="' + S.i + '" data-f="' + k + '" data-v="' + dv(v) + '">' +
              f3(v) + "</td>";
          });
          body += "</tr>";
        });
        var tgt = ["precision", "recall", "f1", "ap"].filter(function (k) { return tg[k] !== undefined && tg[k] !== null; })
          .map(function (k) { return k + " ≥ " + tg[k]; }).join(", ");
        h += '<div class="scard' + (gi === st.seg || (gi === 0 && st.seg <= 0) ? " active" : "") + '" data-segcard="' + gi + '"><h4><span>' + esc(g.name) +
          ' <span class="kind">' + esc(g.kind) + "</span></span>" + (any ? '<span class="' + (allPass ? "pass" : "fail") +
          '" data-segpass="' + gi + '">' + (allPass ? "PASS" : "FAIL") + "</span>" : "") + "</h4>" +
          '<div class="muted" style="font-size:12px">' + (g.frames ? g.frames.length : F) + " frames" +
          (tgt ? " · targets: " + esc(tgt) : "") + (tg.ap !== undefined && tg.ap !== null ? " (AP: see detgrid scenarios)" : "") +
          '</div><table><tr><th></th><th class="num">P</th><th class="num">R</th><th class="num">F1</th></tr>' + body + "</table></div>";
      });
      secCards.innerHTML = h + "</div>";
    }
    if (secCards) secCards.addEventListener("click", function (e) {
      var c = e.target.closest("[data-segcard]");
      if (!c) return;
      setSegment(+c.dataset.segcard);
    });
    function setSegment(i) {
      st.seg = i;
      render();
    }

    function renderPill() {
      pill.innerHTML = st.seg > 0 ? "segment: <b>" + esc(SEGS[st.seg].name) + '</b><button class="small" id="seg-clear">all frames</button>'
        : (SEGS.length ? "segment: <b>all frames</b>" : "");
      var b = $("seg-clear");
      if (b) b.onclick = function () { setSegment(0); };
    }

    /* Label errors: the exported lists, filtered to the current segment. */
    var leKey = null;
    function renderLabelErrors() {
      if (!secLe) return;
      var key = st.le + ":" + st.leKind + ":" + st.seg;
      if (key === leKey) return;  /* the lists do not depend on the sliders */
      leKey = key;
      var S = SETS[st.le], le = S.le, mask = segMask();
      var h = '<h2>Likely label errors <small>ranked, computed at export (IoU ' + (le ? le.iou : "–") + ")" +
        (mask ? "; frames of segment " + esc(SEGS[st.seg].name) : "") + "</small></h2>";
      if (SETS.length > 1)
        h += '<div class="tabs">' + SETS.map(function (T) {
          return '<button data-leset="' + T.i + '" class="' + (T.i === st.le ? "on" : "") + '">' + esc(T.name) + "</button>";
        }).join("") + "</div>";
      if (!le) { secLe.innerHTML = h + '<p class="muted">not exported for this set</p>'; return; }
      h += '<div class="tabs">' + le.kinds.map(function (k, i) {
        return '<button data-lekind="' + i + '" class="' + (i === st.leKind ? "on" : "") + '">' + esc(k.kind) + " (" + k.candidates + ")</button>";
      }).join("") + "</div>";
      var kk = le.kinds[st.leKind];
      h += '<div class="scroll compact" style="max-height:420px"><table class="grid" id="le-table"><thead><tr><th>#</th><th>score</th>' +
        '<th class="l">frame</th><th class="l">label</th><th class="l">detection</th><th>conf</th><th>IoU</th><th class="l">why</th></tr></thead><tbody>';
      var n = 0;
      kk.list.forEach(function (e, i) {
        if (mask && !mask[e.frame]) return;
        n++;
        h += '<tr><td class="num">' + (i + 1) + '</td><td class="num">' + f3(e.score === null ? NaN : e.score) + '</td><td class="l">' +
          esc(DG.frames[e.frame]) + '</td><td class="l">' + (e.label_cls >= 0 ? esc(DG.classes[e.label_cls]) : "–") +
          '</td><td class="l">' + (e.det_cls >= 0 ? esc(DG.classes[e.det_cls]) : "–") + '</td><td class="num">' +
          f3(e.conf === null ? NaN : e.conf) + '</td><td class="num">' + f3(e.iou === null ? NaN : e.iou) +
          '</td><td class="l why">' + esc(e.why) + "</td></tr>";
      });
      if (!n) h += '<tr><td colspan="8" class="muted l">no entries' + (mask ? " in this segment" : "") + "</td></tr>";
      secLe.innerHTML = h + "</tbody></table></div>";
    }
    if (secLe) secLe.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.leset) { st.le = +b.dataset.leset; st.leKind = 0; }
      if (b.dataset.lekind) st.leKind = +b.dataset.lekind;
      renderLabelErrors();
    });

    /* Embeddings: the projection, each point coloured by its frame's metric. */
    function renderEmbeddings() {
      if (!secEmb) return;
      var S = SETS[st.embSet];
      if (!secEmb.dataset.init) {
        secEmb.dataset.init = "1";
        secEmb.innerHTML = '<h2>Embeddings <small>' + esc(EMB.kind || "") + ' projection; colour: the frame\'s metric at the set\'s thresholds</small></h2>' +
          '<div class="tabs" id="emb-tabs"></div><div class="heat"><canvas id="emb" width="760" height="460"></canvas>' +
          '<div class="legend" style="flex-direction:column;gap:6px"><span><i style="background:hsl(0,70%,42%);height:10px;width:10px"></i>0</span>' +
          '<span><i style="background:hsl(60,70%,42%);height:10px;width:10px"></i>0.5</span><span><i style="background:hsl(120,70%,42%);height:10px;width:10px"></i>1</span>' +
          '<span><i style="background:#aab;height:10px;width:10px"></i>undefined</span><span class="muted">one point per frame;<br>outside the segment: faded</span></div></div>';
        secEmb.addEventListener("click", function (e) {
          var b = e.target.closest("button");
          if (!b) return;
          if (b.dataset.embm) st.embMetric = b.dataset.embm;
          if (b.dataset.embs) st.embSet = +b.dataset.embs;
          renderEmbeddings();
        });
      }
      $("emb-tabs").innerHTML = ["precision", "recall", "f1"].map(function (k) {
        return '<button data-embm="' + k + '" class="' + (st.embMetric === k ? "on" : "") + '">' + k + "</button>";
      }).join("") + (SETS.length > 1 ? SETS.map(function (T) {
        return '<button data-embs="' + T.i + '" class="' + (T.i === st.embSet ? "on" : "") + '">' + esc(T.name) + "</button>";
      }).join("") : "");
      /* per-frame TP / FP at the set's thresholds */
      var fcs = frameCounts(S, S.conf, S.t), tp = fcs.tp, fp = fcs.fp;
      var gtf = regularPerFrame(), mask = segMask();
      var cv = $("emb"), ctx = cv.getContext("2d"), n = EMB.n, i, f;
      if (!EMB.px) {
        /* positions do not change: computed once */
        var minx = Infinity, maxx = -Infinity, miny = Infinity, maxy = -Infinity;
        for (i = 0; i < n; i++) {
          minx = Math.min(minx, EMB.x[i]); maxx = Math.max(maxx, EMB.x[i]);
          miny = Math.min(miny, EMB.y[i]); maxy = Math.max(maxy, EMB.y[i]);
        }
        var sx = (cv.width - 20) / (maxx - minx || 1), sy = (cv.height - 20) / (maxy - miny || 1);
        EMB.px = new Float32Array(n);
        EMB.py = new Float32Array(n);
        for (i = 0; i < n; i++) {
          EMB.px[i] = 10 + (EMB.x[i] - minx) * sx;
          EMB.py[i] = 10 + (EMB.y[i] - miny) * sy;
        }
      }
      var px = EMB.px, py = EMB.py, pm = new Float64Array(n);
      /* colour buckets (21 hues and "undefined"), each drawn in one pass */
      var bucket = new Int8Array(n);
      for (i = 0; i < n; i++) {
        f = EMB.frame ? EMB.frame[i] : i;
        var t = tp[f], g = gtf[f], p = fp[f], m;
        if (st.embMetric === "precision") m = t + p ? t / (t + p) : NaN;
        else if (st.embMetric === "recall") m = g ? t / g : NaN;
        else m = 2 * t + p + (g - t) ? 2 * t / (2 * t + p + (g - t)) : NaN;
        pm[i] = m;
        bucket[i] = isNaN(m) ? 21 : Math.round(20 * m);
      }
      ctx.clearRect(0, 0, cv.width, cv.height);
      for (var pass = 0; pass < 2; pass++) {
        /* faded frames (outside the segment) first, then the rest */
        ctx.globalAlpha = pass ? 0.85 : 0.08;
        for (var b = 0; b <= 21; b++) {
          ctx.fillStyle = b === 21 ? "#aab" : "hsl(" + 6 * b + ",70%,42%)";
          ctx.beginPath();
          for (i = 0; i < n; i++) {
            if (bucket[i] !== b) continue;
            f = EMB.frame ? EMB.frame[i] : i;
            if ((mask && !mask[f] ? 0 : 1) !== pass) continue;
            if (n > 3000) ctx.rect(px[i] - 2, py[i] - 2, 4, 4);
            else { ctx.moveTo(px[i] + 3, py[i]); ctx.arc(px[i], py[i], 3, 0, 2 * Math.PI); }
          }
          ctx.fill();
        }
      }
      ctx.globalAlpha = 1;
      cv.onmousemove = function (e) {
        var r = cv.getBoundingClientRect(), k = cv.width / r.width;
        var x = (e.clientX - r.left) * k, y = (e.clientY - r.top) * k, best = -1, bd = 36;
        for (var q = 0; q < n; q++) {
          var d = (px[q] - x) * (px[q] - x) + (py[q] - y) * (py[q] - y);
          if (d < bd) { bd = d; best = q; }
        }
        if (best < 0) { tip.style.display = "none"; return; }
        var fq = EMB.frame ? EMB.frame[best] : best;
        tip.style.display = "block";
        tip.style.left = e.clientX + 12 + "px";
        tip.style.top = e.clientY + 12 + "px";
        tip.textContent = DG.frames[fq] + ": " + st.embMetric + " " + f3(pm[best]) + " (TP " + tp[fq] + ", FP " + fp[fq] +
          ", FN " + (gtf[fq] - tp[fq]) + ")";
      };
      cv.onmouseleave = function () { tip.style.display = "none"; };
    }

    function render() {
      var r0 = performance.now(), parts = {}, tp = r0;
      var step = function (name, fn) { fn(); var x = performance.now(); parts[name] = x - tp; tp = x; };
      step("counts", function () { SETS.forEach(function (S) { C[S.i] = counts(S); }); });
      step("cards", function () { renderPill(); renderCards(); });
      step("overall", renderOverall);
      step("classes", renderClasses);
      step("confusion", renderConfusion);
      step("pr", renderPr);
      step("examples", function () { if (st.cell) renderExamples(); });
      step("errors", renderLabelErrors);
      step("embeddings", renderEmbeddings);
      timings.parts = parts;
      var ms = performance.now() - r0;
      timings.renders.push(ms);
      timings.last = ms;
      window.__dg.renderCount = timings.renders.length;
    }

    /* Initial selection: the classes with the most ground truth (up to 5). */
    var byGt = [];
    for (var c0 = 0; c0 < K; c0++) byGt.push(c0);
    byGt.sort(function (a, b) { return SETS[0].gt[b] - SETS[0].gt[a] || a - b; });
    st.sel = byGt.slice(0, Math.min(5, K));

    render();
    timings.firstRender = performance.now();
    $("foot").textContent = "detgrid report · " + DG.writer + " · decoded in " + timings.decode.toFixed(0) +
      " ms, first render at " + timings.firstRender.toFixed(0) + " ms after navigation";
    window.__dg.ready = true;
    window.__dg.setConf = function (i, v) { var e = $("set" + i + "-conf-num"); e.value = String(v); e.dispatchEvent(new Event("input")); };
    window.__dg.setSegment = setSegment;
    requestAnimationFrame(function () { timings.firstPaint = performance.now(); });

    /*
     * After the first render, while the page is idle, build what a first
     * visit of each IoU threshold needs (prefix counts, agnostic rows, the
     * drawn classes' curves), so that later slider moves only look up.
     */
    var warm = [], cells = 0;
    SETS.forEach(function (S) { cells += S.n * S.T; });
    /* (bounded: about 20 bytes per detection and threshold stay in memory) */
    if (cells <= 40e6)
      SETS.forEach(function (S) { for (var t = 0; t < S.T; t++) warm.push([S, t]); });
    var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 30); };
    (function next() {
      if (!warm.length) { timings.warm = performance.now(); return; }
      idle(function () {
        var w = warm.shift(), S = w[0], t = w[1];
        if (st.seg <= 0) {
          prefix(S, t);
          if (S.agn) agnClass(S, t);
          var keep = S.t;
          S.t = t;
          st.sel.forEach(function (c) { curve(S, c); });
          S.t = keep;
        }
        next();
      });
    })();
  }
})();
