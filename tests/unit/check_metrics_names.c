/*
 * check_metrics_names.c: the owner of a cgroup (container, pod, systemd
 * unit) read from real path shapes of Docker, containerd and CRI-O under
 * Kubernetes (both cgroup drivers), podman (root and rootless, cgroup v1
 * and v2) and systemd; and command names made fit for labels.
 */
#include "config.h"

#include <check.h>
#include <string.h>

#include "metrics_names.h"
#include "check_main.h"

#define ID "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899"
#define UID "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define UID_ "0f1e2d3c_4b5a_6978_8796_a5b4c3d2e1f0"

static void
expect(const char *path, const char *runtime, const char *pod,
       const char *container, const char *unit)
{
	struct mrd_owner o;
	int found = mrd_owner_parse(path, &o);

	ck_assert_msg(!strcmp(o.runtime, runtime), "%s: runtime '%s' not '%s'",
		      path, o.runtime, runtime);
	ck_assert_msg(!strcmp(o.pod, pod), "%s: pod '%s' not '%s'", path, o.pod,
		      pod);
	ck_assert_msg(!strcmp(o.container, container),
		      "%s: container '%s' not '%s'", path, o.container,
		      container);
	ck_assert_msg(!strcmp(o.unit, unit), "%s: unit '%s' not '%s'", path,
		      o.unit, unit);
	ck_assert_int_eq(found, pod[0] || container[0] || unit[0]);
}

START_TEST(test_docker)
{
	expect("/docker/" ID, "docker", "", "3f4e5d6c7b8a", "");
	expect("/system.slice/docker-" ID ".scope", "docker", "",
	       "3f4e5d6c7b8a", "");
	/* the daemon's own service is a unit, not a container */
	expect("/system.slice/docker.service", "systemd", "", "",
	       "docker.service");
}
END_TEST

START_TEST(test_kubernetes_systemd_driver)
{
	expect("/kubepods.slice/kubepods-burstable.slice/"
	       "kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID
	       ".scope",
	       "containerd", UID, "3f4e5d6c7b8a", "");
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope",
	       "crio", UID, "3f4e5d6c7b8a", "");
	expect("/kubepods.slice/kubepods-besteffort.slice/"
	       "kubepods-besteffort-pod" UID_ ".slice/docker-" ID ".scope",
	       "docker", UID, "3f4e5d6c7b8a", "");
	/* CRI-O's monitor is not the container */
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-conmon-" ID
	       ".scope",
	       "", UID, "", "crio-conmon-" ID ".scope");
	/* the pod's slice alone: a pod, no container */
	expect("/kubepods.slice/kubepods-burstable.slice/"
	       "kubepods-burstable-pod" UID_ ".slice",
	       "", UID, "", "");
}
END_TEST

START_TEST(test_kubernetes_cgroupfs_driver)
{
	expect("/kubepods/burstable/pod" UID "/" ID, "cri", UID, "3f4e5d6c7b8a",
	       "");
	expect("/kubepods/pod" UID "/" ID, "cri", UID, "3f4e5d6c7b8a", "");
	/* not a UID: no pod */
	expect("/kubepods/burstable/podcast", "", "", "", "");
}
END_TEST

START_TEST(test_podman)
{
	expect("/machine.slice/libpod-" ID ".scope", "podman", "",
	       "3f4e5d6c7b8a", "");
	/* cgroup v2: the processes sit in the scope's "container" child */
	expect("/machine.slice/libpod-" ID ".scope/container", "podman", "",
	       "3f4e5d6c7b8a", "");
	/* rootless, under the user's manager */
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/"
	       "libpod-" ID ".scope",
	       "podman", "", "3f4e5d6c7b8a", "");
	/* cgroupfs manager */
	expect("/libpod_parent/libpod-" ID, "podman", "", "3f4e5d6c7b8a", "");
	expect("/machine.slice/libpod-conmon-" ID ".scope", "systemd", "", "",
	       "libpod-conmon-" ID ".scope");
}
END_TEST

START_TEST(test_systemd_units)
{
	expect("/system.slice/nginx.service", "systemd", "", "",
	       "nginx.service");
	expect("/user.slice/user-1000.slice/session-3.scope", "systemd", "", "",
	       "session-3.scope");
	/* a service of the user's manager: the innermost unit */
	expect("/user.slice/user-1000.slice/user@1000.service/app.slice/"
	       "redis.service",
	       "systemd", "", "", "redis.service");
	expect("/", "", "", "", "");
	expect("", "", "", "", "");
	expect("/mrd-test-1234", "", "", "", "");
	/* a short or non-hex id is no container */
	expect("/docker/3f4e5d6c7b8a", "", "", "", "");
	expect("/system.slice/docker-" ID "x.scope", "systemd", "", "",
	       "docker-" ID "x.scope");
}
END_TEST

START_TEST(test_comm_safe)
{
	char out[16];

	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), "redis-server\n"),
			 "redis-server");
	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), "a\033[2Jb"),
			 "a_[2Jb");
	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), "caf\xc3\xa9"),
			 "caf__");
	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), ""), "?");
	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), "a\"b\\c"),
			 "a\"b\\c"); /* the exposition escapes these */
	ck_assert_str_eq(mrd_comm_safe(out, sizeof(out), "0123456789abcdefXYZ"),
			 "0123456789abcde");
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("metrics_names");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_docker);
	tcase_add_test(tc, test_kubernetes_systemd_driver);
	tcase_add_test(tc, test_kubernetes_cgroupfs_driver);
	tcase_add_test(tc, test_podman);
	tcase_add_test(tc, test_systemd_units);
	tcase_add_test(tc, test_comm_safe);
	suite_add_tcase(s, tc);
	return s;
}
