/*
 * cmd_compare.c: `plumb compare REF.gguf.gz CAND.gguf.gz [--tolerances P.yaml]
 * [--report DIR]`: compare any two dumps tap by tap.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buildinfo.h"
#include "cli.h"
#include "compare.h"
#include "dump.h"
#include "policy.h"
#include "report.h"
#include "version.h"

static void compare_help(void)
{
    printf("usage: plumb compare REF.gguf.gz CAND.gguf.gz [--tolerances P.yaml] [--report DIR]\n\n"
           "Compare two dumps (two kernel sets, two machines, two builds, F32 against a\n"
           "quantized model of the same weights) tap by tap in execution order: mismatch\n"
           "count, max abs error and where, max relative error, max ULP, RMSE, NMSE,\n"
           "cosine, and on logits KL divergence, top-1 and top-k agreement; each check of\n"
           "the policy with its bound, and the first tap where drift begins.\n\n"
           "  --tolerances FILE  the policy (default: exact, 0 ULP everywhere)\n"
           "  --report DIR       also write report.json, summary.md, report.html, junit.xml\n\n"
           "exit: 0 all checks pass, 1 a check failed, 2 bad input\n");
}

/* The built-in default when no policy is given: bit-exact. */
static const char compare_exact_policy[] = "defaults:\n  max_ulp: 0\n";

/* One line per tap. */
static void compare_print(const struct compare_result *r)
{
    printf("%-18s %5s %12s %10s %10s %10s %10s %10s %12s\n", "tap", "", "mismatch", "max_abs",
           "max_rel", "max_ulp", "rmse", "nmse", "cosine");
    for (int64_t i = 0; i < r->n_taps; i++) {
        const struct compare_tap *t = &r->taps[i];
        if (t->missing_in_ref || t->missing_in_cand || t->shape_mismatch) {
            printf("%-18s %5s %s\n", t->name, "FAIL",
                   t->missing_in_ref ? "missing from the reference"
                   : t->missing_in_cand ? "missing from the candidate" : "shapes differ");
            continue;
        }
        char mism[32];
        snprintf(mism, sizeof mism, "%lld/%lld", (long long)t->mismatches, (long long)t->n);
        printf("%-18s %5s %12s %10.3g %10.3g %10llu %10.3g %10.3g %12.9f\n", t->name,
               t->pass ? "ok" : "FAIL", mism, t->max_abs, t->max_rel, (unsigned long long)t->max_ulp,
               t->rmse, t->nmse, t->cosine);
        if (t->has_logit_metrics)
            printf("%-18s %5s kld mean %.3g max %.3g, top1 %.4f, top%lld %.4f\n", "", "", t->kld_mean,
                   t->kld_max, t->top1, (long long)t->top_k, t->topk);
        for (int c = 0; c < t->n_checks; c++) {
            const struct compare_check *k = &t->checks[c];
            if (!k->pass)
                printf("%-18s %5s %s = %.6g, bound %.6g (would pass at %.6g)\n", "", "",
                       policy_metric_name(k->metric), k->value, k->bound, k->needed);
        }
    }
    if (r->first_fail >= 0) {
        const struct compare_tap *t = &r->taps[r->first_fail];
        printf("first divergence: %s", t->name);
        if (!t->missing_in_cand && !t->missing_in_ref && !t->shape_mismatch && t->width > 0)
            printf(" (max |a-b| %.3g at position %lld, column %lld)", t->max_abs,
                   (long long)(t->max_abs_index / t->width), (long long)(t->max_abs_index % t->width));
        printf("\n");
    } else {
        printf("all %lld taps pass\n", (long long)r->n_taps);
    }
}

int cmd_compare(int argc, char **argv)
{
    const char *ref_path = NULL, *cand_path = NULL, *pol_path = NULL, *report_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            compare_help();
            return CLI_OK;
        } else if (!strcmp(a, "--tolerances") || !strcmp(a, "--policy")) {
            if (++i >= argc)
                return cli_usage("compare", "%s needs a file", a);
            pol_path = argv[i];
        } else if (!strcmp(a, "--report")) {
            if (++i >= argc)
                return cli_usage("compare", "--report needs a folder");
            report_dir = argv[i];
        } else if (a[0] == '-' && a[1]) {
            return cli_usage("compare", "unknown option '%s'", a);
        } else if (!ref_path) {
            ref_path = a;
        } else if (!cand_path) {
            cand_path = a;
        } else {
            return cli_usage("compare", "two dumps, got a third: '%s'", a);
        }
    }
    if (!cand_path)
        return cli_usage("compare", "needs REF.gguf.gz and CAND.gguf.gz");

    struct plumb_err err = {{0}};
    struct policy pol;
    struct dump ref, cand;
    struct compare_result res;
    memset(&pol, 0, sizeof pol);
    memset(&res, 0, sizeof res);
    dump_init(&ref);
    dump_init(&cand);
    int rc = CLI_BAD_INPUT;
    if ((pol_path ? policy_load(&pol, pol_path, &err)
                  : policy_parse(&pol, compare_exact_policy, strlen(compare_exact_policy), "exact",
                                 &err)) != 0 ||
        dump_read(&ref, ref_path, &err) != 0 || dump_read(&cand, cand_path, &err) != 0 ||
        compare_dumps(&ref, &cand, &pol, &res, &err) != 0) {
        rc = cli_error(&err);
        goto done;
    }
    compare_print(&res);
    rc = res.pass ? CLI_OK : CLI_FAIL;
    if (report_dir) {
        struct report_case c = {.name = "compare", .fixture = ref_path, .policy = pol.name,
                                .golden = ref_path, .result = res};
        struct report r = {.suite = "plumb compare", .kernels = cand_path,
                           .plumb_version = PLUMB_VERSION, .compiler = buildinfo_compiler(),
                           .arch = buildinfo_arch(), .cases = &c, .n_cases = 1};
        if (report_write_dir(&r, report_dir, &err) != 0)
            rc = cli_error(&err);
    }
done:
    compare_result_free(&res);
    dump_free(&ref);
    dump_free(&cand);
    policy_free(&pol);
    return rc;
}
