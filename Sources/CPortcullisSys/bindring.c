#define _GNU_SOURCE
#include "CPortcullisSys.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// Newer than some installed kernel headers; the values are the kernel's ABI.
#define PORTCULLIS_IORING_OP_BIND 56
#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif
#ifndef IORING_SETUP_COOP_TASKRUN
#define IORING_SETUP_COOP_TASKRUN (1U << 8)
#endif
#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IOSQE_CQE_SKIP_SUCCESS
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)
#endif

enum { OP_SOCKET = 1, OP_BIND = 2, OP_CLOSE = 3 };

struct portcullis_bind_ring {
    int fd;
    unsigned capacity;
    unsigned *sq_head, *sq_tail, *sq_mask, *sq_array;
    unsigned *cq_head, *cq_tail, *cq_mask;
    struct io_uring_sqe *sqes;
    struct io_uring_cqe *cqes;
    void *map;  // both rings (IORING_FEAT_SINGLE_MMAP)
    size_t map_size, sqes_size;
    struct sockaddr_in6 *addresses;  // one per slot, read by the kernel during the batch
};

void portcullis_bind_ring_close(portcullis_bind_ring *ring) {
    if (!ring) return;
    if (ring->sqes) munmap(ring->sqes, ring->sqes_size);
    if (ring->map) munmap(ring->map, ring->map_size);
    if (ring->fd >= 0) close(ring->fd);
    free(ring->addresses);
    free(ring);
}

// Whether the kernel knows socket, bind and close as io_uring operations.
static int supports_probe_ops(int fd) {
    size_t size = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
    struct io_uring_probe *probe = calloc(1, size);
    if (!probe) return 0;
    int ok = syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, probe, 256) == 0;
    const unsigned ops[] = {IORING_OP_SOCKET, PORTCULLIS_IORING_OP_BIND, IORING_OP_CLOSE};
    for (unsigned i = 0; ok && i < sizeof ops / sizeof ops[0]; i++)
        ok = ops[i] <= probe->last_op && (probe->ops[ops[i]].flags & IO_URING_OP_SUPPORTED);
    free(probe);
    return ok;
}

portcullis_bind_ring *portcullis_bind_ring_open(unsigned capacity) {
    if (capacity == 0 || capacity > 256) {
        errno = EINVAL;
        return NULL;
    }
    portcullis_bind_ring *ring = calloc(1, sizeof *ring);
    if (!ring) return NULL;
    ring->fd = -1;
    ring->capacity = capacity;
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    params.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
    ring->fd = (int)syscall(__NR_io_uring_setup, capacity * 3, &params);
    if (ring->fd < 0) goto fail;
    if (!supports_probe_ops(ring->fd) || !(params.features & IORING_FEAT_SINGLE_MMAP)) {
        errno = ENOSYS;
        goto fail;
    }
    ring->map_size = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_size = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    if (cq_size > ring->map_size) ring->map_size = cq_size;
    ring->map = mmap(NULL, ring->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring->fd, IORING_OFF_SQ_RING);
    if (ring->map == MAP_FAILED) {
        ring->map = NULL;
        goto fail;
    }
    ring->sqes_size = params.sq_entries * sizeof(struct io_uring_sqe);
    ring->sqes = mmap(NULL, ring->sqes_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring->fd, IORING_OFF_SQES);
    if (ring->sqes == MAP_FAILED) {
        ring->sqes = NULL;
        goto fail;
    }
    char *sq = ring->map, *cq = ring->map;
    ring->sq_head = (unsigned *)(sq + params.sq_off.head);
    ring->sq_tail = (unsigned *)(sq + params.sq_off.tail);
    ring->sq_mask = (unsigned *)(sq + params.sq_off.ring_mask);
    ring->sq_array = (unsigned *)(sq + params.sq_off.array);
    ring->cq_head = (unsigned *)(cq + params.cq_off.head);
    ring->cq_tail = (unsigned *)(cq + params.cq_off.tail);
    ring->cq_mask = (unsigned *)(cq + params.cq_off.ring_mask);
    ring->cqes = (struct io_uring_cqe *)(cq + params.cq_off.cqes);
    // A sparse table of direct descriptors, one slot per port of a batch.
    int files[256];
    for (unsigned i = 0; i < capacity; i++) files[i] = -1;
    if (syscall(__NR_io_uring_register, ring->fd, IORING_REGISTER_FILES, files, capacity) < 0) goto fail;
    ring->addresses = calloc(capacity, sizeof *ring->addresses);
    if (!ring->addresses) goto fail;
    return ring;
fail:;
    int saved = errno;
    portcullis_bind_ring_close(ring);
    errno = saved;
    return NULL;
}

static struct io_uring_sqe *next_sqe(portcullis_bind_ring *ring, unsigned *tail) {
    unsigned index = *tail & *ring->sq_mask;
    struct io_uring_sqe *sqe = &ring->sqes[index];
    memset(sqe, 0, sizeof *sqe);
    ring->sq_array[index] = index;
    (*tail)++;
    return sqe;
}

int portcullis_bind_ring_probe(portcullis_bind_ring *ring, int domain, int type, const uint16_t *ports, int count,
                               int32_t *results, uint8_t *socket_failed) {
    if (count < 0 || (unsigned)count > ring->capacity || (domain != AF_INET && domain != AF_INET6)) return -EINVAL;
    if (count == 0) return 0;
    unsigned tail = *ring->sq_tail;
    for (int i = 0; i < count; i++) {
        struct sockaddr_in6 *address = &ring->addresses[i];
        memset(address, 0, sizeof *address);
        socklen_t length;
        if (domain == AF_INET6) {
            address->sin6_family = AF_INET6;
            address->sin6_port = htons(ports[i]);
            length = sizeof(struct sockaddr_in6);
        } else {
            struct sockaddr_in *v4 = (struct sockaddr_in *)address;
            v4->sin_family = AF_INET;
            v4->sin_port = htons(ports[i]);
            length = sizeof(struct sockaddr_in);
        }
        results[i] = 0;
        socket_failed[i] = 0;
        // Hard links: each runs after the one before, whatever its result,
        // so the slot is always closed again.
        struct io_uring_sqe *sqe = next_sqe(ring, &tail);
        sqe->opcode = IORING_OP_SOCKET;
        sqe->fd = domain;
        sqe->off = (unsigned)type;  // a direct descriptor has no fd, so no close-on-exec
        sqe->file_index = (unsigned)i + 1;
        sqe->flags = IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
        sqe->user_data = (uint64_t)OP_SOCKET << 32 | (unsigned)i;
        sqe = next_sqe(ring, &tail);
        sqe->opcode = PORTCULLIS_IORING_OP_BIND;
        sqe->fd = i;
        sqe->addr = (uint64_t)(uintptr_t)address;
        sqe->addr2 = length;
        sqe->flags = IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
        sqe->user_data = (uint64_t)OP_BIND << 32 | (unsigned)i;
        sqe = next_sqe(ring, &tail);
        sqe->opcode = IORING_OP_CLOSE;
        sqe->file_index = (unsigned)i + 1;
        sqe->flags = 0;  // its completion is waited for: the slot is free for the next batch
        sqe->user_data = (uint64_t)OP_CLOSE << 32 | (unsigned)i;
    }
    __atomic_store_n(ring->sq_tail, tail, __ATOMIC_RELEASE);
    // Done when every port's bind and close have completed (socket calls
    // post only failures). The CQ (twice the SQ) holds all three per port.
    unsigned to_submit = (unsigned)count * 3;
    int binds_seen = 0, closes_seen = 0;
    while (binds_seen < count || closes_seen < count) {
        long rc = syscall(__NR_io_uring_enter, ring->fd, to_submit, 1, IORING_ENTER_GETEVENTS, NULL, 0);
        if (rc < 0 && errno != EINTR && errno != EAGAIN && errno != EBUSY) return -errno;
        // EINTR, EAGAIN (no memory for a request now), EBUSY (completions to
        // reap first): reap what is there and enter again.
        if (rc > 0) to_submit -= (unsigned)rc < to_submit ? (unsigned)rc : to_submit;
        unsigned head = *ring->cq_head;
        unsigned cq_tail = __atomic_load_n(ring->cq_tail, __ATOMIC_ACQUIRE);
        for (; head != cq_tail; head++) {
            struct io_uring_cqe *cqe = &ring->cqes[head & *ring->cq_mask];
            unsigned op = (unsigned)(cqe->user_data >> 32), i = (unsigned)(cqe->user_data & 0xffffffffu);
            if (i >= (unsigned)count) continue;
            if (op == OP_SOCKET) {  // only failures are posted
                socket_failed[i] = 1;
                results[i] = cqe->res;
            } else if (op == OP_BIND) {
                if (!socket_failed[i]) results[i] = cqe->res;
                binds_seen++;
            } else if (op == OP_CLOSE) {
                closes_seen++;  // a failed close only follows a failed socket: the slot was empty
            }
        }
        __atomic_store_n(ring->cq_head, head, __ATOMIC_RELEASE);
    }
    return 0;
}
