/*
 * options.h: every tunable of the library, in one table.
 *
 * Each option is read once at start from MEMRECLAIM_<NAME> (upper case) by
 * scanning `environ` directly, without allocating, and can be changed later
 * through mr_option_set("name", "value").  Values are stored as integers
 * (sizes in bytes, times in ms, enums as their index) except the socket
 * path.  Readers use mri_opt(MRI_OPT_X), a plain load.  In a setuid or
 * setgid program (AT_SECURE) the environment is ignored.
 *
 * It sits in os/, the bottom layer, because every layer reads options: the
 * environment is, like the kernel, something the library reads from
 * outside.  It includes nothing of the library's.
 */
#ifndef MRI_OPTIONS_H
#define MRI_OPTIONS_H

#include <stdint.h>
#include <stddef.h>

#define MRI_HIDDEN __attribute__((visibility("hidden")))

enum mri_opt_id {
	MRI_OPT_LIMIT,		  /* size: soft limit, 0 = derive from cgroup */
	MRI_OPT_LIMIT_HARD,	  /* bool: fail allocations past limit+margin */
	MRI_OPT_PURGE,		  /* enum mri_purge_choice */
	MRI_OPT_ADVICE,		  /* enum mri_advice */
	MRI_OPT_RELEASE_DELAY_MS, /* free pages younger than this stay */
	MRI_OPT_SCAVENGER,	  /* bool: run the background scavenger */
	MRI_OPT_SCAVENGER_CPU,	  /* percent of one CPU the scavenger may use */
	MRI_OPT_GOAL_PERCENT,	  /* retained goal: heap in use + this % */
	MRI_OPT_LIMIT_GOAL_PERCENT, /* with a limit: keep retained <= this % */
	MRI_OPT_TRACE,	   /* bool: one stderr line per scavenger cycle */
	MRI_OPT_STATS,	   /* enum mri_stats_mode: summary at exit */
	MRI_OPT_HUGEPAGES, /* enum mri_hugepages_mode */
	MRI_OPT_HUGEPAGE_THRESHOLD, /* size: heap size from which chunks are
				     * advised MADV_HUGEPAGE (auto mode) */
	MRI_OPT_NUMA,		    /* enum mri_numa_mode */
	MRI_OPT_CHUNK_SIZE, /* size: bytes mapped at a time (2 MiB mult.) */
	MRI_OPT_DAEMON,	    /* bool: talk to memreclaimd if it runs */
	MRI_OPT_SOCKET,	    /* string: memreclaimd socket path */
	MRI_OPT_STATS_INTERVAL_MS, /* STATS report period to the daemon */
	MRI_OPT_LAZY_FREE,	   /* bool: first release stage, MADV_FREE at
				    * once (see release/policy.c) */
	MRI_OPT_PROF,		   /* bool: sample allocations (lib/prof) */
	MRI_OPT_PROF_INTERVAL,	   /* size: mean bytes between samples */
	MRI_OPT_PROF_UNWIND,	   /* enum mri_prof_unwind */
	MRI_OPT_PROF_FORMAT,	   /* enum mri_prof_format, of PROF_FILE */
	MRI_OPT_DAEMON_UID,	   /* uid besides 0 the daemon may run as */
	MRI_OPT_SD_PRESSURE,	   /* bool: serve $MEMORY_PRESSURE_WATCH */
	MRI_OPT__COUNT
};

enum mri_purge_choice {
	MRI_PURGE_AUTO = 0,
	MRI_PURGE_CHOICE_URING = 1,
	MRI_PURGE_CHOICE_PROCESS_MADVISE = 2,
	MRI_PURGE_CHOICE_MADVISE = 3,
};

/* Values of the enum options, in the order of their names in options.c. */
enum mri_advice {
	MRI_ADVICE_DONTNEED = 0, /* "dontneed": RSS drops at once */
	MRI_ADVICE_FREE = 1,	 /* "free": MADV_FREE, lazily */
};

enum mri_hugepages_mode {
	MRI_HUGEPAGES_AUTO = 0,	  /* advise chunks once the heap is big */
	MRI_HUGEPAGES_ALWAYS = 1, /* advise every chunk at once */
	MRI_HUGEPAGES_NEVER = 2,
};

enum mri_numa_mode {
	MRI_NUMA_PREFERRED = 0, /* mbind MPOL_PREFERRED */
	MRI_NUMA_STRICT = 1,	/* mbind MPOL_BIND */
	MRI_NUMA_OFF = 2,	/* one heap, no binding */
};

enum mri_stats_mode {
	MRI_STATS_OFF = 0,  /* "0" (or any false boolean) */
	MRI_STATS_TEXT = 1, /* "1": lines on stderr */
	MRI_STATS_JSON = 2, /* "json": one JSON object on stderr */
};

enum mri_prof_unwind {
	MRI_PROF_UNWIND_AUTO = 0,      /* libunwind if built with it, else fp */
	MRI_PROF_UNWIND_FP = 1,	       /* frame-pointer walk */
	MRI_PROF_UNWIND_LIBUNWIND = 2, /* unw_backtrace (DWARF CFI) */
};

enum mri_prof_format {
	MRI_PROF_FORMAT_PROTO = 0, /* gzipped profile.proto */
	MRI_PROF_FORMAT_TEXT = 1,  /* legacy heap_v2 text (google-pprof) */
};

extern int64_t mri_opt_values[MRI_OPT__COUNT] MRI_HIDDEN;
#define mri_opt(id) (__atomic_load_n(&mri_opt_values[(id)], __ATOMIC_RELAXED))

/* Read MEMRECLAIM_* from environ.  Idempotent; does not allocate. */
MRI_HIDDEN void mri_options_init(void);
/* The socket path (NUL-terminated, static storage). */
MRI_HIDDEN const char *mri_opt_socket(void);
/* The value of MEMRECLAIM_<NAME> (name in lower case) in environ, or of
 * <name> in MEMRECLAIM_CONF, for settings read once at start that are not
 * in the table; NULL if unset. */
MRI_HIDDEN const char *mri_opt_env(const char *name);
/* The value of the environment variable NAME (exact, e.g.
 * "MEMORY_PRESSURE_WATCH") without allocating; NULL if unset and always
 * in a secure-execution process. */
MRI_HIDDEN const char *mri_env_get(const char *name);
/* "memreclaim: NAME ignored: WHY[, WHAT]" once on stderr (one write(2));
 * name may be "NAME=value" (the value is not printed). */
MRI_HIDDEN void mri_env_warn(const char *name, const char *why,
			     const char *what);
/* fn(id) runs after mr_option_set changed option id: a layer above that
 * must act on a switch (prof loads libunwind) registers it at start-up.
 * mr_option_set is an API call, never made inside malloc. */
MRI_HIDDEN void mri_opt_set_hook(void (*fn)(int id));

#endif
