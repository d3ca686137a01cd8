/*
 * fuzz_protocol.c: the wire codec (common/protocol.c).  Any bytes go to
 * mrc_proto_decode; a frame it accepts must encode again to the same bytes
 * and decode to the same message (encode validates exactly as decode).
 */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/protocol.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char buf[MR_PROTO_MAX_FRAME];
	struct mr_proto_msg m, m2;
	int n;

	if (mrc_proto_decode(data, size, &m) < 0)
		return 0;
	n = mrc_proto_encode(buf, sizeof(buf), m.hdr.type, m.hdr.seq, &m.u);
	if (n < 0)
		abort(); /* decode took what encode refuses */
	if (mrc_proto_decode(buf, (size_t)n, &m2) < 0)
		abort();
	if (m2.hdr.type != m.hdr.type || m2.hdr.seq != m.hdr.seq ||
	    memcmp(&m2.u, &m.u, (size_t)n - sizeof(struct mr_proto_hdr)) != 0)
		abort();
	return 0;
}
