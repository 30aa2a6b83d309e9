/*
 * check.h: running a suite: `plumb check`.
 *
 * For each case of the suite (or of this shard of it): generate the
 * fixture, or take it from the cache (keyed by the spec's SHA-256 and
 * plumb's version); tokenize; run the engine with the chosen kernel set,
 * capturing every tap; read the case's golden and check it belongs to this
 * fixture and these tokens; compare under the case's policy (for a kernel
 * set that is not exact, the policy its accuracy class names: simd.yaml or
 * quantized.yaml beside the case's policy; policy_override beats both);
 * fill one report_case.
 *
 * Goldens: a missing golden is an error unless `record` is set, which
 * writes it (never when the CI environment variable is set: in CI a missing
 * golden is a failure). Replacing an existing golden needs `update`, which
 * reports what changed per tap (max abs error, max ULP) through `note`
 * before it overwrites. Goldens are written atomically, one case at a time,
 * so a run that fails midway leaves every golden it did not finish intact.
 */
#ifndef PLUMB_CHECK_H
#define PLUMB_CHECK_H

#include <stdbool.h>

#include "err.h"
#include "kernels.h"
#include "report.h"
#include "suite.h"

struct check_options {
    const char *suite_path;
    const struct plumb_kernels *kernels; /* NULL: scalar */
    int threads;
    const char *cache_dir;               /* generated fixtures */
    bool record;                         /* write missing goldens */
    bool update;                         /* replace goldens that differ */
    bool ci;                             /* refuse to write goldens */
    int shard_index, shard_count;        /* run cases i, i+N, ... (1-based index) */
    const char *policy_override;         /* a policy for every case, or NULL */
    const char *perturb_tap;             /* testing the harness: scale this tap */
    float perturb_factor;
    /* Progress and golden-update notes, one line each (the CLI prints them). */
    void (*note)(void *ctx, const char *line);
    void *note_ctx;
};

/*
 * Run the suite. Fills r (r->cases owned: check_report_free). Returns 0
 * when the suite could be run at all (cases may still fail or error: see
 * report_pass and each case), or -1 with err set when the suite itself is
 * unusable (unreadable suite file, bad shard).
 */
int check_run(const struct check_options *o, struct suite *suite, struct report *r,
              struct plumb_err *err);

void check_report_free(struct report *r);

#endif
