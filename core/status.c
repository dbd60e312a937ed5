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
	case R5_SLOT_REBUILDING:
		return "rebuilding";
	default:
		return "missing";
	}
}

static unsigned long long
r5_ld(atomic_ullong *v)
{
	return atomic_load(v);
}

struct r5_sync_snap {
	int action;
	double progress;
	uint64_t done, total, rate;
	int64_t eta; /* -1 = unknown */
	uint64_t mismatch_sectors;
	int last_action, last_result;
	uint64_t speed_min, speed_max;
};

static void
r5_sync_snapshot(struct r5_array *a, struct r5_sync_snap *sn)
{
	struct r5_sync *s = &a->sync;
	uint64_t strip = a->cache ? a->cache->strip_size : a->opts.strip_size;

	r5_mutex_lock(&s->lock);
	sn->action = s->action;
	if (s->action == R5_SYNC_RESYNC) {
		sn->done = s->done_stripes * strip;
		sn->total = s->todo_stripes * strip;
	} else if (s->action != R5_SYNC_IDLE) {
		sn->done = s->cp * strip;
		sn->total = s->total * strip;
	} else {
		sn->done = sn->total = 0;
	}
	/* the rate of the last full second, or the run's average before that */
	sn->rate = s->rate;
	if (!sn->rate && s->action != R5_SYNC_IDLE && r5_now_ns() > s->start_ns)
		sn->rate = s->done_stripes * strip * 1000000000ull / (r5_now_ns() - s->start_ns);
	sn->mismatch_sectors = s->last_mismatch_sectors;
	sn->last_action = s->last_action;
	sn->last_result = s->last_result;
	sn->speed_min = s->speed_min;
	sn->speed_max = s->speed_max;
	r5_mutex_unlock(&s->lock);
	sn->progress = sn->total ? (double)sn->done / (double)sn->total : 0.0;
	sn->eta = sn->rate && sn->total >= sn->done ? (int64_t)((sn->total - sn->done) / sn->rate) : -1;
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
		r5_out_json_str(&o, r5_slot_present(a, s) ? "" : sl->fail_reason);
		r5_mutex_unlock(&a->sb_lock);
		r5_out(&o, "}%s\n", s + 1 < a->geo.nr_members ? "," : "");
	}
	r5_out(&o, "  ],\n");
	struct r5_sync_snap sn;
	r5_sync_snapshot(a, &sn);
	r5_out(&o, "  \"sync\": {\"action\": \"%s\", \"progress\": %.4f, \"done_bytes\": %llu, "
		   "\"total_bytes\": %llu, \"rate_bytes_per_s\": %llu, \"eta_s\": ",
	       r5_sync_action_name(sn.action), sn.progress, (unsigned long long)sn.done,
	       (unsigned long long)sn.total, (unsigned long long)sn.rate);
	if (sn.eta >= 0)
		r5_out(&o, "%lld", (long long)sn.eta);
	else
		r5_out(&o, "null");
	r5_out(&o, ", \"speed_min\": %llu, \"speed_max\": %llu, \"last_action\": \"%s\", "
		   "\"last_result\": \"%s\"},\n  \"mismatch_count\": %llu,\n",
	       (unsigned long long)sn.speed_min, (unsigned long long)sn.speed_max,
	       r5_sync_action_name(sn.last_action),
	       sn.last_result == 0 ? "ok" : sn.last_result == -EINTR ? "interrupted" : strerror(-sn.last_result),
	       (unsigned long long)sn.mismatch_sectors);
	r5_out(&o, "  \"io\": {\"reads\": %llu, \"writes\": %llu, \"flushes\": %llu, "
		   "\"read_bytes\": %llu, \"write_bytes\": %llu, \"bypass_reads\": %llu, "
		   "\"errors\": %llu},\n",
	       r5_ld(&a->io.reads), r5_ld(&a->io.writes), r5_ld(&a->io.flushes),
	       r5_ld(&a->io.read_bytes), r5_ld(&a->io.write_bytes), r5_ld(&a->io.bypass_reads),
	       r5_ld(&a->io.errors));
	if (c) {
		r5_cache_counts(c, &active, &inactive, &handle, &delayed);
		r5_out(&o, "  \"stripe_cache\": {\"size\": %u, \"strip_size\": %u, "
			   "\"memory_bytes\": %llu, \"workers\": %u, \"io_workers\": %u, \"active\": %u, \"inactive\": %u, "
			   "\"handle\": %u, \"delayed\": %u, \"hits\": %llu, \"misses\": %llu, "
			   "\"waits\": %llu, \"rmw\": %llu, \"rcw\": %llu, \"delayed_total\": %llu, "
			   "\"prereads\": %llu, \"writebacks\": %llu, \"computes\": %llu, \"bounced\": %llu},\n",
		       c->nr_stripes, c->strip_size,
		       (unsigned long long)c->nr_stripes * c->nr_members * c->strip_size,
		       c->nr_workers, c->nr_io_workers, active, inactive, handle, delayed, r5_ld(&c->stats.hits),
		       r5_ld(&c->stats.misses), r5_ld(&c->stats.waits), r5_ld(&c->stats.rmw),
		       r5_ld(&c->stats.rcw), r5_ld(&c->stats.delayed), r5_ld(&c->stats.prereads),
		       r5_ld(&c->stats.writebacks), r5_ld(&c->stats.computes), r5_ld(&c->stats.bounced));
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
	r5_out(&o, "  events:   %llu\n", (unsigned long long)events);
	struct r5_sync_snap sn;
	r5_sync_snapshot(a, &sn);
	if (sn.action != R5_SYNC_IDLE) {
		char done[32], total[32], rate[32];
		int bar = (int)(sn.progress * 30 + 0.5);

		r5_out(&o, "  sync:     %s [", r5_sync_action_name(sn.action));
		for (int i = 0; i < 30; i++)
			r5_out(&o, "%c", i < bar ? '=' : i == bar ? '>' : '.');
		r5_out(&o, "] %.1f%% (%s / %s) %s/s", sn.progress * 100,
		       r5_format_size(sn.done, done, sizeof(done)),
		       r5_format_size(sn.total, total, sizeof(total)),
		       r5_format_size(sn.rate, rate, sizeof(rate)));
		if (sn.eta >= 0)
			r5_out(&o, " eta %llds", (long long)sn.eta);
		r5_out(&o, "\n");
	} else {
		r5_out(&o, "  sync:     idle");
		if (sn.last_action != R5_SYNC_IDLE)
			r5_out(&o, " (last %s: %s)", r5_sync_action_name(sn.last_action),
			       sn.last_result == 0 ? "finished" : sn.last_result == -EINTR ? "interrupted" : strerror(-sn.last_result));
		r5_out(&o, "\n");
	}
	r5_out(&o, "  mismatch: %llu sectors (last check/repair)\n", (unsigned long long)sn.mismatch_sectors);
	r5_out(&o, "  members:\n");
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct r5_slot *sl = &a->slot[s];

		r5_out(&o, "    %2u  %-8s %s  (reads %llu, writes %llu, errors %llu)", s,
		       r5_slot_state_name(a, s), sl->member.path[0] ? sl->member.path : "-",
		       r5_ld(&sl->stats.reads), r5_ld(&sl->stats.writes),
		       r5_ld(&sl->stats.read_errors) + r5_ld(&sl->stats.write_errors));
		r5_mutex_lock(&a->sb_lock);
		if (!r5_slot_present(a, s))
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
