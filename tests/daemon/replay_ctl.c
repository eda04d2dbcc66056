/*
 * replay_ctl.c: runs the control codec fuzz target (fuzz_ctl.c) without
 * libFuzzer in the ordinary test run: every corpus file in
 * $REKEYD_FUZZ_CORPUS, every single-bit flip of its first 64 bytes, and
 * every truncation (each as an exact-size heap copy, so ASan sees an
 * overread). A crash or abort fails the test. Writes nothing.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX 8192

static unsigned long run_one(const uint8_t *seed, size_t n)
{
    unsigned long runs = 0;
    uint8_t *m = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(m);
    memcpy(m, seed, n);
    LLVMFuzzerTestOneInput(m, n);
    runs++;
    for (size_t bit = 0; bit < 8 * (n < 64 ? n : 64); bit++, runs++) {
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        LLVMFuzzerTestOneInput(m, n);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    free(m);
    for (size_t len = 0; len < n; len++, runs++) {
        uint8_t *cut = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(cut);
        memcpy(cut, seed, len);
        LLVMFuzzerTestOneInput(cut, len);
        free(cut);
    }
    return runs;
}

START_TEST(replay_corpus)
{
    const char *dir = getenv("REKEYD_FUZZ_CORPUS");
    ck_assert_msg(dir != NULL, "REKEYD_FUZZ_CORPUS is not set");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open corpus %s", dir);
    static uint8_t seed[REPLAY_MAX];
    unsigned long files = 0, runs = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "cannot open %s", path);
        size_t n = fread(seed, 1, sizeof(seed), f);
        fclose(f);
        runs += run_one(seed, n);
        files++;
    }
    closedir(d);
    printf("replay_ctl: %lu corpus files, %lu inputs\n", files, runs);
    ck_assert_uint_ge(files, 10);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fuzz_replay_ctl");
    TCase *tc = tcase_create("corpus");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, replay_corpus);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
