/* csum_table.c - one member's checksum table in memory (csum_table.h;
 * the on-disk format is in include/raid5fs/checksum.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csum_table.h"
#include "le.h"
#include "locks.h"

enum page_state {
	PAGE_ABSENT = 0,
	PAGE_CLEAN,
	PAGE_DIRTY,
	PAGE_DAMAGED,
};

struct r5_csum_table {
	struct r5_member *m; /* where the pages live; not owned */
	struct r5_csum *cs;  /* owned */
	uint64_t offset;     /* member offset of page 0 */
	uint64_t nblocks, npages;
	uint32_t esize, per_page;

	pthread_mutex_t lock;  /* protects everything below */
	uint8_t **pages;       /* npages; NULL while absent */
	uint8_t *state;        /* enum page_state per page */
	uint64_t **known;      /* damaged pages: bitmap of entries set since */
	uint64_t *dirty;       /* indices of dirty pages (each once) */
	uint64_t ndirty, dirty_cap;
	uint64_t nloaded;       /* pages in memory */
	uint64_t max_loaded;    /* above this, clean pages are dropped */
	uint64_t hand;          /* where the next drop looks first */

	pthread_mutex_t flush_lock; /* one flush at a time */
};

/* ---- page encoding ---- */

void
r5_csum_page_seal(uint8_t *page, uint64_t index)
{
	r5_put_le32(page + 4080, R5_CSUM_PAGE_MAGIC);
	r5_put_le64(page + 4084, index);
	r5_put_le32(page + 4092, r5_crc32c(0, page, 4092));
}

static bool
page_sealed(const uint8_t *page, uint64_t index)
{
	return r5_get_le32(page + 4080) == R5_CSUM_PAGE_MAGIC && r5_get_le64(page + 4084) == index &&
	       r5_get_le32(page + 4092) == r5_crc32c(0, page, 4092);
}

static bool
all_zero(const uint8_t *p, size_t len)
{
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* ---- open / close ---- */

int
r5_csum_table_open(struct r5_member *m, const struct r5_superblock *sb, struct r5_csum *cs,
		   struct r5_csum_table **out)
{
	struct r5_csum_table *t;

	*out = NULL;
	if (sb->csum_alg == R5_CSUM_NONE || r5_csum_alg(cs) != sb->csum_alg ||
	    sb->csum_size < r5_csum_table_bytes(sb->csum_alg, sb->data_size)) {
		r5_csum_destroy(cs);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		r5_csum_destroy(cs);
		return -ENOMEM;
	}
	t->m = m;
	t->cs = cs;
	t->offset = sb->csum_offset;
	t->esize = r5_csum_entry_size(sb->csum_alg);
	t->per_page = r5_csum_per_page(sb->csum_alg);
	t->nblocks = sb->data_size / R5_CSUM_BLOCK;
	t->npages = (t->nblocks + t->per_page - 1) / t->per_page;
	t->pages = calloc(t->npages ? t->npages : 1, sizeof(*t->pages));
	t->state = calloc(t->npages ? t->npages : 1, 1);
	t->known = calloc(t->npages ? t->npages : 1, sizeof(*t->known));
	if (!t->pages || !t->state || !t->known) {
		r5_csum_table_close(t);
		return -ENOMEM;
	}
	r5_mutex_init(&t->lock);
	r5_mutex_init(&t->flush_lock);
	t->max_loaded = R5_CSUM_TABLE_MAX_PAGES;
	*out = t;
	return 0;
}

void
r5_csum_table_close(struct r5_csum_table *t)
{
	if (!t)
		return;
	for (uint64_t p = 0; t->pages && p < t->npages; p++) {
		free(t->pages[p]);
		free(t->known[p]);
	}
	if (t->state) {
		r5_mutex_destroy(&t->lock);
		r5_mutex_destroy(&t->flush_lock);
	}
	free(t->pages);
	free(t->state);
	free(t->known);
	free(t->dirty);
	r5_csum_destroy(t->cs);
	free(t);
}

/* ---- pages ---- */

static int
mark_dirty(struct r5_csum_table *t, uint64_t p)
{
	if (t->state[p] == PAGE_DIRTY)
		return 0;
	if (t->ndirty == t->dirty_cap) {
		uint64_t cap = t->dirty_cap ? 2 * t->dirty_cap : 64;
		uint64_t *d = realloc(t->dirty, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		t->dirty = d;
		t->dirty_cap = cap;
	}
	t->dirty[t->ndirty++] = p;
	t->state[p] = PAGE_DIRTY;
	return 0;
}

/* Entries of a never-written page: those of zero blocks. */
static int
fill_zero_page(struct r5_csum_table *t, uint64_t p, uint8_t *page)
{
	static const uint8_t zeros[R5_CSUM_BLOCK];

	for (uint32_t k = 0; k < t->per_page; k++) {
		uint64_t b = p * t->per_page + k;

		if (b >= t->nblocks)
			break;
		if (r5_csum_block(t->cs, b, zeros, page + (size_t)k * t->esize) < 0)
			return -EIO;
	}
	return 0;
}

/* Over the limit: drops clean pages, going round the table from where the
 * last drop stopped (a clock without reference bits: the pages a workload
 * uses come back from the member's page cache cheaply). Dirty and damaged
 * pages stay. lock held. */
static void
evict(struct r5_csum_table *t, uint64_t keep)
{
	for (uint64_t seen = 0; t->nloaded > t->max_loaded && seen < t->npages; seen++) {
		uint64_t p = t->hand;

		t->hand = (t->hand + 1) % t->npages;
		if (p == keep || !t->pages[p] || t->state[p] != PAGE_CLEAN)
			continue;
		free(t->pages[p]);
		t->pages[p] = NULL;
		t->state[p] = PAGE_ABSENT;
		t->nloaded--;
	}
}

/* Page p in memory; lock held (kept while reading it from the member). */
static int
page_get(struct r5_csum_table *t, uint64_t p, uint8_t **out)
{
	uint8_t *page = t->pages[p];
	int ret;

	if (page) {
		*out = page;
		return 0;
	}
	page = aligned_alloc(64, R5_CSUM_PAGE);
	if (!page)
		return -ENOMEM;
	ret = r5_member_read(t->m, page, R5_CSUM_PAGE, t->offset + p * R5_CSUM_PAGE);
	if (ret < 0) {
		free(page);
		return ret;
	}
	if (all_zero(page, R5_CSUM_PAGE)) {
		ret = fill_zero_page(t, p, page);
		if (ret < 0) {
			free(page);
			return ret;
		}
		t->state[p] = PAGE_CLEAN;
	} else if (page_sealed(page, p)) {
		t->state[p] = PAGE_CLEAN;
	} else {
		t->known[p] = calloc((t->per_page + 63) / 64, sizeof(uint64_t));
		if (!t->known[p]) {
			free(page);
			return -ENOMEM;
		}
		t->state[p] = PAGE_DAMAGED;
	}
	t->pages[p] = page;
	t->nloaded++;
	if (t->nloaded > t->max_loaded)
		evict(t, p);
	*out = page;
	return 0;
}

/* ---- verify / update ---- */

/* Block b's entry in memory (its page read on first use), with the page p
 * and the slot k in it. lock held. */
static int
entry_get(struct r5_csum_table *t, uint64_t b, uint64_t *p, uint32_t *k, uint8_t **entry)
{
	uint8_t *page;
	int ret;

	*p = b / t->per_page;
	*k = (uint32_t)(b % t->per_page);
	*entry = NULL;
	ret = page_get(t, *p, &page);
	if (ret == 0)
		*entry = page + (size_t)*k * t->esize;
	return ret;
}

/* Entries are computed outside the lock, a batch of consecutive blocks at
 * a time, and the batch is then compared or stored under one lock round
 * (a lock per 4 KiB block cost several percent of a streaming read). */
#define R5_CSUM_BATCH 64

struct csum_batch {
	uint64_t first; /* block number of entry 0 */
	uint32_t n;
	uint8_t entry[R5_CSUM_BATCH][R5_CSUM_MAX_ENTRY];
	uint64_t bad;   /* verify: first block that failed, UINT64_MAX if none */
};

/* Computes the entries of the vector's blocks, R5_CSUM_BATCH at a time,
 * and hands each batch to fn (called with the lock held). */
static int
for_each_batch(struct r5_csum_table *t, const struct iovec *iov, int iovcnt, uint64_t off,
	       int (*fn)(struct r5_csum_table *, struct csum_batch *), struct csum_batch *cb)
{
	uint64_t b = off / R5_CSUM_BLOCK;
	int ret = 0;

	if (off % R5_CSUM_BLOCK)
		return -EINVAL;
	cb->n = 0;
	for (int i = 0; i < iovcnt && ret == 0; i++) {
		const uint8_t *p = iov[i].iov_base;

		if (iov[i].iov_len % R5_CSUM_BLOCK)
			return -EINVAL;
		for (size_t done = 0; done < iov[i].iov_len; done += R5_CSUM_BLOCK, b++) {
			if (b >= t->nblocks)
				return -EINVAL;
			if (cb->n == 0)
				cb->first = b;
			if (r5_csum_block(t->cs, b, p + done, cb->entry[cb->n]) < 0)
				return -EIO;
			if (++cb->n == R5_CSUM_BATCH) {
				r5_mutex_lock(&t->lock);
				ret = fn(t, cb);
				r5_mutex_unlock(&t->lock);
				cb->n = 0;
				if (ret)
					break;
			}
		}
	}
	if (ret == 0 && cb->n > 0) {
		r5_mutex_lock(&t->lock);
		ret = fn(t, cb);
		r5_mutex_unlock(&t->lock);
	}
	return ret < 0 ? (ret == -ENOMEM || ret == -EINVAL ? ret : -EIO) : 0;
}

/* lock held */
static int
verify_batch(struct r5_csum_table *t, struct csum_batch *cb)
{
	for (uint32_t i = 0; i < cb->n && cb->bad == UINT64_MAX; i++) {
		const uint64_t b = cb->first + i;
		uint64_t p;
		uint32_t k;
		uint8_t *entry;
		int ret = entry_get(t, b, &p, &k, &entry);

		if (ret < 0)
			return ret;
		bool known = t->state[p] != PAGE_DAMAGED || (t->known[p][k / 64] >> (k % 64) & 1);

		if (!known || memcmp(cb->entry[i], entry, t->esize) != 0)
			cb->bad = b;
	}
	return 0;
}

int
r5_csum_table_verify(struct r5_csum_table *t, const struct iovec *iov, int iovcnt, uint64_t off,
		     uint64_t *bad)
{
	struct csum_batch cb = { .bad = UINT64_MAX };
	int ret = for_each_batch(t, iov, iovcnt, off, verify_batch, &cb);

	if (ret < 0)
		return ret;
	if (cb.bad == UINT64_MAX)
		return 0;
	if (bad)
		*bad = cb.bad * R5_CSUM_BLOCK;
	return -EBADMSG;
}

/* Sets entry k of damaged page p as known again; the page is whole (and
 * dirty) once every entry it covers is. lock held. */
static int
damaged_entry_set(struct r5_csum_table *t, uint64_t p, uint32_t k)
{
	uint64_t *kn = t->known[p];
	uint32_t set = 0;
	/* the last page of the table may cover fewer blocks */
	const uint64_t left = t->nblocks - p * t->per_page;
	const uint32_t want = left < t->per_page ? (uint32_t)left : t->per_page;

	kn[k / 64] |= 1ull << (k % 64);
	for (uint32_t i = 0; i < t->per_page; i++)
		set += (uint32_t)(kn[i / 64] >> (i % 64) & 1);
	if (set < want)
		return 0;
	free(kn);
	t->known[p] = NULL;
	t->state[p] = PAGE_CLEAN; /* mark_dirty makes it dirty */
	return mark_dirty(t, p);
}

/* lock held */
static int
update_batch(struct r5_csum_table *t, struct csum_batch *cb)
{
	for (uint32_t i = 0; i < cb->n; i++) {
		uint64_t p;
		uint32_t k;
		uint8_t *entry;
		int ret = entry_get(t, cb->first + i, &p, &k, &entry);

		if (ret < 0)
			return ret;
		memcpy(entry, cb->entry[i], t->esize);
		ret = t->state[p] == PAGE_DAMAGED ? damaged_entry_set(t, p, k) : mark_dirty(t, p);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int
r5_csum_table_update(struct r5_csum_table *t, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct csum_batch cb = { .bad = UINT64_MAX };

	return for_each_batch(t, iov, iovcnt, off, update_batch, &cb);
}

int
r5_csum_table_poison(struct r5_csum_table *t, uint64_t off, uint64_t len)
{
	int ret = 0;

	if (off % R5_CSUM_BLOCK || len % R5_CSUM_BLOCK)
		return -EINVAL;
	r5_mutex_lock(&t->lock);
	for (uint64_t b = off / R5_CSUM_BLOCK; ret == 0 && b < (off + len) / R5_CSUM_BLOCK; b++) {
		uint64_t p;
		uint32_t k;
		uint8_t *entry;

		if (b >= t->nblocks) {
			ret = -EINVAL;
			break;
		}
		ret = entry_get(t, b, &p, &k, &entry);
		if (ret < 0)
			break;
		/* the entry of what was written, inverted: it cannot match it */
		for (uint32_t i = 0; i < t->esize; i++)
			entry[i] ^= 0xff;
		ret = t->state[p] == PAGE_DAMAGED ? 0 : mark_dirty(t, p);
	}
	r5_mutex_unlock(&t->lock);
	return ret;
}

/* ---- flush ---- */

int
r5_csum_table_flush(struct r5_csum_table *t)
{
	uint64_t *list, n;
	uint8_t *copy;
	int ret = 0;

	r5_mutex_lock(&t->flush_lock);
	r5_mutex_lock(&t->lock);
	n = t->ndirty;
	if (n == 0) {
		r5_mutex_unlock(&t->lock);
		r5_mutex_unlock(&t->flush_lock);
		return 0;
	}
	list = malloc(n * sizeof(*list));
	copy = malloc(n * R5_CSUM_PAGE);
	if (!list || !copy) {
		r5_mutex_unlock(&t->lock);
		r5_mutex_unlock(&t->flush_lock);
		free(list);
		free(copy);
		return -ENOMEM;
	}
	/* Take the pages as they are now; a change after this dirties the
	 * page again for the next flush. */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = t->dirty[i];

		list[i] = p;
		memcpy(copy + i * R5_CSUM_PAGE, t->pages[p], R5_CSUM_PAGE);
		t->state[p] = PAGE_CLEAN;
	}
	t->ndirty = 0;
	r5_mutex_unlock(&t->lock);

	for (uint64_t i = 0; i < n; i++) {
		uint8_t *page = copy + i * R5_CSUM_PAGE;

		r5_csum_page_seal(page, list[i]);
		int r = r5_member_write(t->m, page, R5_CSUM_PAGE, t->offset + list[i] * R5_CSUM_PAGE);

		if (r < 0) {
			ret = r;
			r5_mutex_lock(&t->lock);
			if (t->state[list[i]] == PAGE_CLEAN && mark_dirty(t, list[i]) < 0)
				ret = -ENOMEM;
			r5_mutex_unlock(&t->lock);
		}
	}
	/* pages kept only because they were dirty may go now */
	r5_mutex_lock(&t->lock);
	if (t->nloaded > t->max_loaded)
		evict(t, UINT64_MAX);
	r5_mutex_unlock(&t->lock);
	r5_mutex_unlock(&t->flush_lock);
	free(list);
	free(copy);
	return ret;
}

uint64_t
r5_csum_table_dirty_pages(struct r5_csum_table *t)
{
	uint64_t n;

	r5_mutex_lock(&t->lock);
	n = t->ndirty;
	r5_mutex_unlock(&t->lock);
	return n;
}

void
r5_csum_table_set_max_pages(struct r5_csum_table *t, uint64_t pages)
{
	r5_mutex_lock(&t->lock);
	t->max_loaded = pages ? pages : 1;
	evict(t, UINT64_MAX);
	r5_mutex_unlock(&t->lock);
}

uint64_t
r5_csum_table_memory(struct r5_csum_table *t)
{
	uint64_t n;

	r5_mutex_lock(&t->lock);
	n = t->nloaded * R5_CSUM_PAGE;
	r5_mutex_unlock(&t->lock);
	return n + t->npages * (sizeof(*t->pages) + 1 + sizeof(*t->known));
}
