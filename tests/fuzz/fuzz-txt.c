/*
 * The folder-of-text-files importers (host/import/txt*.c): cartucho,
 * padilla and yolo, with every box layout and option. Byte 0 picks the
 * format (bits 0-1), box layout (bits 2-3; 3: the format's), flips the
 * format's relative coordinates (bit 4) and confidence position (bit 5),
 * and asks for a names file (bit 6) and a sizes file (bit 7); byte 1 sets
 * unlabeled_frames (bit 0), drop_unknown_classes (bit 1) and the VOC
 * protocol and "+1 pixel" IoU of the scoring (bits 2, 3). The rest is
 * split at "@@" into the ground-truth files a.txt and b.txt, the detection
 * files a.txt and c.txt, the names file and the sizes file. What imports
 * is imported again as a second inference set into the existing project,
 * evaluated, queried and scored with VOC AP.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t f0 = data[0], f1 = data[1];
    const uint8_t *part[6];
    size_t len[6];
    memset(len, 0, sizeof(len));
    int n = fz_split(data + 2, size - 2, "@@", part, len, 6);
    static const char *const names[6] = {"gt/a.txt", "gt/b.txt", "dt/a.txt",
                                         "dt/c.txt", "names.txt",
                                         "sizes.txt"};
    fz_clean();
    for (int i = 0; i < 6; i++)
        if (i < n && (i < 4 || len[i]))
            fz_write(names[i], part[i], len[i]);
    if (n < 3)
        fz_write("dt/.keep", "", 0);

    dg_txt_opts o;
    static const dg_txt_format fmts[4] = {DG_TXT_CARTUCHO, DG_TXT_PADILLA,
                                          DG_TXT_YOLO, DG_TXT_CARTUCHO};
    if (dg_txt_opts_init(&o, fmts[f0 & 3]) < 0)
        abort();
    if (((f0 >> 2) & 3) != 3)
        o.box = (dg_txt_box)((f0 >> 2) & 3);
    o.relative ^= (f0 >> 4) & 1;
    o.conf_leading ^= (f0 >> 5) & 1;
    if ((f0 & 0x40) || o.format == DG_TXT_YOLO) {
        if (n < 5 || !len[4])
            fz_write(names[4], "", 0);
        o.names_path = fz_path(names[4]);
    }
    if ((f0 & 0x80) && n >= 6 && len[5])
        o.sizes_path = fz_path(names[5]);
    o.unlabeled_frames = f1 & 1;
    o.drop_unknown_classes = (f1 >> 1) & 1;

    dg_ctx *ctx = fz_ctx();
    dg_project *p = NULL;
    if (dg_project_create(ctx, &p) < 0)
        abort();
    char gt[512], dt[512];
    strcpy(gt, fz_path("gt"));
    strcpy(dt, fz_path("dt"));
    const char *dts[1] = {dt}, *set[1] = {"m"}, *set2[1] = {"n"};
    dg_status st = dg_import_txt(ctx, p, gt, 1, dts, set, 0, &o);
    fz_check(ctx, st, "dg_import_txt");
    (void)dg_ctx_take_warnings(ctx);
    if (st >= 0) {
        dg_txt_opts o2 = o;
        if (o2.format != DG_TXT_YOLO)
            o2.names_path = NULL;
        o2.sizes_path = NULL;
        st = dg_import_txt(ctx, p, NULL, 1, dts, set2, 0, &o2);
        fz_check(ctx, st, "dg_import_txt (detections only)");
        double iou[] = {0.5};
        st = dg_eval(ctx, p, "m", iou, 1);
        fz_check(ctx, st, "dg_eval");
        if (st >= 0)
            fz_queries(ctx, p);
        dg_voc_opts vo;
        dg_voc_opts_init(&vo);
        vo.protocol = (f1 & 4) ? DG_VOC07 : DG_VOC12;
        vo.plus1 = (f1 >> 3) & 1;
        dg_voc_result vr;
        memset(&vr, 0, sizeof(vr));
        st = dg_voc_evaluate(ctx, p, "m", &vo, &vr);
        fz_check(ctx, st, "dg_voc_evaluate");
        if (st >= 0)
            dg_voc_result_release(&vr);
    }
    dg_project_free(p);
    dg_ctx_free(ctx);
    return 0;
}
