#define _GNU_SOURCE
#include "CPortcullisSys.h"

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
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int portcullis_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int portcullis_pidfd_getfd(int pidfd, int target_fd) { return (int)syscall(SYS_pidfd_getfd, pidfd, target_fd, 0); }

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

int portcullis_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

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
