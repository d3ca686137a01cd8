/*
 * protocol.c: the one codec of the memreclaimd wire protocol (see
 * common/protocol.h and include/memreclaim/protocol.h).
 *
 * Pure byte shuffling: no allocation, no stdio, no globals, so the library
 * links it into libmemreclaim.so and calls it on its scavenger thread.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "protocol.h"

/* Payload size of a type in this version, 0 for an unknown type. */
size_t
mrc_proto_payload_size(uint16_t type)
{
	switch (type) {
	case MR_MSG_HELLO:
		return sizeof(struct mr_proto_hello);
	case MR_MSG_STATS:
		return sizeof(struct mr_proto_stats);
	case MR_MSG_TRIM:
		return sizeof(struct mr_proto_trim);
	case MR_MSG_TRIM_DONE:
		return sizeof(struct mr_proto_trim_done);
	case MR_MSG_LIMIT:
		return sizeof(struct mr_proto_limit);
	case MR_MSG_BYE:
		return sizeof(struct mr_proto_bye);
	case MR_MSG_PROF_REQUEST:
		return sizeof(struct mr_proto_prof_request);
	case MR_MSG_PROF_DATA:
		return sizeof(struct mr_proto_prof_data);
	case MR_MSG_PROF_END:
		return sizeof(struct mr_proto_prof_end);
	case MR_MSG_CTL_REQUEST:
		return sizeof(struct mr_proto_ctl_request);
	case MR_MSG_CTL_STATUS:
		return sizeof(struct mr_proto_ctl_status);
	case MR_MSG_CTL_CLIENT:
		return sizeof(struct mr_proto_ctl_client);
	case MR_MSG_CTL_CGROUP:
		return sizeof(struct mr_proto_ctl_cgroup);
	case MR_MSG_CTL_DONE:
		return sizeof(struct mr_proto_ctl_done);
	case MR_MSG_CTL_TEXT:
		return sizeof(struct mr_proto_ctl_text);
	default:
		return 0;
	}
}

/* 1 if a library client may send this type, 0 otherwise. */
int
mrc_proto_from_client(uint16_t type)
{
	return type == MR_MSG_HELLO || type == MR_MSG_STATS ||
	       type == MR_MSG_TRIM_DONE || type == MR_MSG_BYE ||
	       type == MR_MSG_PROF_DATA || type == MR_MSG_PROF_END;
}

/* 1 if a string field is NUL-terminated within its n bytes and zero
 * after the NUL (so no stale memory travels), else 0. */
static int
proto_str_ok(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] != '\0')
		i++;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] != '\0')
			return 0;
	return 1;
}

static int
proto_prof_kind_ok(uint64_t kind)
{
	uint64_t k = kind & ~(uint64_t)MR_PROF_KIND_TEXT;

	return k == MR_PROF_KIND_INUSE || k == MR_PROF_KIND_ALLOC;
}

static int
proto_prof_check(const struct mr_proto_msg *m)
{
	const struct mr_proto_prof_data *pd = &m->u.prof_data;
	uint32_t i;

	switch (m->hdr.type) {
	case MR_MSG_PROF_REQUEST:
		if (m->u.prof_request.op == MR_PROF_OP_DUMP)
			return proto_prof_kind_ok(m->u.prof_request.kind) &&
				       m->u.prof_request.interval_bytes == 0
				   ? 0
				   : -EINVAL;
		if (m->u.prof_request.op == MR_PROF_OP_SET)
			return m->u.prof_request.kind == 0 ? 0 : -EINVAL;
		return -EINVAL;
	case MR_MSG_PROF_DATA:
		if (pd->len == 0 || pd->len > MR_PROTO_PROF_CHUNK ||
		    pd->reserved != 0)
			return -EINVAL;
		for (i = pd->len; i < MR_PROTO_PROF_CHUNK; i++)
			if (pd->data[i] != 0)
				return -EINVAL;
		return 0;
	default: /* MR_MSG_PROF_END */
		if (m->u.prof_end.status > 0 || m->u.prof_end.status < -4095 ||
		    m->u.prof_end.reserved != 0 ||
		    m->u.prof_end.bytes > MR_PROTO_PROF_MAX)
			return -EINVAL;
		return 0;
	}
}

/* Check the fields of a payload already copied into m: 0 or -EINVAL. */
int
mrc_proto_check_payload(const struct mr_proto_msg *m)
{
	switch (m->hdr.type) {
	case MR_MSG_HELLO:
		if (m->u.hello.reserved != 0 ||
		    (m->u.hello.features & ~MR_FEAT_ALL) != 0 ||
		    m->u.hello.stats_interval_ms == 0)
			return -EINVAL;
		return 0;
	case MR_MSG_STATS:
		if (m->u.stats.reserved != 0 || m->u.stats.purge_backend > 3)
			return -EINVAL;
		return 0;
	case MR_MSG_TRIM:
		if (m->u.trim.bytes == 0 ||
		    (m->u.trim.urgency != MR_PROTO_URGENCY_LAZY &&
		     m->u.trim.urgency != MR_PROTO_URGENCY_NOW))
			return -EINVAL;
		return 0;
	case MR_MSG_TRIM_DONE:
		if (m->u.trim_done.backend > 3 || m->u.trim_done.error > 0 ||
		    m->u.trim_done.error < -4095)
			return -EINVAL;
		return 0;
	case MR_MSG_LIMIT:
		return 0;
	case MR_MSG_BYE:
		if (m->u.bye.reason > MR_BYE_MAX || m->u.bye.reserved != 0)
			return -EINVAL;
		return 0;
	case MR_MSG_PROF_REQUEST:
	case MR_MSG_PROF_DATA:
	case MR_MSG_PROF_END:
		return proto_prof_check(m);
	case MR_MSG_CTL_REQUEST: {
		const struct mr_proto_ctl_request *r = &m->u.ctl_request;

		if (r->cmd == 0 || r->cmd > MR_CTL_CMD_MAX ||
		    (r->flags & ~MR_CTL_F_WAIT) != 0 ||
		    !proto_str_ok(r->cgroup, sizeof(r->cgroup)))
			return -EINVAL;
		if (r->flags != 0 && r->cmd != MR_CTL_TRIM_PID &&
		    r->cmd != MR_CTL_TRIM_CGROUP)
			return -EINVAL;
		if (r->cmd == MR_CTL_CONFIG) {
			if (r->pid != 0 || r->bytes != 0 || r->urgency != 0 ||
			    r->cgroup[0] != '/')
				return -EINVAL;
		} else if (r->cmd == MR_CTL_TRIM_PID ||
			   r->cmd == MR_CTL_TRIM_CGROUP) {
			if (r->bytes == 0 ||
			    (r->urgency != MR_PROTO_URGENCY_LAZY &&
			     r->urgency != MR_PROTO_URGENCY_NOW))
				return -EINVAL;
			if (r->cmd == MR_CTL_TRIM_PID && r->pid <= 0)
				return -EINVAL;
			if (r->cmd == MR_CTL_TRIM_CGROUP && r->cgroup[0] != '/')
				return -EINVAL;
		} else if (r->cmd == MR_CTL_PROFILE ||
			   r->cmd == MR_CTL_PROF_SET) {
			if (r->pid <= 0 || r->urgency != 0 ||
			    r->cgroup[0] != '\0' ||
			    (r->cmd == MR_CTL_PROFILE &&
			     !proto_prof_kind_ok(r->bytes)))
				return -EINVAL;
		} else if (r->pid != 0 || r->bytes != 0 || r->urgency != 0 ||
			   r->cgroup[0] != '\0') {
			return -EINVAL;
		}
		return 0;
	}
	case MR_MSG_CTL_STATUS:
		return 0;
	case MR_MSG_CTL_CLIENT:
		if (!proto_str_ok(m->u.ctl_client.cgroup,
				  sizeof(m->u.ctl_client.cgroup)))
			return -EINVAL;
		return 0;
	case MR_MSG_CTL_CGROUP:
		if (!proto_str_ok(m->u.ctl_cgroup.path,
				  sizeof(m->u.ctl_cgroup.path)) ||
		    m->u.ctl_cgroup.psi_mode > MR_PSI_MODE_POLL)
			return -EINVAL;
		return 0;
	case MR_MSG_CTL_DONE:
		if (m->u.ctl_done.status > 0 ||
		    !proto_str_ok(m->u.ctl_done.message,
				  sizeof(m->u.ctl_done.message)))
			return -EINVAL;
		return 0;
	case MR_MSG_CTL_TEXT:
		if (m->u.ctl_text.kind == 0 ||
		    m->u.ctl_text.kind > MR_CTL_TEXT_MAX ||
		    (m->u.ctl_text.kind == MR_CTL_TEXT_COMM) !=
			(m->u.ctl_text.pid > 0) ||
		    (m->u.ctl_text.kind != MR_CTL_TEXT_COMM &&
		     m->u.ctl_text.pid != 0) ||
		    !proto_str_ok(m->u.ctl_text.text,
				  sizeof(m->u.ctl_text.text)))
			return -EINVAL;
		return 0;
	default:
		return -EPROTO;
	}
}

/*
 * Validate one received frame of len bytes and copy it into *out.
 * Returns the frame type (> 0) or:
 *   -EBADMSG  shorter than a header, or wrong magic
 *   -EPROTO   other protocol version, or unknown type
 *   -EMSGSIZE header length differs from len, or from the type's size
 *   -EINVAL   a field out of range (see mrc_proto_check_payload)
 */
int
mrc_proto_decode(const void *buf, size_t len, struct mr_proto_msg *out)
{
	size_t psize;

	if (buf == NULL || out == NULL || len < sizeof(struct mr_proto_hdr))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	memcpy(&out->hdr, buf, sizeof(out->hdr));
	if (out->hdr.magic != MR_PROTO_MAGIC)
		return -EBADMSG;
	if (out->hdr.version != MR_PROTO_VERSION)
		return -EPROTO;
	psize = mrc_proto_payload_size(out->hdr.type);
	if (psize == 0)
		return -EPROTO;
	if (len > MR_PROTO_MAX_FRAME || out->hdr.length != len ||
	    len != sizeof(struct mr_proto_hdr) + psize)
		return -EMSGSIZE;
	memcpy(&out->u, (const char *)buf + sizeof(struct mr_proto_hdr), psize);
	{
		int rc = mrc_proto_check_payload(out);

		if (rc < 0)
			return rc;
	}
	return out->hdr.type;
}

/*
 * Encode a frame of `type` with payload p (the matching mr_proto_* struct)
 * into buf.  The payload is validated as the receiver would, so a sender
 * cannot emit a frame its peer must reject.  Returns the frame length or
 * -ENOBUFS / -EPROTO / -EINVAL.
 */
int
mrc_proto_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
		 const void *p)
{
	struct mr_proto_msg m;
	size_t psize = mrc_proto_payload_size(type);
	int rc;

	if (psize == 0 || p == NULL)
		return -EPROTO;
	if (buf == NULL || len < sizeof(struct mr_proto_hdr) + psize)
		return -ENOBUFS;
	memset(&m, 0, sizeof(m));
	m.hdr.magic = MR_PROTO_MAGIC;
	m.hdr.version = MR_PROTO_VERSION;
	m.hdr.type = type;
	m.hdr.length = (uint32_t)(sizeof(struct mr_proto_hdr) + psize);
	m.hdr.seq = seq;
	memcpy(&m.u, p, psize);
	rc = mrc_proto_check_payload(&m);
	if (rc < 0)
		return rc;
	memcpy(buf, &m.hdr, sizeof(m.hdr));
	memcpy((char *)buf + sizeof(m.hdr), &m.u, psize);
	return (int)m.hdr.length;
}

/* Typed wrappers: the usual way to build a frame. */
int
mrc_proto_encode_hello(void *buf, size_t len, uint32_t seq,
		       const struct mr_proto_hello *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_HELLO, seq, p);
}

int
mrc_proto_encode_stats(void *buf, size_t len, uint32_t seq,
		       const struct mr_proto_stats *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_STATS, seq, p);
}

int
mrc_proto_encode_trim(void *buf, size_t len, uint32_t seq,
		      const struct mr_proto_trim *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_TRIM, seq, p);
}

int
mrc_proto_encode_trim_done(void *buf, size_t len, uint32_t seq,
			   const struct mr_proto_trim_done *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_TRIM_DONE, seq, p);
}

int
mrc_proto_encode_limit(void *buf, size_t len, uint32_t seq,
		       const struct mr_proto_limit *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_LIMIT, seq, p);
}

int
mrc_proto_encode_bye(void *buf, size_t len, uint32_t seq,
		     const struct mr_proto_bye *p)
{
	return mrc_proto_encode(buf, len, MR_MSG_BYE, seq, p);
}
