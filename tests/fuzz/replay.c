/*
 * replay.c: runs a libFuzzer target (linked in beside it) without
 * libFuzzer, inside the ordinary test run: every file of the corpus folder
 * in $REKEYD_FUZZ_CORPUS, plus deterministic mutations of each (every
 * single-bit flip of the first 64 bytes; every truncation, once as is and
 * once with the IKE header Length patched to the new size). A crash or
 * abort in the target fails the Check test; ASan/UBSan catch memory errors
 * in build-san. Prints how many inputs ran. Never writes anything.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_main.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT 70000
#define FLIP_BYTES       64

static uint8_t seed[REPLAY_MAX_INPUT], mut[REPLAY_MAX_INPUT];

static size_t read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t n = fread(seed, 1, sizeof(seed), f);
    fclose(f);
    return n;
}

/* Runs the seed and its mutations; returns how many inputs ran. */
static unsigned long run_mutations(size_t n)
{
    unsigned long runs = 0;
    memcpy(mut, seed, n);
    LLVMFuzzerTestOneInput(mut, n);
    runs++;
    for (size_t bit = 0; bit < 8 * (n < FLIP_BYTES ? n : FLIP_BYTES); bit++) {
        mut[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        LLVMFuzzerTestOneInput(mut, n);
        mut[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        runs++;
    }
    for (size_t len = 0; len < n; len++) {
        /* A fresh heap copy of exactly len bytes, so ASan sees overreads. */
        uint8_t *cut = malloc(len ? len : 1);
        ck_assert_ptr_nonnull(cut);
        memcpy(cut, seed, len);
        LLVMFuzzerTestOneInput(cut, len);
        if (len >= 28) {
            cut[24] = (uint8_t)(len >> 24);
            cut[25] = (uint8_t)(len >> 16);
            cut[26] = (uint8_t)(len >> 8);
            cut[27] = (uint8_t)len;
            LLVMFuzzerTestOneInput(cut, len);
            runs++;
        }
        free(cut);
        runs++;
    }
    return runs;
}

START_TEST(replay_corpus)
{
    const char *dir = getenv("REKEYD_FUZZ_CORPUS");
    ck_assert_msg(dir != NULL, "REKEYD_FUZZ_CORPUS is not set");
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open corpus %s", dir);
    unsigned long files = 0, runs = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        size_t n = read_file(path);
        files++;
        runs += run_mutations(n);
    }
    closedir(d);
    printf("replay: %lu inputs from %lu corpus files in %s\n", runs, files, dir);
    fflush(stdout);
    ck_assert_msg(files >= 10, "corpus %s has only %lu files", dir, files);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("fuzz_replay");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, replay_corpus);
    suite_add_tcase(s, tc);
    return s;
}

IKE_CHECK_MAIN()
