// System calls that Swift cannot reach through Glibc: variadic syscall(2)
// is not imported, glibc wrappers for the pidfd calls are too new to rely
// on, and GNU extensions (pipe2, epoll, setns) are not imported either. Also raw
// read/openat/close that go straight to the kernel, so that a libc-level hook
// (an LD_PRELOAD library) can be detected by comparing what each path
// returns. Only PortcullisLinux's Syscalls*.swift files call these; every
// other target goes through the `Sys` wrappers there.
#ifndef CPORTCULLIS_SYS_H
#define CPORTCULLIS_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// pidfd_open(2): a file descriptor for process `pid`. Returns -1 and sets errno on failure.
int portcullis_pidfd_open(pid_t pid);

/// pidfd_getfd(2): a duplicate, in this process, of descriptor `target_fd`
/// of the process behind `pidfd` (needs PTRACE_MODE_ATTACH_REALCREDS:
/// root, or the same user without Yama restrictions). Close-on-exec.
int portcullis_pidfd_getfd(int pidfd, int target_fd);

/// pidfd_send_signal(2): sends `sig` to the process behind `pidfd`, which
/// cannot be a recycled pid. Returns -1 and sets errno on failure.
int portcullis_pidfd_send_signal(int pidfd, int sig);

/// setns(2) (a GNU extension the Glibc module does not import): moves the
/// calling thread into the namespace open at `fd`, of type `nstype`
/// (CLONE_NEWNET). Returns -1 and sets errno on failure.
int portcullis_setns(int fd, int nstype);

/// openat(2) as a raw system call, bypassing libc symbol lookup.
int portcullis_raw_openat(int dirfd, const char *path, int flags);

/// read(2) as a raw system call.
ssize_t portcullis_raw_read(int fd, void *buffer, size_t count);

/// close(2) as a raw system call.
int portcullis_raw_close(int fd);

/// getauxval(AT_BASE): the dynamic loader's address, 0 in a static program.
unsigned long portcullis_loader_base(void);

/// epoll(7), which Swift's Glibc module does not import (and whose event
/// struct is packed on x86-64): registration by token, and a wait that
/// fills plain arrays. Return -1 and set errno on failure.
enum {
    PORTCULLIS_EPOLLIN = 0x001,
    PORTCULLIS_EPOLLOUT = 0x004,
    PORTCULLIS_EPOLLERR = 0x008,
    PORTCULLIS_EPOLLHUP = 0x010,
};
int portcullis_epoll_create(void);
int portcullis_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
int portcullis_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token);
int portcullis_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms);

/// SIGINT and SIGTERM handling for long-running commands (watch): the
/// handler records the signal and writes one byte to a close-on-exec pipe,
/// whose read end (returned) a poll(2) wakes on. A second signal of either
/// kind restores the default action and re-raises it, so a stuck program
/// still ends. Returns -1 and sets errno on failure.
int portcullis_stop_signals_install(void);
/// The first stop signal received (SIGINT or SIGTERM), 0 when none yet.
int portcullis_stop_signal_received(void);

/// pipe2(2) with O_CLOEXEC: both ends close-on-exec from the start (a child
/// spawned meanwhile by another thread inherits neither). Returns -1 and sets
/// errno on failure.
int portcullis_pipe_cloexec(int fds[2]);

/// glibc's malloc_trim(0) and mallopt(M_ARENA_MAX, count), which the Glibc
/// module does not import (<malloc.h> is not in it): give freed heap pages
/// back to the kernel in every arena, and cap the number of arenas. Both do
/// nothing where the C library is not glibc (musl returns pages itself).
void portcullis_heap_trim(void);
void portcullis_heap_limit_arenas(int count);

/// Batched bind probes through io_uring (Linux 6.11+ for IORING_OP_BIND):
/// for each port, socket + bind of the wildcard address + close, the three
/// linked, a whole batch in one io_uring_enter(2). The kernel does the same
/// work as with the system calls, minus one kernel entry per call and the
/// descriptor table (the sockets are io_uring direct descriptors).
typedef struct portcullis_bind_ring portcullis_bind_ring;
/// A ring for batches of up to `capacity` ports (at most 256); NULL (errno
/// set) when io_uring is unavailable, forbidden or lacks socket/bind ops.
portcullis_bind_ring *portcullis_bind_ring_open(unsigned capacity);
void portcullis_bind_ring_close(portcullis_bind_ring *ring);
/// Probes ports[0..<count] with sockets of `domain` (AF_INET binds
/// 0.0.0.0, AF_INET6 binds ::, dual-stack unless net.ipv6.bindv6only) and
/// `type` (SOCK_STREAM or SOCK_DGRAM). results[i]: 0 when the bind succeeded
/// (the port was free), else -errno of the bind, or of the socket call when
/// that failed (then socket_failed[i] is 1). Returns 0, or -errno when the
/// ring itself failed (no result is then valid).
int portcullis_bind_ring_probe(portcullis_bind_ring *ring, int domain, int type, const uint16_t *ports, int count,
                               int32_t *results, uint8_t *socket_failed);

/// AF_PACKET link-layer sockets for ARP (<netpacket/packet.h> is not in the
/// Glibc module). A SOCK_DGRAM packet socket for EtherType `protocol`
/// (host order) bound to interface `ifindex`, non-blocking and
/// close-on-exec: the kernel adds and strips the Ethernet header. Returns
/// -1 and sets errno on failure.
int portcullis_packet_socket(int ifindex, uint16_t protocol);
/// Sends `bytes` to link-layer address `destination` (6 bytes) on
/// interface `ifindex` as EtherType `protocol`. Returns the byte count, or
/// -1 with errno set.
ssize_t portcullis_packet_send(int fd, int ifindex, uint16_t protocol, const uint8_t *destination, const void *bytes, size_t count);
/// Receives one frame's payload; `source` (6 bytes) gets the sender's
/// link-layer address and `*incoming` 1 unless the frame is one this host
/// sent (PACKET_OUTGOING). Returns the byte count, or -1 with errno set.
ssize_t portcullis_packet_receive(int fd, void *bytes, size_t capacity, uint8_t *source, int *incoming);

#endif
