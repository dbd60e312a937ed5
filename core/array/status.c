/* status.c - status snapshots: text for people, JSON for scripts.
 * The JSON keys are a stable interface (issue 3 lists the ones scripts
 * depend on); add keys, never rename them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "raid5fs/checksum.h"
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

/* A JSON string literal (quotes included). One that does not fit fills
 * the buffer, as r5_out would: the caller sees it full and grows it. */
static void
r5_out_json_str(struct r5_out *o, const char *s)
{
	size_t n = o->pos + 1 < o->len ? r5_json_str(s, o->buf + o->pos, o->len - o->pos) : 0;

	if (n) {
		o->pos += n;
	} else if (o->len) {
		o->pos = o->len - 1;
		o->buf[o->pos] = '\0';
	}
}

/* The spares: JSON "spares": [paths], or a text line when there are any. */
static void
r5_status_spares(struct r5_array *a, struct r5_out *o, bool json)
{
	char (*path)[PATH_MAX] = malloc(R5_MAX_SPARES * sizeof(*path));
	unsigned n = 0;

	if (path)
		r5_spares_list(a, path, &n);
	if (json) {
		r5_out(o, "  \"spares\": [");
		for (unsigned i = 0; i < n; i++) {
			r5_out(o, "%s", i ? ", " : "");
			r5_out_json_str(o, path[i]);
		}
		r5_out(o, "],\n");
	} else if (n > 0) {
		r5_out(o, "  spares:  ");
		for (unsigned i = 0; i < n; i++)
			r5_out(o, " %s", path[i]);
		r5_out(o, " (one takes a failed slot at once)\n");
	}
	free(path);
}

static const char *
r5_health(struct r5_array *a)
{
	int failed = r5_members_nr_failed(a->members);

	return failed == 0 ? "optimal" : failed == 1 ? "degraded" : "failed";
}

static const char *
r5_slot_state_name(enum r5_slot_state st)
{
	switch (st) {
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

/* The sync state, or an idle one before the array has started. */
static void
r5_sync_snapshot(struct r5_array *a, struct r5_sync_status *sn)
{
	if (a->sync)
		r5_sync_get_status(a->sync, sn);
	else
		*sn = (struct r5_sync_status){ .target = -1, .speed_min = R5_DEFAULT_SPEED_MIN,
					       .speed_max = R5_DEFAULT_SPEED_MAX };
}

static double
r5_sync_progress(const struct r5_sync_status *sn)
{
	return sn->total ? (double)sn->done / (double)sn->total : 0.0;
}

/* Seconds left at the current rate, or -1 if unknown. */
static int64_t
r5_sync_eta(const struct r5_sync_status *sn)
{
	return sn->rate && sn->total >= sn->done ? (int64_t)((sn->total - sn->done) / sn->rate) : -1;
}

static const char *
r5_sync_result(int result)
{
	return result == 0 ? "ok" : result == -EINTR ? "interrupted" : strerror(-result);
}

static unsigned long long
ull(uint64_t v)
{
	return (unsigned long long)v;
}

/* A list of blocks as JSON: "name_total": total, "name": [...]; with
 * healed, each entry says whether the block was healed. */
static void
r5_status_block_list(struct r5_out *o, const char *name, uint64_t total,
		     const struct r5_bad_block *b, uint32_t n, bool with_healed)
{
	r5_out(o, "  \"%s_total\": %llu,\n  \"%s\": [", name, ull(total), name);
	for (uint32_t i = 0; i < n; i++) {
		r5_out(o, "%s\n    {\"slot\": %u, \"member_offset\": %llu, \"image_offset\": ",
		       i ? "," : "", b[i].slot, ull(b[i].member_offset));
		if (b[i].image_offset == UINT64_MAX)
			r5_out(o, "null");
		else
			r5_out(o, "%llu", ull(b[i].image_offset));
		if (with_healed)
			r5_out(o, ", \"parity\": %s, \"healed\": %s",
			       b[i].image_offset == UINT64_MAX ? "true" : "false",
			       b[i].healed ? "true" : "false");
		r5_out(o, "}");
	}
	r5_out(o, "%s],\n", n ? "\n  " : "");
}

/* The blocks that failed their checksum since mount (the last
 * R5_STATUS_BAD_BLOCKS of them), and those still damaged, which
 * `raid5fs damage` reports. */
#define R5_STATUS_BAD_BLOCKS 32
static void
r5_status_bad_blocks_json(struct r5_array *a, struct r5_out *o)
{
	struct r5_bad_block bad[R5_STATUS_BAD_BLOCKS];
	struct r5_bad_block *un = malloc(R5_UNHEALED_KEPT * sizeof(*un));
	uint32_t n;
	uint64_t total = r5_members_bad_blocks(a->members, bad, R5_STATUS_BAD_BLOCKS, &n);

	r5_status_block_list(o, "bad_blocks", total, bad, n, true);
	total = un ? r5_members_unhealed(a->members, un, R5_UNHEALED_KEPT, &n) : 0;
	r5_status_block_list(o, "unhealed_blocks", total, un, un ? n : 0, false);
	free(un);
}

/* The consistency policy, and what the partial parity log did. */
static void
r5_status_consistency_json(struct r5_array *a, struct r5_out *o)
{
	struct r5_ppl_stats ps = { 0 };
	const struct r5_ppl_recovery *rc = &a->ppl_recovered;

	if (a->ppl)
		r5_ppl_get_stats(a->ppl, &ps);
	r5_out(o, "  \"consistency_policy\": \"%s\",\n  \"ppl\": {\"records\": %llu, "
		  "\"full_records\": %llu, \"groups\": %llu, \"bytes\": %llu, \"half_switches\": %llu, "
		  "\"switch_syncs\": %llu, \"background_syncs\": %llu, "
		  "\"replayed_records\": %llu, \"replayed_rows\": %llu, \"replay_skipped_rows\": %llu},\n",
	       a->ppl ? "ppl" : "bitmap", ull(ps.records), ull(ps.full_records), ull(ps.groups),
	       ull(ps.bytes), ull(ps.switches), ull(ps.switch_syncs), ull(ps.syncs), ull(rc->records), ull(rc->replayed),
	       ull(rc->skipped));
}

static void
r5_status_consistency_text(struct r5_array *a, struct r5_out *o)
{
	struct r5_ppl_stats ps;

	if (!a->ppl) {
		r5_out(o, "  crash:    consistency_policy=bitmap (no parity log: a dirty, degraded "
			  "start needs --force)\n");
		return;
	}
	r5_ppl_get_stats(a->ppl, &ps);
	r5_out(o, "  crash:    consistency_policy=ppl, parity log: %llu records in %llu writes",
	       ull(ps.records), ull(ps.groups));
	if (a->ppl_replay)
		r5_out(o, "; replayed at start: %llu rows (%llu left: a block being written is missing)",
		       ull(a->ppl_recovered.replayed), ull(a->ppl_recovered.skipped));
	r5_out(o, "\n");
}

struct r5_events *
r5_array_events(struct r5_array *a)
{
	return r5_members_notices(a->members);
}

/* The in-use map: how much of each member's data may hold data (what a
 * rebuild copies). */
static void
r5_status_in_use(struct r5_array *a, struct r5_out *o, bool json)
{
	uint64_t used, units, unit = r5_usemap_unit_size(a->usemap);
	uint64_t bytes;
	char b[32], t[32], u[32];

	r5_usemap_count(a->usemap, &used, &units);
	bytes = used * unit < a->geo.member_data_size ? used * unit : a->geo.member_data_size;
	if (json) {
		r5_out(o, "  \"in_use\": {\"map\": %s, \"unit_bytes\": %llu, \"units\": %llu, "
			  "\"units_in_use\": %llu, \"bytes_in_use\": %llu, \"discards\": %llu, "
			  "\"units_released\": %llu},\n",
		       a->usemap ? "true" : "false", ull(unit), ull(units), ull(used),
		       ull(a->usemap ? bytes : a->geo.member_data_size),
		       ull(atomic_load(&a->io.discards)), ull(atomic_load(&a->io.units_released)));
		return;
	}
	if (!a->usemap) {
		r5_out(o, "  in use:   all (an array made before the in-use map)\n");
		return;
	}
	r5_out(o, "  in use:   %s of %s per member (%llu of %llu units of %s)\n",
	       r5_format_size(bytes, b, sizeof(b)),
	       r5_format_size(a->geo.member_data_size, t, sizeof(t)), ull(used), ull(units),
	       r5_format_size(unit, u, sizeof(u)));
}

int
r5_array_status_json(struct r5_array *a, char *buf, size_t len)
{
	struct r5_out o = { buf, len, 0 };
	struct r5_sync_status sn;
	struct r5_slot_info si;
	char uuid[40];

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	r5_uuid_format(a->uuid, uuid);
	r5_out(&o, "{\n  \"format\": 1,\n  \"uuid\": \"%s\",\n  \"name\": ", uuid);
	r5_out_json_str(&o, a->name);
	r5_out(&o, ",\n  \"pid\": %d,\n  \"health\": \"%s\",\n  \"dirty\": %s,\n"
		   "  \"needs_resync\": %s,\n  \"events\": %llu,\n",
	       (int)getpid(), r5_health(a),
	       r5_members_array_state(a->members) == R5_STATE_ACTIVE ? "true" : "false",
	       r5_bitmap_needs_resync(a->bitmap) ? "true" : "false",
	       ull(r5_members_events(a->members)));
	r5_out(&o, "  \"size_bytes\": %llu,\n  \"nr_members\": %u,\n  \"chunk_size\": %u,\n"
		   "  \"layout\": \"%s\",\n  \"member_data_size\": %llu,\n  \"data_offset\": %llu,\n"
		   "  \"checksum\": \"%s\",\n",
	       ull(r5_array_size(a)), a->geo.nr_members, a->geo.chunk_size,
	       r5_layout_name(a->geo.layout), ull(a->geo.member_data_size),
	       ull(r5_members_data_offset(a->members)),
	       r5_csum_alg_name(r5_members_csum_alg(a->members)));
	r5_status_consistency_json(a, &o);
	r5_status_in_use(a, &o, true);
	r5_out(&o, "  \"members\": [\n");
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		r5_members_slot_info(a->members, s, &si);
		r5_out(&o, "    {\"slot\": %u, \"path\": ", s);
		r5_out_json_str(&o, si.path);
		r5_out(&o, ", \"state\": \"%s\", \"reads\": %llu, \"writes\": %llu, "
			   "\"read_bytes\": %llu, \"write_bytes\": %llu, \"read_errors\": %llu, "
			   "\"write_errors\": %llu, \"checksum_errors\": %llu, "
			   "\"checksum_healed\": %llu, \"reason\": ",
		       r5_slot_state_name(si.state), ull(si.reads), ull(si.writes),
		       ull(si.read_bytes), ull(si.write_bytes), ull(si.read_errors),
		       ull(si.write_errors), ull(si.csum_errors), ull(si.csum_healed));
		r5_out_json_str(&o, si.reason);
		r5_out(&o, "}%s\n", s + 1 < a->geo.nr_members ? "," : "");
	}
	r5_out(&o, "  ],\n");
	r5_status_spares(a, &o, true);
	r5_status_bad_blocks_json(a, &o);
	r5_sync_snapshot(a, &sn);
	r5_out(&o, "  \"sync\": {\"action\": \"%s\", \"progress\": %.4f, \"done_bytes\": %llu, "
		   "\"total_bytes\": %llu, \"rate_bytes_per_s\": %llu, \"eta_s\": ",
	       r5_sync_action_name(sn.action), r5_sync_progress(&sn), ull(sn.done), ull(sn.total),
	       ull(sn.rate));
	if (r5_sync_eta(&sn) >= 0)
		r5_out(&o, "%lld", (long long)r5_sync_eta(&sn));
	else
		r5_out(&o, "null");
	r5_out(&o, ", \"speed_min\": %llu, \"speed_max\": %llu, \"last_action\": \"%s\", "
		   "\"last_result\": \"%s\"},\n  \"mismatch_count\": %llu,\n",
	       ull(sn.speed_min), ull(sn.speed_max), r5_sync_action_name(sn.last_action),
	       r5_sync_result(sn.last_result), ull(sn.mismatch_sectors));
	r5_out(&o, "  \"io\": {\"reads\": %llu, \"writes\": %llu, \"flushes\": %llu, "
		   "\"read_bytes\": %llu, \"write_bytes\": %llu, \"bypass_reads\": %llu, "
		   "\"degraded_reads\": %llu, \"errors\": %llu},\n",
	       ull(atomic_load(&a->io.reads)), ull(atomic_load(&a->io.writes)),
	       ull(atomic_load(&a->io.flushes)), ull(atomic_load(&a->io.read_bytes)),
	       ull(atomic_load(&a->io.write_bytes)), ull(atomic_load(&a->io.bypass_reads)),
	       ull(atomic_load(&a->io.degraded_reads)), ull(atomic_load(&a->io.errors)));
	if (a->cache) {
		struct r5_cache_info ci;

		r5_cache_get_info(a->cache, &ci);
		r5_out(&o, "  \"stripe_cache\": {\"size\": %u, \"strip_size\": %u, "
			   "\"memory_bytes\": %llu, \"workers\": %u, \"io_workers\": %u, \"active\": %u, \"inactive\": %u, "
			   "\"handle\": %u, \"delayed\": %u, \"hits\": %llu, \"misses\": %llu, "
			   "\"waits\": %llu, \"rmw\": %llu, \"rcw\": %llu, \"delayed_total\": %llu, "
			   "\"prereads\": %llu, \"writebacks\": %llu, \"computes\": %llu, \"bounced\": %llu, "
			   "\"direct_rows\": %llu},\n",
		       ci.nr_stripes, ci.strip_size,
		       ull((uint64_t)ci.nr_stripes * ci.nr_members * ci.strip_size), ci.nr_workers,
		       ci.nr_io_workers, ci.active, ci.inactive, ci.handle, ci.delayed, ull(ci.hits),
		       ull(ci.misses), ull(ci.waits), ull(ci.rmw), ull(ci.rcw), ull(ci.delayed_total),
		       ull(ci.prereads), ull(ci.writebacks), ull(ci.computes), ull(ci.bounced),
		       ull(ci.direct_rows));
	}
	r5_out(&o, "  \"uptime_s\": %llu\n}\n",
	       a->started ? ull((r5_now_ns() - a->start_ns) / 1000000000ull) : 0ull);
	return (int)o.pos;
}

int
r5_array_status_text(struct r5_array *a, char *buf, size_t len)
{
	struct r5_out o = { buf, len, 0 };
	struct r5_sync_status sn;
	struct r5_slot_info si;
	char uuid[40], sz[32], msz[32];

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	r5_uuid_format(a->uuid, uuid);
	r5_out(&o, "array %s%s%s%s\n", uuid, a->name[0] ? " (" : "", a->name,
	       a->name[0] ? ")" : "");
	r5_out(&o, "  health:   %s%s%s\n", r5_health(a),
	       r5_members_array_state(a->members) == R5_STATE_ACTIVE ? ", active (writes not yet clean)"
								      : ", clean",
	       r5_bitmap_needs_resync(a->bitmap) ? ", needs resync (unclean stop)" : "");
	r5_out(&o, "  geometry: %u members, %s chunks, %s, %s per member, checksums %s\n",
	       a->geo.nr_members, r5_format_size(a->geo.chunk_size, sz, sizeof(sz)),
	       r5_layout_name(a->geo.layout), r5_format_size(a->geo.member_data_size, msz, sizeof(msz)),
	       r5_csum_alg_name(r5_members_csum_alg(a->members)));
	r5_out(&o, "  image:    %s (%llu bytes)\n", r5_format_size(r5_array_size(a), sz, sizeof(sz)),
	       ull(r5_array_size(a)));
	r5_out(&o, "  events:   %llu\n", ull(r5_members_events(a->members)));
	r5_status_consistency_text(a, &o);
	r5_status_in_use(a, &o, false);
	r5_sync_snapshot(a, &sn);
	if (sn.action != R5_SYNC_IDLE) {
		char done[32], total[32], rate[32];
		int bar = (int)(r5_sync_progress(&sn) * 30 + 0.5);

		r5_out(&o, "  sync:     %s [", r5_sync_action_name(sn.action));
		for (int i = 0; i < 30; i++)
			r5_out(&o, "%c", i < bar ? '=' : i == bar ? '>' : '.');
		r5_out(&o, "] %.1f%% (%s / %s) %s/s", r5_sync_progress(&sn) * 100,
		       r5_format_size(sn.done, done, sizeof(done)),
		       r5_format_size(sn.total, total, sizeof(total)),
		       r5_format_size(sn.rate, rate, sizeof(rate)));
		if (r5_sync_eta(&sn) >= 0)
			r5_out(&o, " eta %llds", (long long)r5_sync_eta(&sn));
		r5_out(&o, "\n");
	} else {
		r5_out(&o, "  sync:     idle");
		if (sn.last_action != R5_SYNC_IDLE)
			r5_out(&o, " (last %s: %s)", r5_sync_action_name(sn.last_action),
			       sn.last_result == 0 ? "finished" : r5_sync_result(sn.last_result));
		r5_out(&o, "\n");
	}
	r5_out(&o, "  mismatch: %llu sectors (last check/repair)\n", ull(sn.mismatch_sectors));
	r5_out(&o, "  members:\n");
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		r5_members_slot_info(a->members, s, &si);
		r5_out(&o, "    %2u  %-8s %s  (reads %llu, writes %llu, errors %llu, checksum errors %llu",
		       s, r5_slot_state_name(si.state), si.path[0] ? si.path : "-", ull(si.reads),
		       ull(si.writes), ull(si.read_errors + si.write_errors), ull(si.csum_errors));
		if (si.csum_errors)
			r5_out(&o, ", %llu healed", ull(si.csum_healed));
		r5_out(&o, ")");
		if (si.state != R5_SLOT_IN_SYNC && si.state != R5_SLOT_REBUILDING)
			r5_out(&o, " - %s", si.reason);
		r5_out(&o, "\n");
	}
	r5_status_spares(a, &o, false);
	r5_out(&o, "  io:       %llu reads (%s), %llu writes (%s), %llu flushes, %llu errors\n",
	       ull(atomic_load(&a->io.reads)),
	       r5_format_size(atomic_load(&a->io.read_bytes), sz, sizeof(sz)),
	       ull(atomic_load(&a->io.writes)),
	       r5_format_size(atomic_load(&a->io.write_bytes), msz, sizeof(msz)),
	       ull(atomic_load(&a->io.flushes)), ull(atomic_load(&a->io.errors)));
	if (a->cache) {
		struct r5_cache_info ci;

		r5_cache_get_info(a->cache, &ci);
		r5_out(&o, "  cache:    %u stripes x %s strips (%s), %u active, %u handle, %u delayed; "
			   "%llu hits, %llu misses, %llu waits; rmw %llu, rcw %llu; "
			   "%llu whole rows written around it\n",
		       ci.nr_stripes, r5_format_size(ci.strip_size, sz, sizeof(sz)),
		       r5_format_size((uint64_t)ci.nr_stripes * ci.nr_members * ci.strip_size, msz,
				      sizeof(msz)),
		       ci.active, ci.handle, ci.delayed, ull(ci.hits), ull(ci.misses), ull(ci.waits),
		       ull(ci.rmw), ull(ci.rcw), ull(ci.direct_rows));
	}
	return (int)o.pos;
}
