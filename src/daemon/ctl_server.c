/*
 * ctl_server.c: the control socket (unix stream, -S PATH, mode 0600): one
 * request per connection, decoded with the codec of include/ike/ctl.h,
 * answered with DATA/EVENT frames and one DONE; `watch` connections stay
 * open and get one EVENT frame per engine event or log line.
 *
 * Every byte from a client is untrusted: frames are length-checked by
 * ike_ctl_frame() before anything else, a malformed request gets a DONE
 * with IKE_ERR_CTL and the connection is closed. Clients are bounded in
 * number and in queued output, and one that sends no whole request within
 * CLIENT_IDLE_S is closed, so a slow or hostile client can neither grow the
 * daemon's memory nor hold every slot. Must not block: all sockets are
 * non-blocking.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ike/ctl.h"
#include "ike/err.h"
#include "rekeyd.h"

#define MAX_CLIENTS 64
#define MAX_QUEUED  (4u << 20) /* output a client may have pending */
#define REQ_BUF     (IKE_CTL_REQ_MAX + 1)
/* A client that has not sent a whole request by then is closed: 64 idle
 * connections would otherwise lock the operator out. */
#define CLIENT_IDLE_S 5.0

struct rd_client {
    struct rd_client *next;
    struct rekeyd *d;
    int fd;
    ev_io rio, wio;
    ev_timer idle;
    uint8_t in[REQ_BUF];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap;
    bool watch, closing;
};

static void client_free(struct rd_client *c)
{
    struct rekeyd *d = c->d;
    for (struct rd_client **pp = &d->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    d->n_clients--;
    ev_io_stop(d->loop, &c->rio);
    ev_io_stop(d->loop, &c->wio);
    ev_timer_stop(d->loop, &c->idle);
    close(c->fd);
    free(c->out);
    free(c);
}

/* Sends what is queued; frees the client when done and closing. */
static void flush(struct rd_client *c)
{
    while (c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(c->d->loop, &c->wio);
            return;
        }
        if (n <= 0) {
            client_free(c);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
    ev_io_stop(c->d->loop, &c->wio);
    if (c->closing)
        client_free(c);
}

static bool queue_frame(struct rd_client *c, uint8_t type, int32_t code, const char *text,
                        size_t len)
{
    size_t need = IKE_CTL_HDR_LEN + IKE_CTL_REPLY_HDR + len;
    if (c->out_len + need > MAX_QUEUED)
        return false;
    if (c->out_len + need > c->out_cap) {
        size_t cap = (c->out_len + need) * 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p)
            return false;
        c->out = p;
        c->out_cap = cap;
    }
    long n =
        ike_ctl_encode_reply(c->out + c->out_len, c->out_cap - c->out_len, type, code, text, len);
    if (n < 0)
        return false;
    c->out_len += (size_t)n;
    return true;
}

/* DATA may exceed one frame: split it. */
static void queue_data(struct rd_client *c, const char *text, size_t len)
{
    const size_t chunk = 64 * 1024;
    for (size_t off = 0; off < len; off += chunk)
        queue_frame(c, IKE_CTL_MSG_DATA, 0, text + off, len - off < chunk ? len - off : chunk);
}

static void done(struct rd_client *c, int code, const char *text)
{
    queue_frame(c, IKE_CTL_MSG_DONE, code, text, strlen(text));
    c->closing = true;
    flush(c);
}

static int run_conn_cmd(struct rekeyd *d, const struct ike_ctl_request *r, char *msg, size_t cap)
{
    uint64_t now = rd_now_ms();
    int rc;
    if (!ike_conf_find(&d->conf, r->name)) {
        snprintf(msg, cap, "no connection '%s' loaded", r->name);
        return IKE_ERR_NO_CONFIG;
    }
    if (r->cmd == IKE_CTL_UP)
        rc = ike_engine_initiate(d->eng, r->name, now);
    else if (r->cmd == IKE_CTL_DOWN)
        rc = ike_engine_terminate(d->eng, r->name, now);
    else
        rc = ike_engine_rekey(d->eng, r->name, (r->flags & IKE_CTL_F_IKE) != 0, now);
    rd_after_engine(d);
    if (rc < 0)
        snprintf(msg, cap, "%s %s: %s", ike_ctl_cmd_name(r->cmd), r->name, ike_err_str(rc));
    else
        snprintf(msg, cap, "%s %s: started", ike_ctl_cmd_name(r->cmd), r->name);
    rd_log(rc < 0 ? IKE_LOG_WARN : IKE_LOG_INFO, "control: %s", msg);
    return rc;
}

static void handle(struct rd_client *c, const struct ike_ctl_request *r)
{
    struct rekeyd *d = c->d;
    char msg[IKE_CONF_ERR_MAX + 64] = "";
    struct rd_buf b = {0};
    int rc = 0;
    switch (r->cmd) {
    case IKE_CTL_STATUS:
        (r->flags & IKE_CTL_F_JSON ? rd_status_json : rd_status_text)(d, &b);
        break;
    case IKE_CTL_DIAGNOSE:
        if (r->name[0] && !ike_conf_find(&d->conf, r->name)) {
            snprintf(msg, sizeof(msg), "no connection '%s' loaded", r->name);
            rc = IKE_ERR_NO_CONFIG;
        } else {
            rd_diagnose(d, r->name, r->flags & IKE_CTL_F_JSON, &b);
        }
        break;
    case IKE_CTL_RELOAD:
        rc = rd_reload(d, msg, sizeof(msg));
        if (rc < 0)
            rd_log(IKE_LOG_ERROR, "reload failed, keeping the old config: %s", msg);
        break;
    case IKE_CTL_WATCH:
        c->watch = true;
        return;
    default:
        rc = run_conn_cmd(d, r, msg, sizeof(msg));
        break;
    }
    if (b.oom) {
        rc = IKE_ERR_NOMEM;
        snprintf(msg, sizeof(msg), "out of memory");
    } else if (rc >= 0 && b.len) {
        queue_data(c, b.p, b.len);
    }
    rd_buf_free(&b);
    done(c, rc < 0 ? rc : 0, rc < 0 ? msg : (r->cmd == IKE_CTL_RELOAD ? msg : ""));
}

static void on_client_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rd_client *c = w->data;
    if (c->closing || c->watch) {
        /* Nothing more is expected. A watcher that writes, or hangs up,
         * ends; a client that half-closes after its request still gets
         * the rest of its answer (flush frees it). */
        uint8_t sink[256];
        ssize_t n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n > 0 && c->closing)
            return;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (c->closing && c->out_len) {
            ev_io_stop(c->d->loop, &c->rio);
            return;
        }
        client_free(c);
        return;
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR))
            client_free(c);
        return;
    }
    c->in_len += (size_t)n;
    const uint8_t *body;
    size_t blen;
    long fl = ike_ctl_frame(c->in, c->in_len, IKE_CTL_REQ_MAX - IKE_CTL_HDR_LEN, &body, &blen);
    if (fl == IKE_ERR_TRUNCATED && c->in_len < sizeof(c->in))
        return; /* wait for the rest */
    ev_timer_stop(c->d->loop, &c->idle); /* a whole frame arrived */
    struct ike_ctl_request req;
    int rc = fl < 0 ? (int)fl : ike_ctl_decode_request(body, blen, &req);
    if (rc < 0 || (size_t)fl != c->in_len) {
        rd_log(IKE_LOG_WARN, "control: malformed request (%s)",
               ike_err_str(rc < 0 ? rc : IKE_ERR_BAD_LENGTH));
        done(c, IKE_ERR_CTL, "malformed control request");
        return;
    }
    handle(c, &req);
}

static void on_client_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    flush(w->data);
}

static void on_client_idle(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    rd_log(IKE_LOG_WARN, "control: no complete request within %.0f s, closing the connection",
           CLIENT_IDLE_S);
    client_free(w->data);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    (void)w;
    struct rekeyd *d = ev_userdata(loop);
    int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct rd_client *c = d->n_clients < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        rd_log(IKE_LOG_WARN, "control: too many clients, refusing one");
        close(fd);
        return;
    }
    c->d = d;
    c->fd = fd;
    ev_io_init(&c->rio, on_client_read, fd, EV_READ);
    ev_io_init(&c->wio, on_client_write, fd, EV_WRITE);
    ev_timer_init(&c->idle, on_client_idle, CLIENT_IDLE_S, 0.0);
    c->rio.data = c->wio.data = c->idle.data = c;
    ev_io_start(loop, &c->rio);
    ev_timer_start(loop, &c->idle);
    c->next = d->clients;
    d->clients = c;
    d->n_clients++;
}

void rd_ctl_broadcast(struct rekeyd *d, const char *line)
{
    struct rd_client *next;
    for (struct rd_client *c = d->clients; c; c = next) {
        next = c->next;
        if (!c->watch || c->closing)
            continue;
        /* A watcher that does not read is dropped, not buffered forever. */
        if (!queue_frame(c, IKE_CTL_MSG_EVENT, 0, line, strlen(line)))
            client_free(c);
        else
            flush(c);
    }
}

int rd_ctl_open(struct rekeyd *d)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(d->o.ctl_path) >= sizeof(sa.sun_path)) {
        rd_log(IKE_LOG_ERROR, "control socket path too long: %s", d->o.ctl_path);
        return IKE_ERR_INVALID_ARG;
    }
    memcpy(sa.sun_path, d->o.ctl_path, strlen(d->o.ctl_path) + 1);
    d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->ctl_fd < 0)
        return IKE_ERR_IO;
    /* A socket file nobody listens on is a leftover of a crash: replace
     * it; one somebody answers on belongs to a running rekeyd. */
    if (connect(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
        rd_log(IKE_LOG_ERROR, "%s: another rekeyd is listening there", d->o.ctl_path);
        close(d->ctl_fd);
        d->ctl_fd = -1;
        return IKE_ERR_IO;
    }
    unlink(d->o.ctl_path);
    mode_t old = umask(0177);
    int rc = bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(d->ctl_fd, 16) < 0) {
        rd_log(IKE_LOG_ERROR, "control socket %s: %s", d->o.ctl_path, strerror(errno));
        close(d->ctl_fd);
        d->ctl_fd = -1;
        return IKE_ERR_IO;
    }
    ev_io_init(&d->ctl_io, on_accept, d->ctl_fd, EV_READ);
    ev_io_start(d->loop, &d->ctl_io);
    return 0;
}

void rd_ctl_close(struct rekeyd *d)
{
    while (d->clients)
        client_free(d->clients);
    if (d->ctl_fd >= 0) {
        ev_io_stop(d->loop, &d->ctl_io);
        close(d->ctl_fd);
        unlink(d->o.ctl_path);
        d->ctl_fd = -1;
    }
}
