/*
 * memreclaim/protocol.h: the memreclaimd wire protocol: frames, their
 * payload structs, enums and constants, and the layout asserts.
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
 *	                          <----   PROF_REQUEST (dump or set)
 *	PROF_DATA ... PROF_END    ---->   (answer to a dump, forwarded to
 *	                                   the memreclaimctl that asked)
 *	BYE                       <--->   (either side, then close)
 *
 * A client needs nothing else: it sends HELLO once, STATS periodically,
 * answers each TRIM with a TRIM_DONE carrying the TRIM's sequence number,
 * and applies each LIMIT.  memreclaimctl uses the same socket with the
 * CTL_* frames (only root or the socket's group may; see memreclaim(7)).
 *
 * The codec (encode, strict decode) is not here: it is common/protocol.[ch]
 * (mrc_proto_*), one object linked by the library, memreclaimd and
 * memreclaimctl.  This header holds no code, so a program written against
 * it sees exactly the layout the daemon checks.
 */
#ifndef MEMRECLAIM_PROTOCOL_H
#define MEMRECLAIM_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

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
	MR_MSG_PROF_REQUEST = 7, /* daemon -> client: heap profile op */
	MR_MSG_PROF_DATA = 8,	 /* client -> daemon -> ctl: profile bytes */
	MR_MSG_PROF_END = 9,	 /* client -> daemon: profile complete */
	MR_MSG_CTL_REQUEST = 16, /* memreclaimctl -> daemon */
	MR_MSG_CTL_STATUS = 17,	 /* daemon -> ctl: status record */
	MR_MSG_CTL_CLIENT = 18,	 /* daemon -> ctl: one per client */
	MR_MSG_CTL_CGROUP = 19,	 /* daemon -> ctl: one per cgroup */
	MR_MSG_CTL_DONE = 20,	 /* daemon -> ctl: end of reply, status */
	MR_MSG_CTL_TEXT = 21,	 /* daemon -> ctl: a line, MR_CTL_TEXT_* */
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
#define MR_BYE_DENIED 5	  /* may not register: not in client_group */
#define MR_BYE_MAX 5

struct mr_proto_bye {
	uint32_t reason;   /* MR_BYE_* */
	uint32_t reserved; /* 0 */
};

/*
 * Heap profiles.  memreclaimctl sends CTL_REQUEST PROFILE (pid, bytes =
 * kind); the daemon sends the client PROF_REQUEST DUMP, and the client
 * streams the profile back as PROF_DATA frames (at most
 * MR_PROTO_PROF_CHUNK bytes each) and one PROF_END; the daemon forwards
 * each PROF_DATA to the memreclaimctl that asked and ends with CTL_DONE
 * (PROF_END's status).  One dump per client at a time; the profile may be
 * at most MR_PROTO_PROF_MAX bytes.  PROF_SET switches sampling.
 */
#define MR_PROF_OP_DUMP 1 /* kind: MR_PROFILE_* | MR_PROFILE_TEXT */
#define MR_PROF_OP_SET 2  /* interval_bytes: mean interval, 0 = off */
#define MR_PROF_KIND_INUSE 1 /* = MR_PROFILE_INUSE of memreclaim.h */
#define MR_PROF_KIND_ALLOC 2 /* = MR_PROFILE_ALLOC */
#define MR_PROF_KIND_TEXT 0x100 /* = MR_PROFILE_TEXT */
#define MR_PROTO_PROF_CHUNK 1000
#define MR_PROTO_PROF_MAX (64u << 20)

struct mr_proto_prof_request {
	uint32_t op;		 /* MR_PROF_OP_* */
	uint32_t kind;		 /* DUMP: MR_PROF_KIND_*, SET: 0 */
	uint64_t interval_bytes; /* SET: mean interval, 0 = off; DUMP: 0 */
};

struct mr_proto_prof_data {
	uint32_t len;	   /* bytes of data used, 1..MR_PROTO_PROF_CHUNK */
	uint32_t reserved; /* 0 */
	uint8_t data[MR_PROTO_PROF_CHUNK]; /* zero after len */
};

struct mr_proto_prof_end {
	int32_t status;	   /* 0 or -errno */
	uint32_t reserved; /* 0 */
	uint64_t bytes;	   /* profile bytes sent in PROF_DATA */
};

/* Control requests (memreclaimctl). */
enum mr_ctl_cmd {
	MR_CTL_STATUS = 1,	/* reply: CTL_STATUS, CTL_DONE */
	MR_CTL_CLIENTS = 2,	/* reply: CTL_CLIENT..., CTL_DONE */
	MR_CTL_CGROUPS = 3,	/* reply: CTL_CGROUP..., CTL_DONE */
	MR_CTL_TRIM_PID = 4,	/* trim client `pid` by `bytes`; CTL_DONE */
	MR_CTL_TRIM_CGROUP = 5, /* trim clients of `cgroup` by `bytes` */
	MR_CTL_RELOAD = 6,	/* reload the config file; CTL_DONE */
	MR_CTL_PROFILE = 7,	/* heap profile of `pid`, kind in `bytes`:
				 * PROF_DATA..., CTL_DONE */
	MR_CTL_PROF_SET = 8,	/* sampling of `pid`: `bytes` = mean
				 * interval, 0 = off; CTL_DONE */
	MR_CTL_CONFIG = 9,	/* the config section that applies to
				 * `cgroup`: CTL_TEXT LINE..., CTL_DONE */
};
#define MR_CTL_CMD_MAX 9

/* Flags of a control request. */
#define MR_CTL_F_WAIT 0x1u /* MR_CTL_TRIM_*: reply once every client asked
			    * answered (or trim_deadline_ms passed): a
			    * CTL_CLIENT per answer, then CTL_DONE */

struct mr_proto_ctl_request {
	uint32_t cmd;	   /* enum mr_ctl_cmd */
	int32_t pid;	   /* MR_CTL_TRIM_PID, else 0 */
	uint64_t bytes;	   /* MR_CTL_TRIM_*, else 0 */
	uint32_t urgency;  /* MR_CTL_TRIM_*: MR_PROTO_URGENCY_*, else 0 */
	union {
		uint32_t flags;	   /* TRIM_*: MR_CTL_F_*, else 0 */
		uint32_t reserved; /* its name before flags existed */
	};
	char cgroup[MR_PROTO_CGROUP_MAX]; /* MR_CTL_TRIM_CGROUP and
					   * MR_CTL_CONFIG, NUL-ended */
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

/* One line of text for memreclaimctl. */
#define MR_CTL_TEXT_ERROR 1 /* reload: a "file:line: message" error */
#define MR_CTL_TEXT_LINE 2  /* a line of a text reply (config) */
#define MR_CTL_TEXT_COMM 3  /* the command (/proc/PID/comm) of `pid`, after
			     * its CTL_CLIENT */
#define MR_CTL_TEXT_MAX 3
#define MR_PROTO_LINE_MAX 512 /* CTL_TEXT text incl. NUL */

struct mr_proto_ctl_text {
	int32_t pid;   /* MR_CTL_TEXT_COMM, else 0 */
	uint32_t kind; /* MR_CTL_TEXT_* */
	char text[MR_PROTO_LINE_MAX]; /* NUL-ended */
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
		struct mr_proto_prof_request prof_request;
		struct mr_proto_prof_data prof_data;
		struct mr_proto_prof_end prof_end;
		struct mr_proto_ctl_request ctl_request;
		struct mr_proto_ctl_status ctl_status;
		struct mr_proto_ctl_client ctl_client;
		struct mr_proto_ctl_cgroup ctl_cgroup;
		struct mr_proto_ctl_done ctl_done;
		struct mr_proto_ctl_text ctl_text;
	} u;
};

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
_Static_assert(sizeof(struct mr_proto_prof_request) == 16, "prof layout");
_Static_assert(sizeof(struct mr_proto_prof_data) == 1008, "prof_data layout");
_Static_assert(sizeof(struct mr_proto_prof_data) + 16 <= MR_PROTO_MAX_FRAME,
	       "prof_data fits a frame");
_Static_assert(sizeof(struct mr_proto_prof_end) == 16, "prof_end layout");
_Static_assert(sizeof(struct mr_proto_ctl_client) + 16 <= MR_PROTO_MAX_FRAME,
	       "ctl_client fits a frame");
_Static_assert(sizeof(struct mr_proto_ctl_cgroup) + 16 <= MR_PROTO_MAX_FRAME,
	       "ctl_cgroup fits a frame");
_Static_assert(sizeof(struct mr_proto_ctl_text) == 520, "ctl_text layout");
#endif

#ifdef __cplusplus
}
#endif
#endif /* MEMRECLAIM_PROTOCOL_H */
