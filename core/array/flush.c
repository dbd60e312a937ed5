/* flush.c - making the image durable: every stripe dirty at the call is
 * written back, then every member that takes writes is fdatasynced (a
 * member being rebuilt too: it already takes writes below its checkpoint).
 * The loop device turns the inner filesystem's flushes into these. */
#include <errno.h>

#include "array_internal.h"

int
r5_array_flush(struct r5_array *a)
{
	if (!a->started)
		return 0;
	atomic_fetch_add(&a->io.flushes, 1);
	int lost = r5_cache_flush(a->cache);
	int err = r5_members_sync(a->members); /* a member being rebuilt too */

	return lost || err ? -EIO : 0;
}
