/*
 * gen_corpus.c: writes the seed corpora of the fuzz targets.
 *   gen_corpus OUTDIR [STRONGSWAN_DIR]
 * OUTDIR/msg gets every sample message (sample_msgs.h), every malformed
 * case (tests/unit/wire/malformed_cases.h) and, if given, every captured
 * strongSwan datagram (*.hex under STRONGSWAN_DIR/CASE/); OUTDIR/body gets
 * one body per payload type of each sample message (so the corpus stays
 * near 200 files), prefixed by the selector byte fuzz_body.c reads. Run by
 * hand when seeds change, into an empty OUTDIR; the output is committed
 * (tests/fuzz/corpus). Deterministic: same input, same files.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ike/wire.h"
#include "malformed_cases.h"
#include "sample_msgs.h"
#include "wire_harness.h"

static uint8_t buf[IKE_MAX_MSG_LEN];
static char hexbuf[2 * IKE_MAX_MSG_LEN + 2];

static void write_file(const char *dir, const char *sub, const char *name, const uint8_t *p,
                       size_t n)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    for (char *c = path + strlen(dir) + strlen(sub) + 2; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '.'))
            *c = '_';
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* Body seeds: selector byte + payload body, for each decodable payload. */
static void body_seeds(const char *dir, const char *name, const struct ike_payload_list *l)
{
    static uint8_t b[IKE_MAX_MSG_LEN + 1];
    bool done[256] = {false};
    for (size_t i = 0; i < l->n; i++) {
        size_t sel = 0;
        if (done[l->pl[i].type]) /* one seed per payload type and message */
            continue;
        done[l->pl[i].type] = true;
        while (sel < HARNESS_BODY_TYPES_N && harness_body_types[sel] != l->pl[i].type)
            sel++;
        if (sel == HARNESS_BODY_TYPES_N || l->pl[i].body.len > IKE_MAX_MSG_LEN)
            continue;
        b[0] = (uint8_t)sel;
        memcpy(b + 1, l->pl[i].body.p, l->pl[i].body.len);
        char fname[512];
        snprintf(fname, sizeof(fname), "%s-%02zu-%s", name, i, ike_payload_name(l->pl[i].type));
        write_file(dir, "body", fname, b, l->pl[i].body.len + 1);
    }
}

static void message_seed(const char *dir, const char *name, const uint8_t *p, size_t n, bool bodies)
{
    struct harness_msg m;
    write_file(dir, "msg", name, p, n);
    if (!bodies || harness_decode_msg(p, n, &m) != IKE_OK)
        return;
    char inner[512];
    body_seeds(dir, name, &m.outer);
    snprintf(inner, sizeof(inner), "%s-inner", name);
    if (m.has_inner)
        body_seeds(dir, inner, &m.inner);
}

static void strongswan_seeds(const char *dir, const char *ss)
{
    DIR *top = opendir(ss);
    struct dirent *c;
    if (!top) {
        perror(ss);
        exit(1);
    }
    while ((c = readdir(top)) != NULL) {
        char sub[4096];
        if (c->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", ss, c->d_name);
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            size_t l = strlen(e->d_name);
            if (l < 5 || strcmp(e->d_name + l - 4, ".hex") != 0)
                continue;
            char path[8192], name[512];
            snprintf(path, sizeof(path), "%s/%s", sub, e->d_name);
            FILE *f = fopen(path, "r");
            if (!f || !fgets(hexbuf, sizeof(hexbuf), f)) {
                perror(path);
                exit(1);
            }
            fclose(f);
            hexbuf[strcspn(hexbuf, "\r\n")] = 0;
            int n = malformed_unhex(hexbuf, buf, sizeof(buf));
            if (n < 0) {
                fprintf(stderr, "%s: bad hex\n", path);
                exit(1);
            }
            snprintf(name, sizeof(name), "ss-%s-%.*s", c->d_name, (int)(l - 4), e->d_name);
            message_seed(dir, name, buf, (size_t)n, false);
        }
        closedir(d);
    }
    closedir(top);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_corpus OUTDIR [STRONGSWAN_DIR]\n");
        return 2;
    }
    for (size_t i = 0; i < SAMPLE_MSGS_N; i++) {
        char name[256];
        int n = sample_msgs[i].build(buf, sizeof(buf));
        if (n < 0)
            return 1;
        snprintf(name, sizeof(name), "sample-%s", sample_msgs[i].name);
        message_seed(argv[1], name, buf, (size_t)n, true);
    }
    for (size_t i = 0; i < MALFORMED_N; i++) {
        char name[256];
        int n = malformed_bytes(&malformed_cases[i], buf, sizeof(buf));
        if (n < 0)
            return 1;
        snprintf(name, sizeof(name), "bad-%03zu-%s", i, malformed_cases[i].name);
        write_file(argv[1], "msg", name, buf, (size_t)n);
    }
    if (argc > 2)
        strongswan_seeds(argv[1], argv[2]);
    return 0;
}
