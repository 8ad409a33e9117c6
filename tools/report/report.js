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

  /*
   * Scores sent as integers, each class's first in full and the rest as the
   * decrease from the one before ("delta"), of decimals (value = int /
   * dscale) or of float32 bits ("f32"): rebuilt into the same doubles.
   */
  function scoreArr(ref, off) {
    if (!ref.enc) return blob(ref);
    var a = ref.arr, out = new Float64Array(a.length), f = new Float32Array(1), u = new Uint32Array(f.buffer), w = 0;
    for (var c = 0; c + 1 < off.length; c++)
      for (var j = off[c]; j < off[c + 1]; j++) {
        w = j === off[c] ? a[j] : w - a[j];
        if (ref.enc === "dec") out[j] = w / ref.dscale;
        else { u[0] = w; out[j] = f[0]; }
      }
    return out;
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
        score: scoreArr(d.score, d.class_off), bits: blob(d.status), frame: blob(d.det_frame),
        box: blob(d.det_box), agn: null, rows: [], pre: {}, curves: {},
        le: d.label_errors, emb: d.embeddings || null, coco: d.coco || null,
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
    /* The failing metadata slices of each set (computed at export): each a
     * pseudo-segment after the real ones, so that a click filters the page
     * to its frames the way a scenario card does. */
    var NCARDS = SEGS.length;
    var SL = DG.slices || null;
    if (SL && SL.sets.some(function (x) { return x.list.length; })) {
      if (!SEGS.length)
        SEGS.push({ name: "all", kind: "split", frames: null, targets: {}, mask: null, gt: null, frameGt: null });
      SL.sets.forEach(function (x) {
        x.list.forEach(function (e) {
          ["value", "value_rest", "effect", "z", "p", "q"].forEach(function (k) { if (e[k] === null) e[k] = NaN; });
          e.seg = SEGS.length;
          SEGS.push({ name: "slice " + e.name, kind: "slice", frames: blob(e.frames), targets: {},
                      mask: null, gt: null, frameGt: null });
        });
      });
    }
    var EMB = DG.embeddings ? {
      kind: DG.embeddings.kind, x: blob(DG.embeddings.x), y: blob(DG.embeddings.y),
      cluster: DG.embeddings.cluster ? blob(DG.embeddings.cluster) : null, clusters: DG.embeddings.clusters || null,
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
      embMetric: "f1", embSet: 0, embClusters: true,
      cmNorm: "none",    /* confusion view: none | gt | pred */
      cmNoBg: false,     /* confusion view: leave the background out */
      exShow: 24,        /* example pictures shown (grows with "show more") */
      wf: 0, wfShow: 24, /* worst frames: set, pictures shown */
      leShow: 12,
      slSet: 0           /* failing slices: the set listed */
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

    /*
     * The sweep points of class c at threshold t (every detection, no
     * confidence cut; one point per run of equal scores), as
     * dg_results_sweep: cumulative TP and FP within the segment, into the
     * shared scratch arrays SW.tp / SW.fp; returns the number of points.
     */
    var SW = { tp: new Float64Array(16), fp: new Float64Array(16), a: new Float64Array(16), b: new Float64Array(16) };
    function sweepPoints(S, c, t) {
      var P = prefix(S, t), lo = S.off[c], hi = S.off[c + 1], sc = S.score, n = 0, last = -1;
      if (SW.tp.length < hi - lo + 1) {
        var m2 = 2 * (hi - lo + 1);
        SW = { tp: new Float64Array(m2), fp: new Float64Array(m2), a: new Float64Array(m2), b: new Float64Array(m2) };
      }
      var TP = P.TP, IG = P.IG, M = P.M, tpA = SW.tp, fpA = SW.fp;
      for (var j = lo; j < hi; j++) {
        if (M && M[j + 1] === M[j]) continue;  /* outside the segment */
        var a = TP[j + 1] - TP[lo], kept = M ? M[j + 1] - M[lo] : j + 1 - lo;
        var f = kept - a - (IG[j + 1] - IG[lo]);
        /* same score as the previous kept detection: one point */
        if (n && sc[j] === sc[last]) { tpA[n - 1] = a; fpA[n - 1] = f; }
        else { tpA[n] = a; fpA[n] = f; n++; }
        last = j;
      }
      return n;
    }

    /* AP at threshold t as `detgrid compare` computes it: precision made
     * monotone, read at the first point reaching each of 101 recalls. */
    function ap101(S, c, t) {
      var key = "a" + t + ":" + st.seg + ":" + c;
      if (S.curves[key] !== undefined) return S.curves[key];
      var ngt = gtCounts(S)[c], v = NaN;
      if (ngt) {
        var n = sweepPoints(S, c, t), rec = SW.a, pr = SW.b, i;
        for (i = 0; i < n; i++) {
          var d = SW.tp[i] + SW.fp[i];
          rec[i] = SW.tp[i] / ngt;
          pr[i] = d ? SW.tp[i] / d : 0;
        }
        for (i = n - 1; i >= 1; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        var sum = 0;
        for (var k = 0; k <= 100; k++) {
          var rt = k === 100 ? 1.0 : k * 0.01, a = 0, b = n;
          while (a < b) { var m = a + Math.floor((b - a) / 2); if (rec[m] < rt) a = m + 1; else b = m; }
          if (a < n) sum += pr[a];
        }
        v = sum / 101.0;
      }
      return (S.curves[key] = v);
    }

    /* Mean AP over classes with ground truth as `detgrid scenarios` judges
     * an AP target (dg_results_ap: all-point, the area under the envelope). */
    function apAllPoint(S, t) {
      var gt = gtCounts(S), sum = 0, nd = 0;
      for (var c = 0; c < K; c++) {
        var ngt = gt[c];
        if (!ngt) continue;
        var n = sweepPoints(S, c, t), best = 0, area = SW.a, tpA = SW.tp, fpA = SW.fp;
        for (var i = n - 1; i >= 0; i--) {
          var d = tpA[i] + fpA[i], prec = d ? tpA[i] / d : 0;
          if (prec > best) best = prec;
          var rec = tpA[i] / ngt, prev = i ? tpA[i - 1] / ngt : 0;
          area[i] = (rec - prev) * best;
        }
        var ap = 0;
        for (i = 0; i < n; i++) ap += area[i];
        sum += ap;
        nd++;
      }
      return nd ? sum / nd : NaN;
    }

    /* Class names in natural order: class_2 before class_10. */
    function natCmp(a, b) {
      var x = String(a).toLowerCase().match(/\d+|\D+/g) || [], y = String(b).toLowerCase().match(/\d+|\D+/g) || [];
      for (var i = 0; i < Math.min(x.length, y.length); i++) {
        var p = x[i], q = y[i], dp = /^\d/.test(p), dq = /^\d/.test(q);
        if (dp && dq && +p !== +q) return +p - +q;
        if (p !== q) return p < q ? -1 : 1;
      }
      return x.length - y.length || (a < b ? -1 : a > b ? 1 : 0);
    }

    /* ---- pictures ---------------------------------------------------------- */

    var IMG = DG.images ? { frame: blob(DG.images.frame), w: blob(DG.images.w), h: blob(DG.images.h),
                            scale: blob(DG.images.scale), idx: null, src: {} } : null;
    function thumbOf(f) {
      if (!IMG) return -1;
      if (!IMG.idx) {
        IMG.idx = new Int32Array(F).fill(-1);
        for (var i = 0; i < IMG.frame.length; i++) IMG.idx[IMG.frame[i]] = i;
      }
      return IMG.idx[f];
    }
    /* Pictures are read from their script element only when first shown. */
    function fillThumbs(root) {
      root.querySelectorAll("img[data-t]:not([src])").forEach(function (im) {
        var k = +im.dataset.t;
        if (!IMG.src[k]) IMG.src[k] = "data:image/jpeg;base64," + document.getElementById("dg-t" + k).textContent;
        im.src = IMG.src[k];
      });
    }
    /* Class of each sorted position (built once). */
    function detClass(S) {
      if (S.dcls) return S.dcls;
      var a = K < 65536 ? new Uint16Array(S.n) : new Uint32Array(S.n);
      for (var c = 0; c < K; c++) for (var j = S.off[c]; j < S.off[c + 1]; j++) a[j] = c;
      return (S.dcls = a);
    }
    var COL = { gt: "#0072b2", tp: "#009e73", fp: "#d55e00", fn: "#cc79a7", other: "#999999" };
    /*
     * Frame f's picture with its boxes at set S's thresholds: ground truths
     * blue (missed ones purple, dashed: no counted true positive took them
     * in the class-agnostic matching of the same class), detections with
     * score >= conf green (true positive) or vermilion (false positive).
     * hl: { gt: label index, det: sorted position } drawn thick, the rest
     * thin. A placeholder where the picture is missing.
     */
    function figure(S, f, hl, caption) {
      var k = thumbOf(f), cap = '<figcaption>' + esc(DG.frames[f]) + (caption ? " · " + caption : "") + "</figcaption>";
      if (k < 0)
        return '<figure class="fig" data-frame="' + f + '"><div class="ph">' + (IMG ? "picture not embedded" : "no pictures (report --images)") +
          "</div>" + cap + "</figure>";
      var W = IMG.w[k], H = IMG.h[k], sc = IMG.scale[k], r = "", j, q;
      var found = {};
      var bf = byFrame(S), nb = (S.n + 7) >> 3, tpb = S.bits.subarray(2 * S.t * nb, 2 * S.t * nb + nb);
      var igb = S.bits.subarray((2 * S.t + 1) * nb, (2 * S.t + 2) * nb), dc = detClass(S);
      var row = S.agn ? agnRow(S, S.t) : null;
      var rect = function (b, i, col, kind, thick, dash, extra) {
        return '<rect x="' + (b[4 * i] * sc).toFixed(1) + '" y="' + (b[4 * i + 1] * sc).toFixed(1) + '" width="' +
          (b[4 * i + 2] * sc).toFixed(1) + '" height="' + (b[4 * i + 3] * sc).toFixed(1) + '" stroke="' + col +
          '" stroke-width="' + (thick ? 3 : 1.3) + '"' + (dash ? ' stroke-dasharray="4 3"' : "") + (thick ? "" : ' opacity="0.75"') +
          ' data-kind="' + kind + '"' + (extra || "") + "/>";
      };
      var dets = "";
      for (q = bf.start[f]; q < bf.start[f + 1]; q++) {
        j = bf.idx[q];
        if (S.score[j] < S.conf) continue;
        var bit = 1 << (j & 7), by = j >> 3;
        if (igb[by] & bit) continue;
        var isTp = !!(tpb[by] & bit);
        if (isTp && row && row[j] >= 2 && L.cls[L.off[f] + row[j] - 2] === dc[j]) found[L.off[f] + row[j] - 2] = 1;
        if (hl && hl.det === j) continue;
        dets += rect(S.box, j, isTp ? COL.tp : COL.fp, isTp ? "tp" : "fp", false, false, ' data-det="' + j + '"');
      }
      for (j = L.off[f]; j < L.off[f + 1]; j++) {
        if (hl && hl.gt === j) continue;
        var miss = !L.flags[j] && row && !found[j];
        r += rect(L.box, j, L.flags[j] ? COL.other : miss ? COL.fn : COL.gt, L.flags[j] ? "other" : miss ? "fn" : "gt", false, miss,
                  ' data-gt="' + j + '"');
      }
      r += dets;
      if (hl && hl.gt >= 0) r += rect(L.box, hl.gt, found[hl.gt] || !row ? COL.gt : COL.fn, "hl-gt", true, !found[hl.gt] && !!row, ' data-gt="' + hl.gt + '"');
      if (hl && hl.det >= 0) {
        var b2 = 1 << (hl.det & 7), y2 = hl.det >> 3, t2 = !!(tpb[y2] & b2);
        r += rect(S.box, hl.det, t2 ? COL.tp : COL.fp, "hl-det", true, false, ' data-det="' + hl.det + '"');
      }
      return '<figure class="fig" data-frame="' + f + '"><div class="pic" style="width:' + W + "px;height:" + H + 'px"><img data-t="' + k +
        '" width="' + W + '" height="' + H + '" alt=""><svg width="' + W + '" height="' + H + '" viewBox="0 0 ' + W + " " + H +
        '" data-scale="' + sc + '" fill="none">' + r + "</svg></div>" + cap + "</figure>";
    }
    function figLegend() {
      return '<div class="legend figleg"><span><i style="background:' + COL.gt + '"></i>ground truth</span><span><i style="background:' + COL.fn +
        '"></i>missed (dashed)</span><span><i style="background:' + COL.tp + '"></i>true positive</span><span><i style="background:' + COL.fp +
        '"></i>false positive</span><span class="muted">thick: the example</span></div>';
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

    /* Metrics first; the scenario cards follow, collapsible. */
    var secOverall = section("overall", "Overall");
    var secCards = NCARDS ? section("scenarios", "Scenarios",
      "segments with their targets at each set's thresholds (or the segment's own); click a card to filter the page") : null;
    var secSlices = SL ? section("slices", "Failing slices") : null;
    var secClasses = section("classes", MANY ? "Classes (many-class view)" : "Classes",
      "click a class to draw its PR curve" + (MANY ? " and list its confusions" : ""));
    var rowCP = document.createElement("div");
    rowCP.className = "row2";
    app.appendChild(rowCP);
    var secCm = section("confusion", "Confusion matrix",
      "class-agnostic matching; rows: ground truth, columns: prediction; click a cell for its examples");
    var secPr = section("pr", "Precision–recall curves", "at the set's IoU; dot: the current confidence");
    if (MANY) {
      /* many classes: the confusion view takes the whole width */
      app.insertBefore(secCm, rowCP);
      rowCP.appendChild(secPr);
    } else {
      rowCP.appendChild(secCm);
      rowCP.appendChild(secPr);
    }
    var secEx = section("examples", "Examples");
    secEx.style.display = "none";
    var secWf = section("worst-frames", "Worst frames");
    var secLe = SETS.some(function (S) { return S.le; }) ? section("label-errors", "Likely label errors",
      "computed at export with the project's default IoU; the lists follow the segment filter") : null;
    var secEmb = EMB ? section("embeddings", "Embeddings", "2-D projection, coloured by the chosen metric") : null;
    /* Sections below the fold are drawn when they first come near the view. */
    var seen = {};
    var lazyObs = typeof IntersectionObserver === "function" ? new IntersectionObserver(function (es) {
      es.forEach(function (e) {
        if (e.isIntersecting && !seen[e.target.id]) { seen[e.target.id] = 1; lazyObs.unobserve(e.target); render(); }
      });
    }, { rootMargin: "400px" }) : null;
    [secWf, secLe, secEmb].forEach(function (x) {
      if (!x) return;
      if (lazyObs) lazyObs.observe(x); else seen[x.id] = 1;
    });
    function shown(sec) { return sec && seen[sec.id]; }
    var tip = document.createElement("div");
    tip.className = "tip";
    document.body.appendChild(tip);

    /* ---- renderers -------------------------------------------------------- */

    var C = [];  /* per set: counts of the last render */

    /* mAP at the set's IoU as `detgrid compare` gives it: the mean of the
     * classes' 101-point AP over classes with ground truth. */
    function meanAp(S) {
      var sum = 0, n = 0;
      for (var c = 0; c < K; c++) { var v = ap101(S, c, S.t); if (!isNaN(v)) { sum += v; n++; } }
      return n ? sum / n : NaN;
    }
    var COCO_SHORT = ["AP", "AP50", "AP75", "AP small", "AP medium", "AP large", "AR1", "AR10", "AR100", "AR small", "AR medium", "AR large"];
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
          '<div><div class="k">mAP at IoU ' + S.iou[S.t] + '</div><div class="big" data-set="' + S.i + '" data-k="map" data-v="' +
          dv(meanAp(S)) + '">' + f4(meanAp(S)) + "</div></div></div>";
        if (S.coco) {
          /* the 12 numbers exactly as `detgrid coco` (all frames) */
          h += '<div class="coco"><div class="k" data-coco-type="' + esc(S.coco.iou_type) + '" title="' +
            (S.coco.iou_type === "bbox" ? "box IoU; masks and keypoints: detgrid eval and report --iou-type segm|keypoints" : "") + '">COCO ' +
            esc(S.coco.iou_type) + ' (all frames, ' + (S.coco.iou_type === "keypoints" ? "OKS" : "IoU") + ' 0.50:0.95' + (st.seg > 0 ? "; not filtered by the segment" : "") +
            ')</div><div class="cocogrid">' + S.coco.stats.map(function (v, i) {
              var x = v === null ? NaN : v;
              return '<div title="' + esc(S.coco.labels[i]) + '"><span class="k">' + esc(S.coco.stats.length === 12 ? COCO_SHORT[i] : S.coco.names[i]) + '</span> <b data-set="' + S.i +
                '" data-coco="' + i + '" data-v="' + dv(x) + '">' + (v === null ? "–" : x.toFixed(3)) + "</b></div>";
            }).join("") + "</div></div>";
        }
        h += "</div>";
      });
      h += "</div>";
      if (SETS.length === 2) h += diffPanel();
      secOverall.innerHTML = "<h2>Overall" + (st.seg > 0 ? " <small>segment " + esc(SEGS[st.seg].name) + "</small>" : "") +
        "</h2>" + h;
    }

    /* Two sets: B - A of the overall figures now, and `detgrid compare`'s
     * paired-bootstrap intervals and verdicts at the project's defaults. */
    function atDefaults() {
      return DG.compare && st.seg <= 0 && SETS.every(function (S) {
        return S.conf === DG.compare.conf && S.iou[S.t] === DG.compare.iou;
      });
    }
    function verdictHtml(v) {
      return '<span class="verdict ' + (v === "B better" ? "pass" : v === "B worse" ? "fail" : "muted") + '">' + esc(v) + "</span>";
    }
    function diffPanel() {
      var A = overall(C[0]).micro, B = overall(C[1]).micro, cmp = DG.compare, ok = atDefaults();
      var h = '<div class="diff"><div class="k">B − A (' + esc(SETS[1].name) + " − " + esc(SETS[0].name) + ")" +
        (cmp ? (ok ? ", " : '; <span class="muted">intervals and verdicts are those of ') + "<code>detgrid compare</code> at confidence " +
          cmp.conf + ", IoU " + cmp.iou + " (" + cmp.resamples + " paired resamples, " + Math.round(cmp.level * 100) + "%)" +
          (ok ? "" : ": move both sliders there to see them</span>") : "") + '</div><table class="grid difft"><tr><th class="l"></th><th>B − A</th>' +
        (cmp ? "<th>interval</th><th class=\"l\">verdict</th>" : "") + "</tr>";
      ["precision", "recall", "f1"].forEach(function (k) {
        var d = B[k] - A[k];
        h += '<tr><td class="l">' + k + '</td><td class="num" data-diff="' + k + '" data-v="' + dv(d) + '">' + sgn4(d) + "</td>";
        if (cmp) {
          var ci = cmp.overall.ci[k];
          h += ok ? '<td class="num" data-ci="' + k + '">' + (ci ? "[" + sgn4(ci[0]) + ", " + sgn4(ci[1]) + "]" : "–") + '</td><td class="l" data-verdict="' + k + '">' +
            verdictHtml(cmp.overall.verdicts[k]) + "</td>" : '<td class="muted">–</td><td class="muted">–</td>';
        }
        h += "</tr>";
      });
      var dm = meanAp(SETS[1]) - meanAp(SETS[0]);
      h += '<tr><td class="l">mAP</td><td class="num" data-diff="ap" data-v="' + dv(dm) + '">' + sgn4(dm) + "</td>" + (cmp ? '<td class="muted">–</td><td class="muted">no interval</td>' : "") + "</tr>";
      var cd = SETS[0].coco && SETS[1].coco ? SETS[1].coco.stats[0] - SETS[0].coco.stats[0] : NaN;
      if (!isNaN(cd)) h += '<tr><td class="l">COCO AP</td><td class="num" data-diff="coco" data-v="' + dv(cd) + '">' + sgn4(cd) + "</td>" + (cmp ? "<td></td><td></td>" : "") + "</tr>";
      return h + "</table></div>";
    }
    function sgn4(v) { return isNaN(v) ? "–" : (v > 0 ? "+" : "") + v.toFixed(4); }

    var FIELDS = ["tp", "fp", "fn", "precision", "recall", "f1", "ap", "coco"];
    var LABELS = { tp: "TP", fp: "FP", fn: "FN", precision: "P", recall: "R", f1: "F1", ap: "AP", coco: "COCO AP",
                   d_f1: "ΔF1", d_ap: "ΔAP", verdict: "verdict" };
    var TIPS = { ap: "AP at the set's IoU, 101-point, as detgrid compare", coco: "AP@[.50:.95] as detgrid coco (all frames)",
                 d_f1: "F1 of B − F1 of A", d_ap: "AP of B − AP of A", verdict: "detgrid compare's verdict on F1 at the defaults" };
    /* A table value: set i's field f of class c, or (i = -1) a difference. */
    function tval(i, c, f) {
      if (i < 0) {
        if (f === "d_f1") return C[1][c].f1 - C[0][c].f1;
        if (f === "d_ap") return ap101(SETS[1], c, SETS[1].t) - ap101(SETS[0], c, SETS[0].t);
        return atDefaults() ? DG.compare.classes[c].verdict : "";
      }
      if (f === "ap") return ap101(SETS[i], c, SETS[i].t);
      if (f === "coco") {
        var a = SETS[i].coco;
        return !a || st.seg > 0 || a.ap[c] === null ? NaN : a.ap[c];
      }
      return C[i][c][f];
    }
    function tcell(i, f, v) {
      if (f === "verdict") return v ? verdictHtml(v) : '<span class="muted">–</span>';
      if (f === "tp" || f === "fp" || f === "fn") return String(v);
      return i < 0 ? sgn4(v) : f === "coco" ? (isNaN(v) ? "–" : v.toFixed(3)) : f4(v);
    }
    var COLS = [];
    SETS.forEach(function (S) { FIELDS.forEach(function (f) { COLS.push([S.i, f]); }); });
    if (SETS.length === 2) ["d_f1", "d_ap", "verdict"].forEach(function (f) { COLS.push([-1, f]); });
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
        if (key === "name") return natCmp(DG.classes[a], DG.classes[b]) * sgn || a - b;
        if (key === "n_gt") { x = C[0][a].n_gt; y = C[0][b].n_gt; }
        else { var p = key.split(":"); x = tval(+p[0], a, p[1]); y = tval(+p[0], b, p[1]); }
        var xn = typeof x === "number" && isNaN(x), yn = typeof y === "number" && isNaN(y);
        if (xn !== yn) return xn ? 1 : -1;
        if (x < y) return -sgn;
        if (x > y) return sgn;
        return a - b;
      });
      $("class-count").textContent = rows.length + " of " + K + " classes";
      if (!rows.length) {
        tableSig = null;
        tableHost.innerHTML = '<p class="muted empty">no class matches “' + esc(st.filter) + "”</p>";
        return;
      }
      var th = function (k, label, cls, tip) {
        var s2 = st.sort.key === k ? " sorted" + (st.sort.asc ? " asc" : "") : "";
        return '<th class="' + (cls || "") + s2 + '" data-sort="' + k + '"' + (tip ? ' title="' + esc(tip) + '"' : "") + ">" + label + "</th>";
      };
      /* Same rows, order, selection and sort as last time: update the cells in place. */
      var sig = rows.join(",") + "|" + st.sel.join(",") + "|" + st.focus + "|" + st.sort.key + st.sort.asc + "|" + st.seg;
      if (sig === tableSig && tableCells) {
        var q = 0;
        rows.forEach(function (c) {
          tableCells[q++].textContent = C[0][c].n_gt;
          COLS.forEach(function (ci) {
            var v = tval(ci[0], c, ci[1]), td = tableCells[q++];
            if (ci[1] === "verdict") { td.innerHTML = tcell(ci[0], ci[1], v); return; }
            td.setAttribute("data-v", dv(v));
            td.textContent = tcell(ci[0], ci[1], v);
          });
        });
        return;
      }
      tableSig = sig;
      var h = "<table class=\"grid\" id=\"class-table\"><thead><tr>" + th("name", "class", "l") + th("n_gt", "GT", "", "ground truths (sort: most first)");
      COLS.forEach(function (ci) {
        h += th(ci[0] + ":" + ci[1], (SETS.length > 1 && ci[0] >= 0 ? esc(SETS[ci[0]].name) + " " : "") + LABELS[ci[1]],
                ci[0] >= 0 ? "sg" + ci[0] : "sgd", TIPS[ci[1]]);
      });
      h += "</tr></thead><tbody>";
      rows.forEach(function (c) {
        var col = selColor(c);
        h += '<tr data-cls="' + c + '"' + (col || c === st.focus ? ' class="' + (col ? "sel" : "") + (c === st.focus ? " focus" : "") + '"' : "") + '><td class="l cls" title="' + esc(DG.classes[c]) +
          '"><span class="sw" style="' + (col ? "background:" + col + ";border-color:" + col : "") + '"></span>' +
          esc(DG.classes[c]) + '</td><td class="num">' + C[0][c].n_gt + "</td>";
        COLS.forEach(function (ci) {
          var v = tval(ci[0], c, ci[1]);
          h += '<td class="num" data-set="' + (ci[0] < 0 ? "d" : ci[0]) + '" data-cls="' + c + '" data-f="' + ci[1] + '"' +
            (ci[1] === "verdict" ? "" : ' data-v="' + dv(v) + '"') + ">" + tcell(ci[0], ci[1], v) + "</td>";
        });
        h += "</tr>";
      });
      tableHost.innerHTML = h + "</tbody></table>";
      tableCells = tableHost.querySelectorAll("tbody td.num");
    }
    var tableSig = null, tableCells = null;

    /* viridis, sampled: a sequential scale readable with any colour vision */
    var VIRIDIS = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"];
    function lerpHex(a, b, t) {
      var x = parseInt(a.slice(1), 16), y = parseInt(b.slice(1), 16), o = 0;
      for (var k = 16; k >= 0; k -= 8) o |= Math.round(((x >> k) & 255) * (1 - t) + ((y >> k) & 255) * t) << k;
      return "#" + (o | 1 << 24).toString(16).slice(1);
    }
    /* t in [0, 1] to colour: light (few) to dark (many), viridis reversed. */
    function scaleColor(t) {
      var u = (1 - Math.max(0, Math.min(1, t))) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(u));
      return lerpHex(VIRIDIS[i], VIRIDIS[i + 1], u - i);
    }
    /* scaleColor at 256 steps, for the heatmap's thousands of cells */
    var SCALE_LUT = [];
    for (var lu = 0; lu < 256; lu++) SCALE_LUT.push(scaleColor(lu / 255));
    function lutColor(t) { return SCALE_LUT[Math.max(0, Math.min(255, Math.round(t * 255)))]; }
    /* Log scale: 1 .. max counts, or 1% .. max shares under normalisation. */
    function logT(v, max, norm) {
      if (!(v > 0)) return -1;
      if (norm) return Math.log(1 + 99 * v / max) / Math.log(100);
      return max <= 1 ? 1 : Math.log(v) / Math.log(max);
    }

    /* The shown value of cell (g, p): its count, or its share of the row
     * (gt) or column (pred) under normalisation; NaN when undefined. */
    function cmView(m, w) {
      var rowS = new Float64Array(w), colS = new Float64Array(w), g, p;
      for (g = 0; g < w; g++) for (p = 0; p < w; p++) { rowS[g] += m[g * w + p]; colS[p] += m[g * w + p]; }
      var norm = st.cmNorm;
      return { rowS: rowS, colS: colS, val: function (g, p) {
        var x = m[g * w + p];
        if (norm === "gt") return rowS[g] ? x / rowS[g] : NaN;
        if (norm === "pred") return colS[p] ? x / colS[p] : NaN;
        return x;
      } };
    }

    /* Non-zero off-diagonal cells as `detgrid confusion` ranks them: by the
     * normalised value under normalisation, then count, then gt, pred. */
    function rankCells(m, w, V, keep) {
      var out = [];
      for (var g = 0; g < w; g++)
        for (var p = 0; p < w; p++) {
          var x = m[g * w + p];
          if (!x || g === p || (g === K && p === K) || !keep(g, p)) continue;
          out.push({ g: g, p: p, n: x, v: V.val(g, p) });
        }
      out.sort(function (a, b) {
        if (st.cmNorm !== "none") {
          var an = isNaN(a.v), bn = isNaN(b.v);
          if (an !== bn) return an ? 1 : -1;
          if (a.v !== b.v && !an) return b.v - a.v;
        }
        if (a.n !== b.n) return b.n - a.n;
        return a.g !== b.g ? a.g - b.g : a.p - b.p;
      });
      return out;
    }

    function cellRows(list, S, id) {
      var h = '<table class="grid" id="' + id + '"><thead><tr><th class="l">ground truth</th><th class="l">predicted</th><th>count</th>' +
        (st.cmNorm !== "none" ? "<th>" + (st.cmNorm === "gt" ? "of gt" : "of pred") + "</th>" : "") + "</tr></thead><tbody>";
      if (!list.length) h += '<tr><td colspan="4" class="muted l">none at these thresholds</td></tr>';
      list.forEach(function (c) {
        h += '<tr data-set="' + S.i + '" data-g="' + c.g + '" data-p="' + c.p + '" style="cursor:pointer"><td class="l">' +
          esc(cname(c.g)) + '</td><td class="l">' + esc(cname(c.p)) + '</td><td class="num" data-v="' + c.n + '">' + c.n + "</td>" +
          (st.cmNorm !== "none" ? '<td class="num" data-nv="' + dv(c.v) + '">' + f4(c.v) + "</td>" : "") + "</tr>";
      });
      return h + "</tbody></table>";
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
        secCm.dataset.key = "";
        secCm.innerHTML = "<h2>Confusion matrix</h2>" + h +
          '<p class="err">These results hold no class-agnostic matching (results version 1): run <code>detgrid eval</code> again.</p>';
        return;
      }
      var cm = confusion(S), w = K + 1, m = cm.m;
      var head = esc(S.name) + " at confidence ≥ " + S.conf + ", IoU ≥ " +
        S.iou[S.t] + ' · ignored detections: <span data-set="' + S.i + '" data-k="ignored" data-v="' + cm.ignored + '">' +
        cm.ignored + "</span>";
      h += '<div class="muted" id="cm-head" style="margin-bottom:6px">' + head + "</div>";
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
            var t = logT(v, max, false);
            h += '<td data-set="' + S.i + '" data-g="' + g + '" data-p="' + p + '" data-v="' + v + '" class="' +
              (v ? "" : "z") + (on ? " on" : "") + '" style="background:' + (v ? scaleColor(0.08 + 0.92 * t) : "#fff") +
              (v && t > 0.45 ? ";color:#fff" : "") + '" title="' + esc(cname(g) + " → " + cname(p) + ": " + v) + '">' + v + "</td>";
          }
          h += "</tr>";
        }
        h += "</table>";
        secCm.innerHTML = "<h2>Confusion matrix <small>rows: ground truth, columns: prediction; log colour scale; click a cell for its examples</small></h2>" + h;
        secCm.dataset.key = "";
        return;
      }
      /*
       * Many classes: a heatmap with a log colour scale (its own scale for
       * the diagonal, in grey, so that confusions stand out), class names
       * on the axes where they fit and on hover, a colour bar; beside it
       * the class-to-class confusions and those with the background as
       * separate lists (or every cell of the focused class), ranked as
       * `detgrid confusion` ranks them.
       */
      var V = cmView(m, w), noBg = st.cmNoBg;
      /* same set, focus and choices as the last draw: only the numbers change */
      var cmKey = S.i + ":" + st.focus + ":" + st.cmNorm + ":" + noBg + ":" + SETS.length;
      var inPlace = secCm.dataset.key === cmKey && $("cm-heat");
      h += '<div class="toolbar cmtools"><label>normalise <select id="cm-norm">' + ["none", "gt", "pred"].map(function (k) {
        return '<option value="' + k + '"' + (st.cmNorm === k ? " selected" : "") + ">" + { none: "counts", gt: "by ground truth (rows)", pred: "by prediction (columns)" }[k] + "</option>";
      }).join("") + '</select></label><label><input type="checkbox" id="cm-nobg"' + (noBg ? " checked" : "") + "> exclude background</label>" +
        (st.focus >= 0 ? '<button class="small" id="cm-unfocus">show the top confusions</button>' : "") + "</div>";
      var lists;
      if (st.focus >= 0) {
        var fc = rankCells(m, w, V, function (g, p) { return (g === st.focus || p === st.focus) && (!noBg || (g < K && p < K)); });
        if (m[st.focus * w + st.focus]) fc.push({ g: st.focus, p: st.focus, n: m[st.focus * w + st.focus], v: V.val(st.focus, st.focus) });
        lists = '<div class="muted">every non-zero cell of <b>' + esc(DG.classes[st.focus]) + "</b></div>" +
          '<div class="scroll compact" style="max-height:420px">' + cellRows(fc, S, "cm-cells") + "</div>";
      } else {
        var cc = rankCells(m, w, V, function (g, p) { return g < K && p < K; }).slice(0, 15);
        lists = '<div class="kindh">class → class</div><div class="scroll compact" style="max-height:260px">' + cellRows(cc, S, "cm-top-cls") + "</div>";
        if (!noBg) {
          var bc = rankCells(m, w, V, function (g, p) { return g === K || p === K; }).slice(0, 15);
          lists += '<div class="kindh">with the background (missed, spurious)</div><div class="scroll compact" style="max-height:260px">' +
            cellRows(bc, S, "cm-top-bg") + "</div>";
        }
      }
      h += '<div class="heat"><div class="heatwrap"><canvas id="cm-heat"></canvas><div class="cbar"><canvas id="cm-cbar" width="260" height="34"></canvas></div>' +
        '<div class="axis">rows: ground truth · columns: prediction' + (noBg ? "" : " (last: background)") + "; hover for names, click for examples</div></div>" +
        '<div class="cmlists" id="cm-lists">' + lists + "</div></div>";
      /* classification report: TP = the diagonal */
      var rowS = V.rowS, colS = V.colS;
      if (inPlace) {
        $("cm-head").innerHTML = head;
        $("cm-lists").innerHTML = lists;
        var cells = secCm.querySelectorAll("#cm-report tbody td.num"), q = 0;
        for (g = 0; g < K; g++) {
          var tp0 = m[g * w + g], fp0 = colS[g] - tp0, fn0 = rowS[g] - tp0, r0 = prf(tp0, fp0, fn0, rowS[g]);
          [tp0, fp0, fn0, rowS[g]].forEach(function (v) { cells[q].setAttribute("data-v", v); cells[q++].textContent = v; });
          [r0.precision, r0.recall, r0.f1].forEach(function (v) { cells[q++].textContent = f4(v); });
        }
        drawHeat($("cm-heat"), m, w, S, V);
        return;
      }
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
      secCm.innerHTML = "<h2>Confusion matrix <small>many-class view · log colour scale</small></h2>" + h;
      secCm.dataset.key = cmKey;
      $("cm-norm").onchange = function (e) { st.cmNorm = e.target.value; renderConfusion(); };
      $("cm-nobg").onchange = function (e) { st.cmNoBg = e.target.checked; renderConfusion(); };
      if ($("cm-unfocus")) $("cm-unfocus").onclick = function () { st.focus = -1; render(); };
      drawHeat($("cm-heat"), m, w, S, V);
    }

    /* The heatmap's width: read once and on resize, not on every redraw
     * (reading a size after changing the page forces a layout). */
    var heatAvail = 0;
    window.addEventListener("resize", function () { heatAvail = 0; });
    var labelLayer = {};
    function drawHeat(cv, m, w, S, V) {
      var n = st.cmNoBg ? K : w;                     /* axes shown */
      if (!heatAvail) heatAvail = Math.max(360, Math.min(760, secCm.clientWidth - 420));
      var avail = heatAvail;
      var cs = Math.max(4, Math.min(18, Math.floor((avail - 10) / n)));
      var names = cs >= 9, lab = names ? 104 : 8, size = cs * n;
      var dpr = window.devicePixelRatio || 1;
      cv.width = (lab + size + 6) * dpr;
      cv.height = (lab + size + 6) * dpr;
      cv.style.width = lab + size + 6 + "px";
      cv.style.height = lab + size + 6 + "px";
      var ctx = cv.getContext("2d");
      ctx.scale(dpr, dpr);
      var norm = st.cmNorm !== "none", max = 0, dmax = 0, g, p, v;
      for (g = 0; g < n; g++)
        for (p = 0; p < n; p++) {
          v = V.val(g, p);
          if (!(v > 0) || (g === K && p === K)) continue;
          if (g === p) dmax = Math.max(dmax, v); else max = Math.max(max, v);
        }
      for (g = 0; g < n; g++)
        for (p = 0; p < n; p++) {
          v = V.val(g, p);
          if (!(v > 0) || (g === K && p === K)) continue;
          var t = g === p ? logT(v, dmax, norm) : logT(v, max, norm);
          ctx.fillStyle = g === p ? "rgb(" + Math.round(220 - 150 * t) + "," + Math.round(220 - 150 * t) + "," + Math.round(225 - 150 * t) + ")"
            : lutColor(0.1 + 0.9 * t);
          ctx.fillRect(lab + p * cs, lab + g * cs, Math.max(1, cs - (cs > 6 ? 1 : 0)), Math.max(1, cs - (cs > 6 ? 1 : 0)));
        }
      ctx.strokeStyle = "#ccd";
      ctx.strokeRect(lab - 0.5, lab - 0.5, size + 1, size + 1);
      if (names) {
        /* the names do not change with the sliders: drawn once per size */
        var lk = n + ":" + cs + ":" + dpr, L2 = labelLayer[lk];
        if (!L2) {
          L2 = document.createElement("canvas");
          L2.width = cv.width;
          L2.height = cv.height;
          var lc = L2.getContext("2d");
          lc.scale(dpr, dpr);
          lc.fillStyle = "#3b4252";
          lc.font = Math.min(11, cs - 1) + "px system-ui, sans-serif";
          lc.textBaseline = "middle";
          for (g = 0; g < n; g++) {
            var nm = cname(g), tw = lab - 6;
            while (lc.measureText(nm).width > tw && nm.length > 3) nm = nm.slice(0, -2) + "…";
            lc.textAlign = "right";
            lc.fillText(nm, lab - 4, lab + g * cs + cs / 2);
            lc.save();
            lc.translate(lab + g * cs + cs / 2, lab - 4);
            lc.rotate(-Math.PI / 2);
            lc.textAlign = "left";
            lc.fillText(nm, 0, 0);
            lc.restore();
          }
          labelLayer[lk] = L2;
        }
        ctx.save();
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.drawImage(L2, 0, 0);
        ctx.restore();
      }
      /* the largest class-to-class confusion, ringed */
      var top = rankCells(m, w, V, function (g2, p2) { return g2 < K && p2 < K; })[0];
      if (top) {
        ctx.strokeStyle = "#d55e00";
        ctx.lineWidth = 2;
        ctx.strokeRect(lab + top.p * cs - 3, lab + top.g * cs - 3, cs + 5, cs + 5);
        cv.dataset.top = top.g + "," + top.p;
      }
      drawColorBar($("cm-cbar"), max, norm);
      var at = function (e) {
        var r = cv.getBoundingClientRect();
        return { p: Math.floor((e.clientX - r.left - lab) / cs), g: Math.floor((e.clientY - r.top - lab) / cs) };
      };
      cv.onmousemove = function (e) {
        var q = at(e);
        if (q.p < 0 || q.g < 0 || q.p >= n || q.g >= n) { tip.style.display = "none"; return; }
        tip.style.display = "block";
        tip.style.left = e.clientX + 12 + "px";
        tip.style.top = e.clientY + 12 + "px";
        var x = m[q.g * w + q.p], y = V.val(q.g, q.p);
        tip.textContent = cname(q.g) + " → " + cname(q.p) + ": " + x + (norm && !isNaN(y) ? " (" + (100 * y).toFixed(1) + "%)" : "");
      };
      cv.onmouseleave = function () { tip.style.display = "none"; };
      cv.onclick = function (e) {
        var q = at(e);
        if (q.p >= 0 && q.g >= 0 && q.p < n && q.g < n && !(q.g === K && q.p === K)) openCell(S.i, q.g, q.p);
      };
    }

    /* The colour bar of the off-diagonal scale, with log-spaced ticks. */
    function drawColorBar(cv, max, norm) {
      var ctx = cv.getContext("2d"), W = cv.width - 20, x;
      ctx.clearRect(0, 0, cv.width, cv.height);
      for (x = 0; x < W; x++) { ctx.fillStyle = scaleColor(0.1 + 0.9 * x / (W - 1)); ctx.fillRect(10 + x, 2, 1, 12); }
      ctx.fillStyle = "#667085";
      ctx.font = "10px system-ui, sans-serif";
      ctx.textBaseline = "top";
      var ticks = [];
      if (norm) ticks = [0.01 * max, 0.1 * max, max];
      else for (var d = 1; d <= max; d *= 10) ticks.push(d);
      if (!norm && ticks[ticks.length - 1] !== max && max > 1) ticks.push(max);
      ticks.forEach(function (v) {
        var t = logT(v, max, norm), px = 10 + t * (W - 1);
        ctx.fillRect(px, 14, 1, 3);
        var s2 = norm ? (100 * v).toFixed(v * 100 < 1 ? 2 : 1) + "%" : String(v);
        ctx.textAlign = t > 0.95 ? "right" : t < 0.05 ? "left" : "center";
        ctx.fillText(s2, px, 19);
      });
      if (!(max > 0)) { ctx.textAlign = "left"; ctx.fillText("no confusions", 10, 19); }
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

    function moreButton(kind, shown, total) {
      return shown < total ? '<button class="small more" data-more="' + kind + '">show ' + Math.min(24, total - shown) + " more (" +
        (total - shown) + " left)</button>" : "";
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
        ", IoU ≥ " + S.iou[S.t] + (st.seg > 0 ? ", segment " + esc(SEGS[st.seg].name) : "") +
        ' · <span id="ex-total" data-v="' + list.length + '">' + list.length + "</span> in this cell" +
        (list.length > EX_LIMIT ? ", the first " + EX_LIMIT + " listed" : "") + "</small></h2>";
      h += '<div class="tabs">sort by&nbsp;' + opt("confidence", "confidence") + opt("iou", "IoU") + opt("area", "size") +
        '<button data-exdir="1">' + (st.exAsc ? "ascending" : "descending") + '</button><button data-exclose="1">close</button></div>';
      if (!list.length) {
        secEx.innerHTML = h + '<p class="muted empty" id="ex-empty">No examples in this cell at these thresholds' +
          (st.seg > 0 ? " within segment " + esc(SEGS[st.seg].name) : "") + ": move the sliders or pick another cell.</p>";
        return;
      }
      /* pictures of the first examples, each with its two boxes thick */
      var nshow = Math.min(st.exShow, list.length, EX_LIMIT);
      if (IMG)
        h += figLegend() + '<div class="figs" id="ex-figs">' + list.slice(0, nshow).map(function (e) {
          return figure(S, e.frame, { gt: e.gt, det: e.det }, e.det >= 0 ? "score " + f3(e.score) + (e.gt >= 0 ? ", IoU " + f3(e.iou) : "") : "missed");
        }).join("") + "</div>" + moreButton("ex", nshow, Math.min(list.length, EX_LIMIT));
      h += '<details class="extable"' + (IMG ? "" : " open") + '><summary>the boxes as a table</summary><div class="scroll compact" style="max-height:420px"><table class="grid" id="ex-table"><thead><tr>' +
        '<th class="l">frame</th><th class="l">ground-truth box (x, y, w, h)</th><th class="l">detection box</th>' +
        "<th>score</th><th>IoU</th><th>area</th></tr></thead><tbody>";
      list.slice(0, EX_LIMIT).forEach(function (e) {
        h += '<tr><td class="l">' + esc(DG.frames[e.frame]) + '</td><td class="l boxes">' + boxText(L.box, e.gt) +
          '</td><td class="l boxes">' + boxText(S.box, e.det) + '</td><td class="num" data-v="' + dv(e.score) + '">' + f4(e.score) +
          '</td><td class="num" data-v="' + dv(e.iou) + '">' + f3(e.iou) + '</td><td class="num" data-v="' + dv(e.area) + '">' +
          (+e.area.toFixed(1)) + "</td></tr>";
      });
      secEx.innerHTML = h + "</tbody></table></div></details>";
      if (IMG) fillThumbs(secEx);
    }
    secEx.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.exsort) st.exSort = b.dataset.exsort;
      if (b.dataset.exdir) st.exAsc = !st.exAsc;
      if (b.dataset.more) st.exShow += 24;
      if (b.dataset.exclose) { st.cell = null; renderConfusion(); }
      renderExamples();
    });

    /*
     * Worst frames of a set at its thresholds: F1 ascending (undefined
     * last, ties in frame order), as `detgrid frames --sort f1`, within the
     * segment; pictures with every box, then a table.
     */
    function worstFrames(S) {
      var fc = frameCounts(S, S.conf, S.t), gtf = regularPerFrame(), mask = segMask(), out = [];
      for (var f = 0; f < F; f++) {
        if (mask && !mask[f]) continue;
        var tp = fc.tp[f], fp = fc.fp[f], fn = gtf[f] - tp, den = 2 * tp + fp + fn;
        out.push({ f: f, tp: tp, fp: fp, fn: fn, f1: den ? 2 * tp / den : NaN });
      }
      out.sort(function (a, b) {
        var an = isNaN(a.f1), bn = isNaN(b.f1);
        if (an !== bn) return an ? 1 : -1;
        if (a.f1 !== b.f1 && !an) return a.f1 - b.f1;
        return a.f - b.f;
      });
      return out;
    }
    function renderWorst() {
      if (!shown(secWf)) { secWf.innerHTML = "<h2>Worst frames</h2>"; return; }
      var S = SETS[st.wf], list = worstFrames(S), n = Math.min(st.wfShow, list.length);
      var h = '<h2>Worst frames <small>lowest F1 first at the set\'s thresholds, as <code>detgrid frames --sort f1</code>' +
        (st.seg > 0 ? "; segment " + esc(SEGS[st.seg].name) : "") + "</small></h2>";
      if (SETS.length > 1)
        h += '<div class="tabs">' + SETS.map(function (T) {
          return '<button data-wfset="' + T.i + '" class="' + (T.i === st.wf ? "on" : "") + '">' + esc(T.name) + "</button>";
        }).join("") + "</div>";
      if (!list.length) { secWf.innerHTML = h + '<p class="muted empty">no frames' + (st.seg > 0 ? " in this segment" : "") + "</p>"; return; }
      if (IMG)
        h += figLegend() + '<div class="figs" id="wf-figs">' + list.slice(0, n).map(function (x) {
          return figure(S, x.f, null, "F1 " + f3(x.f1) + " · TP " + x.tp + ", FP " + x.fp + ", FN " + x.fn);
        }).join("") + "</div>";
      h += moreButton("wf", n, list.length) + '<details class="extable"' + (IMG ? "" : " open") + '><summary>as a table</summary><div class="scroll compact" style="max-height:360px"><table class="grid" id="wf-table"><thead><tr>' +
        '<th>#</th><th class="l">frame</th><th>TP</th><th>FP</th><th>FN</th><th>F1</th></tr></thead><tbody>';
      list.slice(0, n).forEach(function (x, i) {
        h += '<tr data-frame="' + x.f + '"><td class="num">' + (i + 1) + '</td><td class="l">' + esc(DG.frames[x.f]) + '</td><td class="num">' + x.tp +
          '</td><td class="num">' + x.fp + '</td><td class="num">' + x.fn + '</td><td class="num" data-v="' + dv(x.f1) + '">' + f4(x.f1) + "</td></tr>";
      });
      secWf.innerHTML = h + "</tbody></table></div></details>";
      if (IMG) fillThumbs(secWf);
    }
    secWf.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.wfset) { st.wf = +b.dataset.wfset; st.wfShow = 24; }
      if (b.dataset.more) st.wfShow += 24;
      renderWorst();
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
        h += '</div><div class="legend" id="pr-legend"></div>';
        secPr.innerHTML = h;
      }
      /* the legend carries each set's AP of the class at its IoU */
      $("pr-legend").innerHTML = st.sel.length ? st.sel.map(function (c) {
        return '<span data-prcls="' + c + '"><i style="background:' + selColor(c) + '"></i>' + esc(DG.classes[c]) + " · AP " +
          SETS.map(function (S) {
            var v = ap101(S, c, S.t);
            return (SETS.length > 1 ? esc(S.name) + " " : "") + '<b data-set="' + S.i + '" data-prap="' + c + '" data-v="' + dv(v) + '">' + f3(v) + "</b>";
          }).join(", ") + "</span>";
      }).join("") : '<span class="muted">select classes in the table</span>';
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
      var open = secCards.querySelector("details") ? secCards.querySelector("details").open : SEGS.length <= 6;
      var h = '<details' + (open ? " open" : "") + '><summary><h2 style="display:inline">Scenarios</h2> <small class="muted">' + NCARDS +
        " segments; click a card to filter the page to its frames; thresholds: the segment's own, else the sliders'</small>" +
        '<span class="cardsum" id="cards-sum"></span></summary>';
      var order = [], groups = { split: "Splits", regression: "Regression tests", scenario: "Scenarios" }, lastKind = null, nPass = 0, nFail = 0;
      ["split", "regression", "scenario"].forEach(function (kd) {
        SEGS.forEach(function (g, gi) { if (g.kind === kd) order.push(gi); });
      });
      SEGS.forEach(function (g, gi) { if (gi < NCARDS && order.indexOf(gi) < 0) order.push(gi); });
      order.forEach(function (gi) {
        var g = SEGS[gi];
        if (g.kind !== lastKind) {
          h += (lastKind === null ? "" : "</div>") + '<h3 class="kindh">' + esc(groups[g.kind] || g.kind) + '</h3><div class="cards">';
          lastKind = g.kind;
        }
        var tg = g.targets || {}, allPass = true, any = false, body = "", hasAp = tg.ap !== undefined && tg.ap !== null;
        SETS.forEach(function (S) {
          var conf = tg.conf !== undefined && tg.conf !== null ? tg.conf : S.conf;
          var t = tg.iou !== undefined && tg.iou !== null ? findT(S, tg.iou) : S.t;
          if (t < 0) { body += '<tr><td colspan="5" class="err">' + esc(S.name) + ": IoU " + tg.iou + " not evaluated</td></tr>"; allPass = false; return; }
          var mi = segCounts(S, gi, conf, t);
          if (hasAp) {
            /* AP (all-point, every detection) on the segment's frames, as `detgrid scenarios` */
            var keep = st.seg;
            st.seg = gi;
            mi.ap = apAllPoint(S, t);
            st.seg = keep;
          }
          body += '<tr><td class="who"><b>' + esc(S.name) + '</b><div class="muted">conf ' + conf + " · IoU " + S.iou[t] + "</div></td>";
          ["precision", "recall", "f1"].concat(hasAp ? ["ap"] : []).forEach(function (k) {
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
        if (any) { if (allPass) nPass++; else nFail++; }
        var tgt = ["precision", "recall", "f1", "ap"].filter(function (k) { return tg[k] !== undefined && tg[k] !== null; })
          .map(function (k) { return (k === "ap" ? "AP" : k) + " ≥ " + tg[k]; }).join(", ");
        h += '<div class="scard' + (gi === st.seg || (gi === 0 && st.seg <= 0) ? " active" : "") + '" data-segcard="' + gi + '"><h4><span>' + esc(g.name) +
          ' <span class="kind">' + esc(g.kind) + "</span></span>" + (any ? '<span class="' + (allPass ? "pass" : "fail") +
          '" data-segpass="' + gi + '">' + (allPass ? "PASS" : "FAIL") + "</span>" : "") + "</h4>" +
          '<div class="muted" style="font-size:12px">' + (g.frames ? g.frames.length : F) + " frames" +
          (tgt ? " · targets: " + esc(tgt) : "") +
          '</div><table><tr><th></th><th class="num">P</th><th class="num">R</th><th class="num">F1</th>' + (hasAp ? '<th class="num">AP</th>' : "") +
          "</tr>" + body + "</table></div>";
      });
      secCards.innerHTML = h + "</div></details>";
      $("cards-sum").innerHTML = (nPass ? '<span class="pass">' + nPass + " pass</span> " : "") + (nFail ? '<span class="fail">' + nFail + " fail</span>" : "");
    }
    if (secCards) secCards.addEventListener("click", function (e) {
      var c = e.target.closest("[data-segcard]");
      if (!c) return;
      setSegment(+c.dataset.segcard);
    });
    /* Failing slices: the lists computed at export (project defaults), the
     * one filtering the page highlighted. */
    var slKey = null;
    function g2(v) { return isNaN(v) ? "–" : String(parseFloat(v.toPrecision(2))); }
    function renderSlices() {
      if (!secSlices) return;
      var key = st.slSet + ":" + st.seg;
      if (key === slKey) return;  /* nothing here follows the sliders */
      slKey = key;
      var h = "<h2>Failing slices <small>frame-metadata conditions where the model does significantly worse than on the other frames, " +
        "as <code>detgrid slices</code> finds them at the project's default thresholds (computed at export); click one to filter the page</small></h2>";
      if (SL.reason) { secSlices.innerHTML = h + '<p class="muted empty" id="slices-none">No slices: ' + esc(SL.reason) + "</p>"; return; }
      if (SL.sets.length > 1)
        h += '<div class="tabs">' + SL.sets.map(function (x, i) {
          return '<button data-slset="' + i + '" class="' + (i === st.slSet ? "on" : "") + '">' + esc(x.set) + "</button>";
        }).join("") + "</div>";
      var x = SL.sets[st.slSet];
      h += '<p class="muted" id="slices-head" style="margin:2px 0 6px">' + esc(x.set) + ": " + x.metric + " " + f4(x.value) + " over " + x.frames +
        " frames at conf ≥ " + x.conf + ", IoU ≥ " + x.iou + "; " + x.columns + " metadata column" + (x.columns === 1 ? "" : "s") + ", " +
        x.conditions + " conditions; " + x.tested + " slices of ≥ " + x.min_support + " frames and ≤ " + x.max_conditions +
        " conditions tested, " + x.significant + " significantly worse (FDR " + x.alpha + "), " + x.list.length + " listed</p>";
      if (!x.list.length) { secSlices.innerHTML = h + '<p class="muted empty">no slice is significantly worse than the rest</p>'; return; }
      h += '<div class="scroll"><table class="grid slices"><tr><th class="num">rank</th><th class="l">slice</th><th class="num">frames</th>' +
        '<th class="num">' + x.metric + '</th><th class="num">rest</th><th class="num">diff</th><th class="num">z</th>' +
        '<th class="num">p</th><th class="num">q</th><th class="l">why (classes: lift (errors/chances); error types: share (lift))</th>' +
        '<th class="l">frames with the most errors</th></tr>';
      x.list.forEach(function (e) {
        var on = st.seg === e.seg;
        h += '<tr class="slrow' + (on ? " sel" : "") + '" data-slseg="' + e.seg + '" data-slname="' + esc(e.name) + '">' +
          '<td class="num">' + e.rank + '</td><td class="l"><b>' + esc(e.name) + "</b></td>" +
          '<td class="num" data-f="n_frames" data-v="' + e.n_frames + '">' + e.n_frames + "</td>" +
          '<td class="num" data-f="value" data-v="' + dv(e.value) + '">' + f4(e.value) + "</td>" +
          '<td class="num" data-f="value_rest" data-v="' + dv(e.value_rest) + '">' + f4(e.value_rest) + "</td>" +
          '<td class="num" data-f="effect" data-v="' + dv(e.effect) + '">' + sgn4(-e.effect) + "</td>" +
          '<td class="num" data-f="z" data-v="' + dv(e.z) + '">' + (isNaN(e.z) ? "–" : e.z.toFixed(2)) + "</td>" +
          '<td class="num" data-f="p" data-v="' + dv(e.p) + '">' + g2(e.p) + "</td>" +
          '<td class="num" data-f="q" data-v="' + dv(e.q) + '">' + g2(e.q) + "</td>" +
          '<td class="l why" data-f="explain">' + esc(e.explain_text) + "</td>" +
          '<td class="l why">' + esc((e.explain.representative_frames || []).join(" ")) + "</td></tr>";
      });
      secSlices.innerHTML = h + "</table></div>";
    }
    if (secSlices) secSlices.addEventListener("click", function (e) {
      var b = e.target.closest("[data-slset]");
      if (b) { st.slSet = +b.dataset.slset; render(); return; }
      var r = e.target.closest("[data-slseg]");
      if (r) setSegment(st.seg === +r.dataset.slseg ? 0 : +r.dataset.slseg);
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
      if (!shown(secLe)) { secLe.innerHTML = "<h2>Likely label errors</h2>"; return; }
      var key = st.le + ":" + st.leKind + ":" + st.seg + ":" + st.leShow;
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
      /* tab counts: entries listed (within the segment) of the candidates */
      h += '<div class="tabs">' + le.kinds.map(function (k, i) {
        var n = mask ? k.list.filter(function (e) { return mask[e.frame]; }).length : k.list.length;
        return '<button data-lekind="' + i + '" data-n="' + n + '" class="' + (i === st.leKind ? "on" : "") + '">' + esc(k.kind) + " (" + n +
          (mask ? " in segment" : k.candidates > n ? " of " + k.candidates : "") + ")</button>";
      }).join("") + "</div>";
      var kk = le.kinds[st.leKind], rows = [];
      kk.list.forEach(function (e, i) { if (!mask || mask[e.frame]) rows.push([e, i]); });
      if (!rows.length) {
        secLe.innerHTML = h + '<p class="muted empty" id="le-empty">no ' + esc(kk.kind) + " entries" + (mask ? " in this segment" : "") + "</p>" +
          '<table class="grid" id="le-table"><tbody></tbody></table>';
        return;
      }
      /* pictures of the first entries: the label and the detection thick */
      var n = Math.min(st.leShow, rows.length);
      if (IMG)
        h += figLegend() + '<div class="figs" id="le-figs">' + rows.slice(0, n).map(function (r) {
          var e = r[1], x = r[0];
          return figure(S, x.frame, { gt: labelIndex(x), det: detIndex(S, x) }, "#" + (e + 1) + " " + esc(x.label_cls >= 0 ? DG.classes[x.label_cls] : "–") +
            " / " + esc(x.det_cls >= 0 ? DG.classes[x.det_cls] : "–"));
        }).join("") + "</div>" + moreButton("le", n, rows.length);
      h += '<div class="scroll compact" style="max-height:420px"><table class="grid" id="le-table"><thead><tr><th>#</th><th>score</th>' +
        '<th class="l">frame</th><th class="l">label</th><th class="l">detection</th><th>conf</th><th>IoU</th><th class="l">why</th></tr></thead><tbody>';
      rows.forEach(function (r) {
        var e = r[0], i = r[1];
        h += '<tr><td class="num">' + (i + 1) + '</td><td class="num">' + f3(e.score === null ? NaN : e.score) + '</td><td class="l">' +
          esc(DG.frames[e.frame]) + '</td><td class="l">' + (e.label_cls >= 0 ? esc(DG.classes[e.label_cls]) : "–") +
          '</td><td class="l">' + (e.det_cls >= 0 ? esc(DG.classes[e.det_cls]) : "–") + '</td><td class="num">' +
          f3(e.conf === null ? NaN : e.conf) + '</td><td class="num">' + f3(e.iou === null ? NaN : e.iou) +
          '</td><td class="l why">' + esc(e.why) + "</td></tr>";
      });
      secLe.innerHTML = h + "</tbody></table></div>";
      if (IMG) fillThumbs(secLe);
    }
    /* The label and the sorted detection an entry names, found by box. */
    function sameBox(b, i, x) { return b[4 * i] === x[0] && b[4 * i + 1] === x[1] && b[4 * i + 2] === x[2] && b[4 * i + 3] === x[3]; }
    function labelIndex(e) {
      if (!e.label_box) return -1;
      for (var j = L.off[e.frame]; j < L.off[e.frame + 1]; j++)
        if (L.cls[j] === e.label_cls && sameBox(L.box, j, e.label_box)) return j;
      return -1;
    }
    function detIndex(S, e) {
      if (!e.det_box) return -1;
      var bf = byFrame(S), dc = detClass(S);
      for (var q = bf.start[e.frame]; q < bf.start[e.frame + 1]; q++) {
        var j = bf.idx[q];
        if (dc[j] === e.det_cls && S.score[j] === e.conf && sameBox(S.box, j, e.det_box)) return j;
      }
      return -1;
    }
    if (secLe) secLe.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.leset) { st.le = +b.dataset.leset; st.leKind = 0; st.leShow = 12; }
      if (b.dataset.lekind) { st.leKind = +b.dataset.lekind; st.leShow = 12; }
      if (b.dataset.more) st.leShow += 24;
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
          '<div class="legend" style="flex-direction:column;gap:6px"><span><i style="background:' + VIRIDIS[0] + ';height:10px;width:10px"></i>0</span>' +
          '<span><i style="background:' + VIRIDIS[5] + ';height:10px;width:10px"></i>0.5</span><span><i style="background:' + VIRIDIS[10] + ';height:10px;width:10px"></i>1</span>' +
          '<span><i style="background:#c8c8c8;height:10px;width:10px"></i>undefined</span><span class="muted">viridis, as <code>detgrid embeddings --plot</code>;<br>one point per frame;<br>outside the segment: faded</span></div></div>';
        secEmb.addEventListener("click", function (e) {
          var b = e.target.closest("button");
          if (!b) return;
          if (b.dataset.embm) st.embMetric = b.dataset.embm;
          if (b.dataset.embc) st.embClusters = !st.embClusters;
          if (b.dataset.embs) st.embSet = +b.dataset.embs;
          renderEmbeddings();
        });
      }
      $("emb-tabs").innerHTML = ["precision", "recall", "f1"].map(function (k) {
        return '<button data-embm="' + k + '" class="' + (st.embMetric === k ? "on" : "") + '">' + k + "</button>";
      }).join("") + (EMB.clusters ? '<button data-embc="1" class="' + (st.embClusters ? "on" : "") + '" title="k-means clusters ranked worst first for ' +
        esc(EMB.clusters.set) + " at confidence " + EMB.clusters.conf + ", IoU " + EMB.clusters.iou + ', as detgrid embeddings --patterns">clusters</button>' : "") + (SETS.length > 1 ? SETS.map(function (T) {
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
          ctx.fillStyle = b === 21 ? "#c8c8c8" : scaleColor(1 - b / 20);
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
      /* the cluster overlay: the worst clusters (as `detgrid embeddings
       * --patterns` ranks them) ringed and labelled */
      if (EMB.cluster && EMB.clusters && st.embClusters) {
        var K2 = EMB.clusters.ranked.length, cx = new Float64Array(K2), cy = new Float64Array(K2), cn = new Float64Array(K2), rank = {};
        EMB.clusters.ranked.forEach(function (c, r) { rank[c.id] = r; });
        for (i = 0; i < n; i++) { var q = rank[EMB.cluster[i]]; cx[q] += px[i]; cy[q] += py[i]; cn[q]++; }
        var rr = new Float64Array(K2);
        for (i = 0; i < n; i++) {
          var q2 = rank[EMB.cluster[i]], dx = px[i] - cx[q2] / cn[q2], dy = py[i] - cy[q2] / cn[q2];
          rr[q2] += dx * dx + dy * dy;
        }
        ctx.font = "12px system-ui, sans-serif";
        ctx.lineWidth = 1.5;
        EMB.clusters.ranked.forEach(function (c, r) {
          if (!cn[r]) return;
          var mx = cx[r] / cn[r], my = cy[r] / cn[r], rad = 1.5 * Math.sqrt(rr[r] / cn[r]) + 4;
          ctx.strokeStyle = r < 3 ? "#d55e00" : "rgba(60,60,60,.45)";
          ctx.setLineDash(r < 3 ? [] : [4, 3]);
          ctx.beginPath(); ctx.arc(mx, my, rad, 0, 2 * Math.PI); ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = r < 3 ? "#1d2330" : "#667085";
          ctx.fillText("#" + (r + 1) + " F1 " + (c.f1 === null ? "–" : c.f1.toFixed(2)) + " (" + c.size + ")", mx + rad * 0.7, my - rad * 0.7);
        });
      }
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
      step("cards", function () { renderPill(); renderCards(); renderSlices(); });
      step("overall", renderOverall);
      step("classes", renderClasses);
      step("confusion", renderConfusion);
      step("pr", renderPr);
      step("examples", function () { if (st.cell) renderExamples(); });
      step("worst", renderWorst);
      step("errors", renderLabelErrors);
      step("embeddings", function () { if (shown(secEmb)) renderEmbeddings(); });
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
    /* draws the sections that wait to be scrolled to (tests, printing) */
    window.__dg.reveal = function () { [secWf, secLe, secEmb].forEach(function (x) { if (x) seen[x.id] = 1; }); render(); };
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
