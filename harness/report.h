/*
 * report.h: reports of a suite run, for people and for machines.
 *
 *   terminal     one line per case (pass/FAIL, worst tap, worst metric
 *                against its bound), the first divergence spelled out;
 *                colour only when asked (the CLI asks on a TTY)
 *   report.json  every metric of every tap of every case, the policy, provenance
 *   summary.md   a table fit for a pull-request comment or a CI job summary
 *   junit.xml    a testcase per case, a <failure> naming the first failing tap
 *                and metric; CI servers ingest it
 *   report.html  self-contained (no network, no scripts): a table per case and
 *                an inline SVG chart per metric against layer, log scale, with
 *                the policy's bound drawn, so drift's start and growth show
 *
 * Every file is written through outfile.h (temporary name, rename).
 */
#ifndef PLUMB_REPORT_H
#define PLUMB_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "compare.h"
#include "err.h"

struct report_case {
    const char *name;           /* suite case name, e.g. "gqa-short" */
    const char *fixture;        /* spec path */
    const char *policy;         /* policy name */
    const char *golden;         /* golden path */
    int64_t n_tokens;
    double seconds;             /* time to run and compare */
    bool errored;               /* could not run: error holds why (exit-2 class) */
    char error[PLUMB_ERR_MAX];
    struct compare_result result; /* valid when !errored */
};

struct report {
    const char *suite;          /* suite file */
    const char *kernels;        /* kernel set name */
    const char *plumb_version;
    const char *compiler, *arch; /* buildinfo */
    const char *shard;          /* "I/N" or NULL */
    struct report_case *cases;
    int64_t n_cases;
};

/* true when every case ran and passed. */
bool report_pass(const struct report *r);

/* Terminal report. */
void report_text(FILE *fp, const struct report *r, bool color);

int report_json(const struct report *r, const char *path, struct plumb_err *err);
int report_markdown(const struct report *r, const char *path, struct plumb_err *err);
int report_junit(const struct report *r, const char *path, struct plumb_err *err);
int report_html(const struct report *r, const char *path, struct plumb_err *err);

/* report.json, summary.md, report.html (and junit.xml) in dir, created if
 * needed. */
int report_write_dir(const struct report *r, const char *dir, struct plumb_err *err);

#endif
