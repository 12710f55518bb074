#define _GNU_SOURCE
#include "CPortcullisSys.h"

#include <sched.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(PORTCULLIS_EPOLLIN == EPOLLIN && PORTCULLIS_EPOLLOUT == EPOLLOUT && PORTCULLIS_EPOLLERR == EPOLLERR &&
                   PORTCULLIS_EPOLLHUP == EPOLLHUP,
               "epoll constants");

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int portcullis_setns(int fd, int nstype) { return setns(fd, nstype); }

int portcullis_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int portcullis_pidfd_getfd(int pidfd, int target_fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0); }

int portcullis_pidfd_send_signal(int pidfd, int sig) { return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0); }

int portcullis_raw_openat(int dirfd, const char *path, int flags) { return (int)syscall(SYS_openat, dirfd, path, flags, 0); }

ssize_t portcullis_raw_read(int fd, void *buffer, size_t count) { return (ssize_t)syscall(SYS_read, fd, buffer, count); }

int portcullis_raw_close(int fd) { return (int)syscall(SYS_close, fd); }

int portcullis_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int control(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event = {.events = events, .data = {.u64 = token}};
    return epoll_ctl(epfd, op, fd, &event);
}

int portcullis_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) { return control(epfd, EPOLL_CTL_ADD, fd, events, token); }

int portcullis_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token) { return control(epfd, EPOLL_CTL_MOD, fd, events, token); }

int portcullis_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event ready[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epfd, ready, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = ready[i].data.u64;
        events[i] = ready[i].events;
    }
    return n;
}

unsigned long portcullis_loader_base(void) { return getauxval(AT_BASE); }

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_signal = 0;
static int stop_pipe[2] = {-1, -1};

static void stop_handler(int signo) {
    if (stop_signal != 0) {
        signal(signo, SIG_DFL);
        raise(signo);
        return;
    }
    stop_signal = signo;
    int saved = errno;
    if (stop_pipe[1] >= 0) {
        char byte = 1;
        ssize_t ignored = write(stop_pipe[1], &byte, 1);
        (void)ignored;
    }
    errno = saved;
}

int portcullis_stop_signals_install(void) {
    if (stop_pipe[0] >= 0) return stop_pipe[0];
    if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = stop_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0) return -1;
    // A parent may have left them blocked (the mask survives exec).
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    if (sigprocmask(SIG_UNBLOCK, &stops, NULL) != 0) return -1;
    return stop_pipe[0];
}

int portcullis_stop_signal_received(void) { return stop_signal; }

int portcullis_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

#if defined(__GLIBC__)
#include <malloc.h>
void portcullis_heap_trim(void) { (void)malloc_trim(0); }
void portcullis_heap_limit_arenas(int count) { (void)mallopt(M_ARENA_MAX, count); }
#else
void portcullis_heap_trim(void) {}
void portcullis_heap_limit_arenas(int count) { (void)count; }
#endif
