/*
 * memreclaim/protocol.h: the memreclaimd wire protocol (SOCK_SEQPACKET).
 * Filled in by the daemon work (issue 5); see memreclaim(7).
 */
#ifndef MEMRECLAIM_PROTOCOL_H
#define MEMRECLAIM_PROTOCOL_H
#endif
