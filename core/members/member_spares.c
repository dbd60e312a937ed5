/* member_spares.c - the hot spares as the members' superblocks record
 * them (superblock.h: nr_spares, the spares' member uuids). Which files the
 * spares are, and when one takes a slot, is the array's (spares.c). */
#include <errno.h>
#include <string.h>

#include "locks.h"
#include "members_internal.h"

void
r5_members_load_spares(struct r5_members *ms, const struct r5_superblock *sb)
{
	r5_mutex_lock(&ms->sb_lock);
	ms->nr_spares = sb->nr_spares <= R5_MAX_SPARES ? sb->nr_spares : 0;
	memcpy(ms->spare_uuid, sb->spare_uuid, sizeof(ms->spare_uuid));
	r5_mutex_unlock(&ms->sb_lock);
}

int
r5_members_set_spares(struct r5_members *ms, const uint8_t (*uuid)[16], uint32_t n)
{
	int err;

	if (n > R5_MAX_SPARES)
		return -ENOSPC;
	r5_mutex_lock(&ms->sb_lock);
	for (uint32_t i = 0; i < ms->nr; i++) {
		if (r5_members_present(ms, i) && ms->slot[i].sb.version < 2) {
			r5_mutex_unlock(&ms->sb_lock);
			return -EOPNOTSUPP; /* a version 1 superblock has no spare table */
		}
	}
	ms->nr_spares = n;
	memset(ms->spare_uuid, 0, sizeof(ms->spare_uuid));
	memcpy(ms->spare_uuid, uuid, (size_t)n * 16);
	ms->events++;
	err = r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
	return err;
}

uint32_t
r5_members_nr_spares(struct r5_members *ms)
{
	r5_mutex_lock(&ms->sb_lock);
	uint32_t n = ms->nr_spares;
	r5_mutex_unlock(&ms->sb_lock);
	return n;
}

bool
r5_members_is_spare(struct r5_members *ms, const uint8_t uuid[16])
{
	bool found = false;

	r5_mutex_lock(&ms->sb_lock);
	for (uint32_t i = 0; i < ms->nr_spares && !found; i++)
		found = memcmp(ms->spare_uuid[i], uuid, 16) == 0;
	r5_mutex_unlock(&ms->sb_lock);
	return found;
}
