/* csum_table.h - one member's checksum table (private to core/): the
 * entries of include/raid5fs/checksum.h held in memory page by page,
 * loaded from the member on first use and written back when flushed.
 *
 * Offsets are in the member's data area and, with lengths, multiples of
 * R5_CSUM_BLOCK; the member set widens any other read before it gets here.
 *
 * Table pages in memory, each in one state:
 *   absent   not read yet
 *   clean    as on the member (a never-written all-zero page is clean and
 *            holds the entries of zero blocks)
 *   dirty    changed since the member last got it: on the dirty list
 *   damaged  its trailer failed on load: entries not set since then are
 *            unknown, and blocks under them do not verify (never "good");
 *            once every entry is set again it becomes dirty
 *
 * Crash order: the table is written only by r5_csum_table_flush, which the
 * member set calls before it fdatasyncs the member; so after a flush +
 * sync, data and table agree on the member. Between flushes they may not:
 * after an unclean stop, the regions the write-intent bitmap marks are
 * where they can differ, and the resync there takes the data as it is and
 * sets the entries from it (docs/integrity.md).
 *
 * Memory: at most R5_CSUM_TABLE_MAX_PAGES pages stay in memory; past that
 * clean pages are dropped (and read again when needed). Dirty and damaged
 * pages are never dropped, so between two flushes a table can hold more.
 *
 * Locks: lock protects pages, their states and the dirty list; it is held
 * while a page is read from the member on first use (a leaf: nothing else
 * is taken under it). flush_lock serialises flushes. Checksums are
 * computed outside both.
 */
#ifndef RAID5FS_CORE_CSUM_TABLE_H
#define RAID5FS_CORE_CSUM_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "raid5fs/checksum.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"

struct r5_csum_table;

/* 32 MiB of table pages per member: 32 GiB of member data with crc32c,
 * 4 GiB with sha256 kept without reading a page twice. */
#define R5_CSUM_TABLE_MAX_PAGES 8192u

/* The table of member m (not owned; it must outlive the table) as sb
 * describes it, checking blocks with cs (owned by the table from now on,
 * also on failure). 0, -EINVAL (sb has no table) or -ENOMEM. */
int r5_csum_table_open(struct r5_member *m, const struct r5_superblock *sb, struct r5_csum *cs,
		       struct r5_csum_table **out);
/* Frees the table; dirty pages are dropped (flush first). NULL is fine. */
void r5_csum_table_close(struct r5_csum_table *t);

/* Checks the blocks in iov (iovcnt buffers following each other from
 * data-area offset off). 0: every block matches its entry. -EBADMSG: at
 * least one does not or cannot be verified; *bad (if not NULL) is the
 * data-area offset of the first such block. -EIO: the table could not be
 * read. */
int r5_csum_table_verify(struct r5_csum_table *t, const struct iovec *iov, int iovcnt,
			 uint64_t off, uint64_t *bad);
/* Sets the entries of the blocks in iov from their contents (a write, or
 * a block taken as it is). 0, or -EIO (the table could not be read). */
int r5_csum_table_update(struct r5_csum_table *t, const struct iovec *iov, int iovcnt,
			 uint64_t off);
/* Makes the entries of the blocks in [off, off+len) (whole blocks) differ
 * from what they were set to: a block written there that could not be
 * rebuilt never verifies, whatever it holds, until it is written again.
 * 0 or -errno. */
int r5_csum_table_poison(struct r5_csum_table *t, uint64_t off, uint64_t len);
/* Writes every dirty page to the member (without syncing it). 0 or
 * -errno; pages that could not be written stay dirty. */
int r5_csum_table_flush(struct r5_csum_table *t);

/* Changes the limit on pages in memory (tests). */
void r5_csum_table_set_max_pages(struct r5_csum_table *t, uint64_t pages);
/* Pages dirty now, and bytes of memory the table holds. */
uint64_t r5_csum_table_dirty_pages(struct r5_csum_table *t);
uint64_t r5_csum_table_memory(struct r5_csum_table *t);

/* Encodes the trailer of a table page (entries already in place). */
void r5_csum_page_seal(uint8_t *page, uint64_t index);

#endif
