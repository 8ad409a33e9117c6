/*
 * The report payload (detgrid/report.h) through the public API only: the
 * bit planes give dg_results_counts and dg_results_frame_counts at any
 * (confidence, threshold), and the agnostic codes, decoded as the page
 * decodes them, give dg_confusion_matrix; on random projects, in memory and
 * reopened from a file (lazy rows).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "detgrid/detgrid.h"

static int bit(const uint8_t *plane, uint64_t j)
{
    return (plane[j >> 3] >> (j & 7)) & 1;
}

static uint32_t code_at(const dg_report_set *s, const uint8_t *row,
                        uint64_t j)
{
    if (s->code_size == 1)
        return row[j];
    if (s->code_size == 2) {
        uint16_t v;
        memcpy(&v, row + 2 * j, 2);
        return v;
    }
    uint32_t v;
    memcpy(&v, row + 4 * j, 4);
    return v;
}

static void check_set(dg_ctx *ctx, dg_project *p, const char *name)
{
    dg_report_labels l;
    dg_report_set s;
    CHECK_EQ_INT(dg_report_export_labels(ctx, p, &l), DG_OK);
    CHECK_EQ_INT(dg_report_export_set(ctx, p, name, &s), DG_OK);
    dg_project_info info;
    dg_project_get_info(p, &info);
    CHECK_EQ_INT(l.n_frames, info.n_frames);
    CHECK_EQ_INT(l.frame_off[l.n_frames], l.n);
    CHECK_EQ_INT(s.n_classes, info.n_classes);
    CHECK_EQ_INT(s.class_off[s.n_classes], s.n_det);
    CHECK_EQ_INT(s.plane_bytes, (s.n_det + 7) / 8);
    CHECK(s.has_agnostic);
    CHECK_EQ_INT(s.agn_n_changes[0], 0);
    uint32_t K = s.n_classes, F = l.n_frames;
    size_t w = (size_t)K + 1;
    dg_counts *got = calloc(K, sizeof(*got));
    dg_frame_counts *fc = calloc(F, sizeof(*fc));
    uint64_t *cm = calloc(w * w, 8), *cw = calloc(w * w, 8);
    uint32_t *fdet = calloc(F, 4), *ftp = calloc(F, 4);
    uint8_t *row = malloc(s.n_det * s.code_size + 1);
    memcpy(row, s.agn_row0, s.n_det * s.code_size);
    uint64_t chg = 0;
    for (int t = 0; t < s.n_iou; t++) {
        const uint8_t *tp = s.status + (size_t)(2 * t) * s.plane_bytes;
        const uint8_t *ig = tp + s.plane_bytes;
        /* Row t of the codes: row t - 1 with its changes applied. */
        for (uint64_t q = 0; t && q < s.agn_n_changes[t]; q++, chg++)
            memcpy(row + (size_t)s.agn_chg_pos[chg] * s.code_size,
                   s.agn_chg_val + chg * s.code_size, s.code_size);
        double confs[3] = {0, 0.35, 0.8};
        for (int ci = 0; ci < 3; ci++) {
            double conf = confs[ci];
            CHECK_EQ_INT(dg_results_counts(ctx, s.results, conf, t, got),
                         DG_OK);
            CHECK_EQ_INT(dg_results_frame_counts(ctx, s.results, p, conf, t,
                                                 -1, fc),
                         DG_OK);
            uint64_t ign = 0;
            CHECK_EQ_INT(dg_confusion_matrix(ctx, s.results, conf, t, cm,
                                             &ign),
                         DG_OK);
            memset(cw, 0, w * w * 8);
            memset(fdet, 0, F * 4);
            memset(ftp, 0, F * 4);
            uint64_t wign = 0;
            for (uint32_t c = 0; c < K; c++) {
                uint64_t ntp = 0, nig = 0, k = 0;
                for (uint64_t j = s.class_off[c]; j < s.class_off[c + 1] &&
                                                  s.score[j] >= conf;
                     j++, k++) {
                    ntp += bit(tp, j);
                    nig += bit(ig, j);
                    CHECK(!(bit(tp, j) && bit(ig, j)));
                    if (!bit(ig, j)) {
                        fdet[s.det_frame[j]]++;
                        ftp[s.det_frame[j]] += bit(tp, j);
                    }
                    uint32_t code = code_at(&s, row, j);
                    if (code == 0) {
                        cw[(size_t)K * w + c]++;
                    } else if (code == 1) {
                        wign++;
                    } else {
                        uint32_t f = s.det_frame[j];
                        uint64_t lab = l.frame_off[f] + code - 2;
                        CHECK(lab < l.frame_off[f + 1]);
                        cw[(size_t)l.cls[lab] * w + c]++;
                    }
                }
                CHECK_EQ_INT(got[c].tp, ntp);
                CHECK_EQ_INT(got[c].fp, k - ntp - nig);
                CHECK_EQ_INT(got[c].n_gt, s.gt_count[c]);
            }
            CHECK_EQ_INT(ign, wign);
            for (uint32_t g = 0; g < K; g++)
                for (uint32_t c = 0; c < K; c++)
                    CHECK_EQ_INT(cm[(size_t)g * w + c], cw[(size_t)g * w + c]);
            for (uint32_t c = 0; c < K; c++)
                CHECK_EQ_INT(cm[(size_t)K * w + c], cw[(size_t)K * w + c]);
            for (uint32_t f = 0; f < F; f++) {
                CHECK_EQ_INT(fc[f].n_det, fdet[f]);
                CHECK_EQ_INT(fc[f].tp, ftp[f]);
            }
        }
    }
    CHECK_EQ_INT(chg, s.n_changes);
    /* Labels: counted flags agree with the stored ground-truth counts. */
    uint64_t *gtc = calloc(K, 8);
    for (uint64_t i = 0; i < l.n; i++)
        if (!l.flags[i])
            gtc[l.cls[i]]++;
    for (uint32_t c = 0; c < K; c++)
        CHECK_EQ_INT(gtc[c], s.gt_count[c]);
    free(gtc);
    free(got);
    free(fc);
    free(cm);
    free(cw);
    free(fdet);
    free(ftp);
    free(row);
    dg_report_set_release(&s);
    dg_report_labels_release(&l);
    CHECK(s.results == NULL && l.flags == NULL);
}

int main(void)
{
    dg_ctx *ctx;
    if (dg_ctx_new(&ctx) < 0)
        return 1;
    dg_ctx_set_device(ctx, "ref");
    char path[256];
    snprintf(path, sizeof(path), "/tmp/dg-test-report-%d.h5", (int)getpid());
    for (uint64_t seed = 1; seed <= 6; seed++) {
        dg_synth_opts o;
        dg_synth_opts_init(&o);
        o.seed = seed;
        o.n_frames = 20 + (uint32_t)seed * 7;
        o.n_classes = 2 + (uint32_t)(seed % 5);
        o.n_inferences = 2;
        o.crowd_rate = 0.3;
        o.score_levels = seed % 2 ? 10 : 0;
        dg_project *p = NULL;
        CHECK_EQ_INT(dg_synth_project(ctx, &o, &p), DG_OK);
        dg_report_set s;
        CHECK_EQ_INT(dg_report_export_set(ctx, p, "model-a", &s), DG_ESTALE);
        CHECK(s.results == NULL);
        dg_report_set_release(&s);
        CHECK_EQ_INT(dg_report_export_set(ctx, p, "nope", &s), DG_ENOTFOUND);
        double iou[3] = {0.3, 0.5, 0.75};
        CHECK_EQ_INT(dg_eval(ctx, p, "model-a", iou, 3), DG_OK);
        CHECK_EQ_INT(dg_eval(ctx, p, "model-b", iou, 2), DG_OK);
        check_set(ctx, p, "model-a");
        check_set(ctx, p, "model-b");
        CHECK_EQ_INT(dg_project_save(ctx, p, path), DG_OK);
        dg_project_free(p);
        CHECK_EQ_INT(dg_project_open(ctx, path, &p), DG_OK);
        check_set(ctx, p, "model-b");
        check_set(ctx, p, "model-a");
        dg_project_free(p);
    }
    unlink(path);
    dg_ctx_free(ctx);
    return check_done("test-report");
}
