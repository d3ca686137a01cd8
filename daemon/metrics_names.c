/*
 * metrics_names.c: container, pod and unit from a cgroup path; command
 * names fit for labels (see metrics_names.h).
 *
 * The shapes, one path component at a time:
 *   docker-<64 hex>.scope            Docker, systemd cgroup driver
 *   docker/<64 hex>                  Docker, cgroupfs driver
 *   cri-containerd-<64 hex>.scope    containerd's CRI plugin (systemd)
 *   crio-<64 hex>.scope              CRI-O (crio-conmon-... is conmon)
 *   libpod-<64 hex>[.scope]          podman (libpod-conmon-... is conmon)
 *   kubepods[-<qos>]-pod<uid>.slice  Kubernetes pod, systemd driver (the
 *                                    UID's dashes written as '_')
 *   pod<uid>                         Kubernetes pod, cgroupfs driver
 *   <64 hex>                         container under a pod or docker/
 *   <name>.service, <name>.scope     systemd unit
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "metrics_names.h"

#define ID_HEX 64 /* runtimes name containers by 64 hex digits */

/* n leading hex digits of s, at most max */
static size_t
hex_run(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			break;
	}
	return i;
}

/* s (length n) is prefix + 64 hex + suffix (suffix may be ""): the id's
 * first 12 digits into o->container.  1 if it matched. */
static int
owner_id(const char *s, size_t n, const char *prefix, const char *suffix,
	 const char *runtime, struct mrd_owner *o)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);

	if (n != pl + ID_HEX + sl || strncmp(s, prefix, pl) != 0 ||
	    strncmp(s + pl + ID_HEX, suffix, sl) != 0 ||
	    hex_run(s + pl, ID_HEX) != ID_HEX)
		return 0;
	snprintf(o->container, sizeof(o->container), "%.12s", s + pl);
	snprintf(o->runtime, sizeof(o->runtime), "%s", runtime);
	return 1;
}

/* A pod UID: 36 characters, 8-4-4-4-12 hex with sep ('-' or '_'). */
static int
owner_pod(const char *s, size_t n, char sep, struct mrd_owner *o)
{
	static const int dash[] = {8, 13, 18, 23};
	size_t i, k = 0;

	if (n < 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (k < 4 && (int)i == dash[k]) {
			if (s[i] != sep)
				return 0;
			o->pod[i] = '-';
			k++;
			continue;
		}
		if (hex_run(s + i, 1) != 1)
			return 0;
		o->pod[i] = s[i];
	}
	o->pod[36] = '\0';
	return 1;
}

static int
ends_with(const char *s, size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	return n > sl && strncmp(s + n - sl, suffix, sl) == 0;
}

int
mrd_owner_parse(const char *path, struct mrd_owner *o)
{
	const char *s = path, *prev = "";
	size_t prevlen = 0;
	int kube = 0;

	memset(o, 0, sizeof(*o));
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		const char *p;

		if (n == 0) {
			s++;
			continue;
		}
		if (strncmp(s, "kubepods", 8) == 0)
			kube = 1;
		if (owner_id(s, n, "docker-", ".scope", "docker", o) ||
		    owner_id(s, n, "cri-containerd-", ".scope", "containerd",
			     o) ||
		    owner_id(s, n, "crio-", ".scope", "crio", o) ||
		    owner_id(s, n, "libpod-", ".scope", "podman", o) ||
		    owner_id(s, n, "libpod-", "", "podman", o)) {
			; /* a container */
		} else if (n == ID_HEX && hex_run(s, ID_HEX) == ID_HEX) {
			/* cgroupfs drivers: under docker/ or a pod */
			owner_id(s, n, "", "",
				 prevlen == 6 && !strncmp(prev, "docker", 6)
				     ? "docker"
				     : "cri",
				 o);
		} else if (kube && strncmp(s, "pod", 3) == 0) {
			owner_pod(s + 3, n - 3, '-', o);
		} else if (kube && ends_with(s, n, ".slice") &&
			   (p = strstr(s, "-pod")) != NULL && p < s + n) {
			owner_pod(p + 4, n - (size_t)(p + 4 - s), '_', o);
		} else if (ends_with(s, n, ".service") ||
			   ends_with(s, n, ".scope")) {
			snprintf(o->unit, sizeof(o->unit), "%.*s", (int)n, s);
		}
		prev = s;
		prevlen = n;
		s += n;
	}
	if (o->container[0] != '\0')
		o->unit[0] = '\0'; /* the container's scope is no service */
	else if (o->unit[0] != '\0' && o->pod[0] == '\0')
		snprintf(o->runtime, sizeof(o->runtime), "systemd");
	return o->container[0] || o->pod[0] || o->unit[0];
}

char *
mrd_comm_safe(char *out, size_t len, const char *comm)
{
	size_t o = 0;

	for (; *comm && o + 1 < len; comm++) {
		unsigned char ch = (unsigned char)*comm;

		if (ch == '\n' && comm[1] == '\0')
			break;
		out[o++] = ch < 0x20 || ch > 0x7e ? '_' : (char)ch;
	}
	if (o == 0 && len >= 2)
		out[o++] = '?';
	out[o] = '\0';
	return out;
}
