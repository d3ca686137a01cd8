/*
 * common/list.h: an intrusive, circular, doubly linked list.
 *
 * A struct mrc_list is both the head of a list and the link embedded in
 * each element; an empty head points at itself.  Insertion and removal are
 * O(1) and allocate nothing; the list does not own its elements.  Use
 * mrc_list_entry() to get from a link to its element, and the _safe loop
 * when the body may remove the current element.  Not locked: the owner of
 * the head decides who may touch it.
 */
#ifndef MRC_LIST_H
#define MRC_LIST_H

#include <stddef.h>

struct mrc_list {
	struct mrc_list *next;
	struct mrc_list *prev;
};

#define MRC_LIST_INIT(name)                                                    \
	{                                                                      \
		&(name), &(name)                                               \
	}

/* The element of type `type` whose member `member` is link l. */
#define mrc_list_entry(l, type, member)                                        \
	((type *)(void *)((char *)(l)-offsetof(type, member)))

static inline void
mrc_list_init(struct mrc_list *h)
{
	h->next = h->prev = h;
}

static inline int
mrc_list_empty(const struct mrc_list *h)
{
	return h->next == h;
}

/* Insert n between a and b. */
static inline void
mrc_list_insert_between(struct mrc_list *n, struct mrc_list *a,
			struct mrc_list *b)
{
	n->prev = a;
	n->next = b;
	a->next = n;
	b->prev = n;
}

/* Insert n first in h. */
static inline void
mrc_list_add(struct mrc_list *h, struct mrc_list *n)
{
	mrc_list_insert_between(n, h, h->next);
}

/* Insert n last in h. */
static inline void
mrc_list_add_tail(struct mrc_list *h, struct mrc_list *n)
{
	mrc_list_insert_between(n, h->prev, h);
}

/* Unlink n from its list; n then is an empty list of its own, so removing
 * twice is harmless. */
static inline void
mrc_list_del(struct mrc_list *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = n;
}

/* Every element e (of e's type) of h, through its link `member`. */
#define mrc_list_for_each(e, h, member)                                        \
	for ((e) = mrc_list_entry((h)->next, __typeof__(*(e)), member);        \
	     &(e)->member != (h);                                              \
	     (e) = mrc_list_entry((e)->member.next, __typeof__(*(e)), member))

/* The same, where the body may unlink (and free) e; tmp is scratch of e's
 * type. */
#define mrc_list_for_each_safe(e, tmp, h, member)                              \
	for ((e) = mrc_list_entry((h)->next, __typeof__(*(e)), member),        \
	    (tmp) =                                                            \
		 mrc_list_entry((e)->member.next, __typeof__(*(e)), member);   \
	     &(e)->member != (h);                                              \
	     (e) = (tmp), (tmp) = mrc_list_entry((e)->member.next,             \
						 __typeof__(*(e)), member))

#endif
