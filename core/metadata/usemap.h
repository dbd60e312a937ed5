/* usemap.h - the in-use map (private to core/): which units of member data
 * may hold data. One bit per unit (usemap_unit member bytes: whole stripe
 * rows, the same offsets on every member); a clear bit says the unit is
 * unused.
 *
 * THE RULE. A unit the map calls unused holds zeros on every member that
 * takes writes, durably (data, parity and checksum entries alike): its rows
 * are consistent, read as zeros, and need no recovery, resync or check.
 * Two transitions keep it true across any crash:
 *   - unused -> in use: before the first write into the unit is planned,
 *     its bit is written to every member that takes writes and synced
 *     (r5_usemap_mark), as the write-intent bitmap does;
 *   - in use -> unused: only after zeros written over the whole unit are
 *     durable on the members (a discard: written through the engine, then
 *     flushed), and only if no other write entered the unit meanwhile
 *     (r5_usemap_release compares the unit's write count).
 * A crash between a bit's write and what it guards leaves the bit in use,
 * which is always safe: an in-use unit is treated as the map did not
 * exist. Any member's copy of the map that took every write is valid, so
 * assembly reads it from the first member in sync.
 *
 * A new array starts with every unit unused: its members' data areas are
 * zeros (create.c). An array made before the map has none: every query
 * then says "in use" (a NULL map).
 *
 * Concurrency: writers count themselves into a unit and then test its bit
 * without the lock; release clears the bit and then looks at the count.
 * Both are sequentially consistent atomics, so either the writer sees the
 * bit clear (and takes the slow path behind the lock) or release sees the
 * count move (and keeps the unit in use).
 *
 * Layer: on-disk metadata. Reads its copy from one member and writes
 * through the writer it is given (the member set's r5_members_write_meta).
 */
#ifndef RAID5FS_CORE_USEMAP_H
#define RAID5FS_CORE_USEMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bitmap.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"

struct r5_usemap;

/* The map sb describes, read from member `from`; *out = NULL when sb has
 * none (every unit in use). 0, -EIO (cannot be read) or -ENOMEM. */
int r5_usemap_create(const struct r5_superblock *sb, struct r5_member *from, r5_meta_write_fn write,
		     void *write_ctx, struct r5_usemap **out);
void r5_usemap_destroy(struct r5_usemap *u);

/* May the unit holding member offset off hold data? (true without a map) */
bool r5_usemap_in_use(const struct r5_usemap *u, uint64_t member_off);
/* A write into member bytes [start, end) is about to be planned: counts it
 * into their units and makes sure their bits are on disk. 0 or -errno
 * (the write must then fail). */
int r5_usemap_mark(struct r5_usemap *u, uint64_t start, uint64_t end);
/* Unit index of a member offset, member bytes per unit (0 without a map). */
uint64_t r5_usemap_unit_of(const struct r5_usemap *u, uint64_t member_off);
uint64_t r5_usemap_unit_size(const struct r5_usemap *u);
/* The write count of a unit, taken before a discard writes its zeros. */
uint64_t r5_usemap_writes(const struct r5_usemap *u, uint64_t unit);
/* The zeros written over the whole of `unit` are durable: marks it unused
 * on disk unless a write entered it since its count was `writes`.
 * 1 released, 0 kept in use, -errno. */
int r5_usemap_release(struct r5_usemap *u, uint64_t unit, uint64_t writes);
/* Calls fn(ctx) if every unit of member bytes [start, end) is unused,
 * with the map's lock held: no write can enter those units until fn
 * returns (a write into an unused unit takes the lock to mark it). 1 when
 * fn ran and returned 0, 0 when a unit is in use (fn not called), or fn's
 * -errno. fn must not write into the array. */
int r5_usemap_while_unused(struct r5_usemap *u, uint64_t start, uint64_t end, int (*fn)(void *ctx),
			   void *ctx);
/* Writes the whole map to a member joining the array (before it takes
 * I/O), at offset off of that member. */
int r5_usemap_write_member(struct r5_usemap *u, struct r5_member *m, uint64_t off);
/* Units in use and in all. */
void r5_usemap_count(const struct r5_usemap *u, uint64_t *in_use, uint64_t *units);

#endif
