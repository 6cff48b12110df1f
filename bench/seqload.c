/* seqload: a small closed-loop HTTP/1.1 load generator for bench/meta and bench/herd.
 *
 * wrk cannot measure HEAD: its response parser is not told the request was a HEAD, so it waits
 * for the body a Content-Length announces, and stalls. seqload sends a sequence of raw requests
 * (GET, HEAD, POST...) on each of C keep-alive connections, in order and cycling, each connection
 * starting at the first request: C clients replaying the same sequence at once. It parses the
 * answers (Content-Length, chunked, HEAD, close), and reports requests/s, latency percentiles over
 * every answer, status classes, answers whose status differs from the recorded one, errors, and
 * the mean latency of each request of the sequence (mean_us_N).
 *
 * Usage: seqload -c CONNS -t THREADS -d SECS [-T TIMEOUT_SECS] [-s] HOST PORT REQFILE
 * -s: each connection from its own loopback source address (127.1.x.y), as distinct clients.
 * REQFILE: a first line "N", then N records, each a line "LEN IS_HEAD EXPECTED_STATUS" followed
 * by LEN bytes of raw request (request line, headers, blank line, body).
 * Output: key=value lines on stdout. Built by the scripts with `cc -O2 -pthread`.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct { char *data; size_t len; int head; int expect; } req_t;

static req_t *reqs;
static int nreqs;
static struct sockaddr_in addr;
static double duration = 5, timeout_s = 10;
static double t_start, t_end;
static int spread; /* -s: each connection from its own loopback address (127.1.x.y), as distinct clients */

typedef struct {
    int fd, idx, closing, id;
    size_t woff;
    char *buf; size_t blen, bcap;
    double sent;
} conn_t;

typedef struct {
    int nconn, first;
    conn_t *conns;
    uint32_t *lat; size_t nlat, caplat;
    long status[6];
    long unexpected, err_connect, err_read, err_timeout, reconnects;
    long *mismatch; /* per request index */
    double *idx_sum; long *idx_n; /* latency per request index */
    unsigned long long bytes;
    int ep;
} thread_t;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_conn(thread_t *t, conn_t *c) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (spread) {
        struct sockaddr_in src = { .sin_family = AF_INET };
        src.sin_addr.s_addr = htonl(0x7f010000u | ((c->id / 250) << 8) | (c->id % 250 + 1));
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) { close(fd); t->err_connect++; return -1; }
    }
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { close(fd); t->err_connect++; return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    c->fd = fd; c->woff = 0; c->blen = 0; c->closing = 0;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c };
    epoll_ctl(t->ep, EPOLL_CTL_ADD, fd, &ev);
    return 0;
}

static void drop_conn(thread_t *t, conn_t *c) {
    if (c->fd >= 0) { epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); }
    c->fd = -1;
}

static int try_write(conn_t *c) {
    req_t *r = &reqs[c->idx];
    if (c->woff == 0) c->sent = now();
    while (c->woff < r->len) {
        ssize_t n = write(c->fd, r->data + c->woff, r->len - c->woff);
        if (n < 0) { if (errno == EAGAIN) return 0; return -1; }
        c->woff += n;
    }
    return 0;
}

/* Returns the total length of a complete response in c->buf, 0 if incomplete, -1 if invalid.
 * Sets *status and *close. `eof` means the peer closed: a body delimited by close ends there. */
static long parse(conn_t *c, int head, int eof, int *status, int *closeflag) {
    char *b = c->buf;
    size_t n = c->blen;
    char *end = memmem(b, n, "\r\n\r\n", 4);
    if (!end) return eof ? -1 : 0;
    size_t hlen = end - b + 4;
    if (n < 12 || strncmp(b, "HTTP/1.", 7)) return -1;
    *status = atoi(b + 9);
    long clen = -1;
    int chunked = 0;
    *closeflag = b[7] == '0';
    for (char *p = memchr(b, '\n', hlen) + 1; p < end; p = memchr(p, '\n', end + 2 - p) + 1) {
        if (!strncasecmp(p, "content-length:", 15)) clen = atol(p + 15);
        else if (!strncasecmp(p, "transfer-encoding:", 18)) chunked = strcasestr(p, "chunked") && strcasestr(p, "chunked") < (char *)memchr(p, '\n', end + 2 - p);
        else if (!strncasecmp(p, "connection:", 11)) {
            char *nl = memchr(p, '\n', end + 2 - p);
            char *cl = strcasestr(p, "close");
            if (cl && cl < nl) *closeflag = 1;
        }
    }
    if (head || *status == 204 || *status == 304 || *status < 200) return hlen;
    if (chunked) {
        size_t off = hlen;
        for (;;) {
            char *nl = memmem(b + off, n - off, "\r\n", 2);
            if (!nl) return 0;
            long sz = strtol(b + off, NULL, 16);
            off = nl - b + 2;
            if (sz == 0) {
                /* trailers end with an empty line */
                for (;;) {
                    char *e = memmem(b + off, n - off, "\r\n", 2);
                    if (!e) return 0;
                    if (e == b + off) return off + 2;
                    off = e - b + 2;
                }
            }
            if (n < off + sz + 2) return 0;
            off += sz + 2;
        }
    }
    if (clen >= 0) return n >= hlen + (size_t)clen ? (long)(hlen + clen) : 0;
    *closeflag = 1;
    return eof ? (long)n : 0;
}

static void record(thread_t *t, conn_t *c, int status) {
    double tn = now(), dt = tn - c->sent;
    if (tn > t_end) return; /* answers after the deadline are not counted */
    if (t->nlat == t->caplat) {
        t->caplat = t->caplat ? t->caplat * 2 : 65536;
        t->lat = realloc(t->lat, t->caplat * sizeof *t->lat);
    }
    t->lat[t->nlat++] = (uint32_t)(dt * 1e6);
    t->idx_sum[c->idx] += dt * 1e6;
    t->idx_n[c->idx]++;
    int cls = status / 100;
    t->status[cls >= 1 && cls <= 5 ? cls : 0]++;
    if (status != reqs[c->idx].expect) { t->unexpected++; t->mismatch[c->idx]++; }
}

/* Next request on this connection; reconnects first if needed. Returns -1 when past the end. */
static void next_request(thread_t *t, conn_t *c, int reconnect) {
    if (reconnect) { drop_conn(t, c); t->reconnects++; }
    c->idx = (c->idx + 1) % nreqs;
    c->woff = 0; c->blen = 0;
    if (now() >= t_end) { drop_conn(t, c); return; }
    if (c->fd < 0 && open_conn(t, c) < 0) return;
    if (try_write(c) < 0) { t->err_read++; drop_conn(t, c); }
}

static void on_readable(thread_t *t, conn_t *c) {
    for (;;) {
        if (c->bcap - c->blen < 65536) {
            c->bcap = c->bcap ? c->bcap * 2 : 131072;
            c->buf = realloc(c->buf, c->bcap);
        }
        ssize_t n = read(c->fd, c->buf + c->blen, c->bcap - c->blen);
        int eof = n == 0;
        if (n < 0) {
            if (errno == EAGAIN) return;
            t->err_read++;
            c->idx = (c->idx + nreqs - 1) % nreqs; /* retry the same request */
            next_request(t, c, 1);
            return;
        }
        c->blen += n;
        t->bytes += n;
        int status = 0, closeflag = 0;
        long len = parse(c, reqs[c->idx].head, eof, &status, &closeflag);
        if (len < 0 || (eof && len == 0)) {
            t->err_read++;
            c->idx = (c->idx + nreqs - 1) % nreqs;
            next_request(t, c, 1);
            return;
        }
        if (len > 0) {
            record(t, c, status);
            next_request(t, c, closeflag || eof);
            return;
        }
    }
}

static void *run(void *arg) {
    thread_t *t = arg;
    t->ep = epoll_create1(0);
    t->mismatch = calloc(nreqs, sizeof(long));
    t->idx_sum = calloc(nreqs, sizeof(double));
    t->idx_n = calloc(nreqs, sizeof(long));
    for (int i = 0; i < t->nconn; i++) {
        conn_t *c = &t->conns[i];
        c->fd = -1; c->idx = 0; c->id = t->first + i;
        if (open_conn(t, c) == 0 && try_write(c) < 0) drop_conn(t, c);
    }
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(t->ep, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->fd < 0) continue;
            if ((evs[i].events & EPOLLOUT) && c->woff < reqs[c->idx].len) {
                if (try_write(c) < 0) { t->err_read++; drop_conn(t, c); continue; }
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(t, c);
        }
        double tn = now();
        int open = 0;
        for (int i = 0; i < t->nconn; i++) {
            conn_t *c = &t->conns[i];
            if (c->fd < 0) {
                if (tn < t_end) { if (open_conn(t, c) == 0) { c->woff = 0; c->blen = 0; try_write(c); } }
                continue;
            }
            open++;
            if (tn - c->sent > timeout_s) {
                t->err_timeout++;
                c->idx = (c->idx + nreqs - 1) % nreqs;
                next_request(t, c, 1);
            } else if (tn > t_end + timeout_s) {
                drop_conn(t, c);
            }
        }
        if (!open && tn >= t_end) break;
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int conns = 32, threads = 2, opt;
    while ((opt = getopt(argc, argv, "c:t:d:T:s")) != -1) {
        if (opt == 's') spread = 1;
        if (opt == 'c') conns = atoi(optarg);
        else if (opt == 't') threads = atoi(optarg);
        else if (opt == 'd') duration = atof(optarg);
        else if (opt == 'T') timeout_s = atof(optarg);
    }
    if (argc - optind != 3) { fprintf(stderr, "usage: seqload -c N -t N -d SECS [-T SECS] [-s] HOST PORT REQFILE\n"); return 2; }
    addr.sin_family = AF_INET;
    addr.sin_port = htons(atoi(argv[optind + 1]));
    inet_pton(AF_INET, argv[optind], &addr.sin_addr);
    FILE *f = fopen(argv[optind + 2], "rb");
    if (!f || fscanf(f, "%d\n", &nreqs) != 1 || nreqs < 1) { fprintf(stderr, "bad request file\n"); return 2; }
    reqs = calloc(nreqs, sizeof *reqs);
    for (int i = 0; i < nreqs; i++) {
        if (fscanf(f, "%zu %d %d\n", &reqs[i].len, &reqs[i].head, &reqs[i].expect) != 3) { fprintf(stderr, "bad record %d\n", i); return 2; }
        reqs[i].data = malloc(reqs[i].len);
        if (fread(reqs[i].data, 1, reqs[i].len, f) != reqs[i].len) { fprintf(stderr, "short record %d\n", i); return 2; }
    }
    fclose(f);
    if (threads > conns) threads = conns;
    thread_t *ts = calloc(threads, sizeof *ts);
    pthread_t *ps = calloc(threads, sizeof *ps);
    t_start = now();
    t_end = t_start + duration;
    for (int i = 0; i < threads; i++) {
        ts[i].nconn = conns / threads + (i < conns % threads);
        ts[i].first = i == 0 ? 0 : ts[i - 1].first + ts[i - 1].nconn;
        ts[i].conns = calloc(ts[i].nconn, sizeof(conn_t));
        pthread_create(&ps[i], NULL, run, &ts[i]);
    }
    size_t total = 0;
    for (int i = 0; i < threads; i++) { pthread_join(ps[i], NULL); total += ts[i].nlat; }
    double elapsed = now() - t_start;
    uint32_t *all = malloc((total + 1) * sizeof *all);
    size_t k = 0;
    long st[6] = {0}, unexpected = 0, ec = 0, er = 0, et = 0, rc = 0;
    unsigned long long bytes = 0;
    long *mm = calloc(nreqs, sizeof(long)), *in = calloc(nreqs, sizeof(long));
    double *is = calloc(nreqs, sizeof(double));
    for (int i = 0; i < threads; i++) {
        memcpy(all + k, ts[i].lat, ts[i].nlat * sizeof *all);
        k += ts[i].nlat;
        for (int j = 0; j < 6; j++) st[j] += ts[i].status[j];
        unexpected += ts[i].unexpected; ec += ts[i].err_connect; er += ts[i].err_read;
        et += ts[i].err_timeout; rc += ts[i].reconnects; bytes += ts[i].bytes;
        for (int j = 0; j < nreqs; j++) {
            mm[j] += ts[i].mismatch[j];
            is[j] += ts[i].idx_sum[j];
            in[j] += ts[i].idx_n[j];
        }
    }
    qsort(all, total, sizeof *all, cmp_u32);
    double sum = 0;
    for (size_t i = 0; i < total; i++) sum += all[i];
#define PCT(p) (total ? all[(size_t)((total - 1) * (p))] : 0)
    printf("requests=%zu\nseconds=%.3f\nrps=%.1f\n", total, elapsed, total / duration);
    printf("lat_mean_us=%.0f\nlat_p50_us=%u\nlat_p90_us=%u\nlat_p99_us=%u\nlat_max_us=%u\n",
           total ? sum / total : 0, PCT(0.50), PCT(0.90), PCT(0.99), total ? all[total - 1] : 0);
    printf("s2xx=%ld\ns3xx=%ld\ns4xx=%ld\ns5xx=%ld\nsother=%ld\n", st[2], st[3], st[4], st[5], st[0] + st[1]);
    printf("unexpected=%ld\nerr_connect=%ld\nerr_read=%ld\nerr_timeout=%ld\nreconnects=%ld\nbytes=%llu\n",
           unexpected, ec, er, et, rc, bytes);
    for (int j = 0; j < nreqs; j++) if (mm[j]) printf("mismatch_%d=%ld\n", j, mm[j]);
    for (int j = 0; j < nreqs; j++) if (in[j]) printf("mean_us_%d=%.0f\n", j, is[j] / in[j]);
    return 0;
}
