/*
 * The IoU tiles of shapes, plain C: the twins of mask_iou_tiles and
 * oks_tiles in kernels/shapes.cl (contracts in stages.h). Mask IoU is
 * pycocotools' rleIou, pair by pair; OKS its computeOks, with numpy's
 * pairwise summation and an exp of our own (dg__oks_exp) that a kernel
 * can repeat operation for operation.
 */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

/* ---- mask IoU ------------------------------------------------------------ */

/* Whether pycocotools' bbIou of two run boxes is above 0. */
static int boxes_overlap(const uint32_t *d, const uint32_t *g)
{
    double dx = d[0], dy = d[1], dw = d[2], dh = d[3];
    double gx = g[0], gy = g[1], gw = g[2], gh = g[3];
    double w = fmin(dw + dx, gw + gx) - fmax(dx, gx);
    double h = fmin(dh + dy, gh + gy) - fmax(dy, gy);
    return w > 0 && h > 0;
}

double dg__mask_iou_pair_ref(const dg_mask_iou_input *in, uint32_t d,
                             uint32_t g)
{
    const dg_mask_objs *D = &in->dt, *G = &in->gt;
    if (!boxes_overlap(D->bb + 4 * (size_t)d, G->bb + 4 * (size_t)g))
        return 0.0;
    if (D->h[d] != G->h[g] || D->w[d] != G->w[g])
        return -1.0;
    const uint32_t *a = D->cnts + D->off[d], *b = G->cnts + G->off[g];
    uint64_t ma = D->off[d + 1] - D->off[d], mb = G->off[g + 1] - G->off[g];
    /* Both run lists walked in step: each step covers the pixels up to
     * the nearer run end, with both values known. */
    uint64_t ca = ma ? a[0] : 0, cb = mb ? b[0] : 0, ka = 1, kb = 1;
    uint64_t inter = 0, uni = 0, ct = 1;
    int va = 0, vb = 0;
    while (ct > 0) {
        uint64_t c = ca < cb ? ca : cb;
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
    if (inter == 0)
        uni = 1;
    else if (in->crowd && in->crowd[g])
        uni = dg__rle_area(a, ma);
    return (double)inter / (double)uni;
}

dg_status dg__mask_iou_ref(dg_ctx *ctx, const dg_mask_iou_input *in,
                           double *out)
{
    const dg_tile_pairs *p = &in->pairs;
    (void)ctx;
    for (uint32_t q = 0; q < p->n_groups; q++) {
        uint64_t nd = p->doff[q + 1] - p->doff[q];
        uint64_t ng = p->goff[q + 1] - p->goff[q];
        double *o = out + p->tile_off[q];
        for (uint64_t i = 0; i < nd; i++)
            for (uint64_t j = 0; j < ng; j++)
                o[i * ng + j] = dg__mask_iou_pair_ref(
                    in, p->dl[p->doff[q] + i], p->gl[p->goff[q] + j]);
    }
    return DG_OK;
}

/* ---- exp ---------------------------------------------------------------------- */

/* 2^(j/64) as hi + lo (tools/dev/gen_exp_table.py). */
static const double exp_tab[64][2] = {
    {0x1.0000000000000p+0, 0x0.0p+0},
    {0x1.02c9a3e778061p+0, -0x1.19083535b085dp-56},
    {0x1.059b0d3158574p+0, 0x1.d73e2a475b465p-55},
    {0x1.0874518759bc8p+0, 0x1.186be4bb284ffp-57},
    {0x1.0b5586cf9890fp+0, 0x1.8a62e4adc610bp-54},
    {0x1.0e3ec32d3d1a2p+0, 0x1.03a1727c57b53p-59},
    {0x1.11301d0125b51p+0, -0x1.6c51039449b3ap-54},
    {0x1.1429aaea92de0p+0, -0x1.32fbf9af1369ep-54},
    {0x1.172b83c7d517bp+0, -0x1.19041b9d78a76p-55},
    {0x1.1a35beb6fcb75p+0, 0x1.e5b4c7b4968e4p-55},
    {0x1.1d4873168b9aap+0, 0x1.e016e00a2643cp-54},
    {0x1.2063b88628cd6p+0, 0x1.dc775814a8495p-55},
    {0x1.2387a6e756238p+0, 0x1.9b07eb6c70573p-54},
    {0x1.26b4565e27cddp+0, 0x1.2bd339940e9d9p-55},
    {0x1.29e9df51fdee1p+0, 0x1.612e8afad1255p-55},
    {0x1.2d285a6e4030bp+0, 0x1.0024754db41d5p-54},
    {0x1.306fe0a31b715p+0, 0x1.6f46ad23182e4p-55},
    {0x1.33c08b26416ffp+0, 0x1.32721843659a6p-54},
    {0x1.371a7373aa9cbp+0, -0x1.63aeabf42eae2p-54},
    {0x1.3a7db34e59ff7p+0, -0x1.5e436d661f5e3p-56},
    {0x1.3dea64c123422p+0, 0x1.ada0911f09ebcp-55},
    {0x1.4160a21f72e2ap+0, -0x1.ef3691c309278p-58},
    {0x1.44e086061892dp+0, 0x1.89b7a04ef80d0p-59},
    {0x1.486a2b5c13cd0p+0, 0x1.3c1a3b69062f0p-56},
    {0x1.4bfdad5362a27p+0, 0x1.d4397afec42e2p-56},
    {0x1.4f9b2769d2ca7p+0, -0x1.4b309d25957e3p-54},
    {0x1.5342b569d4f82p+0, -0x1.07abe1db13cadp-55},
    {0x1.56f4736b527dap+0, 0x1.9bb2c011d93adp-54},
    {0x1.5ab07dd485429p+0, 0x1.6324c054647adp-54},
    {0x1.5e76f15ad2148p+0, 0x1.ba6f93080e65ep-54},
    {0x1.6247eb03a5585p+0, -0x1.383c17e40b497p-54},
    {0x1.6623882552225p+0, -0x1.bb60987591c34p-54},
    {0x1.6a09e667f3bcdp+0, -0x1.bdd3413b26456p-54},
    {0x1.6dfb23c651a2fp+0, -0x1.bbe3a683c88abp-57},
    {0x1.71f75e8ec5f74p+0, -0x1.16e4786887a99p-55},
    {0x1.75feb564267c9p+0, -0x1.0245957316dd3p-54},
    {0x1.7a11473eb0187p+0, -0x1.41577ee04992fp-55},
    {0x1.7e2f336cf4e62p+0, 0x1.05d02ba15797ep-56},
    {0x1.82589994cce13p+0, -0x1.d4c1dd41532d8p-54},
    {0x1.868d99b4492edp+0, -0x1.fc6f89bd4f6bap-54},
    {0x1.8ace5422aa0dbp+0, 0x1.6e9f156864b27p-54},
    {0x1.8f1ae99157736p+0, 0x1.5cc13a2e3976cp-55},
    {0x1.93737b0cdc5e5p+0, -0x1.75fc781b57ebcp-57},
    {0x1.97d829fde4e50p+0, -0x1.d185b7c1b85d1p-54},
    {0x1.9c49182a3f090p+0, 0x1.c7c46b071f2bep-56},
    {0x1.a0c667b5de565p+0, -0x1.359495d1cd533p-54},
    {0x1.a5503b23e255dp+0, -0x1.d2f6edb8d41e1p-54},
    {0x1.a9e6b5579fdbfp+0, 0x1.0fac90ef7fd31p-54},
    {0x1.ae89f995ad3adp+0, 0x1.7a1cd345dcc81p-54},
    {0x1.b33a2b84f15fbp+0, -0x1.2805e3084d708p-57},
    {0x1.b7f76f2fb5e47p+0, -0x1.5584f7e54ac3bp-56},
    {0x1.bcc1e904bc1d2p+0, 0x1.23dd07a2d9e84p-55},
    {0x1.c199bdd85529cp+0, 0x1.11065895048ddp-55},
    {0x1.c67f12e57d14bp+0, 0x1.2884dff483cadp-54},
    {0x1.cb720dcef9069p+0, 0x1.503cbd1e949dbp-56},
    {0x1.d072d4a07897cp+0, -0x1.cbc3743797a9cp-54},
    {0x1.d5818dcfba487p+0, 0x1.2ed02d75b3707p-55},
    {0x1.da9e603db3285p+0, 0x1.c2300696db532p-54},
    {0x1.dfc97337b9b5fp+0, -0x1.1a5cd4f184b5cp-54},
    {0x1.e502ee78b3ff6p+0, 0x1.39e8980a9cc8fp-55},
    {0x1.ea4afa2a490dap+0, -0x1.e9c23179c2893p-54},
    {0x1.efa1bee615a27p+0, 0x1.dc7f486a4b6b0p-54},
    {0x1.f50765b6e4540p+0, 0x1.9d3e12dd8a18bp-54},
    {0x1.fa7c1819e90d8p+0, 0x1.74853f3a5931ep-55},
};

/* a * b = *hi + *lo exactly (Dekker's product, Veltkamp's split). */
static void two_prod(double a, double b, double *hi, double *lo)
{
    const double split = 134217729.0; /* 2^27 + 1 */
    double p = a * b;
    double ca = split * a, cb = split * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    *hi = p;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/* 2^k as a double, -1074 <= k <= 1023, from its bits. */
static double pow2(int k)
{
    union {
        uint64_t u;
        double d;
    } v;
    if (k >= -1022)
        v.u = (uint64_t)(k + 1023) << 52;
    else
        v.u = UINT64_C(1) << (k + 1074);
    return v.d;
}

double dg__oks_exp(double x)
{
    if (x != x)
        return x + x;
    if (x > 709.7827128933841)
        return INFINITY;
    if (x < -745.2)
        return 0.0;
    /* x = n ln2/64 + r, |r| <= ln2/128, with r = rh + rl exactly: n ln2hi
     * is exact (36-bit ln2hi) and so is x - n ln2hi (Sterbenz). */
    double nd = floor(x * 0x1.71547652b82fep+6 + 0.5);
    int n = (int)nd;
    double a = x - nd * 0x1.62e42fefa0000p-7;
    double b = nd * 0x1.cf79abc9e3b3ap-46;
    double rh = a - b;
    double rl = (a - rh) - b;
    /* exp(r) - 1 = r + q, q = r^2/2 + ... + r^6/720 (+ rl). */
    double q = rh * rh *
               (0.5 + rh * (1.0 / 6 + rh * (1.0 / 24 +
                                            rh * (1.0 / 120 + rh / 720))));
    int j = n & 63, k = (n - j) / 64;
    double th = exp_tab[j][0], tl = exp_tab[j][1];
    /* t (1 + r + q) = th + th rh + (th (rl + q) + tl (1 + rh + q)), the
     * first two exactly, then one rounding. */
    double ph, pl;
    two_prod(th, rh, &ph, &pl);
    double sh = th + ph;
    double sl = (th - sh) + ph;
    double rest = pl + th * (rl + q) + tl * (1.0 + (rh + q));
    double y = sh + (sl + rest);
    if (k >= -1021)
        return y * pow2(k);
    /* Subnormal results: scale in two steps, rounding only in the last. */
    return (y * pow2(k + 60)) * pow2(-60);
}

/* ---- OKS ----------------------------------------------------------------------- */

/* np.spacing(1). */
#define EPS 2.220446049250313080847263336181640625e-16

/* numpy's pairwise summation of up to 128 values (loops_utils.h). */
static double pairwise128(const double *a, uint32_t n)
{
    if (n < 8) {
        double r = 0.;
        for (uint32_t i = 0; i < n; i++)
            r += a[i];
        return r;
    }
    double r[8];
    uint32_t i;
    for (int j = 0; j < 8; j++)
        r[j] = a[j];
    for (i = 8; i < n - (n % 8); i += 8)
        for (int j = 0; j < 8; j++)
            r[j] += a[i + (uint32_t)j];
    double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++)
        s += a[i];
    return s;
}

double dg__oks_pair_ref(const dg_oks_input *in, uint32_t d, uint32_t g)
{
    const double *dk = in->dkp + in->dkp_off[d];
    const double *gk = in->gkp + in->gkp_off[g];
    const double *sig = in->sig + in->gsig[g];
    const double *bb = in->gbox + 4 * (size_t)g;
    /* The detection's keypoints (one per sigma); the label has as many or
     * none, and then only its box counts. */
    uint32_t k = (uint32_t)((in->dkp_off[d + 1] - in->dkp_off[d]) / 3);
    uint32_t kg = (uint32_t)((in->gkp_off[g + 1] - in->gkp_off[g]) / 3);
    double area = in->garea[g];
    double e[DG_OKS_MAX_KP];
    uint32_t k1 = 0, n = 0;
    if (k > DG_OKS_MAX_KP || (kg && kg != k))
        return NAN; /* refused earlier; never a number */
    for (uint32_t i = 0; i < kg; i++)
        k1 += gk[3 * i + 2] > 0;
    double x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
    double y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
    for (uint32_t i = 0; i < k; i++) {
        double dx, dy;
        if (k1 > 0) {
            if (!(gk[3 * i + 2] > 0))
                continue;
            dx = dk[3 * i] - gk[3 * i];
            dy = dk[3 * i + 1] - gk[3 * i + 1];
        } else {
            double xd = dk[3 * i], yd = dk[3 * i + 1];
            dx = fmax(0.0, x0 - xd) + fmax(0.0, xd - x1);
            dy = fmax(0.0, y0 - yd) + fmax(0.0, yd - y1);
        }
        double var = (sig[i] * 2) * (sig[i] * 2);
        double v = (dx * dx + dy * dy) / var / (area + EPS) / 2;
        e[n++] = dg__oks_exp(-v);
    }
    if (n == 0)
        return NAN; /* no keypoints: numpy divides 0 by 0 */
    double s;
    if (n <= 128) {
        s = pairwise128(e, n);
    } else {
        /* One split, as numpy's at a multiple of 8; both halves <= 128
         * for n <= DG_OKS_MAX_KP. */
        uint32_t n2 = n / 2;
        n2 -= n2 % 8;
        s = pairwise128(e, n2) + pairwise128(e + n2, n - n2);
    }
    return s / (double)n;
}

dg_status dg__oks_ref(dg_ctx *ctx, const dg_oks_input *in, double *out)
{
    const dg_tile_pairs *p = &in->pairs;
    (void)ctx;
    for (uint32_t q = 0; q < p->n_groups; q++) {
        uint64_t nd = p->doff[q + 1] - p->doff[q];
        uint64_t ng = p->goff[q + 1] - p->goff[q];
        double *o = out + p->tile_off[q];
        for (uint64_t i = 0; i < nd; i++)
            for (uint64_t j = 0; j < ng; j++)
                o[i * ng + j] = dg__oks_pair_ref(in, p->dl[p->doff[q] + i],
                                                 p->gl[p->goff[q] + j]);
    }
    return DG_OK;
}
