/*
 * check_sdpressure.c: systemd's memory pressure protocol on the library's
 * side (lib/client/sdpressure.c): the base64 decoder, the checks of
 * $MEMORY_PRESSURE_WATCH and $MEMORY_PRESSURE_WRITE (unset, "/dev/null",
 * bad values: one warning naming the variable, no crash, watch off), and
 * the watch itself on a FIFO and on an AF_UNIX stream socket: the trigger
 * is written, each event calls the release seam once and is counted.  The
 * real PSI file under a real stall is tests/system/sys_sdpressure.sh.
 *
 * The hooks are driven by hand (poll here, then mri_sdp_event), in a
 * process whose scavenger is off (re-exec with MEMRECLAIM_SCAVENGER=0), one
 * process per test so the module's state starts fresh.
 */
#include "config.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "memreclaim.h"
#include "client/sdpressure.h"
#include "os/options.h"
#include "check_main.h"

static int releases;

static ssize_t
fake_release(size_t bytes, enum mr_urgency urgency)
{
	ck_assert_uint_eq(bytes, SIZE_MAX);
	ck_assert_int_eq(urgency, MR_URGENCY_NOW);
	releases++;
	return 4096;
}

static struct mr_stats
sdp_stats(void)
{
	struct mr_stats st;

	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	mri_sdp_stats(&st);
	return st;
}

/* Run mri_sdp_tick with stderr in a file; return what was written. */
static const char *
tick_capture(int times)
{
	static char out[4096];
	char path[] = "/tmp/check_sdp.XXXXXX";
	int fd = mkstemp(path), saved = dup(2), i;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	dup2(fd, 2);
	for (i = 0; i < times; i++)
		mri_sdp_tick(i);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static int
count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

/* ---- base64 ---- */

START_TEST(test_base64_decodes_systemd_trigger)
{
	unsigned char out[MRI_SDP_WRITE_MAX];
	/* what systemd 254 sets for the default 200 ms threshold */
	int n =
	    mri_sdp_base64("c29tZSAyMDAwMDAgMjAwMDAwMAA=", out, sizeof(out));

	ck_assert_int_eq(n, 20);
	ck_assert_mem_eq(out, "some 200000 2000000\0", 20);
}
END_TEST

START_TEST(test_base64_padding_optional_whitespace_skipped)
{
	unsigned char out[16];

	ck_assert_int_eq(mri_sdp_base64("aGVsbG8", out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "hello", 5);
	ck_assert_int_eq(mri_sdp_base64("aGVs\nbG8=", out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "hello", 5);
	ck_assert_int_eq(mri_sdp_base64("", out, sizeof(out)), 0);
	/* the whole alphabet: + and / */
	ck_assert_int_eq(mri_sdp_base64("+/8=", out, sizeof(out)), 2);
	ck_assert_uint_eq(out[0], 0xfb);
	ck_assert_uint_eq(out[1], 0xff);
}
END_TEST

START_TEST(test_base64_rejects_bad_input)
{
	unsigned char out[MRI_SDP_WRITE_MAX];
	char big[400];

	ck_assert_int_eq(mri_sdp_base64("a$bc", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(mri_sdp_base64("a", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(mri_sdp_base64("aGk=aa", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(mri_sdp_base64("aGk===", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(mri_sdp_base64("aGl=", out, sizeof(out)), -EINVAL);
	memset(big, 'Q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(mri_sdp_base64(big, out, sizeof(out)), -E2BIG);
}
END_TEST

/* ---- the two variables ---- */

START_TEST(test_parse_off_and_bad_values)
{
	struct mri_sdp_conf c;
	const char *why, *var;

	ck_assert_int_eq(mri_sdp_parse(NULL, NULL, &c, &var, &why), -ENODEV);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(mri_sdp_parse("/dev/null", "aGk=", &c, &var, &why),
			 -ENODEV);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(mri_sdp_parse("", NULL, &c, &var, &why), -ENODEV);
	/* WRITE alone says so */
	ck_assert_int_eq(mri_sdp_parse(NULL, "aGk=", &c, &var, &why), -ENODEV);
	ck_assert_str_eq(var, "MEMORY_PRESSURE_WRITE");
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(mri_sdp_parse("memory.pressure", NULL, &c, &var, &why),
			 -EINVAL);
	ck_assert_str_eq(var, "MEMORY_PRESSURE_WATCH");
	ck_assert_str_eq(why, "not an absolute path");
	ck_assert_int_eq(
	    mri_sdp_parse("/x/memory.pressure", "%%%", &c, &var, &why),
	    -EINVAL);
	ck_assert_str_eq(var, "MEMORY_PRESSURE_WRITE");
	ck_assert_str_eq(why, "not base64");
	ck_assert_int_eq(mri_sdp_parse("/x/memory.pressure",
				       "c29tZSAyMDAwMDAgMjAwMDAwMAA=", &c, &var,
				       &why),
			 0);
	ck_assert_str_eq(c.watch, "/x/memory.pressure");
	ck_assert_uint_eq(c.write_len, 20);
}
END_TEST

START_TEST(test_bad_write_warns_once_and_stays_off)
{
	const char *out;
	struct mr_stats st;

	setenv("MEMORY_PRESSURE_WATCH", "/tmp", 1);
	setenv("MEMORY_PRESSURE_WRITE", "not*base64", 1);
	out = tick_capture(5);
	ck_assert_int_eq(count_lines(out, "\n"), 1);
	ck_assert_msg(strstr(out, "memreclaim: MEMORY_PRESSURE_WRITE ignored: "
				  "not base64"),
		      "%s", out);
	/* the value is not echoed */
	ck_assert_ptr_null(strstr(out, "not*base64"));
	ck_assert_int_eq(mri_sdp_fd(), -1);
	st = sdp_stats();
	ck_assert_uint_eq(st.pressure_watching, 0);
	ck_assert_int_eq(st.pressure_error, -EINVAL);
}
END_TEST

START_TEST(test_missing_file_warns_once)
{
	const char *out;

	setenv("MEMORY_PRESSURE_WATCH", "/nonexistent/memory.pressure", 1);
	setenv("MEMORY_PRESSURE_WRITE", "c29tZSAyMDAwMDAgMjAwMDAwMAA=", 1);
	out = tick_capture(3);
	ck_assert_int_eq(count_lines(out, "\n"), 1);
	ck_assert_msg(strstr(out, "MEMORY_PRESSURE_WATCH ignored: cannot open "
				  "/nonexistent/memory.pressure: no such file"),
		      "%s", out);
	ck_assert_int_eq(sdp_stats().pressure_error, -ENOENT);
}
END_TEST

START_TEST(test_dev_null_and_unset_are_silent)
{
	setenv("MEMORY_PRESSURE_WATCH", "/dev/null", 1);
	setenv("MEMORY_PRESSURE_WRITE", "c29tZSAyMDAwMDAgMjAwMDAwMAA=", 1);
	ck_assert_str_eq(tick_capture(3), "");
	ck_assert_int_eq(mri_sdp_fd(), -1);
	ck_assert_int_eq(sdp_stats().pressure_error, 0);
}
END_TEST

START_TEST(test_unset_is_silent)
{
	unsetenv("MEMORY_PRESSURE_WATCH");
	unsetenv("MEMORY_PRESSURE_WRITE");
	ck_assert_str_eq(tick_capture(3), "");
	ck_assert_int_eq(mri_sdp_fd(), -1);
}
END_TEST

START_TEST(test_option_turns_it_off)
{
	char dir[] = "/tmp/check_sdp.XXXXXX", fifo[64];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	setenv("MEMORY_PRESSURE_WATCH", fifo, 1);
	unsetenv("MEMORY_PRESSURE_WRITE");
	ck_assert_int_eq(mr_option_set("sd_pressure", "0"), 0);
	ck_assert_str_eq(tick_capture(2), "");
	ck_assert_int_eq(mri_sdp_fd(), -1);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

/* Poll the watch as the scavenger would and hand over what it saw. */
static void
poll_and_deliver(uint64_t now_ns)
{
	struct pollfd p = {.fd = mri_sdp_fd(), .events = mri_sdp_poll_events()};

	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	mri_sdp_event(p.revents, now_ns);
}

START_TEST(test_fifo_events_release)
{
	char dir[] = "/tmp/check_sdp.XXXXXX", fifo[64], got[32];
	int rd, wr;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	/* a reader of our own first: what the library writes is kept */
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	setenv("MEMORY_PRESSURE_WATCH", fifo, 1);
	setenv("MEMORY_PRESSURE_WRITE", "aGVsbG8=", 1); /* "hello" */
	mri_sdp_set_release(fake_release);
	ck_assert_str_eq(tick_capture(1), "");
	ck_assert_int_ge(mri_sdp_fd(), 0);
	ck_assert_int_eq(mri_sdp_poll_events(), POLLIN);
	ck_assert_uint_eq(sdp_stats().pressure_watching, 1);
	/* a FIFO gets the bytes as decoded: no NUL added */
	n = read(rd, got, sizeof(got));
	ck_assert_int_eq(n, 5);
	ck_assert_mem_eq(got, "hello", 5);
	close(rd);

	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	ck_assert_int_ge(wr, 0);
	ck_assert_int_eq(write(wr, "x", 1), 1);
	poll_and_deliver(1000000000ULL);
	ck_assert_int_eq(releases, 1);
	/* a writer that closes does not end the watch (opened read-write) */
	close(wr);
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	ck_assert_int_eq(write(wr, "yy", 2), 2);
	poll_and_deliver(2000000000ULL);
	ck_assert_int_eq(releases, 2);
	/* one within 100 ms of the last release is counted, not obeyed */
	ck_assert_int_eq(write(wr, "z", 1), 1);
	poll_and_deliver(2050000000ULL);
	ck_assert_int_eq(releases, 2);
	ck_assert_uint_eq(sdp_stats().pressure_events, 2);
	ck_assert_uint_eq(sdp_stats().pressure_released_bytes, 8192);
	close(wr);
	mri_sdp_stop();
	ck_assert_uint_eq(sdp_stats().pressure_watching, 0);
	unlink(fifo);
	rmdir(dir);
}
END_TEST

START_TEST(test_socket_gets_trigger_and_events)
{
	char dir[] = "/tmp/check_sdp.XXXXXX", got[64];
	struct sockaddr_un sa;
	int lfd, cfd;
	ssize_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	setenv("MEMORY_PRESSURE_WATCH", sa.sun_path, 1);
	setenv("MEMORY_PRESSURE_WRITE", "c29tZSAyMDAwMDAgMjAwMDAwMAA=", 1);
	mri_sdp_set_release(fake_release);
	ck_assert_str_eq(tick_capture(1), "");
	ck_assert_int_ge(mri_sdp_fd(), 0);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	n = read(cfd, got, sizeof(got));
	ck_assert_int_eq(n, 20);
	ck_assert_mem_eq(got, "some 200000 2000000\0", 20);
	ck_assert_int_eq(write(cfd, "pressure", 8), 8);
	poll_and_deliver(1000000000ULL);
	ck_assert_int_eq(releases, 1);
	/* the peer closing ends the watch, with no release */
	close(cfd);
	poll_and_deliver(3000000000ULL);
	ck_assert_int_eq(releases, 1);
	ck_assert_int_eq(mri_sdp_fd(), -1);
	ck_assert_uint_eq(sdp_stats().pressure_watching, 0);
	close(lfd);
	unlink(sa.sun_path);
	rmdir(dir);
}
END_TEST

START_TEST(test_psi_file_needs_a_trigger)
{
	const char *out;

	/* a regular file stands for a PSI file */
	setenv("MEMORY_PRESSURE_WATCH", "/proc/self/status", 1);
	unsetenv("MEMORY_PRESSURE_WRITE");
	out = tick_capture(2);
	ck_assert_int_eq(count_lines(out, "\n"), 1);
	ck_assert_msg(strstr(out, "MEMORY_PRESSURE_WRITE ignored: unset, and "
				  "a PSI file needs a trigger"),
		      "%s", out);
	ck_assert_int_eq(mri_sdp_fd(), -1);
}
END_TEST

static Suite *
sdp_suite(void)
{
	Suite *s = suite_create("sdpressure");
	TCase *tc = tcase_create("protocol");

	tcase_add_test(tc, test_base64_decodes_systemd_trigger);
	tcase_add_test(tc, test_base64_padding_optional_whitespace_skipped);
	tcase_add_test(tc, test_base64_rejects_bad_input);
	tcase_add_test(tc, test_parse_off_and_bad_values);
	tcase_add_test(tc, test_bad_write_warns_once_and_stays_off);
	tcase_add_test(tc, test_missing_file_warns_once);
	tcase_add_test(tc, test_dev_null_and_unset_are_silent);
	tcase_add_test(tc, test_unset_is_silent);
	tcase_add_test(tc, test_option_turns_it_off);
	tcase_add_test(tc, test_fifo_events_release);
	tcase_add_test(tc, test_socket_gets_trigger_and_events);
	tcase_add_test(tc, test_psi_file_needs_a_trigger);
	suite_add_tcase(s, tc);
	return s;
}

Suite *
test_suite(void)
{
	static char *const argv[] = {"check_sdpressure", NULL};

	/* The constructor's scavenger would tick the watch on its own
	 * thread: run in a process whose scavenger is off from the start. */
	if (mri_opt(MRI_OPT_SCAVENGER) != 0) {
		if (getenv("CHECK_SDP_REEXEC")) {
			fprintf(stderr,
				"check_sdpressure: MEMRECLAIM_SCAVENGER=0 "
				"not in force after re-exec\n");
			exit(1);
		}
		setenv("MEMRECLAIM_SCAVENGER", "0", 1);
		setenv("CHECK_SDP_REEXEC", "1", 1);
		unsetenv("MEMORY_PRESSURE_WATCH");
		unsetenv("MEMORY_PRESSURE_WRITE");
		execv("/proc/self/exe", argv);
		perror("check_sdpressure: re-exec");
		exit(1);
	}
	setenv("CK_FORK", "yes", 1);
	return sdp_suite();
}
