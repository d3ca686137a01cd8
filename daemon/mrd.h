/*
 * mrd.h: the state of a running memreclaimd, shared by its modules.
 *
 * One struct mrd holds everything: the config in force, the cgroup
 * filesystem roots, the clients (server.c), the watched cgroups (watch.c),
 * counters for memreclaimctl and the metrics.  Single-threaded: only the
 * epoll loop in main.c touches it, so nothing here is locked.
 */
#ifndef MRD_H
#define MRD_H

#include <stdint.h>
#include <sys/types.h>

#include <memreclaim/protocol.h>
#include "common/protocol.h"

#include "cgroupfs.h"
#include "conf.h"
#include "policy.h"
#include "psi.h"

struct mrd_cgroup;

/* A connection must send its first frame within this, or is dropped:
 * silent connections would hold max_clients slots forever. */
#define MRD_HELLO_TIMEOUT_MS 5000

enum mrd_client_kind {
	MRD_CLIENT_NEW = 0, /* connected, nothing sent yet */
	MRD_CLIENT_LIB = 1, /* sent HELLO: a library client */
	MRD_CLIENT_CTL = 2, /* sent CTL_REQUEST: memreclaimctl */
};

struct mrd_client {
	struct mrd_client *next;
	int fd;
	pid_t pid; /* from SO_PEERCRED */
	uid_t uid;
	gid_t gid;
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
};

struct mrd_cgroup {
	struct mrd_cgroup *next;
	struct cgfs_group g;
	int refs;	/* clients attached */
	uint64_t round; /* last round (n.cycles) sampled in */
	int trigger_fd; /* PSI trigger, -1: polling */
	uint64_t trigger_window_us;
	int have_sample;
	struct cgfs_sample s; /* last sample */
	struct policy_state st;
	struct policy_out last; /* last decision */
	uint64_t released_since_action;
	uint64_t trims; /* TRIMs sent for it */
	uint64_t trim_bytes;
	uint64_t released_bytes;
};

struct mrd_counters {
	uint64_t trims_sent;
	uint64_t trim_bytes_requested;
	uint64_t trim_bytes_released;
	uint64_t trims_late;
	uint64_t limits_sent;
	uint64_t clients_accepted;
	uint64_t clients_dropped; /* for bad behaviour */
	uint64_t clients_refused; /* over max_clients */
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
	gid_t sock_gid; /* group allowed to use CTL */
	struct mrd_client *clients;
	int nclients;
	struct mrd_cgroup *cgroups;
	int ncgroups;
	int host_psi_ok;
	struct psi_sample host_psi;
	uint64_t start_ns;
	uint64_t last_cycle_ns;
	struct mrd_counters n;
	int reload_requested;
};

/* mrd.c */
uint64_t mrd_now_ns(void); /* CLOCK_MONOTONIC, ns */
/* Add fd to the epoll set with data.fd = fd.  0 or -errno. */
int mrd_epoll_add(int epfd, int fd, uint32_t events);

/* server.c */
int server_listen(struct mrd *d);
void server_close(struct mrd *d);
void server_accept(struct mrd *d);
/* Read and handle every frame waiting on c; may free c. */
void server_input(struct mrd *d, struct mrd_client *c);
/* Send one frame; on failure the client is dropped (returns -errno). */
int server_send(struct mrd *d, struct mrd_client *c, uint16_t type,
		const void *payload);
int server_send_trim(struct mrd *d, struct mrd_client *c, uint64_t bytes,
		     uint32_t urgency);
/* Disconnect c (reason MR_BYE_*; counted as dropped unless NORMAL or
 * SHUTDOWN) and free it. */
void server_drop(struct mrd *d, struct mrd_client *c, uint32_t reason,
		 const char *why);
struct mrd_client *server_find_fd(struct mrd *d, int fd);

/* watch.c */
/* Watch the cgroup at mem (v2: its cgroup2 twin for PSI), or take one
 * more reference to it.  0 or -errno (-ENOENT: no memory cgroup there). */
int watch_get(struct mrd *d, const char *mem, const char *v2,
	      struct mrd_cgroup **out);
void watch_put(struct mrd *d, struct mrd_cgroup *cg);
/* Find the client's cgroup from /proc and attach it (0 or -errno). */
int watch_attach(struct mrd *d, struct mrd_client *c);
struct mrd_cgroup *watch_find_trigger(struct mrd *d, int fd);
/* Re-arm every PSI trigger with the current config (after reload). */
void watch_retrigger(struct mrd *d);
/* One sample-decide-act round over every watched cgroup. */
void watch_cycle(struct mrd *d, uint64_t now_ns);

/* control.c */
void control_request(struct mrd *d, struct mrd_client *c,
		     const struct mr_proto_ctl_request *r);
/* Reload the config file; 0 or the number of errors (old one kept). */
int control_reload(struct mrd *d, char *msg, size_t msglen);

/* metrics.c */
int metrics_start(struct mrd *d);
void metrics_stop(void);
/* 1 if fd belongs to the metrics server (and was handled). */
int metrics_event(struct mrd *d, int fd, uint32_t events);
/* Render the metrics into buf; returns the length (truncated to len). */
size_t metrics_render(const struct mrd *d, char *buf, size_t len);

#endif
