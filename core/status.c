/* status.c - status snapshots: text for people, JSON for scripts.
 * The JSON keys are a stable interface (issue 3 lists the ones scripts
 * depend on); add keys, never rename them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/util.h"

struct r5_out {
	char *buf;
	size_t len, pos;
};

static void
r5_out(struct r5_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
r5_out(struct r5_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->pos + 1 >= o->len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->pos += (size_t)n < o->len - o->pos ? (size_t)n : o->len - o->pos - 1;
}

/* A JSON string literal (quotes included). */
static void
r5_out_json_str(struct r5_out *o, const char *s)
{
	r5_out(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			r5_out(o, "\\%c", ch);
		else if (ch < 0x20)
			r5_out(o, "\\u%04x", ch);
		else
			r5_out(o, "%c", ch);
	}
	r5_out(o, "\"");
}

static const char *
r5_health(struct r5_array *a)
{
	int failed = atomic_load(&a->nr_failed);

	return failed == 0 ? "optimal" : failed == 1 ? "degraded" : "failed";
}

static const char *
r5_slot_state_name(struct r5_array *a, uint32_t s)
{
	switch (atomic_load(&a->slot[s].state)) {
	case R5_SLOT_IN_SYNC:
		return "in_sync";
	case R5_SLOT_FAULTY:
		return "faulty";
	default:
		return "missing";
	}
}

static unsigned long long
r5_ld(atomic_ullong *v)
{
	return atomic_load(v);
}

int
r5_array_status_json(struct r5_array *a, char *buf, size_t len)
{
	struct r5_out o = { buf, len, 0 };
	char uuid[40];
	uint32_t active = 0, inactive = 0, handle = 0, delayed = 0;
	struct r5_cache *c = a->cache;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	r5_uuid_format(a->uuid, uuid);
	r5_mutex_lock(&a->sb_lock);
	uint64_t events = a->events;
	bool dirty = a->sb_state == R5_STATE_ACTIVE;
	r5_mutex_unlock(&a->sb_lock);

	r5_out(&o, "{\n  \"format\": 1,\n  \"uuid\": \"%s\",\n  \"name\": ", uuid);
	r5_out_json_str(&o, a->name);
	r5_out(&o, ",\n  \"pid\": %d,\n  \"health\": \"%s\",\n  \"dirty\": %s,\n"
		   "  \"needs_resync\": %s,\n  \"events\": %llu,\n",
	       (int)getpid(), r5_health(a), dirty ? "true" : "false",
	       a->was_dirty ? "true" : "false", (unsigned long long)events);
	r5_out(&o, "  \"size_bytes\": %llu,\n  \"nr_members\": %u,\n  \"chunk_size\": %u,\n"
		   "  \"layout\": \"%s\",\n  \"member_data_size\": %llu,\n  \"data_offset\": %llu,\n",
	       (unsigned long long)r5_array_size(a), a->geo.nr_members, a->geo.chunk_size,
	       r5_layout_name(a->geo.layout), (unsigned long long)a->geo.member_data_size,
	       (unsigned long long)a->data_offset);
	r5_out(&o, "  \"members\": [\n");
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct r5_slot *sl = &a->slot[s];

		r5_out(&o, "    {\"slot\": %u, \"path\": ", s);
		r5_out_json_str(&o, sl->member.path);
		r5_out(&o, ", \"state\": \"%s\", \"reads\": %llu, \"writes\": %llu, "
			   "\"read_bytes\": %llu, \"write_bytes\": %llu, \"read_errors\": %llu, "
			   "\"write_errors\": %llu, \"reason\": ",
		       r5_slot_state_name(a, s), r5_ld(&sl->stats.reads), r5_ld(&sl->stats.writes),
		       r5_ld(&sl->stats.read_bytes), r5_ld(&sl->stats.write_bytes),
		       r5_ld(&sl->stats.read_errors), r5_ld(&sl->stats.write_errors));
		r5_mutex_lock(&a->sb_lock);
		r5_out_json_str(&o, r5_slot_ok(a, s) ? "" : sl->fail_reason);
		r5_mutex_unlock(&a->sb_lock);
		r5_out(&o, "}%s\n", s + 1 < a->geo.nr_members ? "," : "");
	}
	r5_out(&o, "  ],\n");
	r5_out(&o, "  \"sync\": {\"action\": \"idle\", \"progress\": 0, \"done_bytes\": 0, "
		   "\"total_bytes\": 0, \"rate_bytes_per_s\": 0, \"eta_s\": null},\n"
		   "  \"mismatch_count\": 0,\n");
	r5_out(&o, "  \"io\": {\"reads\": %llu, \"writes\": %llu, \"flushes\": %llu, "
		   "\"read_bytes\": %llu, \"write_bytes\": %llu, \"bypass_reads\": %llu, "
		   "\"errors\": %llu},\n",
	       r5_ld(&a->io.reads), r5_ld(&a->io.writes), r5_ld(&a->io.flushes),
	       r5_ld(&a->io.read_bytes), r5_ld(&a->io.write_bytes), r5_ld(&a->io.bypass_reads),
	       r5_ld(&a->io.errors));
	if (c) {
		r5_cache_counts(c, &active, &inactive, &handle, &delayed);
		r5_out(&o, "  \"stripe_cache\": {\"size\": %u, \"strip_size\": %u, "
			   "\"memory_bytes\": %llu, \"workers\": %u, \"active\": %u, \"inactive\": %u, "
			   "\"handle\": %u, \"delayed\": %u, \"hits\": %llu, \"misses\": %llu, "
			   "\"waits\": %llu, \"rmw\": %llu, \"rcw\": %llu, \"delayed_total\": %llu, "
			   "\"prereads\": %llu, \"writebacks\": %llu, \"computes\": %llu},\n",
		       c->nr_stripes, c->strip_size,
		       (unsigned long long)c->nr_stripes * c->nr_members * c->strip_size,
		       c->nr_workers, active, inactive, handle, delayed, r5_ld(&c->stats.hits),
		       r5_ld(&c->stats.misses), r5_ld(&c->stats.waits), r5_ld(&c->stats.rmw),
		       r5_ld(&c->stats.rcw), r5_ld(&c->stats.delayed), r5_ld(&c->stats.prereads),
		       r5_ld(&c->stats.writebacks), r5_ld(&c->stats.computes));
	}
	r5_out(&o, "  \"uptime_s\": %llu\n}\n",
	       a->started ? (unsigned long long)((r5_now_ns() - a->start_ns) / 1000000000ull) : 0ull);
	return (int)o.pos;
}

int
r5_array_status_text(struct r5_array *a, char *buf, size_t len)
{
	struct r5_out o = { buf, len, 0 };
	char uuid[40], sz[32], msz[32];
	uint32_t active = 0, inactive = 0, handle = 0, delayed = 0;
	struct r5_cache *c = a->cache;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	r5_uuid_format(a->uuid, uuid);
	r5_mutex_lock(&a->sb_lock);
	uint64_t events = a->events;
	bool dirty = a->sb_state == R5_STATE_ACTIVE;
	r5_mutex_unlock(&a->sb_lock);

	r5_out(&o, "array %s%s%s%s\n", uuid, a->name[0] ? " (" : "", a->name,
	       a->name[0] ? ")" : "");
	r5_out(&o, "  health:   %s%s%s\n", r5_health(a), dirty ? ", active (writes not yet clean)" : ", clean",
	       a->was_dirty ? ", needs resync (unclean stop)" : "");
	r5_out(&o, "  geometry: %u members, %s chunks, %s, %s per member\n", a->geo.nr_members,
	       r5_format_size(a->geo.chunk_size, sz, sizeof(sz)), r5_layout_name(a->geo.layout),
	       r5_format_size(a->geo.member_data_size, msz, sizeof(msz)));
	r5_out(&o, "  image:    %s (%llu bytes)\n", r5_format_size(r5_array_size(a), sz, sizeof(sz)),
	       (unsigned long long)r5_array_size(a));
	r5_out(&o, "  events:   %llu\n  sync:     idle\n", (unsigned long long)events);
	r5_out(&o, "  members:\n");
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct r5_slot *sl = &a->slot[s];

		r5_out(&o, "    %2u  %-8s %s  (reads %llu, writes %llu, errors %llu)", s,
		       r5_slot_state_name(a, s), sl->member.path[0] ? sl->member.path : "-",
		       r5_ld(&sl->stats.reads), r5_ld(&sl->stats.writes),
		       r5_ld(&sl->stats.read_errors) + r5_ld(&sl->stats.write_errors));
		r5_mutex_lock(&a->sb_lock);
		if (!r5_slot_ok(a, s))
			r5_out(&o, " - %s", sl->fail_reason);
		r5_mutex_unlock(&a->sb_lock);
		r5_out(&o, "\n");
	}
	r5_out(&o, "  io:       %llu reads (%s), %llu writes (%s), %llu flushes, %llu errors\n",
	       r5_ld(&a->io.reads), r5_format_size(r5_ld(&a->io.read_bytes), sz, sizeof(sz)),
	       r5_ld(&a->io.writes), r5_format_size(r5_ld(&a->io.write_bytes), msz, sizeof(msz)),
	       r5_ld(&a->io.flushes), r5_ld(&a->io.errors));
	if (c) {
		r5_cache_counts(c, &active, &inactive, &handle, &delayed);
		r5_out(&o, "  cache:    %u stripes x %s strips (%s), %u active, %u handle, %u delayed; "
			   "%llu hits, %llu misses, %llu waits; rmw %llu, rcw %llu\n",
		       c->nr_stripes, r5_format_size(c->strip_size, sz, sizeof(sz)),
		       r5_format_size((uint64_t)c->nr_stripes * c->nr_members * c->strip_size, msz,
				      sizeof(msz)),
		       active, handle, delayed, r5_ld(&c->stats.hits), r5_ld(&c->stats.misses),
		       r5_ld(&c->stats.waits), r5_ld(&c->stats.rmw), r5_ld(&c->stats.rcw));
	}
	return (int)o.pos;
}
