/*
 * peer.h: the socket side of the test programs that speak memreclaimd's
 * protocol by hand (mrdpoke.c, prof_peer.c): connecting to the daemon and
 * reading one frame with a timeout.  Encoding and decoding are the shared
 * codec's (common/protocol.h).
 */
#ifndef MR_TEST_PEER_H
#define MR_TEST_PEER_H

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <memreclaim/protocol.h>
#include "common/protocol.h"

/* A SOCK_SEQPACKET connection to the daemon at path; its fd, or -1. */
static inline int
peer_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The next frame within ms, its type; 0 on timeout or an undecodable
 * frame, -1 when the daemon closed the connection (a close with our
 * frames unread resets it, so the BYE before it may not be readable). */
static inline int
peer_recv(int fd, int ms, struct mr_proto_msg *m)
{
	unsigned char buf[MR_PROTO_MAX_FRAME + 1];
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return 0;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		return -1;
	if (mrc_proto_decode(buf, (size_t)n, m) < 0)
		return 0;
	return m->hdr.type;
}

#endif
