/*
 * mask_iou_tiles, oks_tiles: the IoU tiles of shapes (contracts in
 * host/core/stages.h: dg_mask_iou_input, dg_oks_input).
 *
 * One work-item computes one pair of one group: pair p (0 <= p < total,
 * pairs numbered group by group, each group's detection-major as its
 * tile) is found in its group by a binary search over tile_off, and its
 * value goes to out[p - base], base the first pair of the launch.
 *
 * mask_iou_tiles must agree bit for bit with dg__mask_iou_pair_ref
 * (host/ref/shape_ref.c), pycocotools' rleIou: the boxes' overlap test in
 * double, then both run lists walked in step with integer counts, one
 * division. oks_tiles with dg__oks_pair_ref: the same double operations
 * in the same order, dg_oks_exp operation for operation dg__oks_exp, the
 * sum in numpy's pairwise order. Contraction into FMA is off.
 */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

/* The group of pair p: the last q with tile_off[q] <= p, among groups
 * with pairs. */
uint pair_group(__global const ulong *tile_off, uint n_groups, ulong p)
{
    uint lo = 0, hi = n_groups;
    while (hi - lo > 1) {
        uint mid = lo + (hi - lo) / 2;
        if (tile_off[mid] <= p)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

__kernel void mask_iou_tiles(__global const ulong *doff,
                             __global const ulong *goff,
                             __global const ulong *tile_off,
                             __global const uint *dl, __global const uint *gl,
                             __global const ulong *d_off,
                             __global const uint *d_cnts,
                             __global const uint *d_hw,
                             __global const uint *d_bb,
                             __global const ulong *g_off,
                             __global const uint *g_cnts,
                             __global const uint *g_hw,
                             __global const uint *g_bb,
                             __global const uchar *crowd, uint n_groups,
                             ulong base, ulong n, __global double *out)
{
    ulong k = get_global_id(0);
    if (k >= n)
        return;
    ulong p = base + k;
    uint q = pair_group(tile_off, n_groups, p);
    ulong r = p - tile_off[q];
    ulong ng = goff[q + 1] - goff[q];
    uint d = dl[doff[q] + r / ng], g = gl[goff[q] + r % ng];

    /* bbIou > 0, as doubles. */
    double dx = d_bb[4 * d], dy = d_bb[4 * d + 1];
    double dw = d_bb[4 * d + 2], dh = d_bb[4 * d + 3];
    double gx = g_bb[4 * g], gy = g_bb[4 * g + 1];
    double gw = g_bb[4 * g + 2], gh = g_bb[4 * g + 3];
    double w = fmin(dw + dx, gw + gx) - fmax(dx, gx);
    double h = fmin(dh + dy, gh + gy) - fmax(dy, gy);
    if (!(w > 0 && h > 0)) {
        out[k] = 0.0;
        return;
    }
    if (d_hw[2 * d] != g_hw[2 * g] || d_hw[2 * d + 1] != g_hw[2 * g + 1]) {
        out[k] = -1.0;
        return;
    }
    __global const uint *a = d_cnts + d_off[d];
    __global const uint *b = g_cnts + g_off[g];
    ulong ma = d_off[d + 1] - d_off[d], mb = g_off[g + 1] - g_off[g];
    ulong ca = ma ? a[0] : 0, cb = mb ? b[0] : 0, ka = 1, kb = 1;
    ulong inter = 0, uni = 0, ct = 1;
    int va = 0, vb = 0;
    while (ct > 0) {
        ulong c = ca < cb ? ca : cb;
        if (va || vb) {
            uni += c;
            if (va && vb)
                inter += c;
        }
        ct = 0;
        ca -= c;
        if (!ca && ka < ma) {
            ca = a[ka++];
            va = !va;
        }
        ct += ca;
        cb -= c;
        if (!cb && kb < mb) {
            cb = b[kb++];
            vb = !vb;
        }
        ct += cb;
    }
    if (inter == 0) {
        uni = 1;
    } else if (crowd[g]) {
        uni = 0;
        for (ulong j = 1; j < ma; j += 2)
            uni += a[j];
    }
    out[k] = (double)inter / (double)uni;
}

/* ---- OKS --------------------------------------------------------------- */

/* 2^(j/64) as hi + lo (tools/dev/gen_exp_table.py), as in shape_ref.c. */
__constant double exp_tab[128] = {
    0x1.0000000000000p+0, 0x0.0p+0,
    0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56,
    0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55,
    0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57,
    0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54,
    0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59,
    0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54,
    0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54,
    0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55,
    0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55,
    0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54,
    0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55,
    0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54,
    0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55,
    0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55,
    0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54,
    0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55,
    0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54,
    0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54,
    0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56,
    0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55,
    0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58,
    0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59,
    0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56,
    0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56,
    0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54,
    0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55,
    0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54,
    0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54,
    0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54,
    0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54,
    0x1.6623882552225p+0, -0x1.bb60987591c34p-54,
    0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54,
    0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57,
    0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55,
    0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54,
    0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55,
    0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56,
    0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54,
    0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54,
    0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54,
    0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55,
    0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57,
    0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54,
    0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56,
    0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54,
    0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54,
    0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54,
    0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54,
    0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57,
    0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56,
    0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55,
    0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55,
    0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54,
    0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56,
    0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54,
    0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55,
    0x1.da9e603db3285p+0, 0x1.c2300696db532p-54,
    0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54,
    0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55,
    0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54,
    0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54,
    0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54,
    0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55,
};

/* 2^k from its bits, -1074 <= k <= 1023. */
double pow2i(int k)
{
    if (k >= -1022)
        return as_double((ulong)(k + 1023) << 52);
    return as_double((ulong)1 << (k + 1074));
}

/* dg__oks_exp, operation for operation. */
double dg_oks_exp(double x)
{
    if (x != x)
        return x + x;
    if (x > 709.7827128933841)
        return INFINITY;
    if (x < -745.2)
        return 0.0;
    double nd = floor(x * 0x1.71547652b82fep+6 + 0.5);
    int n = (int)nd;
    double a = x - nd * 0x1.62e42fefa0000p-7;
    double b = nd * 0x1.cf79abc9e3b3ap-46;
    double rh = a - b;
    double rl = (a - rh) - b;
    double q = rh * rh *
               (0.5 + rh * (1.0 / 6 + rh * (1.0 / 24 +
                                            rh * (1.0 / 120 + rh / 720))));
    int j = n & 63, k = (n - j) / 64;
    double th = exp_tab[2 * j], tl = exp_tab[2 * j + 1];
    /* Dekker's exact product th * rh. */
    const double split = 134217729.0;
    double ph = th * rh;
    double ca = split * th, cb = split * rh;
    double ah = ca - (ca - th), al = th - ah;
    double bh = cb - (cb - rh), bl = rh - bh;
    double pl = ((ah * bh - ph) + ah * bl + al * bh) + al * bl;
    double sh = th + ph;
    double sl = (th - sh) + ph;
    double rest = pl + th * (rl + q) + tl * (1.0 + (rh + q));
    double y = sh + (sl + rest);
    if (k >= -1021)
        return y * pow2i(k);
    return (y * pow2i(k + 60)) * pow2i(-60);
}

/* The terms of one pair, in the order numpy sums them: e_i over the
 * keypoints taken (visible ones when k1 > 0), term c of them. */
double oks_term(__global const double *dk, __global const double *gk,
                __global const double *sig, double x0, double x1, double y0,
                double y1, double area, uint k, uint k1, uint c)
{
    uint i = 0, seen = 0;
    for (;; i++) {
        if (k1 > 0 && !(gk[3 * i + 2] > 0))
            continue;
        if (seen++ == c)
            break;
    }
    double dx, dy;
    if (k1 > 0) {
        dx = dk[3 * i] - gk[3 * i];
        dy = dk[3 * i + 1] - gk[3 * i + 1];
    } else {
        double xd = dk[3 * i], yd = dk[3 * i + 1];
        dx = fmax(0.0, x0 - xd) + fmax(0.0, xd - x1);
        dy = fmax(0.0, y0 - yd) + fmax(0.0, yd - y1);
    }
    double var = (sig[i] * 2) * (sig[i] * 2);
    double v = (dx * dx + dy * dy) / var /
               (area + 2.220446049250313080847263336181640625e-16) / 2;
    (void)k;
    return dg_oks_exp(-v);
}

/* numpy's pairwise sum of terms c0 .. c0 + n - 1 (n <= 128). */
double oks_block(__global const double *dk, __global const double *gk,
                 __global const double *sig, double x0, double x1, double y0,
                 double y1, double area, uint k, uint k1, uint c0, uint n)
{
    if (n < 8) {
        double r = 0.;
        for (uint i = 0; i < n; i++)
            r += oks_term(dk, gk, sig, x0, x1, y0, y1, area, k, k1, c0 + i);
        return r;
    }
    double r[8];
    uint i;
    for (int j = 0; j < 8; j++)
        r[j] = oks_term(dk, gk, sig, x0, x1, y0, y1, area, k, k1, c0 + j);
    for (i = 8; i < n - (n % 8); i += 8)
        for (int j = 0; j < 8; j++)
            r[j] += oks_term(dk, gk, sig, x0, x1, y0, y1, area, k, k1,
                             c0 + i + j);
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
        s += oks_term(dk, gk, sig, x0, x1, y0, y1, area, k, k1, c0 + i);
    return s;
}

__kernel void oks_tiles(__global const ulong *doff, __global const ulong *goff,
                        __global const ulong *tile_off,
                        __global const uint *dl, __global const uint *gl,
                        __global const ulong *dkp_off,
                        __global const double *dkp,
                        __global const ulong *gkp_off,
                        __global const double *gkp,
                        __global const double *gbox,
                        __global const double *garea,
                        __global const ulong *gsig, __global const double *sig,
                        uint n_groups, ulong base, ulong n,
                        __global double *out)
{
    ulong kk = get_global_id(0);
    if (kk >= n)
        return;
    ulong p = base + kk;
    uint q = pair_group(tile_off, n_groups, p);
    ulong r = p - tile_off[q];
    ulong ng = goff[q + 1] - goff[q];
    uint d = dl[doff[q] + r / ng], g = gl[goff[q] + r % ng];
    __global const double *dk = dkp + dkp_off[d];
    __global const double *gk = gkp + gkp_off[g];
    __global const double *sg = sig + gsig[g];
    __global const double *bb = gbox + 4 * (ulong)g;
    uint k = (uint)((dkp_off[d + 1] - dkp_off[d]) / 3);
    uint kg = (uint)((gkp_off[g + 1] - gkp_off[g]) / 3);
    if (k > DG_OKS_MAX_KP || (kg && kg != k)) {
        out[kk] = NAN;
        return;
    }
    uint k1 = 0;
    for (uint i = 0; i < kg; i++)
        k1 += gk[3 * i + 2] > 0;
    double x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
    double y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
    uint m = k1 > 0 ? k1 : k;
    if (m == 0) {
        out[kk] = NAN;
        return;
    }
    double area = garea[g], s;
    if (m <= 128) {
        s = oks_block(dk, gk, sg, x0, x1, y0, y1, area, k, k1, 0, m);
    } else {
        uint m2 = m / 2;
        m2 -= m2 % 8;
        s = oks_block(dk, gk, sg, x0, x1, y0, y1, area, k, k1, 0, m2) +
            oks_block(dk, gk, sg, x0, x1, y0, y1, area, k, k1, m2, m - m2);
    }
    out[kk] = s / (double)m;
}
