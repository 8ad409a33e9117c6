/*
 * The explanation of a failure pattern (include/detgrid/explain.h) as JSON
 * and as one line of text, shared by `embeddings` and `slices`.
 */
#ifndef DG_TOOLS_EXPLAIN_H
#define DG_TOOLS_EXPLAIN_H

#include "cli.h"

/*
 * Adds to o: "classes" ([{class, errors, chances, rate, rate_all, lift,
 * z}], most over-represented first), "error_types" ([{type, count, share,
 * share_all, lift}], largest first, types with errors in the group only)
 * and "representative_frames" (frame ids).
 */
void cli_explain_json(cJSON *o, dg_project *p, const dg_pattern_explain *e);
/*
 * "person 2.1x (45/60), car 1.4x (...); Miss 62% (1.9x), Loc 20% (0.8x)"
 * into buf: up to three classes and two error types.
 */
void cli_explain_text(char *buf, size_t cap, dg_project *p,
                      const dg_pattern_explain *e);

#endif
