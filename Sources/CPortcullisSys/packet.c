#define _GNU_SOURCE
#include "CPortcullisSys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int portcullis_packet_socket(int ifindex, uint16_t protocol) {
    int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(protocol));
    if (fd < 0) return -1;
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(protocol);
    address.sll_ifindex = ifindex;
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

ssize_t portcullis_packet_send(int fd, int ifindex, uint16_t protocol, const uint8_t *destination, const void *bytes, size_t count) {
    struct sockaddr_ll address;
    memset(&address, 0, sizeof address);
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(protocol);
    address.sll_ifindex = ifindex;
    address.sll_halen = 6;
    memcpy(address.sll_addr, destination, 6);
    return sendto(fd, bytes, count, 0, (struct sockaddr *)&address, sizeof address);
}

ssize_t portcullis_packet_receive(int fd, void *bytes, size_t capacity, uint8_t *source, int *incoming) {
    struct sockaddr_ll address;
    socklen_t length = sizeof address;
    memset(&address, 0, sizeof address);
    ssize_t count = recvfrom(fd, bytes, capacity, 0, (struct sockaddr *)&address, &length);
    if (count < 0) return -1;
    memcpy(source, address.sll_addr, 6);
    *incoming = address.sll_pkttype != PACKET_OUTGOING;
    return count;
}
