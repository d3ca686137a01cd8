/*
 * conf.h: memreclaimd's configuration, /etc/memreclaim.conf.
 *
 * Owns the keys, their defaults and their parsing (INI through inih).  The
 * file has one [memreclaimd] section for daemon-wide keys and any number of
 * [cgroup PATTERN] sections whose keys apply to the watched cgroups whose
 * memory-controller path matches PATTERN (fnmatch(3), first match in file
 * order wins).  Per-cgroup keys may also appear in [memreclaimd], where
 * they change the defaults for every cgroup.  Every key is documented in
 * memreclaim.conf(5) and shown with its default in contrib/memreclaim.conf.
 *
 * Errors are reported one per line as "file:line: message" through a
 * callback, all of them, not just the first; a file with any error is
 * rejected as a whole, so the caller keeps its old config.
 */
#ifndef MRD_CONF_H
#define MRD_CONF_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

/* $(sysconfdir)/memreclaim.conf: /etc/memreclaim.conf when configured
 * with --sysconfdir=/etc, as distribution packages are */
#ifdef SYSCONFDIR
#define CONF_DEFAULT_PATH SYSCONFDIR "/memreclaim.conf"
#else
#define CONF_DEFAULT_PATH "/etc/memreclaim.conf"
#endif
#define CONF_MAX_SECTIONS 64

enum conf_order {
	CONF_ORDER_OOM = 0,  /* highest oom_score_adj first, then idle */
	CONF_ORDER_IDLE = 1, /* most idle bytes first */
};

/* Policy settings of one [cgroup PATTERN] section (or the defaults). */
struct conf_cg {
	char pattern[256];	     /* fnmatch pattern, "" = defaults */
	int line;		     /* section start, 0: built in */
	int watch;		     /* 0: never act on matching cgroups */
	double headroom_percent;     /* of the limit, kept free */
	uint64_t headroom_min_bytes; /* at least this much headroom */
	double pressure_target;	     /* some-stall %: below, idle */
	double pressure_urgent;	     /* some-stall %: MADV_DONTNEED */
	double full_urgent;	     /* full avg10 %: MADV_DONTNEED */
	uint32_t cooldown_ms;	     /* quiet time after acting */
	uint32_t max_cooldown_ms;    /* cooldown ceiling when trims fail */
	uint64_t min_trim_bytes;     /* smaller requests are not sent */
	int soft_limits;	     /* send LIMIT frames */
	int order;		     /* enum conf_order */
	uint32_t trigger_stall_ms;   /* PSI trigger: stall within window */
	uint32_t trigger_window_ms;
	int events; /* wake on usage thresholds / memory.events */
	/* near-OOM: usage this close to the limit asks for NOW at once */
	uint64_t near_oom_margin_bytes;
};

struct conf {
	char path[PATH_MAX]; /* file loaded, "" for built-in defaults */
	char socket[108];    /* sun_path */
	mode_t socket_mode;
	char socket_group[64]; /* "" keeps the daemon's group */
	uint32_t tick_ms;
	char metrics[64]; /* host:port, "" disables */
	uint32_t metrics_top_clients; /* per-client series for this many */
	int log_level;	  /* syslog LOG_* */
	uint32_t max_clients;
	uint32_t max_clients_per_uid; /* root is not counted */
	char client_group[64];	      /* "" anyone may register */
	uint32_t max_frame_rate; /* frames per second per client */
	uint32_t trim_deadline_ms;
	char memory_root[PATH_MAX];  /* "" discovers */
	char unified_root[PATH_MAX]; /* "" discovers */
	char proc_root[PATH_MAX];
	struct conf_cg defaults;
	struct conf_cg sections[CONF_MAX_SECTIONS];
	int nsections;
};

typedef void (*conf_err_fn)(void *arg, const char *msg);

/* Fill c with the built-in defaults. */
void conf_defaults(struct conf *c);

/* Load path into c (starting from the defaults).  Each error is passed to
 * err as "path:line: message".  Returns 0, the number of errors (> 0), or
 * -errno when the file cannot be read (also reported through err). */
int conf_load(const char *path, struct conf *c, conf_err_fn err, void *arg);

/* Same, from a string (tests); name is used in messages. */
int conf_load_string(const char *name, const char *text, struct conf *c,
		     conf_err_fn err, void *arg);

/* The settings for the cgroup at path: first matching section, else the
 * defaults. */
const struct conf_cg *conf_match(const struct conf *c, const char *path);

#endif
