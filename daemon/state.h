/*
 * state.h: the state of a running memreclaimd, shared by its modules.
 *
 * Data only: one struct mrd holds the config in force, the cgroup
 * filesystem roots, the clients (created and freed by transport.c), the
 * watched cgroups (watch.c), and counters for memreclaimctl and the
 * metrics.  The functions that act on it are declared by each module's
 * own header.  Single-threaded: only the epoll loop in main.c touches it,
 * so nothing here is locked.
 */
#ifndef MRD_STATE_H
#define MRD_STATE_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include <memreclaim/protocol.h>

#include "common/list.h"

#include "cgroupfs.h"
#include "conf.h"
#include "policy.h"
#include "psi.h"

struct mrd_cgroup;
struct transport_hooks;

/* A connection must send its first frame within this, or is dropped:
 * silent connections would hold max_clients slots forever. */
#define MRD_HELLO_TIMEOUT_MS 5000

/* A library client that sent no STATS for this long, or for three of its
 * own stats intervals if that is longer (at most MRD_SILENT_MAX_MS), is
 * dropped: a stopped or wedged process must not keep its slot. */
#define MRD_SILENT_MIN_MS 10000
#define MRD_SILENT_MAX_MS 3600000

/* A heap profile being sent that makes no progress (no PROF_DATA) for
 * this long ends with -ETIMEDOUT: a client that never answers must not
 * keep memreclaimctl waiting forever.  Below memreclaimctl's own 5 s
 * wait, so that it hears why. */
#define MRD_PROF_STALL_MS 3000

/* Connections past max_clients kept for operators (root and members of
 * socket_group), so `memreclaimctl status` works when users hold every
 * other slot. */
#define MRD_OPERATOR_SLOTS 4

/* Frames queued for a peer that is slow to read: a control connection may
 * queue a whole listing, a library client a few frames. */
#define MRD_CTL_QUEUE_MAX (64u << 20)
#define MRD_LIB_QUEUE_MAX (64u << 10)

/* After accept4 fails for lack of descriptors or memory, the listening
 * socket is left out of epoll for this long. */
#define MRD_ACCEPT_PAUSE_MS 250

/* At most one line per this interval for each kind of noisy warning
 * (refused or dropped connections); the others are counted and the count
 * is given in the next line. */
#define MRD_WARN_INTERVAL_MS 10000

struct mrd_ratelimit {
	uint64_t last_ns;    /* last line logged, 0: never */
	uint64_t suppressed; /* not logged since */
};

enum mrd_client_kind {
	MRD_CLIENT_NEW = 0, /* connected, nothing sent yet */
	MRD_CLIENT_LIB = 1, /* sent HELLO: a library client */
	MRD_CLIENT_CTL = 2, /* sent CTL_REQUEST: memreclaimctl */
};

struct mrd_client {
	struct mrc_list link; /* in mrd.clients, newest first */
	int fd;
	pid_t pid; /* from SO_PEERCRED */
	uid_t uid;
	gid_t gid;
	int dead;		 /* closed; freed by transport_reap */
	int have_pidfd;		 /* pidfd is the peer's (SO_PEERPIDFD) */
	int pidfd;
	uint64_t start_time;	 /* /proc/PID/stat starttime, 0 unknown */
	int ctl_ok;		 /* root or a socket_group member */
	int reg_ok;		 /* may register (client_group) */
	unsigned char *outq;	 /* frames waiting for EPOLLOUT, each */
	size_t outq_len, outq_cap; /* preceded by its length (uint16_t) */
	uint32_t last_done_seq;	 /* TRIM_DONE seen up to this seq */
	int kind;	       /* enum mrd_client_kind */
	uint64_t connected_ns; /* accept time */
	uint32_t lib_version;  /* from HELLO */
	uint32_t features;
	uint32_t stats_interval_ms;
	int has_stats;
	struct mr_proto_stats stats; /* last STATS */
	uint64_t stats_ns;	     /* when it came */
	uint32_t seq_out;	     /* our frame counter */
	double tokens;		     /* frame rate bucket */
	uint64_t tokens_ns;
	int oom_score_adj;
	char comm[16]; /* /proc/PID/comm at HELLO, made safe; "" unknown */
	uint64_t proc_rss_bytes;      /* read from /proc, 0: unknown */
	char mem_path[CGFS_PATH_MAX]; /* memory cgroup, "" unknown */
	char v2_path[CGFS_PATH_MAX];  /* cgroup2 path for PSI */
	struct mrd_cgroup *cg;	      /* watched cgroup, or NULL */
	int attach_warned;	      /* logged that cg is unknown */
	/* the one outstanding TRIM (0 bytes: none) */
	uint64_t pending_bytes;
	uint32_t pending_seq;
	uint64_t pending_ns;
	uint64_t trims;	     /* TRIMs sent */
	uint64_t trims_late; /* answered after the deadline/never */
	uint64_t last_trim_bytes;
	uint64_t last_trim_released;
	uint64_t last_trim_ns; /* 0: never */
	uint64_t limit_sent;   /* last LIMIT, 0: none */
	/* a heap profile being forwarded (profile.c): the memreclaimctl
	 * connection that asked, known by fd and accept time (fds are
	 * reused); prof_fd < 0: none */
	int prof_fd;
	uint64_t prof_ctl_ns;
	uint64_t prof_bytes; /* forwarded so far */
	/* `memreclaimctl trim --wait` (control.c): on a library client,
	 * the connection waiting for its TRIM_DONE, known by fd and accept
	 * time (wait_ctl_ns 0: none); on that memreclaimctl connection, the
	 * answers still due and when it gives up on them */
	int wait_fd;
	uint64_t wait_ctl_ns;
	uint32_t wait_left, wait_asked;
	uint64_t wait_released;
	uint64_t wait_deadline_ns; /* 0: not waiting */
	uint64_t prof_last_ns; /* the request or the last PROF_DATA */
};

/* A PROF_DATA frame from a client whose profile a memreclaimctl awaits: it
 * is outside the frame rate limit (profile.c bounds the total). */
static inline int
mrd_prof_frame_expected(const struct mrd_client *c, const void *buf,
			size_t n)
{
	const struct mr_proto_hdr *h = buf;

	return c->prof_fd >= 0 && n >= sizeof(*h) &&
	       h->type == MR_MSG_PROF_DATA;
}

struct mrd_cgroup {
	struct mrc_list link; /* in mrd.cgroups, newest first */
	struct cgfs_group g;
	int refs;	/* clients attached */
	uint64_t idle_ns; /* refs == 0: since when (freed after a grace) */
	uint64_t round; /* last round (n.cycles) sampled in */
	int trigger_fd; /* PSI trigger, -1: polling */
	uint64_t trigger_window_us;
	/* usage events (watch.c): v1 an eventfd with usage thresholds, v2
	 * memory.events polled for EPOLLPRI; -1: none (tick and PSI only) */
	int event_fd;
	int event_kind;		/* enum watch_event_kind */
	int event_warned;	/* said once that events cannot be armed */
	uint64_t armed_line;	/* v1 usage threshold: headroom, bytes */
	uint64_t armed_oom_line; /* v1 usage threshold: near-OOM, bytes */
	uint64_t last_event_ns;	 /* last event handled, 0: none */
	int event_pending;	 /* fired too soon after the last: later */
	uint64_t events;	 /* events handled */
	uint64_t event_trims;	 /* of them, ones that sent TRIMs */
	uint64_t event_trim_ns;	 /* wake -> last TRIM sent, last one */
	uint64_t trim_sent_ns;	 /* when the last round's TRIMs were sent */
	int have_sample;
	struct cgfs_sample s; /* last sample */
	struct policy_state st;
	struct policy_out last; /* last decision */
	uint64_t released_since_action;
	uint64_t trims; /* TRIMs sent for it */
	uint64_t trim_bytes;
	uint64_t released_bytes;
};

/* Why a connection could not register (memreclaim_server_clients_refused_
 * total{reason}); each is counted and logged (rate-limited). */
enum mrd_refusal {
	MRD_REFUSE_MAX_CLIENTS = 0, /* max_clients reached */
	MRD_REFUSE_PER_UID = 1,	    /* max_clients_per_uid reached */
	MRD_REFUSE_GROUP = 2,	    /* not a member of client_group */
	MRD_REFUSE_VERSION = 3,	    /* HELLO of another protocol version */
	MRD_REFUSE_CREDENTIALS = 4, /* SO_PEERCRED failed: peer unknown */
	MRD_REFUSE_N = 5,
};

struct mrd_counters {
	uint64_t trims_sent;
	uint64_t trim_bytes_requested;
	uint64_t trim_bytes_released;
	uint64_t trims_late;
	uint64_t limits_sent;
	uint64_t clients_accepted;
	uint64_t clients_dropped; /* for bad behaviour */
	uint64_t clients_refused[MRD_REFUSE_N]; /* by enum mrd_refusal */
	uint64_t clients_expired; /* silent, or their process gone */
	uint64_t accept_pauses;	  /* accept4 out of descriptors/memory */
	uint64_t frames_received;
	uint64_t frames_rejected;
	uint64_t config_reloads;
	uint64_t config_errors;
	uint64_t cgroups_vanished;
	uint64_t cycles;
};

struct mrd {
	struct conf conf;
	const char *conf_path; /* NULL: built-in defaults */
	int conf_explicit;     /* -f given: a missing file is fatal */
	struct cgfs fs;
	int epfd;
	int listen_fd;
	int have_sock_gid; /* socket_group set: its members may use CTL */
	gid_t sock_gid;
	int have_client_gid; /* client_group set: only it may register */
	gid_t client_gid;
	uint64_t accept_paused_until; /* listening fd out of epoll till */
	/* one line per interval for each reason of refusal: one reason's
	 * flood does not hide another's first line */
	struct mrd_ratelimit rl_refused[MRD_REFUSE_N], rl_dropped, rl_accept;
	struct mrc_list dead; /* closed clients, freed by transport_reap */
	/* told of frames and closes by transport.c (set by dispatch_init) */
	const struct transport_hooks *hooks;
	struct mrc_list clients; /* struct mrd_client.link */
	int nclients;
	struct mrc_list cgroups; /* struct mrd_cgroup.link */
	int ncgroups;
	int host_psi_ok;
	struct psi_sample host_psi;
	uint64_t start_ns;
	uint64_t last_cycle_ns;
	struct mrd_counters n;
	int reload_requested;
	int reload_failed; /* the last reload was refused (old config kept) */
};

/* Empty state: no clients, no cgroups, no sockets. */
static inline void
mrd_init(struct mrd *d)
{
	memset(d, 0, sizeof(*d));
	mrc_list_init(&d->clients);
	mrc_list_init(&d->cgroups);
	mrc_list_init(&d->dead);
	d->epfd = d->listen_fd = -1;
}

/* Add fd to the epoll set with data.fd = fd.  0 or -errno. */
static inline int
mrd_epoll_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.fd = fd;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

#endif
