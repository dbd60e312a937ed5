/* list.h - a minimal intrusive doubly-linked list (circular, with a head). */
#ifndef RAID5FS_CORE_LIST_H
#define RAID5FS_CORE_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct r5_list {
	struct r5_list *next, *prev;
};

#define r5_container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

static inline void r5_list_init(struct r5_list *l) { l->next = l->prev = l; }
static inline bool r5_list_empty(const struct r5_list *l) { return l->next == l; }

static inline void r5_list_add_tail(struct r5_list *head, struct r5_list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

static inline void r5_list_del(struct r5_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->next = e->prev = e;
}

/* Removes and returns the first element, or NULL. */
static inline struct r5_list *r5_list_pop(struct r5_list *head)
{
	struct r5_list *e = head->next;
	if (e == head)
		return NULL;
	r5_list_del(e);
	return e;
}

/* Moves every element of from to the tail of to. */
static inline void r5_list_splice_tail(struct r5_list *to, struct r5_list *from)
{
	if (r5_list_empty(from))
		return;
	from->next->prev = to->prev;
	to->prev->next = from->next;
	from->prev->next = to;
	to->prev = from->prev;
	r5_list_init(from);
}

#endif
