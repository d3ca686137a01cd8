/*
 * write.c: the profile out of the sampler's buckets, in pprof's protobuf
 * (profile.proto, gzipped) or in the legacy "heap_v2" text format that
 * gperftools' pprof (google-pprof) reads; mr_profile_dump(); the profile
 * written at exit (MEMRECLAIM_PROF_FILE).
 *
 * The Profile message is streamed: its top-level fields are repeated, so
 * each Sample, Location, Mapping and string is encoded into a small buffer
 * and written on; strings are numbered in the order they are written.
 * Samples come first with location ids 1, 2, ... in bucket order (a
 * location per frame of each bucket: pprof merges equal addresses), then
 * the locations in the same order, from a snapshot of the bucket list so
 * that both passes see the same buckets.  Mappings are the executable
 * file mappings of /proc/self/maps; a location names the one holding its
 * address so that pprof can find the file and symbolize.  Each mapping
 * carries the GNU build id of its object (the NT_GNU_BUILD_ID note, read
 * in memory from the object's PT_NOTE segments as dl_iterate_phdr lists
 * them: no file is opened, nothing allocated), so that pprof can match
 * the symbol file even when the path has changed or is a container's.
 * Dumps are serialized by a mutex that also guards the static mapping
 * table.
 */
#include "config.h"
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>
#include "memreclaim.h"
#include "common/pprof.h"
#include "os/layout.h"
#include "os/options.h"
#include "prof/prof.h"

/* profile.proto field numbers. */
enum {
	P_SAMPLE_TYPE = 1,
	P_SAMPLE = 2,
	P_MAPPING = 3,
	P_LOCATION = 4,
	P_STRING = 6,
	P_TIME_NANOS = 9,
	P_PERIOD_TYPE = 11,
	P_PERIOD = 12,
	P_DEFAULT_SAMPLE_TYPE = 14,
	VT_TYPE = 1,
	VT_UNIT = 2,
	S_LOCATION_ID = 1,
	S_VALUE = 2,
	S_LABEL = 3,
	L_KEY = 1,
	L_NUM = 3,
	L_NUM_UNIT = 4,
	M_ID = 1,
	M_START = 2,
	M_LIMIT = 3,
	M_OFFSET = 4,
	M_FILENAME = 5,
	M_BUILD_ID = 6,
	LOC_ID = 1,
	LOC_MAPPING_ID = 2,
	LOC_ADDRESS = 3,
};

#define MAX_MAPPINGS 512
/* Longest build id kept, in bytes (gcc and lld write 20: SHA-1). */
#define BUILD_ID_MAX 64

struct mapping {
	uintptr_t start, limit, offset;
	char path[256];
	char build_id[2 * BUILD_ID_MAX + 1]; /* lower-case hex, or "" */
};

static pthread_mutex_t dump_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping maps[MAX_MAPPINGS]; /* dump_lock */
static int nmaps;
static struct mrc_gz gz; /* dump_lock */

struct out {
	struct mrc_gz *gz; /* NULL: plain (text format) */
	mrc_sink_fn sink;
	void *ctx;
	int err;
	int64_t nstrings;
};

static void
out_write(struct out *o, const void *p, size_t n)
{
	if (o->err)
		return;
	o->err = o->gz ? mrc_gz_write(o->gz, p, n) : o->sink(o->ctx, p, n);
}

/* One top-level field holding an encoded message. */
static void
out_msg(struct out *o, unsigned field, const struct mrc_pb *m)
{
	unsigned char hdr[16];
	struct mrc_pb h;

	if (m->overflow) {
		o->err = o->err ? o->err : -EOVERFLOW;
		return;
	}
	mrc_pb_init(&h, hdr, sizeof(hdr));
	mrc_pb_varint(&h, (uint64_t)field << 3 | MRC_PB_LEN);
	mrc_pb_varint(&h, m->len);
	out_write(o, h.buf, h.len);
	out_write(o, m->buf, m->len);
}

/* Append a string to the table; returns its index. */
static int64_t
out_string(struct out *o, const char *s)
{
	unsigned char b[300];
	struct mrc_pb m;

	mrc_pb_init(&m, b, sizeof(b));
	mrc_pb_bytes(&m, P_STRING, s, strlen(s));
	if (!m.overflow)
		out_write(o, m.buf, m.len);
	else
		o->err = o->err ? o->err : -EOVERFLOW;
	return o->nstrings++;
}

static void
out_value_type(struct out *o, unsigned field, const char *type,
	       const char *unit)
{
	unsigned char b[32];
	struct mrc_pb m;
	int64_t t = out_string(o, type), u = out_string(o, unit);

	mrc_pb_init(&m, b, sizeof(b));
	mrc_pb_uint(&m, VT_TYPE, (uint64_t)t);
	mrc_pb_uint(&m, VT_UNIT, (uint64_t)u);
	out_msg(o, field, &m);
}

const char *
mri_prof_hex(const char *s, uintptr_t *v)
{
	uintptr_t r = 0;

	for (;; s++) {
		if (*s >= '0' && *s <= '9')
			r = r * 16 + (uintptr_t)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			r = r * 16 + (uintptr_t)(*s - 'a' + 10);
		else
			break;
	}
	*v = r;
	return s;
}

/* "start-end r-xp offset dev inode /path": keep executable file maps. */
static void
maps_add(const char *l)
{
	struct mapping *m;
	const char *path;
	size_t n;

	if (nmaps == MAX_MAPPINGS)
		return;
	m = &maps[nmaps];
	l = mri_prof_hex(l, &m->start);
	if (*l != '-')
		return;
	l = mri_prof_hex(l + 1, &m->limit);
	if (strncmp(l, " r-x", 4) && strncmp(l, " --x", 4))
		return;
	mri_prof_hex(l + 6, &m->offset);
	path = strchr(l, '/');
	if (!path || (n = strlen(path)) >= sizeof(m->path))
		return;
	memcpy(m->path, path, n + 1);
	m->build_id[0] = '\0';
	nmaps++;
}

/* The NT_GNU_BUILD_ID note in the n bytes at p (a PT_NOTE segment, as
 * loaded, whose notes are padded to align: 4, or 8 for segments of
 * alignment 8) as hex into hex; 0 if found. */
static int
note_build_id(const unsigned char *p, size_t n, size_t align, char *hex)
{
	size_t off = 0, i;

	while (n - off >= sizeof(ElfW(Nhdr))) {
		ElfW(Nhdr) h;
		size_t name, desc;

		memcpy(&h, p + off, sizeof(h));
		off += sizeof(h);
		name = ((size_t)h.n_namesz + align - 1) & ~(align - 1);
		desc = ((size_t)h.n_descsz + align - 1) & ~(align - 1);
		if (name > n - off || desc > n - off - name)
			return -1;
		if (h.n_type == NT_GNU_BUILD_ID && h.n_namesz == 4 &&
		    !memcmp(p + off, "GNU", 4) && h.n_descsz > 0 &&
		    h.n_descsz <= BUILD_ID_MAX) {
			for (i = 0; i < h.n_descsz; i++) {
				unsigned char c = p[off + name + i];
				hex[2 * i] = "0123456789abcdef"[c >> 4];
				hex[2 * i + 1] = "0123456789abcdef"[c & 15];
			}
			hex[2 * i] = '\0';
			return 0;
		}
		off += name + desc;
	}
	return -1;
}

/* dl_iterate_phdr: give the object's build id to the mappings inside its
 * loaded segments. */
static int
object_build_id(struct dl_phdr_info *info, size_t size, void *ctx)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	char hex[2 * BUILD_ID_MAX + 1] = "";
	int i, k;

	(void)size;
	(void)ctx;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD) {
			lo = a < lo ? a : lo;
			hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
		} else if (ph->p_type == PT_NOTE && !hex[0]) {
			(void)note_build_id((const unsigned char *)a,
					    ph->p_memsz,
					    ph->p_align == 8 ? 8 : 4, hex);
		}
	}
	if (!hex[0])
		return 0;
	for (k = 0; k < nmaps; k++)
		if (maps[k].start >= lo && maps[k].start < hi)
			memcpy(maps[k].build_id, hex, sizeof(hex));
	return 0;
}

static int
out_sink(void *ctx, const void *p, size_t n)
{
	out_write(ctx, p, n);
	return 0;
}

int
mri_prof_maps(void (*fn)(const char *), mrc_sink_fn raw, void *ctx)
{
	char buf[4096], line[512];
	size_t ln = 0;
	ssize_t n, i;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (raw)
			(void)raw(ctx, buf, (size_t)n);
		for (i = 0; fn && i < n; i++) {
			if (buf[i] != '\n') {
				if (ln < sizeof(line) - 1)
					line[ln++] = buf[i];
				continue;
			}
			line[ln] = '\0';
			fn(line);
			ln = 0;
		}
	}
	close(fd);
	return n < 0 ? -EIO : 0;
}

static uint64_t
mapping_of(uintptr_t pc)
{
	int i;

	for (i = 0; i < nmaps; i++)
		if (pc >= maps[i].start && pc < maps[i].limit)
			return (uint64_t)i + 1;
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The return address of a call lies after the call instruction: one byte
 * back is inside it, so pprof shows the line of the call. */
static uint64_t
call_pc(void *pc)
{
	return (uint64_t)(uintptr_t)pc - 1;
}

static void
write_proto(struct out *o, int kind, struct mri_prof_bucket *list)
{
	int inuse = kind == MR_PROFILE_INUSE;
	unsigned char b[MRI_PROF_MAX_DEPTH * 10 + 128];
	uint64_t ids[MRI_PROF_MAX_DEPTH], v[2], next_id = 1;
	int64_t bytes_key, bytes_unit, def;
	struct mri_prof_bucket *bk;
	struct mrc_pb m, lab;
	unsigned char lb[32];
	uint32_t i;
	int k;

	out_string(o, "");
	out_value_type(o, P_SAMPLE_TYPE,
		       inuse ? "inuse_objects" : "alloc_objects", "count");
	def = o->nstrings;
	out_value_type(o, P_SAMPLE_TYPE, inuse ? "inuse_space" : "alloc_space",
		       "bytes");
	out_value_type(o, P_PERIOD_TYPE, "space", "bytes");
	bytes_key = out_string(o, "bytes");
	bytes_unit = bytes_key;

	mrc_pb_init(&m, b, sizeof(b));
	mrc_pb_uint(&m, P_DEFAULT_SAMPLE_TYPE, (uint64_t)def);
	mrc_pb_uint(&m, P_PERIOD, (uint64_t)mri_opt(MRI_OPT_PROF_INTERVAL));
	mrc_pb_uint(&m, P_TIME_NANOS, now_ns());
	out_write(o, m.buf, m.len);

	for (k = 0; k < nmaps; k++) {
		int64_t f = out_string(o, maps[k].path);
		mrc_pb_init(&m, b, sizeof(b));
		mrc_pb_uint(&m, M_ID, (uint64_t)k + 1);
		mrc_pb_uint(&m, M_START, maps[k].start);
		mrc_pb_uint(&m, M_LIMIT, maps[k].limit);
		mrc_pb_uint(&m, M_OFFSET, maps[k].offset);
		mrc_pb_uint(&m, M_FILENAME, (uint64_t)f);
		if (maps[k].build_id[0])
			mrc_pb_uint(&m, M_BUILD_ID,
				    (uint64_t)out_string(o, maps[k].build_id));
		out_msg(o, P_MAPPING, &m);
	}

	for (bk = list; bk && !o->err; bk = bk->next) {
		uint64_t allocs = __atomic_load_n(&bk->allocs,
						  __ATOMIC_RELAXED);
		uint64_t frees = __atomic_load_n(&bk->frees, __ATOMIC_RELAXED);
		uint64_t n = inuse ? allocs - frees : allocs;

		for (i = 0; i < bk->depth; i++)
			ids[i] = next_id++;
		if (!n || frees > allocs)
			continue;
		mri_prof_scale(n, bk->size, bk->interval, &v[0], &v[1]);
		mrc_pb_init(&lab, lb, sizeof(lb));
		mrc_pb_uint(&lab, L_KEY, (uint64_t)bytes_key);
		mrc_pb_uint(&lab, L_NUM, bk->size);
		mrc_pb_uint(&lab, L_NUM_UNIT, (uint64_t)bytes_unit);
		mrc_pb_init(&m, b, sizeof(b));
		mrc_pb_packed(&m, S_LOCATION_ID, ids, bk->depth);
		mrc_pb_packed(&m, S_VALUE, v, 2);
		mrc_pb_bytes(&m, S_LABEL, lab.buf, lab.len);
		out_msg(o, P_SAMPLE, &m);
	}

	next_id = 1;
	for (bk = list; bk && !o->err; bk = bk->next)
		for (i = 0; i < bk->depth; i++) {
			uint64_t pc = call_pc(bk->pcs[i]);
			uint64_t mid = mapping_of((uintptr_t)pc);
			mrc_pb_init(&m, b, sizeof(b));
			mrc_pb_uint(&m, LOC_ID, next_id++);
			if (mid)
				mrc_pb_uint(&m, LOC_MAPPING_ID, mid);
			mrc_pb_uint(&m, LOC_ADDRESS, pc);
			out_msg(o, P_LOCATION, &m);
		}
}

static char *
fmt_u64(char *p, uint64_t v, unsigned base)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*p++ = t[--n];
	return p;
}

/* "n: bytes [n: bytes]" with raw sample counts: heap_v2 readers scale. */
static char *
fmt_counts(char *p, uint64_t in, uint64_t inb, uint64_t an, uint64_t ab)
{
	p = fmt_u64(p, in, 10);
	*p++ = ':';
	*p++ = ' ';
	p = fmt_u64(p, inb, 10);
	*p++ = ' ';
	*p++ = '[';
	p = fmt_u64(p, an, 10);
	*p++ = ':';
	*p++ = ' ';
	p = fmt_u64(p, ab, 10);
	*p++ = ']';
	return p;
}

static void
write_text(struct out *o, struct mri_prof_bucket *list)
{
	uint64_t t[4] = {0, 0, 0, 0};
	struct mri_prof_bucket *bk;
	char line[MRI_PROF_MAX_DEPTH * 20 + 128], *p;
	uint64_t interval = (uint64_t)mri_opt(MRI_OPT_PROF_INTERVAL);
	uint32_t i;

	for (bk = list; bk; bk = bk->next) {
		uint64_t a = __atomic_load_n(&bk->allocs, __ATOMIC_RELAXED);
		uint64_t f = __atomic_load_n(&bk->frees, __ATOMIC_RELAXED);
		if (f > a)
			f = a;
		t[0] += a - f;
		t[1] += (a - f) * bk->size;
		t[2] += a;
		t[3] += a * bk->size;
	}
	p = line;
	memcpy(p, "heap profile: ", 14);
	p = fmt_counts(p + 14, t[0], t[1], t[2], t[3]);
	memcpy(p, " @ heap_v2/", 11);
	p = fmt_u64(p + 11, interval, 10);
	*p++ = '\n';
	out_write(o, line, (size_t)(p - line));
	for (bk = list; bk && !o->err; bk = bk->next) {
		uint64_t a = __atomic_load_n(&bk->allocs, __ATOMIC_RELAXED);
		uint64_t f = __atomic_load_n(&bk->frees, __ATOMIC_RELAXED);
		if (f > a)
			f = a;
		p = fmt_counts(line, a - f, (a - f) * bk->size, a,
			       a * bk->size);
		*p++ = ' ';
		*p++ = '@';
		for (i = 0; i < bk->depth; i++) {
			*p++ = ' ';
			*p++ = '0';
			*p++ = 'x';
			p = fmt_u64(p, (uint64_t)(uintptr_t)bk->pcs[i], 16);
		}
		*p++ = '\n';
		out_write(o, line, (size_t)(p - line));
	}
	out_write(o, "\nMAPPED_LIBRARIES:\n", 19);
	(void)mri_prof_maps(NULL, out_sink, o);
}

int
mri_prof_write(int kind, mrc_sink_fn sink, void *ctx)
{
	struct out o = {NULL, sink, ctx, 0, 0};
	struct mri_prof_bucket *list = mri_prof_buckets();
	int text = kind & MR_PROFILE_TEXT;

	kind &= ~MR_PROFILE_TEXT;
	if (kind != MR_PROFILE_INUSE && kind != MR_PROFILE_ALLOC)
		return -EINVAL;
	pthread_mutex_lock(&dump_lock);
	if (text) {
		write_text(&o, list);
	} else {
		nmaps = 0;
		(void)mri_prof_maps(maps_add, NULL, NULL);
		(void)dl_iterate_phdr(object_build_id, NULL);
		o.gz = &gz;
		o.err = mrc_gz_begin(&gz, sink, ctx);
		write_proto(&o, kind, list);
		if (!o.err)
			o.err = mrc_gz_end(&gz);
	}
	pthread_mutex_unlock(&dump_lock);
	return o.err;
}

static int
fd_sink(void *ctx, const void *p, size_t n)
{
	int fd = *(int *)ctx;
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

MR_API int
mr_profile_write(int kind, int (*write)(void *ctx, const void *p, size_t n),
		 void *ctx)
{
	/* an API call, not inside malloc: libunwind may be loaded here */
	mri_prof_unwind_load();
	if (!write)
		return -EINVAL;
	return mri_prof_write(kind, write, ctx);
}

MR_API int
mr_profile_dump(int fd, int kind)
{
	mri_prof_unwind_load(); /* as mr_profile_write */
	if (fd < 0)
		return -EBADF;
	return mri_prof_write(kind, fd_sink, &fd);
}

static void
prof_atexit(void)
{
	const char *path = mri_opt_env("prof_file");
	int fd, kind = MR_PROFILE_INUSE;

	if (!path || !*path)
		return;
	if (mri_opt(MRI_OPT_PROF_FORMAT) == MRI_PROF_FORMAT_TEXT)
		kind |= MR_PROFILE_TEXT;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)mr_profile_dump(fd, kind);
	close(fd);
}

/* mr_option_set switched sampling on: libunwind, if auto or libunwind
 * walks want it (never from malloc: an API call or the client's thread). */
static void
prof_option_set(int id)
{
	if ((id == MRI_OPT_PROF || id == MRI_OPT_PROF_UNWIND) &&
	    mri_opt(MRI_OPT_PROF)) {
		mri_prof_unwind_load();
		/* this thread looks at the switch on its next malloc; the
		 * others within MRI_PROF_RECHECK bytes */
		if (id == MRI_OPT_PROF)
			mri_prof_restart();
	}
}

MRI_STARTUP void
mri_prof_init(void)
{
	const char *path = mri_opt_env("prof_file");

	mri_opt_set_hook(prof_option_set);

	if (mri_opt(MRI_OPT_PROF))
		mri_prof_unwind_load();
	if (path && *path)
		atexit(prof_atexit);
}
