/*
 * rekeyctl.c: the control client (DESIGN.md section 3):
 *   rekeyctl [-S PATH] status [--json] | up CONN | down CONN
 *            | rekey CONN [--ike|--child] | reload | diagnose [CONN] [--json] | watch
 * Sends one request frame (include/ike/ctl.h), prints DATA to stdout and
 * EVENT lines as they come, and exits 0 on a DONE with code 0; otherwise
 * non-zero with one line on stderr. Must trust nothing it reads: every
 * reply frame goes through the codec's checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ike/ctl.h"
#include "ike/err.h"

#define RX_MAX (IKE_CTL_HDR_LEN + IKE_CTL_FRAME_MAX)

static const char usage[] =
    "usage: rekeyctl [-S PATH] COMMAND\n"
    "  status [--json]            IKE and Child SAs\n"
    "  up CONN                    initiate a connection\n"
    "  down CONN                  delete a connection's SAs\n"
    "  rekey CONN [--ike|--child] rekey now (default: the Child SAs)\n"
    "  reload                     re-read the config and secrets files\n"
    "  diagnose [CONN] [--json]   per tunnel: state, next rekey/expiry, rekey check,\n"
    "                             each failure's cause and fix\n"
    "  watch                      print events as they happen\n"
    "  -S PATH                    control socket (default /run/rekeyd.ctl)\n";

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "rekeyctl: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

/* argv after the options -> request; 0 ok, 1 usage error printed. */
static int build_request(int argc, char **argv, struct ike_ctl_request *r)
{
    memset(r, 0, sizeof(*r));
    if (argc < 1)
        return fail("missing command (try --help)", "");
    r->cmd = ike_ctl_cmd_parse(argv[0]);
    if (!r->cmd)
        return fail("unknown command '%s' (try --help)", argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((r->cmd == IKE_CTL_STATUS || r->cmd == IKE_CTL_DIAGNOSE) && !strcmp(a, "--json"))
            r->flags |= IKE_CTL_F_JSON;
        else if (r->cmd == IKE_CTL_REKEY && !strcmp(a, "--ike"))
            r->flags |= IKE_CTL_F_IKE;
        else if (r->cmd == IKE_CTL_REKEY && !strcmp(a, "--child"))
            r->flags |= IKE_CTL_F_CHILD;
        else if (a[0] != '-' && !r->name[0] &&
                 (r->cmd == IKE_CTL_UP || r->cmd == IKE_CTL_DOWN || r->cmd == IKE_CTL_REKEY ||
                  r->cmd == IKE_CTL_DIAGNOSE)) {
            if (!ike_ctl_name_valid(a))
                return fail("bad connection name '%s'", a);
            snprintf(r->name, sizeof(r->name), "%s", a);
        } else {
            return fail("unexpected argument '%s' (try --help)", a);
        }
    }
    if ((r->flags & IKE_CTL_F_IKE) && (r->flags & IKE_CTL_F_CHILD))
        return fail("--ike and --child exclude each other%s", "");
    if (!r->name[0] && (r->cmd == IKE_CTL_UP || r->cmd == IKE_CTL_DOWN || r->cmd == IKE_CTL_REKEY))
        return fail("%s needs a connection name", argv[0]);
    return 0;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        fail("control socket path too long: %s", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        fprintf(stderr, "rekeyctl: cannot connect to %s: %s (is rekeyd running?)\n", path,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* 1 = keep reading, 0 = done ok, >1 = exit code. */
static int on_frame(const uint8_t *body, size_t len)
{
    struct ike_ctl_reply rep;
    if (ike_ctl_decode_reply(body, len, &rep) < 0)
        return fail("malformed reply from rekeyd%s", "") + 2;
    if (rep.type == IKE_CTL_MSG_DATA) {
        fwrite(rep.text, 1, rep.text_len, stdout);
    } else if (rep.type == IKE_CTL_MSG_EVENT) {
        fwrite(rep.text, 1, rep.text_len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    } else {
        if (rep.code) {
            fprintf(stderr, "rekeyctl: %.*s\n", (int)rep.text_len, (const char *)rep.text);
            return 3;
        }
        if (rep.text_len)
            printf("%.*s\n", (int)rep.text_len, (const char *)rep.text);
        return 0;
    }
    return 1;
}

static int read_replies(int fd)
{
    uint8_t *buf = malloc(RX_MAX);
    size_t have = 0;
    int rc = 1;
    if (!buf)
        return fail("out of memory%s", "");
    while (rc == 1) {
        const uint8_t *body;
        size_t blen;
        long fl = ike_ctl_frame(buf, have, IKE_CTL_FRAME_MAX, &body, &blen);
        if (fl > 0) {
            rc = on_frame(body, blen);
            memmove(buf, buf + fl, have - (size_t)fl);
            have -= (size_t)fl;
            continue;
        }
        if (fl != IKE_ERR_TRUNCATED) {
            rc = fail("malformed reply from rekeyd%s", "") + 2;
            break;
        }
        ssize_t n = recv(fd, buf + have, RX_MAX - have, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = fail("rekeyd closed the connection without an answer%s", "") + 2;
            break;
        }
        have += (size_t)n;
    }
    free(buf);
    fflush(stdout);
    return rc;
}

int main(int argc, char **argv)
{
    const char *path = "/run/rekeyd.ctl";
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "-S") && i + 1 < argc)
            path = argv[++i];
        else
            return fail("unknown option '%s' (try --help)", argv[i]);
    }
    struct ike_ctl_request req;
    if (build_request(argc - i, argv + i, &req))
        return 2;
    uint8_t frame[IKE_CTL_REQ_MAX];
    int n = ike_ctl_encode_request(frame, sizeof(frame), &req);
    if (n < 0)
        return fail("cannot encode the request%s", "");
    int fd = connect_to(path);
    if (fd < 0)
        return 1;
    if (send_all(fd, frame, (size_t)n) < 0) {
        close(fd);
        return fail("cannot send to rekeyd: %s", strerror(errno));
    }
    int rc = read_replies(fd);
    close(fd);
    return rc;
}
