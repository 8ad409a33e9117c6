/*
 * The matching stage's kernels: both matchings (class-wise and
 * class-agnostic) of a slab of frames at a pass of thresholds, one
 * work-group a frame, from the columns as stored. Must give the bytes of
 * dg__match_frames_ref() in host/ref/frames_ref.c (the routine itself is
 * frame.cl's match_frame).
 *
 * match_frames: work-group b takes the frames flist[bin_off[b] ..
 * bin_off[b + 1]) (small frames binned together, one after the other),
 * each with its scratch in local memory carved from lm for caps of capd
 * detections, capg ground truths and capp pairs (the host sizes lm with
 * dg__cl_frame_scratch and sends only frames that fit there, with at most
 * 64 ground truths, so taken-masks stay in registers).
 *
 * match_frames_big: work-group b takes frame bigf[b], too big for local
 * memory, its scratch at gscr + boff[b] (ulongs), carved for its own
 * sizes; taken flags of groups of more than 64 ground truths live there as
 * bitsets.
 *
 * Inputs are the slab's columns as stored (slab-relative indices), its
 * frame offsets as stored (doff, goff and, with an earlier stage's tiles,
 * toff: absolute, less dbase, gbase, tbase), the thresholds clamped to
 * 1 - 1e-10, and, with flag 1, pos (the cell of each of the slab's
 * detections). Outputs are rows 0 .. nt - 1 of n_out cells for thresholds
 * t0 .. t0 + nt - 1, filled beforehand with "took nothing" (FP, -1,
 * background). Flags: 1 pos, 2 supplied tiles, 4 class-agnostic matching
 * too, 8 agnostic candidate lists in scratch.
 */

/* Carves the scratch of a frame of caps d, g, p from base (8-aligned);
 * the byte count is dg__cl_frame_scratch() in host/cl/frames.c, which
 * must add the same parts in the same order. */
#define DG_CARVE(S, AS, base, d, g, p, cand, bitw)                           \
    do {                                                                     \
        AS uchar *c_ = (AS uchar *)(base);                                   \
        uint dp_ = dg_pow2(d), gp_ = dg_pow2(g);                             \
        ulong pc_ = (cand) ? (ulong)(p) : 0;                                 \
        (S).tile = (AS double *)c_;                                          \
        c_ += 8 * (ulong)(p);                                                \
        (S).av = (AS double *)c_;                                            \
        c_ += 8 * pc_;                                                       \
        (S).cv = (AS double *)c_;                                            \
        c_ += 8 * pc_;                                                       \
        (S).ibest = (AS double *)c_;                                         \
        c_ += 8 * (ulong)dp_;                                                \
        (S).dk = (AS ulong *)c_;                                             \
        c_ += 8 * (ulong)dp_;                                                \
        (S).dc = (AS uint *)c_;                                              \
        c_ += 4 * (ulong)dp_;                                                \
        (S).dp = (AS uint *)c_;                                              \
        c_ += 4 * (ulong)dp_;                                                \
        (S).ord = (AS uint *)c_;                                             \
        c_ += 4 * (ulong)dp_;                                                \
        (S).cw = (AS uint *)c_;                                              \
        c_ += 4 * (ulong)dp_;                                                \
        (S).acnt = (AS uint *)c_;                                            \
        c_ += 4 * (ulong)dp_;                                                \
        (S).ccnt = (AS uint *)c_;                                            \
        c_ += 4 * (ulong)dp_;                                                \
        (S).ast = (AS uint *)c_;                                             \
        c_ += 4 * (ulong)(dp_ + 2);                                          \
        (S).cst = (AS uint *)c_;                                             \
        c_ += 4 * (ulong)(dp_ + 2);                                          \
        (S).grp = (AS uint *)c_;                                             \
        c_ += 20 * (ulong)dp_;                                               \
        (S).aq = (AS uint *)c_;                                              \
        c_ += 4 * pc_;                                                       \
        (S).cq = (AS uint *)c_;                                              \
        c_ += 4 * pc_;                                                       \
        (S).gk = (AS uint *)c_;                                              \
        c_ += 4 * (ulong)gp_;                                                \
        (S).gord = (AS uint *)c_;                                            \
        c_ += 4 * (ulong)gp_;                                                \
        (S).reg = (AS uint *)c_;                                             \
        c_ += 4 * (ulong)gp_;                                                \
        (S).misc = (AS uint *)c_;                                            \
        c_ += 16;                                                            \
        (S).bits = (AS uint *)c_;                                            \
        c_ += 4 * (ulong)(bitw);                                             \
        (S).tmp = (AS uint *)c_;                                             \
        c_ += 4 * (ulong)(dp_ > gp_ ? dp_ : gp_);                            \
        (S).gf = (AS uchar *)c_;                                             \
        c_ += gp_;                                                           \
        (S).df = (AS uchar *)c_;                                             \
    } while (0)

#define DG_FRAME_IO_INIT(io)                                                 \
    do {                                                                     \
        io.dx = dx;                                                          \
        io.dy = dy;                                                          \
        io.dw = dw;                                                          \
        io.dh = dh;                                                          \
        io.ds = ds;                                                          \
        io.dc = dc;                                                          \
        io.gx = gx;                                                          \
        io.gy = gy;                                                          \
        io.gw = gw;                                                          \
        io.gh = gh;                                                          \
        io.gc = gc;                                                          \
        io.gcrowd = gcrowd;                                                  \
        io.gignore = gignore;                                                \
        io.pos = pos;                                                        \
        io.tile = tile;                                                      \
        io.thr = thr;                                                        \
        io.status = status;                                                  \
        io.matched = matched;                                                \
        io.agn = agn;                                                        \
        io.n_out = n_out;                                                    \
        io.dbase = dbase;                                                    \
        io.lbase = lbase;                                                    \
        io.t0 = t0;                                                          \
        io.nt = nt;                                                          \
        io.thr_min = thr_min;                                                \
        io.use_pos = (flags & 1) != 0;                                       \
        io.use_tile = (flags & 2) != 0;                                      \
        io.do_agn = (flags & 4) != 0;                                        \
        io.use_cand = (flags & 8) != 0;                                      \
    } while (0)

#define DG_FRAME_ARGS                                                        \
    __global const double *dx, __global const double *dy,                   \
        __global const double *dw, __global const double *dh,               \
        __global const double *ds, __global const uint *dc,                 \
        __global const double *gx, __global const double *gy,               \
        __global const double *gw, __global const double *gh,               \
        __global const uint *gc, __global const uchar *gcrowd,              \
        __global const uchar *gignore, __global const ulong *doff,          \
        __global const ulong *goff, __global const uint *pos,               \
        __global const double *tile, __global const ulong *toff,            \
        __global const double *thr, __global uchar *status,                 \
        __global int *matched, __global int *agn, ulong n_out, ulong dbase, \
        ulong gbase, long lbase, ulong tbase, uint t0, uint nt,             \
        double thr_min, uint flags

__kernel void match_frames(DG_FRAME_ARGS, __global const uint *flist,
                           __global const uint *bin_off, __local ulong *lm,
                           uint capd, uint capg, uint capp)
{
    dg_frame_io io;
    DG_FRAME_IO_INIT(io);
    scr_local s;
    DG_CARVE(s, __local, lm, capd, capg, capp, io.use_cand, 1);
    uint b = get_group_id(0);
    for (uint e = bin_off[b]; e < bin_off[b + 1]; e++) {
        uint f = flist[e];
        ulong a = doff[f] - dbase, ga = goff[f] - gbase;
        match_frame_local(&io, &s, (uint)a, (uint)(doff[f + 1] - doff[f]),
                          (uint)ga, (uint)(goff[f + 1] - goff[f]),
                          io.use_tile ? toff[f] - tbase : 0);
    }
}

__kernel void match_frames_big(DG_FRAME_ARGS, __global const uint *bigf,
                               __global const ulong *boff,
                               __global ulong *gscr)
{
    dg_frame_io io;
    DG_FRAME_IO_INIT(io);
    uint f = bigf[get_group_id(0)];
    ulong a = doff[f] - dbase, ga = goff[f] - gbase;
    uint nd = (uint)(doff[f + 1] - doff[f]);
    uint ng = (uint)(goff[f + 1] - goff[f]);
    scr_global s;
    ulong bitw = (ulong)nt * (2 * ((ng + 31) / 32) + nd + 1);
    DG_CARVE(s, __global, gscr + boff[get_group_id(0)], nd, ng,
             (ulong)nd * ng, io.use_cand, bitw);
    match_frame_global(&io, &s, (uint)a, nd, (uint)ga, ng,
                       io.use_tile ? toff[f] - tbase : 0);
}
