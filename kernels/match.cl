/*
 * match_greedy: COCO greedy matching of one (frame, class) group at one
 * IoU threshold. Every threshold of the grid runs in the same launch.
 *
 * One work-item takes one (group, threshold) pair, flattened as
 * group * n_thr + t so that neighbouring work-items share a group (same
 * loop lengths, same IoU rows). It walks the group's detections in
 * matching order (descending score, input order on ties) and, for each,
 * scans the group's ground truths in matching order (regular ones, then
 * ignored ones, each in input order):
 *
 *   - a non-crowd ground truth already taken is skipped;
 *   - once a regular ground truth is held, the first ignored one ends the
 *     scan;
 *   - an IoU below the best so far is skipped, anything else (ties too)
 *     becomes the best, so ties go to the later ground truth;
 *   - the best starts at thr[t] = min(t, 1 - 1e-10), computed on the host.
 *
 * It writes status (DG_FP, DG_TP, DG_IGN) and matched (chunk-relative
 * label index or -1) at t * n_out + (detection index - out_base), in the
 * chunk's detection order. Must give the same bytes as match_group() in
 * host/ref/match_ref.c (dg__match_ref).
 *
 * The scan covers the candidates iou_pairwise kept for the detection (see
 * iou.cl for why skipping the others changes nothing) or, for groups too
 * large to store, every ground truth with IoUs from dg_iou() (iou.cl)
 * computed here: the same function, so the same doubles. Taken flags live in a private 64-bit mask for groups
 * of at most 64 ground truths and in global scratch (n_thr rows of the
 * batch's ground truths) otherwise.
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

__kernel void match_greedy(__global const uint4 *grp,
                           __global const ulong *iou_off,
                           __global const double4 *dbox,
                           __global const uint *didx,
                           __global const double4 *gbox,
                           __global const uchar *gflag,
                           __global const int *gidx,
                           __global const double *iou,
                           __global const uint *cand,
                           __global const uint *ncand,
                           __global const double *thr,
                           __global uchar *taken_rows, uint n_grp,
                           uint n_thr, uint dt_base, uint gt_base,
                           ulong iou_base, uint n_gt, uint out_base,
                           ulong n_out, __global uchar *status,
                           __global int *matched)
{
    ulong id = get_global_id(0);
    if (id >= (ulong)n_grp * n_thr)
        return;
    uint gi = (uint)(id / n_thr), t = (uint)(id % n_thr);
    uint4 g = grp[gi];
    uint d0 = g.s0 - dt_base, n_d = g.s1, g0 = g.s2 - gt_base, n_g = g.s3;
    ulong off = iou_off[gi];
    int fly = off == DG_IOU_ON_THE_FLY;
    ulong base = fly ? 0 : off - iou_base;
    double th = thr[t];
    int small = n_g <= 64;
    ulong mask = 0;
    __global uchar *taken = taken_rows + (ulong)t * n_gt + g0;

    if (!small)
        for (uint j = 0; j < n_g; j++)
            taken[j] = 0;
    for (uint i = 0; i < n_d; i++) {
        double4 d = dbox[d0 + i];
        double best = th;
        int m = -1, m_regular = 0;
        ulong row = base + (ulong)i * n_g;
        uint n_scan = fly ? n_g : n_g ? ncand[d0 + i] : 0;
        for (uint q = 0; q < n_scan; q++) {
            uint j = fly ? q : cand[row + q];
            uchar f = gflag[g0 + j];
            int crowd = f & DG_FLAG_CROWD, ignored = f & DG_FLAG_IGNORED;
            int tk = small ? (int)((mask >> j) & 1) : taken[j];
            if (tk && !crowd)
                continue;
            if (m >= 0 && m_regular && ignored)
                break;
            double v;
            if (fly) {
                double4 b = gbox[g0 + j];
                v = dg_iou(d.x, d.y, d.z, d.w, b.x, b.y, b.z, b.w, crowd);
            } else {
                v = iou[row + q];
            }
            if (v < best)
                continue;
            best = v;
            m = (int)j;
            m_regular = !ignored;
        }
        ulong o = (ulong)t * n_out + (didx[d0 + i] - out_base);
        if (m < 0) {
            status[o] = DG_FP;
            matched[o] = -1;
        } else {
            if (small)
                mask |= (ulong)1 << m;
            else
                taken[m] = 1;
            status[o] = m_regular ? DG_TP : DG_IGN;
            matched[o] = gidx[g0 + m];
        }
    }
}
