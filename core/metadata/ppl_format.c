/* ppl_format.c - encoding and decoding of the partial parity log's blocks
 * (byte layout in include/raid5fs/ppl.h). */
#include <string.h>

#include "le.h"
#include "raid5fs/checksum.h"
#include "raid5fs/ppl.h"

#define CRC_AT (R5_PPL_BLOCK - 4)
#define ENTRY_AT 48u
#define ENTRY_SIZE 24u

/* the entries must fit before the block's crc */
_Static_assert(ENTRY_AT + R5_PPL_MAX_ENTRIES * ENTRY_SIZE <= CRC_AT, "ppl group too large");

static void
seal(uint8_t *block)
{
	r5_put_le32(block + CRC_AT, r5_crc32c(0, block, CRC_AT));
}

static bool
sealed(const uint8_t *block, uint32_t magic)
{
	return r5_get_le32(block) == magic &&
	       r5_get_le32(block + CRC_AT) == r5_crc32c(0, block, CRC_AT);
}

void
r5_ppl_header_encode(const struct r5_ppl_header *h, uint8_t *block)
{
	memset(block, 0, R5_PPL_BLOCK);
	r5_put_le32(block, R5_PPL_MAGIC);
	r5_put_le32(block + 4, R5_PPL_VERSION);
	memcpy(block + 8, h->array_uuid, 16);
	r5_put_le64(block + 24, h->log_id[0]);
	r5_put_le64(block + 32, h->log_id[1]);
	r5_put_le32(block + 40, h->strip_size);
	seal(block);
}

bool
r5_ppl_header_decode(const uint8_t *block, struct r5_ppl_header *h)
{
	if (!sealed(block, R5_PPL_MAGIC) || r5_get_le32(block + 4) != R5_PPL_VERSION)
		return false;
	memcpy(h->array_uuid, block + 8, 16);
	h->log_id[0] = r5_get_le64(block + 24);
	h->log_id[1] = r5_get_le64(block + 32);
	h->strip_size = r5_get_le32(block + 40);
	return true;
}

void
r5_ppl_group_encode(const struct r5_ppl_group *g, uint8_t *block)
{
	memset(block, 0, R5_PPL_BLOCK);
	r5_put_le32(block, R5_PPL_GROUP_MAGIC);
	r5_put_le32(block + 4, g->nr_entries);
	memcpy(block + 8, g->array_uuid, 16);
	r5_put_le64(block + 24, g->log_id);
	r5_put_le64(block + 32, g->seq);
	r5_put_le32(block + 40, g->strip_size);
	r5_put_le32(block + 44, g->nr_pages);
	for (uint32_t i = 0; i < g->nr_entries && i < R5_PPL_MAX_ENTRIES; i++) {
		uint8_t *e = block + ENTRY_AT + i * ENTRY_SIZE;

		r5_put_le64(e, g->entry[i].stripe);
		r5_put_le32(e + 8, g->entry[i].changed);
		r5_put_le32(e + 12, g->entry[i].flags);
		r5_put_le32(e + 16, g->entry[i].pp_crc);
	}
	seal(block);
}

bool
r5_ppl_group_decode(const uint8_t *block, struct r5_ppl_group *g)
{
	uint32_t pages = 0;

	if (!sealed(block, R5_PPL_GROUP_MAGIC))
		return false;
	g->nr_entries = r5_get_le32(block + 4);
	if (g->nr_entries == 0 || g->nr_entries > R5_PPL_MAX_ENTRIES)
		return false;
	memcpy(g->array_uuid, block + 8, 16);
	g->log_id = r5_get_le64(block + 24);
	g->seq = r5_get_le64(block + 32);
	g->strip_size = r5_get_le32(block + 40);
	g->nr_pages = r5_get_le32(block + 44);
	for (uint32_t i = 0; i < g->nr_entries; i++) {
		const uint8_t *e = block + ENTRY_AT + i * ENTRY_SIZE;

		g->entry[i].stripe = r5_get_le64(e);
		g->entry[i].changed = r5_get_le32(e + 8);
		g->entry[i].flags = r5_get_le32(e + 12);
		g->entry[i].pp_crc = r5_get_le32(e + 16);
		if (g->entry[i].flags & ~R5_PPL_FULL)
			return false;
		if (!(g->entry[i].flags & R5_PPL_FULL))
			pages++;
	}
	return pages == g->nr_pages;
}
