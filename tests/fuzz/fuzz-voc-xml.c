/*
 * The Pascal VOC XML importer (host/import/voc_xml.c, expat). The input is
 * split at "@@" into the annotation files a.xml and b.xml and the
 * cartucho detection file a.txt; byte 0 bit 0 asks for a names file (the
 * fourth part). What imports is evaluated, queried and scored with VOC AP.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || !dg_import_have_xml())
        return 0;
    uint8_t f0 = data[0];
    const uint8_t *part[4];
    size_t len[4];
    memset(len, 0, sizeof(len));
    int n = fz_split(data + 1, size - 1, "@@", part, len, 4);
    static const char *const names[4] = {"gt/a.xml", "gt/b.xml", "dt/a.txt",
                                         "names.txt"};
    fz_clean();
    for (int i = 0; i < n; i++)
        fz_write(names[i], part[i], len[i]);
    if (n < 3)
        fz_write("dt/.keep", "", 0);

    dg_txt_opts o;
    if (dg_txt_opts_init(&o, DG_TXT_VOC_XML) < 0)
        abort();
    if ((f0 & 1) && n == 4)
        o.names_path = fz_path(names[3]);
    o.drop_unknown_classes = (f0 >> 1) & 1;

    dg_ctx *ctx = fz_ctx();
    dg_project *p = NULL;
    if (dg_project_create(ctx, &p) < 0)
        abort();
    char gt[512], dt[512];
    strcpy(gt, fz_path("gt"));
    strcpy(dt, fz_path("dt"));
    const char *dts[1] = {dt}, *set[1] = {"m"};
    dg_status st = dg_import_txt(ctx, p, gt, 1, dts, set, 0, &o);
    fz_check(ctx, st, "dg_import_txt");
    (void)dg_ctx_take_warnings(ctx);
    if (st >= 0) {
        double iou[] = {0.5};
        st = dg_eval(ctx, p, "m", iou, 1);
        fz_check(ctx, st, "dg_eval");
        if (st >= 0)
            fz_queries(ctx, p);
        dg_voc_opts vo;
        dg_voc_opts_init(&vo);
        vo.protocol = (f0 & 4) ? DG_VOC07 : DG_VOC12;
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
