/*
 * test_cli.c: the plumb binary end to end, as a user runs it: exit codes,
 * one-line errors naming the file, no partial output left behind, and
 * `gen` twice giving identical bytes.
 */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

TestSuite(cli, .timeout = 60);

/* Run, then check the status and, for failures, the one-line message. */
static void expect_error(const char *const *argv, const char *fragment)
{
    struct run_result r;
    run_plumb(&r, argv);
    cr_assert(eq(int, r.status, 2), "status %d, stderr: %s", r.status, r.err);
    cr_assert(eq(int, count_lines(r.err), 1), "stderr: %s", r.err);
    cr_assert(eq(int, strncmp(r.err, "plumb: ", 7), 0), "stderr: %s", r.err);
    cr_assert(not(eq(ptr, strstr(r.err, fragment), NULL)), "want '%s' in: %s", fragment, r.err);
    run_free(&r);
}

Test(cli, usage_errors_exit_2_with_one_line)
{
    expect_error((const char *[]){"plumb", "frobnicate", NULL}, "unknown command 'frobnicate'");
    expect_error((const char *[]){"plumb", "gen", NULL}, "gen: missing SPEC.yaml");
    expect_error((const char *[]){"plumb", "gen", "fixtures/mha.yaml", NULL}, "missing -o");
    expect_error((const char *[]){"plumb", "gen", "--bogus", NULL}, "unknown option '--bogus'");
    expect_error((const char *[]){"plumb", "inspect", NULL}, "missing FILE.gguf");
    expect_error((const char *[]){"plumb", "gen", "fixtures/mha.yaml", "-o", "x", "--threads", "0", NULL},
                 "--threads");
}

Test(cli, every_command_has_help)
{
    const char *cmds[] = {"gen", "inspect"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        struct run_result r;
        run_plumb(&r, (const char *[]){"plumb", cmds[i], "--help", NULL});
        cr_assert(eq(int, r.status, 0), "%s --help", cmds[i]);
        cr_assert(not(eq(ptr, strstr(r.out, "usage: plumb"), NULL)), "%s --help: %s", cmds[i], r.out);
        run_free(&r);
    }
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "--help", NULL});
    cr_assert(eq(int, r.status, 0));
    cr_assert(not(eq(ptr, strstr(r.out, "inspect"), NULL)));
    run_free(&r);
}

Test(cli, gen_twice_gives_identical_bytes_and_inspect_accepts_it)
{
    char *dir = make_temp_dir();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.gguf", dir);
    snprintf(b, sizeof b, "%s/b.gguf", dir);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "gen", "fixtures/gqa.yaml", "-o", a, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    run_plumb(&r, (const char *[]){"plumb", "gen", "fixtures/gqa.yaml", "-o", b, "--threads", "1", NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    size_t la, lb;
    char *da = read_file(a, &la), *db = read_file(b, &lb);
    cr_assert(eq(sz, la, lb));
    cr_assert(eq(int, memcmp(da, db, la), 0));
    free(da);
    free(db);
    cr_assert(eq(int, dir_entries(dir), 2), "temporary files left behind");

    run_plumb(&r, (const char *[]){"plumb", "inspect", a, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "verdict    valid GGUF v3; llama model: 2 layers, 8 heads (2 kv)"), NULL)),
              "%s", r.out);
    cr_assert(not(eq(ptr, strstr(r.out, "blk.1.ffn_down.weight"), NULL)));
    cr_assert(not(eq(ptr, strstr(r.out, "[string x 512]"), NULL)), "long arrays summarised: %s", r.out);
    run_free(&r);

    run_plumb(&r, (const char *[]){"plumb", "inspect", "--json", a, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    cr_assert(not(eq(ptr, strstr(r.out, "\"valid\": true"), NULL)));
    cr_assert(not(eq(ptr, strstr(r.out, "\"name\": \"blk.0.attn_k.weight\""), NULL)));
    cr_assert(not(eq(ptr, strstr(r.out, "\"shape\": [\n        64,\n        16\n      ]"), NULL)), "%s",
              strstr(r.out, "blk.0.attn_k.weight"));
    run_free(&r);
    rm_tree(dir);
    free(dir);
}

Test(cli, broken_inputs_are_one_line_errors_naming_the_file)
{
    char *dir = make_temp_dir();
    char empty[512], garbage[512], trunc[512], model[512];
    snprintf(empty, sizeof empty, "%s/empty.gguf", dir);
    snprintf(garbage, sizeof garbage, "%s/garbage.gguf", dir);
    snprintf(trunc, sizeof trunc, "%s/trunc.gguf", dir);
    snprintf(model, sizeof model, "%s/model.gguf", dir);
    write_file(empty, "", 0);
    write_file(garbage, "this is not a gguf file at all", 30);
    struct run_result r;
    run_plumb(&r, (const char *[]){"plumb", "gen", "fixtures/mha.yaml", "-o", model, NULL});
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    size_t len;
    char *data = read_file(model, &len);
    write_file(trunc, data, len / 2);
    free(data);

    expect_error((const char *[]){"plumb", "inspect", "/nonexistent/x.gguf", NULL}, "/nonexistent/x.gguf: ");
    expect_error((const char *[]){"plumb", "inspect", dir, NULL}, dir);
    expect_error((const char *[]){"plumb", "inspect", empty, NULL}, empty);
    expect_error((const char *[]){"plumb", "inspect", garbage, NULL}, "magic");
    expect_error((const char *[]){"plumb", "inspect", trunc, NULL}, trunc);
    expect_error((const char *[]){"plumb", "gen", "/nonexistent/spec.yaml", "-o", model, NULL},
                 "/nonexistent/spec.yaml");
    expect_error((const char *[]){"plumb", "gen", garbage, "-o", model, NULL}, garbage);

    /* inspect --json on a bad file: exit 2, and machines still get JSON */
    run_plumb(&r, (const char *[]){"plumb", "inspect", "--json", garbage, NULL});
    cr_assert(eq(int, r.status, 2));
    cr_assert(not(eq(ptr, strstr(r.out, "\"valid\": false"), NULL)), "%s", r.out);
    run_free(&r);
    rm_tree(dir);
    free(dir);
}

Test(cli, failed_gen_leaves_no_partial_output)
{
    char *dir = make_temp_dir();
    char sub[512], out[1024];
    snprintf(sub, sizeof sub, "%s/ro", dir);
    mkdir(sub, 0500);
    snprintf(out, sizeof out, "%s/model.gguf", sub);
    if (geteuid() != 0) { /* root writes anywhere: the missing-folder case below covers it */
        expect_error((const char *[]){"plumb", "gen", "fixtures/mha.yaml", "-o", out, NULL}, out);
        cr_assert(eq(int, dir_entries(sub), 0));
    }
    snprintf(out, sizeof out, "%s/missing/model.gguf", dir);
    expect_error((const char *[]){"plumb", "gen", "fixtures/mha.yaml", "-o", out, NULL}, out);
    cr_assert(eq(int, dir_entries(dir), 1));
    rm_tree(dir);
    free(dir);
}

Test(cli, full_disk_leaves_the_old_file_and_no_temporary)
{
    /* A file-size limit makes writes fail part-way, as a full disk does. The
     * destination already holds a model: it must survive unchanged. */
    char *dir = make_temp_dir();
    char out[512], cmd[2048];
    snprintf(out, sizeof out, "%s/model.gguf", dir);
    write_file(out, "old", 3);
    snprintf(cmd, sizeof cmd, "ulimit -f 64; exec %s gen fixtures/gqa.yaml -o %s 2>%s/err",
             plumb_command(), out, dir);
    int st = system(cmd);
    cr_assert(not(eq(int, st, 0)));
    size_t len;
    char *old = read_file(out, &len);
    cr_assert(eq(sz, len, 3));
    cr_assert(eq(int, memcmp(old, "old", 3), 0));
    free(old);
    char errpath[600];
    snprintf(errpath, sizeof errpath, "%s/err", dir);
    char *msg = read_file(errpath, &len);
    cr_assert(eq(int, count_lines(msg), 1), "%s", msg);
    cr_assert(not(eq(ptr, strstr(msg, out), NULL)), "%s", msg);
    free(msg);
    cr_assert(eq(int, dir_entries(dir), 2), "a temporary file was left"); /* model.gguf, err */
    rm_tree(dir);
    free(dir);
}

/* Run "PLUMB ARGS >OUT 2>DIR/err" through the shell; the exit status, and
 * the stderr text in *msg (caller frees). */
static int run_redirected(const char *dir, const char *args, const char *out, char **msg)
{
    char cmd[4096], errpath[600];
    snprintf(errpath, sizeof errpath, "%s/err", dir);
    snprintf(cmd, sizeof cmd, "exec %s %s >%s 2>%s", plumb_command(), args, out, errpath);
    int st = system(cmd);
    *msg = read_file(errpath, NULL);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Output that never reached stdout is a failure, with its one line, even
 * for a command that flushed as it went (then only the stream's error flag
 * tells) or that printed nothing but help. */
Test(cli, a_full_stdout_is_an_error_with_one_line)
{
    char *dir = make_temp_dir();
    char model[600], args[1400];
    snprintf(model, sizeof model, "%s/m.gguf", dir);
    const char *gen[] = {"plumb", "gen", "fixtures/mha.yaml", "-o", model, NULL};
    struct run_result r;
    run_plumb(&r, gen);
    cr_assert(eq(int, r.status, 0), "%s", r.err);
    run_free(&r);
    const char *cases[][2] = {
        {"--help", NULL},
        {"--version", NULL},
        {"inspect", " --json"}, /* larger than stdio's buffer: fails while printing */
        {"inspect", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i][1])
            snprintf(args, sizeof args, "%s %s%s", cases[i][0], model, cases[i][1]);
        else
            snprintf(args, sizeof args, "%s", cases[i][0]);
        char *msg;
        int st = run_redirected(dir, args, "/dev/full", &msg);
        cr_assert(eq(int, st, 2), "plumb %s: status %d: %s", args, st, msg);
        cr_assert(eq(int, count_lines(msg), 1), "plumb %s: %s", args, msg);
        cr_assert(eq(int, strncmp(msg, "plumb: stdout: write failed", 27), 0), "plumb %s: %s", args, msg);
        free(msg);
    }
    rm_tree(dir);
    free(dir);
}

/* -o /dev/full: the device is written as it is (and, as root, not replaced
 * by a renamed temporary file), and the failure is one line naming it. */
Test(cli, gen_to_dev_full_fails_and_leaves_the_device)
{
    char *dir = make_temp_dir();
    char *msg;
    int st = run_redirected(dir, "gen fixtures/mha.yaml -o /dev/full", "/dev/null", &msg);
    cr_assert(eq(int, st, 2), "status %d: %s", st, msg);
    cr_assert(eq(int, count_lines(msg), 1), "%s", msg);
    cr_assert(not(eq(ptr, strstr(msg, "plumb: /dev/full: write failed"), NULL)), "%s", msg);
    free(msg);
    struct stat sb;
    cr_assert(eq(int, stat("/dev/full", &sb), 0));
    bool device = S_ISCHR(sb.st_mode);
    cr_assert(device, "/dev/full was replaced");
    rm_tree(dir);
    free(dir);
}
