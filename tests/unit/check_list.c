/*
 * check_list.c: common/list.h, the intrusive list the daemon keeps its
 * clients and cgroups in: order, removal while walking, double removal.
 */
#include "config.h"

#include <check.h>

#include "check_main.h"
#include "common/list.h"

struct item {
	int v;
	struct mrc_list link;
};

/* The values of h in order, as digits: {1,2,3} -> 123. */
static int
list_digits(struct mrc_list *h)
{
	struct item *it;
	int n = 0;

	mrc_list_for_each(it, h, link) n = n * 10 + it->v;
	return n;
}

START_TEST(test_list_add_is_newest_first_add_tail_is_oldest_first)
{
	struct mrc_list h = MRC_LIST_INIT(h), t;
	struct item a = {1, {0, 0}}, b = {2, {0, 0}}, c = {3, {0, 0}};

	ck_assert(mrc_list_empty(&h));
	mrc_list_add(&h, &a.link);
	mrc_list_add(&h, &b.link);
	mrc_list_add(&h, &c.link);
	ck_assert(!mrc_list_empty(&h));
	ck_assert_int_eq(list_digits(&h), 321);
	mrc_list_init(&t);
	mrc_list_del(&a.link);
	mrc_list_del(&b.link);
	mrc_list_del(&c.link);
	ck_assert(mrc_list_empty(&h));
	mrc_list_add_tail(&t, &a.link);
	mrc_list_add_tail(&t, &b.link);
	mrc_list_add_tail(&t, &c.link);
	ck_assert_int_eq(list_digits(&t), 123);
	ck_assert_ptr_eq(mrc_list_entry(t.next, struct item, link), &a);
	ck_assert_ptr_eq(mrc_list_entry(t.prev, struct item, link), &c);
}
END_TEST

START_TEST(test_list_safe_walk_removes_every_other)
{
	struct mrc_list h = MRC_LIST_INIT(h);
	struct item it[6], *e, *tmp;
	int i;

	for (i = 0; i < 6; i++) {
		it[i].v = i + 1;
		mrc_list_add_tail(&h, &it[i].link);
	}
	mrc_list_for_each_safe(e, tmp, &h, link) if (e->v % 2 == 0)
	    mrc_list_del(&e->link);
	ck_assert_int_eq(list_digits(&h), 135);
	mrc_list_for_each_safe(e, tmp, &h, link) mrc_list_del(&e->link);
	ck_assert(mrc_list_empty(&h));
}
END_TEST

START_TEST(test_list_del_twice_is_harmless)
{
	struct mrc_list h = MRC_LIST_INIT(h);
	struct item a = {1, {0, 0}}, b = {2, {0, 0}};

	mrc_list_add_tail(&h, &a.link);
	mrc_list_add_tail(&h, &b.link);
	mrc_list_del(&a.link);
	mrc_list_del(&a.link);
	ck_assert_int_eq(list_digits(&h), 2);
	ck_assert(mrc_list_empty(&a.link));
}
END_TEST

Suite *
test_suite(void)
{
	Suite *s = suite_create("list");
	TCase *tc = tcase_create("list");

	tcase_add_test(tc,
		       test_list_add_is_newest_first_add_tail_is_oldest_first);
	tcase_add_test(tc, test_list_safe_walk_removes_every_other);
	tcase_add_test(tc, test_list_del_twice_is_harmless);
	suite_add_tcase(s, tc);
	return s;
}
