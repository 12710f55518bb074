#define _GNU_SOURCE
#include "CPortcullisSys.h"

#include <sys/syscall.h>
#include <unistd.h>

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
