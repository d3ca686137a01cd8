/*
 * sdpressure.c: the service side of systemd's memory pressure protocol
 * (see sdpressure.h): read $MEMORY_PRESSURE_WATCH and
 * $MEMORY_PRESSURE_WRITE, open the watched file, write the trigger, and
 * release all idle memory on every event.
 *
 * The file is opened on the scavenger thread's first tick, as
 * sd_event_add_memory_pressure does: open(2) read-write (read-only when
 * there is nothing to write), and when open fails with ENXIO (a socket
 * cannot be opened) connect(2) an AF_UNIX stream socket to it; then fstat
 * says what it is: a regular file is a PSI file (poll POLLPRI, never read),
 * a FIFO or a socket is polled for POLLIN and whatever arrives is read and
 * discarded.  The trigger is written once, whole.  The kernel takes a
 * trigger as a C string and overwrites the last byte written with a NUL,
 * so a WRITE whose decoded bytes do not end in one (a hand-made
 * `echo -n ... | base64`) gets it added when writing to a PSI file;
 * systemd's own value ends in one.
 *
 * A PSI trigger fires at most once per window, so releasing on each event
 * cannot spin; a FIFO or socket peer could write without pause, so events
 * closer than SDP_MIN_GAP_NS to the last release are counted and skipped.
 * POLLERR or POLLHUP (the cgroup was removed, the peer closed) ends the
 * watch.  After fork the child closes the parent's descriptor and opens
 * its own on its scavenger's first tick (a PSI file delivers events to
 * every opener).
 */
#include "config.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "memreclaim.h"
#include "client/sdpressure.h"
#include "os/diag.h"
#include "os/options.h"
#include "os/os.h"

#define SDP_MIN_GAP_NS 100000000ULL /* 100 ms between two releases */

static const char sdp_watch_var[] = "MEMORY_PRESSURE_WATCH";
static const char sdp_write_var[] = "MEMORY_PRESSURE_WRITE";

/* clang-format off */
static struct {
	ssize_t (*release)(size_t bytes, enum mr_urgency urgency);
	int fd;		     /* the watch, or -1 */
	int tried;	     /* set-up done (or failed) in this process */
	short events;	     /* POLLPRI (PSI file) or POLLIN */
	int is_psi;	     /* fd is a regular (PSI) file */
	uint64_t last_ns;    /* last release */
	/* relaxed atomics, read by mr_stats_get on any thread */
	uint64_t nevents;    /* events obeyed */
	uint64_t nskipped;   /* events within SDP_MIN_GAP_NS: not obeyed */
	uint64_t released;   /* bytes released for them */
	uint32_t watching;   /* fd >= 0 */
	int32_t error;	     /* -errno of a failed set-up */
} sdp = {
	.release = mr_release,
	.fd = -1,
};
/* clang-format on */

static int
sdp_b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
mri_sdp_base64(const char *in, unsigned char *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0, ndig = 0;
	size_t n = 0;

	for (; *in; in++) {
		int v;

		if (*in == ' ' || *in == '\n' || *in == '\t' || *in == '\r')
			continue;
		if (*in == '=') {
			pad++;
			continue;
		}
		if (pad)
			return -EINVAL; /* data after padding */
		v = sdp_b64_value((unsigned char)*in);
		if (v < 0)
			return -EINVAL;
		ndig++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -E2BIG;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* a lone sixth digit carries no whole byte; padding fills the
	 * group to four digits at most */
	if (ndig % 4 == 1 || pad > 2 || (pad && (ndig + pad) % 4))
		return -EINVAL;
	/* left-over bits must be zero (a canonical encoding) */
	if (bits && (acc & ((1u << bits) - 1)))
		return -EINVAL;
	return (int)n;
}

int
mri_sdp_parse(const char *watch, const char *write, struct mri_sdp_conf *c,
	      const char **var, const char **why)
{
	int n;

	*why = NULL;
	*var = sdp_watch_var;
	memset(c, 0, sizeof(*c));
	if (!watch || !*watch || !strcmp(watch, "/dev/null")) {
		if (write && !watch) {
			*var = sdp_write_var;
			*why = "set without MEMORY_PRESSURE_WATCH";
		}
		return -ENODEV;
	}
	if (watch[0] != '/') {
		*why = "not an absolute path";
		return -EINVAL;
	}
	if (strlen(watch) >= PATH_MAX) {
		*why = "path too long";
		return -EINVAL;
	}
	c->watch = watch;
	if (!write)
		return 0;
	*var = sdp_write_var;
	n = mri_sdp_base64(write, c->write, sizeof(c->write));
	if (n == -E2BIG) {
		*why = "decodes to more than 128 bytes";
		return -EINVAL;
	}
	if (n < 0) {
		*why = "not base64";
		return -EINVAL;
	}
	*var = sdp_watch_var;
	c->write_len = (size_t)n;
	return 0;
}

/* One line under MEMRECLAIM_TRACE, with a path when there is one. */
static void
sdp_trace(const char *what, const char *path)
{
	char b[400];
	struct mri_diag d;

	mri_diag_begin(&d, b, sizeof(b), 1);
	mri_diag_put(&d, "memory pressure: ");
	mri_diag_put(&d, what);
	if (path) {
		mri_diag_put(&d, " ");
		mri_diag_put_safe(&d, path, 200, '\0');
	}
	mri_diag_end(&d, 2);
}

/* The watch could not be set up: say why, once, and stay off. */
static void
sdp_fail(const char *what, const char *path, int err)
{
	char why[240];
	struct mri_diag d = {why, sizeof(why), 0};

	why[0] = '\0';
	mri_diag_put(&d, what);
	mri_diag_put(&d, " ");
	mri_diag_put_safe(&d, path, 120, '\0');
	mri_diag_put(&d, ": ");
	mri_diag_put_errno(&d, err);
	if (err == EINVAL && !strcmp(what, "cannot write the trigger to"))
		mri_diag_put(&d, " (without CAP_SYS_RESOURCE the window must "
				 "be a multiple of 2 s)");
	__atomic_store_n(&sdp.error, -err, __ATOMIC_RELAXED);
	mri_env_warn(sdp_watch_var, why, "no pressure-driven release");
}

static int
sdp_open(const char *path, int rw)
{
	struct sockaddr_un sa;
	struct stat st;
	size_t n = strlen(path);
	int fd, rc;

	/* A FIFO read-write: opened read-only it reports POLLHUP for good
	 * once its first writer closes. */
	if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
		rw = 1;
	do
		fd = open(path, (rw ? O_RDWR : O_RDONLY) | O_NONBLOCK |
				    O_CLOEXEC | O_NOCTTY);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0 || errno != ENXIO)
		return fd < 0 ? -errno : fd;
	/* ENXIO: a socket in the file system */
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n + 1);
	do
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	while (rc < 0 && errno == EINTR);
	if (rc < 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Write all n bytes (a socket may take them in parts; wait up to 1 s). */
static int
sdp_write_all(int fd, const unsigned char *p, size_t n)
{
	struct pollfd pf = {.fd = fd, .events = POLLOUT};
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (poll(&pf, 1, 1000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
sdp_setup(void)
{
	const char *watch = mri_env_get(sdp_watch_var);
	const char *write = mri_env_get(sdp_write_var);
	struct mri_sdp_conf c;
	const char *why, *var;
	struct stat st;
	int fd, rc;

	sdp.tried = 1;
	if (!mri_opt(MRI_OPT_SD_PRESSURE))
		return;
	rc = mri_sdp_parse(watch, write, &c, &var, &why);
	if (rc == -ENODEV) {
		if (why)
			mri_env_warn(var, why, NULL);
		else if (watch && mri_opt(MRI_OPT_TRACE))
			sdp_trace("watch off (MEMORY_PRESSURE_WATCH empty or "
				  "/dev/null)",
				  NULL);
		return;
	}
	if (rc < 0) {
		mri_env_warn(var, why, "no pressure-driven release");
		__atomic_store_n(&sdp.error, -EINVAL, __ATOMIC_RELAXED);
		return;
	}
	fd = sdp_open(c.watch, c.write_len > 0);
	if (fd < 0) {
		sdp_fail("cannot open", c.watch, -fd);
		return;
	}
	if (fstat(fd, &st) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
	      S_ISSOCK(st.st_mode))) {
		close(fd);
		sdp_fail("cannot watch", c.watch, EBADF);
		return;
	}
	sdp.is_psi = S_ISREG(st.st_mode);
	if (sdp.is_psi && !c.write_len) {
		/* a PSI file with no trigger reports POLLERR at once */
		close(fd);
		mri_env_warn(sdp_write_var,
			     "unset, and a PSI file needs a trigger",
			     "no pressure-driven release");
		__atomic_store_n(&sdp.error, -EINVAL, __ATOMIC_RELAXED);
		return;
	}
	if (c.write_len) {
		/* the kernel makes the last byte written a NUL */
		if (sdp.is_psi && c.write[c.write_len - 1] != '\0') {
			if (c.write_len == sizeof(c.write)) {
				close(fd);
				sdp_fail("trigger too long for", c.watch,
					 EINVAL);
				return;
			}
			c.write[c.write_len++] = '\0';
		}
		rc = sdp_write_all(fd, c.write, c.write_len);
		if (rc < 0) {
			close(fd);
			sdp_fail("cannot write the trigger to", c.watch, -rc);
			return;
		}
	}
	sdp.events = sdp.is_psi ? POLLPRI : POLLIN;
	sdp.fd = fd;
	__atomic_store_n(&sdp.watching, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&sdp.error, 0, __ATOMIC_RELAXED);
	if (mri_opt(MRI_OPT_TRACE))
		sdp_trace(sdp.is_psi ? "watching PSI file"
				     : "watching (POLLIN)",
			  c.watch);
}

static void
sdp_close(void)
{
	if (sdp.fd >= 0)
		close(sdp.fd);
	sdp.fd = -1;
	__atomic_store_n(&sdp.watching, 0, __ATOMIC_RELAXED);
}

int
mri_sdp_fd(void)
{
	return sdp.fd;
}

short
mri_sdp_poll_events(void)
{
	return sdp.events ? sdp.events : POLLIN;
}

void
mri_sdp_tick(uint64_t now_ns)
{
	(void)now_ns;
	if (!sdp.tried)
		sdp_setup();
	else if (sdp.fd >= 0 && !mri_opt(MRI_OPT_SD_PRESSURE))
		sdp_close(); /* switched off at run time */
}

void
mri_sdp_event(short revents, uint64_t now_ns)
{
	char buf[256];
	ssize_t r, got;
	int gone = 0, fire;

	if (sdp.fd < 0)
		return;
	fire = sdp.is_psi && (revents & POLLPRI);
	if (!sdp.is_psi && (revents & POLLIN)) {
		/* discard what the peer sent; EOF means it is gone */
		for (;;) {
			r = read(sdp.fd, buf, sizeof(buf));
			if (r > 0) {
				fire = 1;
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (r == 0)
				gone = 1;
			break;
		}
	}
	if (revents & (POLLERR | POLLHUP | POLLNVAL))
		gone = 1;
	if (fire && sdp.last_ns && now_ns - sdp.last_ns < SDP_MIN_GAP_NS) {
		__atomic_add_fetch(&sdp.nskipped, 1, __ATOMIC_RELAXED);
	} else if (fire) {
		uint64_t t0 = mri_os->now_ns();

		got = sdp.release(SIZE_MAX, MR_URGENCY_NOW);
		sdp.last_ns = now_ns;
		__atomic_add_fetch(&sdp.nevents, 1, __ATOMIC_RELAXED);
		if (got > 0)
			__atomic_add_fetch(&sdp.released, (uint64_t)got,
					   __ATOMIC_RELAXED);
		if (mri_opt(MRI_OPT_TRACE)) {
			char b[200];
			struct mri_diag d;

			mri_diag_begin(&d, b, sizeof(b), 1);
			mri_diag_put(&d, "memory pressure event #");
			mri_diag_put_u(&d, sdp.nevents);
			mri_diag_put(&d, ": released ");
			mri_diag_put_fixed(&d, got > 0 ? (uint64_t)got : 0,
					   1 << 20);
			mri_diag_put(&d, " MiB in ");
			mri_diag_put_fixed(&d, mri_os->now_ns() - t0, 1000000);
			mri_diag_put(&d, " ms");
			mri_diag_end(&d, 2);
		}
	}
	if (gone) {
		if (mri_opt(MRI_OPT_TRACE))
			sdp_trace("watch ended (file removed or peer closed)",
				  NULL);
		sdp_close();
	}
}

uint64_t
mri_sdp_next_ns(void)
{
	/* set-up wants the first tick; then only events matter */
	return sdp.tried ? UINT64_MAX : 0;
}

void
mri_sdp_stop(void)
{
	sdp_close();
	/* a restarted scavenger (mri_scavenger_start after stop) opens the
	 * watch again */
	sdp.tried = 0;
}

/* Async-signal-safe: the descriptor is the parent's. */
void
mri_sdp_atfork_child(void)
{
	if (sdp.fd >= 0)
		close(sdp.fd);
	sdp.fd = -1;
	sdp.tried = 0;
	sdp.last_ns = 0;
	__atomic_store_n(&sdp.watching, 0, __ATOMIC_RELAXED);
}

void
mri_sdp_stats(struct mr_stats *st)
{
	st->pressure_events = __atomic_load_n(&sdp.nevents, __ATOMIC_RELAXED);
	st->pressure_released_bytes =
	    __atomic_load_n(&sdp.released, __ATOMIC_RELAXED);
	st->pressure_watching =
	    __atomic_load_n(&sdp.watching, __ATOMIC_RELAXED);
	st->pressure_error = __atomic_load_n(&sdp.error, __ATOMIC_RELAXED);
}

void
mri_sdp_set_release(ssize_t (*release)(size_t, enum mr_urgency))
{
	sdp.release = release ? release : mr_release;
}
