/*
 * memreclaim/protocol.h: the memreclaimd wire protocol, and its one codec.
 *
 * Transport: a SOCK_SEQPACKET Unix socket (default MR_PROTO_SOCKET_PATH,
 * mode 0660).  One datagram is exactly one frame; the kernel keeps frame
 * boundaries, so there is no stream reassembly.  Both ends run on the same
 * host, so integers are fixed-width in host byte order.  The peer's pid and
 * uid come from SO_PEERCRED, never from a payload.
 *
 * Every frame is a 16-byte header followed by a payload whose size is fixed
 * by (version, type).  Decoding is strict: wrong magic, version, type,
 * length, a non-zero reserved field, an unterminated string or an
 * out-of-range enum make the whole frame invalid (-EBADMSG, -EPROTO,
 * -EMSGSIZE or -EINVAL) and the daemon disconnects the sender.  A later
 * protocol version gets a new MR_PROTO_VERSION; a peer speaking another
 * version is refused at HELLO (the daemon answers BYE MR_BYE_VERSION).
 *
 * Conversation of a library client:
 *
 *	client                         memreclaimd
 *	HELLO (version, features) ---->
 *	STATS (every interval)    ---->   sample, decide
 *	                          <----   TRIM (bytes, urgency, deadline)
 *	TRIM_DONE (released, ns)  ---->
 *	                          <----   LIMIT (soft limit, 0 = none)
 *	BYE                       <--->   (either side, then close)
 *
 * A client needs nothing else: it sends HELLO once, STATS periodically,
 * answers each TRIM with a TRIM_DONE carrying the TRIM's sequence number,
 * and applies each LIMIT.  memreclaimctl uses the same socket with the
 * CTL_* frames (only root or the socket's group may; see memreclaim(7)).
 *
 * The encode functions return the frame length written (> 0) or -errno
 * (-ENOBUFS when buf is too small, -EINVAL for a bad field).  Decoding is
 * mr_proto_decode(), which validates and copies one frame into a struct
 * mr_proto_msg and returns its type (> 0) or -errno.  All are static inline
 * so the library and the daemon share this code without sharing an object.
 */
#ifndef MEMRECLAIM_PROTOCOL_H
#define MEMRECLAIM_PROTOCOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MR_PROTO_MAGIC 0x4d52434cu /* "MRCL" */
#define MR_PROTO_VERSION 1
#define MR_PROTO_SOCKET_PATH "/run/memreclaim/memreclaimd.sock"
#define MR_PROTO_SOCKET_ENV "MEMRECLAIM_SOCKET"
/* No valid frame is longer; receivers read into a buffer one byte larger
 * so that an oversized datagram is seen as such (recv returns more). */
#define MR_PROTO_MAX_FRAME 1024
#define MR_PROTO_CGROUP_MAX 256 /* cgroup path incl. NUL */
#define MR_PROTO_TEXT_MAX 128	/* CTL_DONE message incl. NUL */

enum mr_proto_type {
	MR_MSG_HELLO = 1,	 /* client -> daemon: register */
	MR_MSG_STATS = 2,	 /* client -> daemon: heap figures */
	MR_MSG_TRIM = 3,	 /* daemon -> client: release bytes */
	MR_MSG_TRIM_DONE = 4,	 /* client -> daemon: answer to TRIM */
	MR_MSG_LIMIT = 5,	 /* daemon -> client: new soft limit */
	MR_MSG_BYE = 6,		 /* either way: closing */
	MR_MSG_CTL_REQUEST = 16, /* memreclaimctl -> daemon */
	MR_MSG_CTL_STATUS = 17,	 /* daemon -> ctl: status record */
	MR_MSG_CTL_CLIENT = 18,	 /* daemon -> ctl: one per client */
	MR_MSG_CTL_CGROUP = 19,	 /* daemon -> ctl: one per cgroup */
	MR_MSG_CTL_DONE = 20,	 /* daemon -> ctl: end of reply, status */
};

/* Fixed header.  length is the whole frame (header + payload) in bytes. */
struct mr_proto_hdr {
	uint32_t magic;	  /* MR_PROTO_MAGIC */
	uint16_t version; /* MR_PROTO_VERSION */
	uint16_t type;	  /* enum mr_proto_type */
	uint32_t length;  /* bytes, header included */
	uint32_t seq;	  /* sender's counter; TRIM_DONE echoes TRIM's */
};

/* Feature bits a client announces in HELLO. */
#define MR_FEAT_TRIM_LAZY 0x1u /* can release with MADV_FREE */
#define MR_FEAT_TRIM_NOW 0x2u  /* can release with MADV_DONTNEED */
#define MR_FEAT_LIMIT 0x4u     /* honours LIMIT */
#define MR_FEAT_ALL 0x7u

struct mr_proto_hello {
	uint32_t lib_version; /* MR_PROTO_LIBVERSION(major, minor, patch) */
	uint32_t features;    /* MR_FEAT_* */
	uint32_t stats_interval_ms; /* how often STATS will come, > 0 */
	uint32_t reserved;	    /* 0 */
};
#define MR_PROTO_LIBVERSION(maj, min, pat)                                     \
	(((uint32_t)(maj) << 16) | ((uint32_t)(min) << 8) | (uint32_t)(pat))

/* Heap figures, the same meaning as the fields of struct mr_stats. */
struct mr_proto_stats {
	uint64_t allocated_bytes;
	uint64_t in_use_bytes;
	uint64_t idle_bytes; /* free, still backed: what a trim can take */
	uint64_t released_bytes;
	uint64_t lazy_freed_bytes;
	uint64_t mapped_bytes;
	uint64_t retained_bytes;
	uint64_t rss_bytes;
	uint64_t limit_bytes; /* soft limit in force, 0 = none */
	uint64_t trims_received;
	uint32_t purge_backend; /* enum mr_purge_backend */
	uint32_t reserved;	/* 0 */
};

/* Urgency of a trim, the values of enum mr_urgency in memreclaim.h. */
#define MR_PROTO_URGENCY_LAZY 1 /* MADV_FREE */
#define MR_PROTO_URGENCY_NOW 2	/* MADV_DONTNEED */

struct mr_proto_trim {
	uint64_t bytes;	      /* release up to this much, > 0 */
	uint32_t urgency;     /* MR_PROTO_URGENCY_* */
	uint32_t deadline_ms; /* answer within this, else counted late */
};

struct mr_proto_trim_done {
	uint64_t released_bytes; /* what mr_release() returned (>= 0) */
	uint64_t duration_ns;	 /* time spent releasing */
	uint32_t backend;	 /* enum mr_purge_backend used */
	int32_t error;		 /* 0, or -errno from mr_release() */
};

struct mr_proto_limit {
	uint64_t limit_bytes; /* new soft limit, 0 = none */
};

#define MR_BYE_NORMAL 0	  /* orderly close */
#define MR_BYE_VERSION 1  /* protocol version refused */
#define MR_BYE_PROTOCOL 2 /* peer sent a malformed frame */
#define MR_BYE_LIMIT 3	  /* too many clients / too many frames */
#define MR_BYE_SHUTDOWN 4 /* daemon exiting */
#define MR_BYE_MAX 4

struct mr_proto_bye {
	uint32_t reason;   /* MR_BYE_* */
	uint32_t reserved; /* 0 */
};

/* Control requests (memreclaimctl). */
enum mr_ctl_cmd {
	MR_CTL_STATUS = 1,	/* reply: CTL_STATUS, CTL_DONE */
	MR_CTL_CLIENTS = 2,	/* reply: CTL_CLIENT..., CTL_DONE */
	MR_CTL_CGROUPS = 3,	/* reply: CTL_CGROUP..., CTL_DONE */
	MR_CTL_TRIM_PID = 4,	/* trim client `pid` by `bytes`; CTL_DONE */
	MR_CTL_TRIM_CGROUP = 5, /* trim clients of `cgroup` by `bytes` */
	MR_CTL_RELOAD = 6,	/* reload the config file; CTL_DONE */
};
#define MR_CTL_CMD_MAX 6

struct mr_proto_ctl_request {
	uint32_t cmd;	   /* enum mr_ctl_cmd */
	int32_t pid;	   /* MR_CTL_TRIM_PID, else 0 */
	uint64_t bytes;	   /* MR_CTL_TRIM_*, else 0 */
	uint32_t urgency;  /* MR_CTL_TRIM_*: MR_PROTO_URGENCY_*, else 0 */
	uint32_t reserved; /* 0 */
	char cgroup[MR_PROTO_CGROUP_MAX]; /* MR_CTL_TRIM_CGROUP, NUL-ended */
};

#define MR_PSI_MODE_NONE 0    /* no PSI file reachable */
#define MR_PSI_MODE_TRIGGER 1 /* woken by PSI triggers */
#define MR_PSI_MODE_POLL 2    /* polls `total` on the tick */

struct mr_proto_ctl_status {
	uint32_t daemon_version; /* MR_PROTO_LIBVERSION of memreclaimd */
	uint32_t daemon_pid;
	uint64_t uptime_ms;
	uint32_t clients; /* registered now */
	uint32_t cgroups; /* watched now */
	uint32_t tick_ms;
	uint32_t psi_triggers; /* cgroups woken by triggers, the rest poll */
	uint64_t trims_sent;
	uint64_t trim_bytes_requested;
	uint64_t trim_bytes_released;
	uint64_t clients_dropped; /* disconnected for bad behaviour */
	uint64_t frames_rejected;
	uint64_t config_reloads;
	uint64_t config_errors; /* reloads refused: old config kept */
	double host_some_avg10; /* /proc/pressure/memory, percent */
	double host_full_avg10;
};

struct mr_proto_ctl_client {
	int32_t pid;
	uint32_t uid;
	int32_t oom_score_adj;
	uint32_t lib_version;
	struct mr_proto_stats stats; /* last STATS, zero before the first */
	uint64_t trims;		     /* TRIMs sent */
	uint64_t last_trim_bytes;    /* asked by the last TRIM */
	uint64_t last_trim_released; /* answered by the last TRIM_DONE */
	uint64_t last_trim_age_ms;   /* since the last TRIM, UINT64_MAX: none */
	uint64_t soft_limit_bytes;   /* last LIMIT sent, 0 = none */
	char cgroup[MR_PROTO_CGROUP_MAX]; /* memory cgroup, NUL-ended */
};

struct mr_proto_ctl_cgroup {
	double some_avg10; /* memory.pressure, percent */
	double full_avg10;
	uint64_t some_total_us;
	uint64_t full_total_us;
	uint64_t limit_bytes; /* effective limit, UINT64_MAX: none */
	uint64_t usage_bytes;
	uint64_t headroom_bytes; /* limit - usage wanted free */
	uint64_t shed_bytes;	 /* asked by the last decision */
	uint32_t clients;
	uint32_t psi_mode;		/* MR_PSI_MODE_* */
	char path[MR_PROTO_CGROUP_MAX]; /* memory cgroup path, NUL-ended */
};

struct mr_proto_ctl_done {
	int32_t status;			 /* 0 or -errno */
	uint32_t count;			 /* records / clients asked */
	char message[MR_PROTO_TEXT_MAX]; /* for people, NUL-ended */
};

/* A decoded frame. */
struct mr_proto_msg {
	struct mr_proto_hdr hdr;
	union {
		struct mr_proto_hello hello;
		struct mr_proto_stats stats;
		struct mr_proto_trim trim;
		struct mr_proto_trim_done trim_done;
		struct mr_proto_limit limit;
		struct mr_proto_bye bye;
		struct mr_proto_ctl_request ctl_request;
		struct mr_proto_ctl_status ctl_status;
		struct mr_proto_ctl_client ctl_client;
		struct mr_proto_ctl_cgroup ctl_cgroup;
		struct mr_proto_ctl_done ctl_done;
	} u;
};

/* Payload size of a type in this version, 0 for an unknown type. */
static inline size_t
mr_proto_payload_size(uint16_t type)
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
	default:
		return 0;
	}
}

/* 1 if a library client may send this type, 0 otherwise. */
static inline int
mr_proto_from_client(uint16_t type)
{
	return type == MR_MSG_HELLO || type == MR_MSG_STATS ||
	       type == MR_MSG_TRIM_DONE || type == MR_MSG_BYE;
}

/* 1 if a string field is NUL-terminated within its n bytes and zero
 * after the NUL (so no stale memory travels), else 0. */
static inline int
mr_proto_str_ok(const char *s, size_t n)
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

/* Check the fields of a payload already copied into m: 0 or -EINVAL. */
static inline int
mr_proto_check_payload(const struct mr_proto_msg *m)
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
	case MR_MSG_CTL_REQUEST: {
		const struct mr_proto_ctl_request *r = &m->u.ctl_request;

		if (r->cmd == 0 || r->cmd > MR_CTL_CMD_MAX ||
		    r->reserved != 0 ||
		    !mr_proto_str_ok(r->cgroup, sizeof(r->cgroup)))
			return -EINVAL;
		if (r->cmd == MR_CTL_TRIM_PID || r->cmd == MR_CTL_TRIM_CGROUP) {
			if (r->bytes == 0 ||
			    (r->urgency != MR_PROTO_URGENCY_LAZY &&
			     r->urgency != MR_PROTO_URGENCY_NOW))
				return -EINVAL;
			if (r->cmd == MR_CTL_TRIM_PID && r->pid <= 0)
				return -EINVAL;
			if (r->cmd == MR_CTL_TRIM_CGROUP && r->cgroup[0] != '/')
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
		if (!mr_proto_str_ok(m->u.ctl_client.cgroup,
				     sizeof(m->u.ctl_client.cgroup)))
			return -EINVAL;
		return 0;
	case MR_MSG_CTL_CGROUP:
		if (!mr_proto_str_ok(m->u.ctl_cgroup.path,
				     sizeof(m->u.ctl_cgroup.path)) ||
		    m->u.ctl_cgroup.psi_mode > MR_PSI_MODE_POLL)
			return -EINVAL;
		return 0;
	case MR_MSG_CTL_DONE:
		if (m->u.ctl_done.status > 0 ||
		    !mr_proto_str_ok(m->u.ctl_done.message,
				     sizeof(m->u.ctl_done.message)))
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
 *   -EINVAL   a field out of range (see mr_proto_check_payload)
 */
static inline int
mr_proto_decode(const void *buf, size_t len, struct mr_proto_msg *out)
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
	psize = mr_proto_payload_size(out->hdr.type);
	if (psize == 0)
		return -EPROTO;
	if (len > MR_PROTO_MAX_FRAME || out->hdr.length != len ||
	    len != sizeof(struct mr_proto_hdr) + psize)
		return -EMSGSIZE;
	memcpy(&out->u, (const char *)buf + sizeof(struct mr_proto_hdr), psize);
	{
		int rc = mr_proto_check_payload(out);

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
static inline int
mr_proto_encode(void *buf, size_t len, uint16_t type, uint32_t seq,
		const void *p)
{
	struct mr_proto_msg m;
	size_t psize = mr_proto_payload_size(type);
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
	rc = mr_proto_check_payload(&m);
	if (rc < 0)
		return rc;
	memcpy(buf, &m.hdr, sizeof(m.hdr));
	memcpy((char *)buf + sizeof(m.hdr), &m.u, psize);
	return (int)m.hdr.length;
}

/* Typed wrappers: the usual way to build a frame. */
static inline int
mr_proto_encode_hello(void *buf, size_t len, uint32_t seq,
		      const struct mr_proto_hello *p)
{
	return mr_proto_encode(buf, len, MR_MSG_HELLO, seq, p);
}

static inline int
mr_proto_encode_stats(void *buf, size_t len, uint32_t seq,
		      const struct mr_proto_stats *p)
{
	return mr_proto_encode(buf, len, MR_MSG_STATS, seq, p);
}

static inline int
mr_proto_encode_trim(void *buf, size_t len, uint32_t seq,
		     const struct mr_proto_trim *p)
{
	return mr_proto_encode(buf, len, MR_MSG_TRIM, seq, p);
}

static inline int
mr_proto_encode_trim_done(void *buf, size_t len, uint32_t seq,
			  const struct mr_proto_trim_done *p)
{
	return mr_proto_encode(buf, len, MR_MSG_TRIM_DONE, seq, p);
}

static inline int
mr_proto_encode_limit(void *buf, size_t len, uint32_t seq,
		      const struct mr_proto_limit *p)
{
	return mr_proto_encode(buf, len, MR_MSG_LIMIT, seq, p);
}

static inline int
mr_proto_encode_bye(void *buf, size_t len, uint32_t seq,
		    const struct mr_proto_bye *p)
{
	return mr_proto_encode(buf, len, MR_MSG_BYE, seq, p);
}

/* Layout is part of the protocol: a size change needs a new version. */
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(struct mr_proto_hdr) == 16, "hdr layout");
_Static_assert(sizeof(struct mr_proto_hello) == 16, "hello layout");
_Static_assert(sizeof(struct mr_proto_stats) == 88, "stats layout");
_Static_assert(sizeof(struct mr_proto_trim) == 16, "trim layout");
_Static_assert(sizeof(struct mr_proto_trim_done) == 24, "trim_done layout");
_Static_assert(sizeof(struct mr_proto_limit) == 8, "limit layout");
_Static_assert(sizeof(struct mr_proto_bye) == 8, "bye layout");
_Static_assert(sizeof(struct mr_proto_ctl_request) == 280, "ctl layout");
_Static_assert(sizeof(struct mr_proto_ctl_client) + 16 <= MR_PROTO_MAX_FRAME,
	       "ctl_client fits a frame");
_Static_assert(sizeof(struct mr_proto_ctl_cgroup) + 16 <= MR_PROTO_MAX_FRAME,
	       "ctl_cgroup fits a frame");
#endif

#ifdef __cplusplus
}
#endif
#endif /* MEMRECLAIM_PROTOCOL_H */
