/*
 * metrics_names.h: the names a person joins metrics on -- what runs in a
 * cgroup (container, pod, systemd unit) and a command name fit for a
 * label.
 *
 * Pure string functions, no I/O, no allocation: the cgroup path comes
 * from /proc/PID/cgroup (v1 memory or v2 path, as memreclaimd keeps it),
 * the command from /proc/PID/comm.  Used by metrics.c for labels and by
 * the unit tests with real path shapes of each runtime.
 */
#ifndef MRD_METRICS_NAMES_H
#define MRD_METRICS_NAMES_H

#include <stddef.h>

/* What a cgroup path says about its owner.  Empty strings: not known. */
struct mrd_owner {
	char runtime[16];   /* docker, containerd, crio, podman, systemd */
	char pod[40];	    /* Kubernetes pod UID, with dashes */
	char container[16]; /* container id, its first 12 hex digits */
	char unit[128];	    /* systemd unit (service or scope) */
};

/* Parse a cgroup path: Docker (cgroupfs /docker/<id> or systemd
 * docker-<id>.scope), Kubernetes with containerd, CRI-O or Docker under
 * kubepods (systemd kubepods-...-pod<uid>.slice/cri-containerd-<id>.scope
 * or cgroupfs /kubepods/<qos>/pod<uid>/<id>), podman (libpod-<id>.scope,
 * libpod_parent/libpod-<id>), and systemd units (the last *.service or
 * *.scope of the path when no container is found).  Fills *o (zeroed
 * first); returns 1 if anything was found, else 0. */
int mrd_owner_parse(const char *path, struct mrd_owner *o);

/* A command name (/proc/PID/comm, at most 15 bytes) fit for a label and
 * a terminal: bytes below 0x20, DEL and bytes past 0x7e (a UTF-8 sequence
 * cut by the kernel's 15-byte limit is no valid label) become '_'; a
 * trailing newline is dropped; "" becomes "?".  out has at least 16
 * bytes.  Returns out. */
char *mrd_comm_safe(char *out, size_t len, const char *comm);

#endif
