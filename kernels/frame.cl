/*
 * match_frame: both matchings of one frame by one work-group, the routine
 * behind the kernels of frames.cl. Must give the bytes of match_frame() in
 * host/ref/frames_ref.c (dg__match_frames_ref), whose steps it follows:
 *
 *   1. the frame's detections and ground truths into scratch; three
 *      bitonic sorts of index arrays (keys are distinct: the index breaks
 *      every tie, so the result is the one stable order): detections by
 *      (match key, index) for the class-agnostic matcher, by (class, match
 *      key, index) for the class-wise one, ground truths by (class,
 *      ignored, index);
 *   2. the IoU tile, every (detection, ground truth) pair once, in fp64
 *      (dg_iou, or the tile an earlier stage supplied), shared by both
 *      matchers; per detection the highest IoU with a crowd or ignored
 *      ground truth and whether it can take anything (a ground truth of its
 *      class with IoU not below the lowest threshold, NaN included; a
 *      regular one of any class with IoU >= it);
 *   3. one work-item for the serial bookkeeping: the class-wise groups
 *      (runs of one class in both sorted orders), the regular ground truths
 *      in input order, and (with candidate lists) where each detection's
 *      agnostic candidates start;
 *   4. lanes over (group x threshold) and over thresholds for the agnostic
 *      matcher, each walking its detections in matching order with its
 *      taken-mask in a register (groups of at most 64 ground truths) or in
 *      a bitset in scratch; outcomes that differ from "took nothing" go
 *      straight to their cell (the caller filled the rows).
 *
 * This file is compiled twice (host/cl/program.c): with DG_AS __local and
 * DG_FN(x) x##_local for frames whose scratch fits local memory, and with
 * DG_AS __global and DG_FN(x) x##_global for the others, whose scratch is
 * a slice of a global buffer. Every work-item of the group calls it with
 * the same frame (it has barriers).
 */

#ifndef DG_FRAME_SHARED
#define DG_FRAME_SHARED

#define DG_AGN_BACKGROUND (-1)
#define DG_AGN_IGNORED (-2)
#define DG_GF_CROWD 1
#define DG_GF_IGN 2 /* crowd or ignored */
#define DG_DF_CW 1  /* may take a ground truth of its class */
#define DG_DF_AGN 2 /* has an agnostic candidate, or may be ignored */
#define DG_BARRIER() barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)

/* The columns and the outputs of a launch (slab-relative inputs). */
typedef struct {
    __global const double *dx, *dy, *dw, *dh, *ds;
    __global const uint *dc;
    __global const double *gx, *gy, *gw, *gh;
    __global const uint *gc;
    __global const uchar *gcrowd, *gignore;
    __global const uint *pos;    /* the cells, when use_pos */
    __global const double *tile; /* an earlier stage's tiles, use_tile */
    __global const double *thr;  /* every threshold, clamped */
    __global uchar *status;
    __global int *matched, *agn;
    ulong n_out;  /* cells a row */
    ulong dbase;  /* the slab's first detection, as an index of the chunk */
    long lbase;   /* label_base + the slab's first ground truth */
    uint t0, nt;  /* this pass's thresholds: rows 0 .. nt - 1 */
    double thr_min;
    int use_pos, use_tile, do_agn, use_cand;
} dg_frame_io;

uint dg_pow2(uint n)
{
    uint p = 1;
    while (p < n)
        p <<= 1;
    return p;
}

#endif

/* Scratch of one frame: sizes for caps of d detections (dp: d rounded up
 * to a power of two), g ground truths (gp likewise), p pairs. */
typedef struct {
    DG_AS double *tile, *ibest;
    DG_AS double *av, *cv;   /* candidate lists' IoUs (use_cand) */
    DG_AS ulong *dk;
    DG_AS uint *dc, *dp, *ord, *cw, *acnt, *ccnt, *ast, *cst, *aq, *cq, *gk,
        *gord, *reg, *grp, *bits, *misc, *tmp;
    DG_AS uchar *gf, *df;
} DG_FN(scr);

/* Whether index a goes before index b in sort `mode` of n real entries
 * (entries >= n pad the array and go last). */
int DG_FN(before)(const DG_FN(scr) *s, int mode, uint a, uint b, uint n)
{
    if (a >= n || b >= n)
        return b >= n && (a < n || a < b);
    if (mode == 2) {
        uint ka = s->gk[a], kb = s->gk[b];
        if (ka != kb)
            return ka < kb;
        uint ia = s->gf[a] & DG_GF_IGN, ib = s->gf[b] & DG_GF_IGN;
        if (ia != ib)
            return ia < ib;
        return a < b;
    }
    if (mode == 1 && s->dc[a] != s->dc[b])
        return s->dc[a] < s->dc[b];
    if (s->dk[a] != s->dk[b])
        return s->dk[a] < s->dk[b];
    return a < b;
}

/* Sort mode's primary key alone: a stable sort needs no more (below). */
int DG_FN(key_lt)(const DG_FN(scr) *s, int mode, uint a, uint b)
{
    if (mode == 0)
        return s->dk[a] < s->dk[b];
    if (mode == 1)
        return s->dc[a] < s->dc[b];
    uint ka = s->gk[a], kb = s->gk[b];
    return ka < kb ||
           (ka == kb && (s->gf[a] & DG_GF_IGN) < (s->gf[b] & DG_GF_IGN));
}

/*
 * One work-item sorts the n real entries of arr with a stable bottom-up
 * merge sort through tmp, O(n log n) instead of the network's
 * O(n log^2 n), by the primary key alone: arr comes in index order (modes
 * 0 and 2) or in matching order (mode 1), so stability gives the ties the
 * order the full keys of before() give them.
 */
void DG_FN(merge)(const DG_FN(scr) *s, DG_AS uint *arr, DG_AS uint *tmp,
                  uint n, int mode)
{
    DG_AS uint *a = arr, *b = tmp;
    for (uint w = 1; w < n; w <<= 1) {
        for (uint lo = 0; lo < n; lo += 2 * w) {
            uint mid = lo + w < n ? lo + w : n;
            uint hi = lo + 2 * w < n ? lo + 2 * w : n;
            uint i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = DG_FN(key_lt)(s, mode, a[j], a[i]) ? a[j++]
                                                            : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
        }
        DG_AS uint *t = a;
        a = b;
        b = t;
    }
    if (a != arr)
        for (uint k = 0; k < n; k++)
            arr[k] = a[k];
}

/*
 * Sorts the n real entries of arr (P, a power of two >= n, with padding).
 * With DG_SORT_SERIAL (CPU devices, program.c) one work-item merge-sorts
 * while the others wait; else a bitonic network over the work-group, whose
 * barriers sit inside loops.
 */
void DG_FN(bitonic)(const DG_FN(scr) *s, DG_AS uint *arr, uint P, uint n,
                    int mode)
{
    uint lid = get_local_id(0);
#if DG_SORT_SERIAL
    (void)P;
    if (lid == 0)
        DG_FN(merge)(s, arr, s->tmp, n, mode);
    DG_BARRIER();
#else
    uint lsz = get_local_size(0);
    for (uint k = 2; k <= P; k <<= 1)
        for (uint j = k >> 1; j > 0; j >>= 1) {
            for (uint i = lid; i < P; i += lsz) {
                uint ixj = i ^ j;
                if (ixj > i) {
                    uint a = arr[i], b = arr[ixj];
                    int up = (i & k) == 0;
                    if (up ? DG_FN(before)(s, mode, b, a, n)
                           : DG_FN(before)(s, mode, a, b, n)) {
                        arr[i] = b;
                        arr[ixj] = a;
                    }
                }
            }
            DG_BARRIER();
        }
#endif
}

/* The class-agnostic matcher at threshold t. */
void DG_FN(agnostic)(const dg_frame_io *io, const DG_FN(scr) *s, uint t,
                     uint nd, uint ng, uint fg0)
{
    uint n_reg = s->misc[1], wa = s->misc[3];
    double th = io->thr[t];
    ulong row = (ulong)(t - io->t0) * io->n_out;
    ulong mask = 0;
    DG_AS uint *bits = s->bits + (ulong)io->nt * s->misc[2] +
                       (ulong)(t - io->t0) * wa;
    for (uint w = 0; w < wa; w++)
        bits[w] = 0;
    for (uint k = 0; k < nd; k++) {
        uint i = s->ord[k];
        if (!(s->df[i] & DG_DF_AGN))
            continue;
        DG_AS const double *tr = s->tile + (ulong)i * ng;
        uint dcls = s->dc[i];
        int m = -1, m_same = 0;
        double best = 0;
        if (io->use_cand) {
            /* Candidates: regular rank | same class << 31, their IoUs. */
            for (uint e = s->ast[k]; e < s->ast[k + 1]; e++) {
                uint x = s->aq[e], r = x & 0x7fffffffu;
                int tk = wa ? (bits[r >> 5] >> (r & 31)) & 1
                            : (int)((mask >> r) & 1);
                double v = s->av[e];
                if (tk || !(v >= th))
                    continue;
                int same = (int)(x >> 31);
                if (m < 0 || v > best || (v == best && same && !m_same)) {
                    m = (int)r;
                    best = v;
                    m_same = same;
                }
            }
        } else {
            for (uint r = 0; r < n_reg; r++) {
                int tk = wa ? (bits[r >> 5] >> (r & 31)) & 1
                            : (int)((mask >> r) & 1);
                if (tk)
                    continue;
                uint j = s->reg[r];
                double v = tr[j];
                if (!(v >= th))
                    continue;
                int same = s->gk[j] == dcls;
                if (m < 0 || v > best || (v == best && same && !m_same)) {
                    m = (int)r;
                    best = v;
                    m_same = same;
                }
            }
        }
        if (m >= 0) {
            if (wa)
                bits[m >> 5] |= 1u << (m & 31);
            else
                mask |= 1UL << m;
            io->agn[row + s->dp[i]] =
                (int)(io->lbase + (long)fg0 + (long)s->reg[m]);
        } else if (s->ibest[i] >= th) {
            io->agn[row + s->dp[i]] = DG_AGN_IGNORED;
        }
    }
}

/* The class-wise matcher of group g at threshold t (pycocotools' rules). */
void DG_FN(classwise)(const dg_frame_io *io, const DG_FN(scr) *s, uint g,
                      uint t, uint ng, uint fg0)
{
    DG_AS const uint *G = s->grp + 5 * (ulong)g;
    uint d0 = G[0], d1 = G[1], q0 = G[2], q1 = G[3];
    uint gn = q1 - q0, big = gn > 64;
    double th = io->thr[t];
    ulong row = (ulong)(t - io->t0) * io->n_out;
    ulong mask = 0;
    DG_AS uint *bits = s->bits + (ulong)(t - io->t0) * s->misc[2] + G[4];
    if (big)
        for (uint w = 0; w < (gn + 31) / 32; w++)
            bits[w] = 0;
    for (uint k = d0; k < d1; k++) {
        uint i = s->cw[k];
        if (!(s->df[i] & DG_DF_CW))
            continue;
        DG_AS const double *tr = s->tile + (ulong)i * ng;
        double best = th;
        int m = -1, m_ign = 0;
        /* The candidates (use_cand), else every ground truth of the
         * group; the same scan (frames_ref.c says why). */
        uint e0 = io->use_cand ? s->cst[k] : 0;
        uint e1 = io->use_cand ? s->cst[k + 1] : gn;
        for (uint e = e0; e < e1; e++) {
            uint b = io->use_cand ? s->cq[e] : e, q = q0 + b;
            uint j = s->gord[q];
            uchar f = s->gf[j];
            int crowd = f & DG_GF_CROWD, ig = (f & DG_GF_IGN) != 0;
            int tk = big ? (bits[b >> 5] >> (b & 31)) & 1
                         : (int)((mask >> b) & 1);
            if (tk && !crowd)
                continue;
            if (m >= 0 && !m_ign && ig)
                break;
            double v = io->use_cand ? s->cv[e] : tr[j];
            if (v < best)
                continue;
            best = v;
            m = (int)q;
            m_ign = ig;
        }
        if (m < 0)
            continue;
        uint b = (uint)m - q0;
        if (big)
            bits[b >> 5] |= 1u << (b & 31);
        else
            mask |= 1UL << b;
        ulong o = row + s->dp[i];
        io->status[o] = m_ign ? DG_IGN : DG_TP;
        io->matched[o] = (int)(io->lbase + (long)fg0 + (long)s->gord[m]);
    }
}

/*
 * The frame whose detections are [fd0, fd0 + nd) and ground truths
 * [fg0, fg0 + ng) of the slab; its supplied tile (use_tile) at tile_at.
 */
void DG_FN(match_frame)(const dg_frame_io *io, const DG_FN(scr) *s, uint fd0,
                        uint nd, uint fg0, uint ng, ulong tile_at)
{
    uint lid = get_local_id(0), lsz = get_local_size(0);
    uint Dp = dg_pow2(nd), Gp = dg_pow2(ng);
    double thr_min = io->thr_min;

    /* 1. The frame in scratch, the sorts. */
    for (uint i = lid; i < Dp; i += lsz) {
        if (i < nd) {
            uint d = fd0 + i;
            s->dk[i] = dg_match_key(io->ds[d]);
            s->dc[i] = io->dc[d];
            s->dp[i] = io->use_pos ? io->pos[d] : (uint)(io->dbase + d);
        }
        s->ord[i] = i;
        s->cw[i] = i;
    }
    for (uint j = lid; j < Gp; j += lsz) {
        if (j < ng) {
            uint g = fg0 + j;
            uchar crowd = io->gcrowd[g] != 0;
            s->gk[j] = io->gc[g];
            s->gf[j] = (uchar)((crowd ? DG_GF_CROWD : 0) |
                               (crowd || io->gignore[g] ? DG_GF_IGN : 0));
        }
        s->gord[j] = j;
    }
    DG_BARRIER();
    DG_FN(bitonic)(s, s->ord, Dp, nd, 0);
#if DG_SORT_SERIAL
    /* The stable sort by class starts in matching order. */
    if (lid == 0)
        for (uint k = 0; k < nd; k++)
            s->cw[k] = s->ord[k];
    DG_BARRIER();
#endif
    DG_FN(bitonic)(s, s->cw, Dp, nd, 1);
    DG_FN(bitonic)(s, s->gord, Gp, ng, 2);

    /* 2. The tile; per detection its best crowd or ignored IoU and what it
     * may take. */
    uint P = nd * ng;
    if (io->use_tile) {
        for (uint p = lid; p < P; p += lsz)
            s->tile[p] = io->tile[tile_at + p];
    } else if (P) {
        /* Pair p is (p / ng, p % ng): one division, then steps. */
        uint i = lid / ng, j = lid - i * ng;
        for (uint p = lid; p < P; p += lsz) {
            uint d = fd0 + i, g = fg0 + j;
            s->tile[p] = dg_iou(io->dx[d], io->dy[d], io->dw[d], io->dh[d],
                                io->gx[g], io->gy[g], io->gw[g], io->gh[g],
                                s->gf[j] & DG_GF_CROWD);
            j += lsz;
            while (j >= ng) {
                j -= ng;
                i++;
            }
        }
    }
    DG_BARRIER();
    for (uint i = lid; i < nd; i += lsz) {
        DG_AS const double *tr = s->tile + (ulong)i * ng;
        double ib = -INFINITY;
        uint c = s->dc[i], n_agn = 0, n_cw = 0, n_cls = 0;
        int has_nan = 0;
        for (uint j = 0; j < ng; j++) {
            double v = tr[j];
            if (s->gf[j] & DG_GF_IGN) {
                if (v > ib)
                    ib = v;
            } else if (v >= thr_min) {
                n_agn++;
            }
            if (s->gk[j] == c) {
                n_cls++;
                has_nan |= isnan(v);
                n_cw += !(v < thr_min);
            }
        }
        /* A NaN in the group keeps every ground truth of it. */
        if (has_nan)
            n_cw = n_cls;
        s->ibest[i] = ib;
        s->acnt[i] = n_agn;
        s->ccnt[i] = n_cw;
        s->df[i] = (uchar)((n_cw ? DG_DF_CW : 0) |
                           (n_agn || ib >= thr_min ? DG_DF_AGN : 0));
    }
    DG_BARRIER();

    /* 3. The bookkeeping, on one work-item. */
    if (lid == 0) {
        uint n_reg = 0;
        for (uint j = 0; j < ng; j++)
            if (!(s->gf[j] & DG_GF_IGN))
                s->reg[n_reg++] = j;
        uint n_grp = 0, words = 0, q = 0;
        for (uint k = 0; k < nd;) {
            uint c = s->dc[s->cw[k]], b = k + 1;
            while (b < nd && s->dc[s->cw[b]] == c)
                b++;
            while (q < ng && s->gk[s->gord[q]] < c)
                q++;
            uint q1 = q;
            while (q1 < ng && s->gk[s->gord[q1]] == c)
                q1++;
            if (q1 > q) {
                DG_AS uint *G = s->grp + 5 * (ulong)n_grp++;
                G[0] = k;
                G[1] = b;
                G[2] = q;
                G[3] = q1;
                G[4] = words;
                if (q1 - q > 64)
                    words += (q1 - q + 31) / 32;
            }
            q = q1;
            k = b;
        }
        s->misc[0] = n_grp;
        s->misc[1] = n_reg;
        s->misc[2] = words;
        s->misc[3] = n_reg > 64 ? (n_reg + 31) / 32 : 0;
        if (io->use_cand) {
            s->ast[0] = s->cst[0] = 0;
            for (uint k = 0; k < nd; k++) {
                s->ast[k + 1] = s->ast[k] + s->acnt[s->ord[k]];
                s->cst[k + 1] = s->cst[k] + s->ccnt[s->cw[k]];
            }
        }
    }
    DG_BARRIER();
    if (io->use_cand) {
        /* The candidate lists: agnostic ones in matching order, class-wise
         * ones group by group. */
        for (uint k = lid; io->do_agn && k < nd; k += lsz) {
            uint i = s->ord[k], o = s->ast[k], r = 0, dcls = s->dc[i];
            DG_AS const double *tr = s->tile + (ulong)i * ng;
            for (uint j = 0; j < ng; j++)
                if (!(s->gf[j] & DG_GF_IGN)) {
                    double v = tr[j];
                    if (v >= thr_min) {
                        s->aq[o] = r | (s->gk[j] == dcls ? 0x80000000u : 0);
                        s->av[o++] = v;
                    }
                    r++;
                }
        }
        for (uint g = lid; g < s->misc[0]; g += lsz) {
            DG_AS const uint *G = s->grp + 5 * (ulong)g;
            for (uint k = G[0]; k < G[1]; k++) {
                uint i = s->cw[k], o = s->cst[k];
                DG_AS const double *tr = s->tile + (ulong)i * ng;
                int keep_all = s->ccnt[i] == G[3] - G[2];
                for (uint q = G[2]; q < G[3]; q++) {
                    double v = tr[s->gord[q]];
                    if (keep_all || !(v < thr_min)) {
                        s->cq[o] = q - G[2];
                        s->cv[o++] = v;
                    }
                }
            }
        }
        DG_BARRIER();
    }

    /* 4. The lanes: agnostic ones first, they walk the whole frame. */
    uint n_agn = io->do_agn ? io->nt : 0;
    uint n_task = n_agn + s->misc[0] * io->nt;
    for (uint task = lid; task < n_task; task += lsz) {
        if (task < n_agn) {
            DG_FN(agnostic)(io, s, io->t0 + task, nd, ng, fg0);
        } else {
            uint x = task - n_agn;
            DG_FN(classwise)(io, s, x / io->nt, io->t0 + x % io->nt, ng,
                             fg0);
        }
    }
    DG_BARRIER();
}
