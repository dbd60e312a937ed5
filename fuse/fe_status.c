/* fe_status.c - /.raid5fs/status, status.json and events: each open takes a
 * snapshot of the engine's status, and reads of that open see only it, so
 * a reader never gets the halves of two different states. */
#include "frontend_internal.h"

#include <stdlib.h>
#include <string.h>

#include "raid5fs/array.h"
#include "raid5fs/events.h"

#define R5_FE_STATUS_MAX (16u << 20) /* biggest status snapshot we take */

/* Takes the snapshot a status file shows for its whole open. The buffer
 * grows until the engine's text fits (it truncates to len-1). */
int
fe_status_snapshot(struct r5_fe *fe, struct r5_fe_file *f)
{
	size_t cap = 16384;

	for (;;) {
		char *buf = malloc(cap);
		int r;

		if (buf == NULL)
			return -ENOMEM;
		if (f->node == R5_FE_EVENTS)
			r = (int)r5_events_json(r5_array_events(fe->a), buf, cap);
		else if (f->node == R5_FE_STATUS_JSON)
			r = r5_array_status_json(fe->a, buf, cap);
		else
			r = r5_array_status_text(fe->a, buf, cap);
		if (r < 0) {
			free(buf);
			return fe_errno(r);
		}
		if ((size_t)r < cap - 1 || cap >= R5_FE_STATUS_MAX) {
			f->buf = buf;
			f->len = (size_t)r < cap ? (size_t)r : cap - 1;
			return 0;
		}
		free(buf);
		cap *= 2;
	}
}

int
fe_status_read(const struct r5_fe_file *f, char *buf, size_t size, off_t off)
{
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= f->len)
		return 0;
	if (size > f->len - (size_t)off)
		size = f->len - (size_t)off;
	memcpy(buf, f->buf + off, size);
	return (int)size;
}
