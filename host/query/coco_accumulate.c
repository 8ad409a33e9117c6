/*
 * COCO step 4 (see coco.c): accumulation. For each (category, area range,
 * maxDets, threshold) the curve needs only its true positives (struct
 * curve), so a forward pass over the category's list per area range
 * counts and a backward one fills the 101 entries of all 30 (maxDets,
 * threshold) curves. Also numpy's arithmetic, bit for bit, and the literal
 * curve of pycocotools that tests compare against.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "coco_impl.h"

/* ---- numpy, bit for bit --------------------------------------------- */

double dg__np_linspace(double start, double stop, int num, int i)
{
    if (num > 1 && i == num - 1)
        return stop;
    double step = (stop - start) / (double)(num - 1);
    return (double)i * step + start;
}

/*
 * numpy's pairwise_sum for float64 (numpy/_core/src/umath/loops_utils.h):
 * below 8 elements a plain loop; up to 128, eight strided accumulators
 * combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) and then the tail;
 * beyond, halves split at a multiple of 8. The order of every addition
 * matters, so it is kept exactly.
 */
static double pairwise(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + (size_t)j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) +
                     ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise(a, n2) + pairwise(a + n2, n - n2);
}

double dg__np_sum(const double *a, size_t n)
{
    /* np.add.reduce starts from the identity and adds the block. */
    double out = 0.0;
    out += pairwise(a, n);
    return out;
}

double dg__np_mean(const double *a, size_t n)
{
    return dg__np_sum(a, n) / (double)n;
}

size_t dg__np_searchsorted_left(const double *a, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* np.spacing(1): the distance from 1.0 to the next double. */
#define NP_SPACING_1 2.220446049250313080847263336181640625e-16

/* ---- one PR curve ------------------------------------------------------ */

int dg__coco_curve_ref(const uint8_t *tp, const uint8_t *fp,
                       const double *score, size_t nd, uint64_t npig,
                       const double *rec, double *q, double *ss,
                       double *recall)
{
    double *tps = malloc((nd ? nd : 1) * sizeof(double));
    double *fps = malloc((nd ? nd : 1) * sizeof(double));
    double *rc = malloc((nd ? nd : 1) * sizeof(double));
    double *pr = malloc((nd ? nd : 1) * sizeof(double));
    if (!tps || !fps || !rc || !pr) {
        free(tps);
        free(fps);
        free(rc);
        free(pr);
        return -1;
    }
    /* tp_sum = np.cumsum(tps).astype(float), likewise fp_sum. */
    uint64_t ct = 0, cf = 0;
    for (size_t i = 0; i < nd; i++) {
        ct += tp[i] != 0;
        cf += fp[i] != 0;
        tps[i] = (double)ct;
        fps[i] = (double)cf;
    }
    for (size_t i = 0; i < nd; i++) {
        rc[i] = tps[i] / (double)npig;
        pr[i] = tps[i] / (fps[i] + tps[i] + NP_SPACING_1);
    }
    *recall = nd ? rc[nd - 1] : 0.0;
    for (int r = 0; r < NR; r++)
        q[r] = ss[r] = 0.0;
    for (size_t i = nd - 1; nd && i > 0; i--)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    /* q[ri] = pr[inds[ri]] until an index runs past the end. */
    for (int r = 0; r < NR; r++) {
        size_t pi = dg__np_searchsorted_left(rc, nd, rec[r]);
        if (pi >= nd)
            break;
        q[r] = pr[pi];
        ss[r] = score[pi];
    }
    free(tps);
    free(fps);
    free(rc);
    free(pr);
    return 0;
}

/*
 * The fast curve. Between two true positives the count of true positives
 * stays and false positives can only grow, so precision (tp / (fp + tp +
 * eps), rounding being monotonic) can only fall; before the first one it
 * is 0. So the envelope at position i, the maximum of precision over
 * positions >= i, is max(pr[i], pr at every true positive after i). For a
 * recall threshold r > 0, searchsorted gives the first position whose
 * recall reaches r: recall steps only at a true positive, so that is the
 * c-th true positive, c the least count with c / npig >= r (the same
 * division numpy does). For r <= 0 it is position 0, where the envelope
 * is the maximum over all true positives.
 *
 * So a curve is built walking the list backwards, knowing the totals from
 * a forward pass: at the c-th true positive (counting from the front) the
 * false positives before it are the total less those passed, its precision
 * joins the running maximum, and the thresholds r in ((c-1)/npig, c/npig]
 * take that maximum and its score. Nothing is stored per detection.
 */
typedef struct curve {
    uint64_t tp_left; /* true positives at or before the position */
    double run;       /* the envelope over the true positives passed */
    int ri;           /* the highest recall threshold not yet filled */
} curve;

static void curve_begin(curve *c, uint64_t n_tp, uint64_t npig,
                        const double *rec, double *q, double *ss)
{
    for (int r = 0; r < NR; r++)
        q[r] = ss[r] = 0.0;
    c->tp_left = n_tp;
    c->run = 0.0;
    /* Thresholds beyond the final recall stay 0 (the try/except). */
    double top = (double)n_tp / (double)npig;
    int ri = NR - 1;
    while (ri >= 0 && top < rec[ri])
        ri--;
    c->ri = ri;
}

/* The next true positive from the end, with fp false positives before
 * it. */
static inline void curve_tp(curve *c, uint64_t fp, double score, double npig,
                            const double *rec, double *q, double *ss)
{
    double tp = (double)c->tp_left;
    double pr = tp / ((double)fp + tp + NP_SPACING_1);
    if (pr > c->run)
        c->run = pr;
    double below = (double)(c->tp_left - 1) / npig;
    while (c->ri >= 0 && rec[c->ri] > 0.0 && rec[c->ri] > below) {
        q[c->ri] = c->run;
        ss[c->ri] = score;
        c->ri--;
    }
    c->tp_left--;
}

/* Thresholds <= 0 point at position 0: the whole envelope, the first
 * detection's score; nothing at all without detections. */
static void curve_end(const curve *c, size_t nd, double first_score,
                      const double *rec, double *q, double *ss)
{
    if (!nd)
        return;
    for (int r = c->ri; r >= 0; r--)
        if (!(rec[r] > 0.0)) {
            q[r] = c->run;
            ss[r] = first_score;
        }
}

void dg__coco_curve_fast(const uint8_t *tp, const uint8_t *fp,
                         const double *score, size_t nd, uint64_t npig,
                         const double *rec, double *q, double *ss,
                         double *recall)
{
    uint64_t n_tp = 0, n_fp = 0;
    for (size_t i = 0; i < nd; i++) {
        n_tp += tp[i] != 0;
        n_fp += fp[i] != 0;
    }
    curve c;
    curve_begin(&c, n_tp, npig, rec, q, ss);
    for (size_t i = nd; i-- > 0;) {
        if (fp[i])
            n_fp--; /* now the false positives before i */
        else if (tp[i])
            curve_tp(&c, n_fp, score[i], (double)npig, rec, q, ss);
    }
    curve_end(&c, nd, nd ? score[0] : 0.0, rec, q, ss);
    *recall = nd ? (double)n_tp / (double)npig : 0.0;
}

static unsigned lowest_bit(uint32_t m)
{
#if defined(__GNUC__)
    return (unsigned)__builtin_ctz(m);
#else
    unsigned i = 0;
    while (!(m & 1u)) {
        m >>= 1;
        i++;
    }
    return i;
#endif
}

/* ---- step 4: accumulation ----------------------------------------------- */

typedef struct acc_job {
    coco_state *s;
    atomic_uint next;
} acc_job;

/*
 * Counting the set bits of many 10-bit masks, per bit: spread[x] puts bit t
 * of x at bit 6t, so one addition counts all ten at once in 6-bit lanes,
 * emptied into the counters before 63 additions can overflow them.
 */
static uint64_t spread[1 << NT];
static pthread_once_t spread_once = PTHREAD_ONCE_INIT;

static void spread_init(void)
{
    for (unsigned x = 0; x < (1u << NT); x++) {
        uint64_t v = 0;
        for (int t = 0; t < NT; t++)
            v |= (uint64_t)((x >> t) & 1) << (6 * t);
        spread[x] = v;
    }
}

static inline void lanes_flush(uint64_t *lanes, uint64_t *cnt)
{
    for (int t = 0; t < NT; t++)
        cnt[t] += (*lanes >> (6 * t)) & 63;
    *lanes = 0;
}

/*
 * One category at a time. Per area range, a forward pass over its list
 * counts, for the three maxDets at once (a detection of rank r is in the
 * list of every maxDets above r), detections and true and false positives
 * at each threshold; a backward pass builds the 30 curves.
 */
static void acc_worker(void *arg, int tid)
{
    acc_job *j = arg;
    coco_state *s = j->s;
    dg_coco_result *r = s->out;
    /* One category's entries, [T][R][A][M] as they lie in the arrays, so
     * that they go out as T x R blocks of A x M. */
    const int na = s->na, nm = s->nm;
    const size_t blk = (size_t)na * nm, per = (size_t)NT * NR * blk;
    double *qs = malloc((size_t)2 * NM * NT * NR * sizeof(*qs));
    double *pk = malloc(2 * per * sizeof(*pk)), *sk = pk ? pk + per : NULL;
    (void)tid;
    if (!qs || !pk) {
        dg__coco_worker_fail(s, DG_ENOMEM, "out of memory accumulating");
        free(qs);
        free(pk);
        return;
    }
    for (;;) {
        if (atomic_load(&s->failed))
            break;
        unsigned k = atomic_fetch_add(&j->next, 1);
        if (k >= s->K)
            break;
        size_t lo = (size_t)s->class_off[k], hi = (size_t)s->class_off[k + 1];
        for (size_t i = 0; i < 2 * per; i++)
            pk[i] = -1.0;
        for (int a = 0; a < na; a++) {
            uint64_t npig = s->npig[(size_t)k * NA + a];
            if (!npig)
                continue; /* no ground truth: the entries stay -1 */
            uint64_t n_tp[NM][NT], n_fp[NM][NT], ltp[NM] = {0}, lfp[NM] = {0};
            size_t nd[NM] = {0};
            double first[NM] = {0};
            memset(n_tp, 0, sizeof(n_tp));
            memset(n_fp, 0, sizeof(n_fp));
            for (size_t i = lo; i < hi; i++) {
                int m0 = 0;
                while (m0 < nm && s->acc_rank[i] >= s->max_dets[m0])
                    m0++;
                uint32_t msk = MASK(s, i, a);
                uint64_t st = spread[msk & ((1u << NT) - 1)];
                uint64_t sf = spread[(msk >> 16) & ((1u << NT) - 1)];
                for (int m = m0; m < nm; m++) {
                    if (!nd[m])
                        first[m] = s->acc_score[i];
                    ltp[m] += st;
                    lfp[m] += sf;
                    if (++nd[m] % 63 == 0) {
                        lanes_flush(&ltp[m], n_tp[m]);
                        lanes_flush(&lfp[m], n_fp[m]);
                    }
                }
            }
            for (int m = 0; m < nm; m++) {
                lanes_flush(&ltp[m], n_tp[m]);
                lanes_flush(&lfp[m], n_fp[m]);
            }
            curve cv[NM][NT];
            double dn = (double)npig;
            for (int m = 0; m < nm; m++)
                for (int t = 0; t < NT; t++) {
                    double *q = qs + ((size_t)m * NT + (size_t)t) * 2 * NR;
                    curve_begin(&cv[m][t], n_tp[m][t], npig, s->rec, q,
                                q + NR);
                }
            /* Backwards, false positives passed so far: n_after plus the
             * lanes of lfp. */
            uint64_t n_after[NM][NT];
            unsigned since[NM] = {0};
            memset(n_after, 0, sizeof(n_after));
            for (size_t i = hi; i-- > lo;) {
                int m0 = 0;
                while (m0 < nm && s->acc_rank[i] >= s->max_dets[m0])
                    m0++;
                uint32_t msk = MASK(s, i, a);
                uint64_t sf = spread[(msk >> 16) & ((1u << NT) - 1)];
                double sc = s->acc_score[i];
                for (int m = m0; m < nm; m++) {
                    /* A detection is a TP or an FP at a threshold, not
                     * both, so its own FP bits may count already. */
                    lfp[m] += sf;
                    for (uint32_t b = msk & 0xffffu; b; b &= b - 1) {
                        unsigned t = lowest_bit(b);
                        uint64_t after =
                            n_after[m][t] + ((lfp[m] >> (6 * t)) & 63);
                        double *q = qs + ((size_t)m * NT + t) * 2 * NR;
                        curve_tp(&cv[m][t], n_fp[m][t] - after, sc, dn,
                                 s->rec, q, q + NR);
                    }
                    if (++since[m] == 63) {
                        since[m] = 0;
                        lanes_flush(&lfp[m], n_after[m]);
                    }
                }
            }
            for (int m = 0; m < nm; m++)
                for (int t = 0; t < NT; t++) {
                    double *q = qs + ((size_t)m * NT + (size_t)t) * 2 * NR;
                    curve_end(&cv[m][t], nd[m], first[m], s->rec, q, q + NR);
                    for (int ri = 0; ri < NR; ri++) {
                        size_t x = ((size_t)t * NR + (size_t)ri) * blk +
                                   (size_t)a * nm + (size_t)m;
                        pk[x] = q[ri];
                        sk[x] = q[NR + ri];
                    }
                    r->recall[dg_coco_recall_index(r, t, k, a, m)] =
                        nd[m] ? (double)n_tp[m][t] / dn : 0.0;
                }
        }
        for (int t = 0; t < NT; t++)
            for (int ri = 0; ri < NR; ri++) {
                size_t x = dg_coco_index(r, t, ri, k, 0, 0);
                size_t y = ((size_t)t * NR + (size_t)ri) * blk;
                memcpy(r->precision + x, pk + y, blk * sizeof(double));
                memcpy(r->scores + x, sk + y, blk * sizeof(double));
            }
    }
    free(qs);
    free(pk);
}

dg_status dg__coco_accumulate(coco_state *s)
{
    acc_job aj;
    aj.s = s;
    atomic_init(&aj.next, 0);
    pthread_once(&spread_once, spread_init);
    dg__coco_run_parallel(s->K > 1 ? s->n_threads : 1, acc_worker, &aj);
    if (s->st < 0)
        return dg__fail(s->ctx, s->st, "%s", s->err);
    return DG_OK;
}
