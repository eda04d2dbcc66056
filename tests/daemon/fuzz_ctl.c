/*
 * fuzz_ctl.c: libFuzzer target for the control protocol codec
 * (src/ctl/ctl.c). The input is what a hostile peer could put on the
 * control socket: it is framed, then decoded as a request and as a reply;
 * whatever decodes must re-encode to the very same bytes (the codec has
 * one encoding per message), else the target aborts. Built with
 * -Dfuzz=true (clang); replay_ctl.c runs it over the corpus in every test
 * run.
 */
#include <stdlib.h>
#include <string.h>

#include "ike/ctl.h"
#include "ike/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[IKE_CTL_HDR_LEN + 70000];

static void check_request(const uint8_t *frame, size_t flen, const uint8_t *body, size_t blen)
{
    struct ike_ctl_request req;
    if (ike_ctl_decode_request(body, blen, &req) < 0)
        return;
    int n = ike_ctl_encode_request(out, sizeof(out), &req);
    if (n < 0 || (size_t)n != flen || memcmp(out, frame, flen))
        abort();
}

static void check_reply(const uint8_t *frame, size_t flen, const uint8_t *body, size_t blen)
{
    struct ike_ctl_reply rep;
    if (ike_ctl_decode_reply(body, blen, &rep) < 0)
        return;
    if (rep.text_len > blen)
        abort();
    long n = ike_ctl_encode_reply(out, sizeof(out), rep.type, rep.code, (const char *)rep.text,
                                  rep.text_len);
    if (n < 0 || (size_t)n != flen || memcmp(out, frame, flen))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A stream of frames, as the daemon and rekeyctl read it. */
    while (size) {
        const uint8_t *body;
        size_t blen;
        long fl = ike_ctl_frame(data, size, 65536, &body, &blen);
        if (fl < 0)
            break;
        if ((size_t)fl > size || body != data + IKE_CTL_HDR_LEN ||
            blen + IKE_CTL_HDR_LEN != (size_t)fl)
            abort();
        check_request(data, (size_t)fl, body, blen);
        check_reply(data, (size_t)fl, body, blen);
        data += fl;
        size -= (size_t)fl;
    }
    /* Bodies straight from the input too (no frame header). */
    struct ike_ctl_request req;
    struct ike_ctl_reply rep;
    ike_ctl_decode_request(data, size, &req);
    ike_ctl_decode_reply(data, size, &rep);
    return 0;
}
