/* An intrusive, circular, doubly-linked list with a sentinel head: the wait queue, the in-flight
 * FIFOs and the deadline lists of the db module. Private to db/. */
#ifndef db_list_h
#define db_list_h

#include <stddef.h>

typedef struct db_link {
    struct db_link *prev, *next;
} db_link_t;

#define db_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* Also used on members: an unlinked member points at itself, so removing it twice is harmless. */
static inline void db_list_init(db_link_t *l)
{
    l->prev = l->next = l;
}

static inline int db_list_empty(const db_link_t *head)
{
    return head->next == head;
}

static inline void db_list_insert_after(db_link_t *pos, db_link_t *l)
{
    l->prev = pos;
    l->next = pos->next;
    pos->next->prev = l;
    pos->next = l;
}

static inline void db_list_push_back(db_link_t *head, db_link_t *l)
{
    db_list_insert_after(head->prev, l);
}

static inline void db_list_push_front(db_link_t *head, db_link_t *l)
{
    db_list_insert_after(head, l);
}

static inline void db_list_remove(db_link_t *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    db_list_init(l);
}

/* Moves every member of `from` to the empty list `to`. */
static inline void db_list_move(db_link_t *from, db_link_t *to)
{
    db_list_init(to);
    if (db_list_empty(from))
        return;
    to->next = from->next;
    to->prev = from->prev;
    to->next->prev = to;
    to->prev->next = to;
    db_list_init(from);
}

#endif
