/* crash_state.c - one crash state: its member files put in place, the
 * array assembled from them, every fsynced byte checked.
 *
 * Putting the files in place is most of the cost of an assembly unless it
 * is done sparingly: each state file is written whole once, and after that
 * only the blocks that differ from the state it holds are rewritten: the
 * blocks whose pieces the new state takes or leaves differently, and the
 * blocks the last assembly wrote (a tracker under its members, see
 * member_crash.h, notes them). --verify-restore checks that against the
 * whole file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "crashsim.h"

void
cs_expect_init(struct expect *e, uint64_t isize)
{
	const uint64_t nb = isize / BLK;

	e->old = malloc(isize);
	e->cur = malloc(isize);
	e->ver = calloc(nb, sizeof(*e->ver));
	e->nver = calloc(nb, sizeof(*e->nver));
	e->cap = calloc(nb, sizeof(*e->cap));
	if (!e->old || !e->cur || !e->ver || !e->nver || !e->cap)
		cs_die("out of memory", NULL);
	pthread_mutex_init(&e->lock, NULL);
}

void
cs_expect_free(struct expect *e, uint64_t isize)
{
	for (uint64_t b = 0; b < isize / BLK; b++)
		free(e->ver[b]);
	free(e->ver);
	free(e->nver);
	free(e->cap);
	free(e->old);
	free(e->cur);
	pthread_mutex_destroy(&e->lock);
}

/* ---- stopping arrays in the background ---- */

/* One thread per set: stopping an array is mostly waiting (for its threads,
 * and the kernel to close its inotify descriptor), so the stops of
 * different sets overlap each other and the next assemblies. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread[MAX_SETS];
	struct r5_array *pending[MAX_SETS]; /* to stop; NULL once stopped */
	bool quit;
	double busy;                        /* seconds spent stopping */
} reaper = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *
reaper_main(void *arg)
{
	const uintptr_t k = (uintptr_t)arg;

	pthread_mutex_lock(&reaper.lock);
	for (;;) {
		struct r5_array *a = reaper.pending[k];
		double t0;

		if (!a && reaper.quit)
			break;
		if (!a) {
			pthread_cond_wait(&reaper.cond, &reaper.lock);
			continue;
		}
		pthread_mutex_unlock(&reaper.lock);
		t0 = cs_now();
		r5_array_stop(a);
		pthread_mutex_lock(&reaper.lock);
		reaper.busy += cs_now() - t0;
		reaper.pending[k] = NULL;
		pthread_cond_broadcast(&reaper.cond);
	}
	pthread_mutex_unlock(&reaper.lock);
	return NULL;
}

static void
reaper_stop_later(int set, struct r5_array *a)
{
	pthread_mutex_lock(&reaper.lock);
	reaper.pending[set] = a;
	pthread_cond_broadcast(&reaper.cond);
	pthread_mutex_unlock(&reaper.lock);
}

static void
reaper_wait(int set)
{
	pthread_mutex_lock(&reaper.lock);
	while (reaper.pending[set])
		pthread_cond_wait(&reaper.cond, &reaper.lock);
	pthread_mutex_unlock(&reaper.lock);
}

static void
add_time(struct run *r, int phase, double secs)
{
	pthread_mutex_lock(&r->stats_lock);
	r->t_phase[phase] += secs;
	pthread_mutex_unlock(&r->stats_lock);
}

/* ---- the state files ---- */

void
cs_states_init(struct run *r, unsigned nsets)
{
	r->nsets = nsets;
	for (int i = 0; i < N; i++) {
		struct r5_crash_member *cm = &r->log.member[i];
		struct stat st;
		uint8_t *durable;

		if (cm->durable_fd < 0)
			continue; /* not in the run */
		if (fstat(cm->durable_fd, &st) < 0)
			cs_die("fstat of a durable copy", strerror(errno));
		durable = malloc((size_t)st.st_size);
		if (!durable || pread(cm->durable_fd, durable, (size_t)st.st_size, 0) != st.st_size)
			cs_die("reading a durable copy", NULL);
		for (unsigned k = 0; k < nsets; k++) {
			struct state_file *f = &r->sf[k][i];

			f->size = (uint64_t)st.st_size;
			f->durable = durable;
			f->prev = calloc(cm->n / 64 + 1, sizeof(uint64_t));
			if (!f->prev || r5_crash_track_init(&f->track, f->size) < 0)
				cs_die("out of memory", NULL);
			snprintf(f->path, sizeof(f->path), "%s/s%d.%u", r->dir, i, k);
			f->used = true;
		}
	}
	for (uintptr_t k = 0; k < nsets; k++)
		if (pthread_create(&reaper.thread[k], NULL, reaper_main, (void *)k))
			cs_die("pthread_create", NULL);
}

void
cs_states_free(struct run *r)
{
	pthread_mutex_lock(&reaper.lock);
	reaper.quit = true;
	pthread_cond_broadcast(&reaper.cond);
	pthread_mutex_unlock(&reaper.lock);
	for (unsigned k = 0; k < r->nsets; k++)
		pthread_join(reaper.thread[k], NULL);
	r->t_phase[5] = reaper.busy;
	for (int i = 0; i < N; i++) {
		free(r->sf[0][i].durable);
		for (unsigned k = 0; k < r->nsets; k++) {
			free(r->sf[k][i].prev);
			r5_crash_track_destroy(&r->sf[k][i].track);
		}
	}
}

static bool
taken(const uint64_t *take, size_t j)
{
	return (take[j / 64] >> (j % 64)) & 1;
}

/* The first piece at member offset off (pieces are sorted by offset). */
static size_t
first_piece(const struct r5_crash_member *cm, uint64_t off)
{
	size_t lo = 0, hi = cm->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cm->pieces[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Block blk of the state's file: the last piece taken there, else the
 * durable copy. */
static const uint8_t *
state_block(const struct state_file *f, const struct r5_crash_member *cm, const uint64_t *take,
	    uint64_t blk)
{
	const uint64_t off = blk * R5_CRASH_BLOCK;
	const uint8_t *d = f->durable + off;

	for (size_t j = first_piece(cm, off); j < cm->n && cm->pieces[j].off == off; j++)
		if (taken(take, j))
			d = cm->pieces[j].data;
	return d;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	return p[0] == 0 && !memcmp(p, p + 1, n - 1);
}

static void
write_block(int fd, const uint8_t *d, uint64_t blk)
{
	if (pwrite(fd, d, R5_CRASH_BLOCK, (off_t)(blk * R5_CRASH_BLOCK)) != R5_CRASH_BLOCK)
		cs_die("writing a state file", strerror(errno));
}

static void
verify_file(const struct state_file *f, const struct r5_crash_member *cm, const uint64_t *take)
{
	uint8_t *got = malloc(f->size);
	int fd = open(f->path, O_RDONLY | O_CLOEXEC);

	if (!got || fd < 0 || pread(fd, got, f->size, 0) != (ssize_t)f->size)
		cs_die("reading a state file back", NULL);
	for (uint64_t b = 0; b < f->size / R5_CRASH_BLOCK; b++)
		if (memcmp(got + b * R5_CRASH_BLOCK, state_block(f, cm, take, b), R5_CRASH_BLOCK)) {
			fprintf(stderr, "r5_crashsim: %s block %" PRIu64 ":\n", f->path, b);
			cs_die("a block of a state file was not put back", NULL);
		}
	close(fd);
	free(got);
}

static void
build_file(struct run *r, struct state_file *f, int i, const uint64_t *take)
{
	const struct r5_crash_member *cm = &r->log.member[i];
	const uint64_t nblk = f->size / R5_CRASH_BLOCK;
	int fd = open(f->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		cs_die("opening a state file", strerror(errno));
	if (!f->built || f->track.all) {
		/* whole: the durable copy (keeping its holes), then the pieces */
		if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)f->size) < 0)
			cs_die("sizing a state file", strerror(errno));
		for (uint64_t b = 0; b < nblk; b++) {
			const uint8_t *d = state_block(f, cm, take, b);

			if (!all_zero(d, R5_CRASH_BLOCK))
				write_block(fd, d, b);
		}
		f->built = true;
	} else {
		for (size_t j = 0; j < cm->n; j++)
			if (taken(take, j) != taken(f->prev, j))
				write_block(fd, state_block(f, cm, take, cm->pieces[j].off / R5_CRASH_BLOCK),
					    cm->pieces[j].off / R5_CRASH_BLOCK);
		for (uint64_t b = 0; b < nblk; b++)
			if (r5_crash_track_written(&f->track, b))
				write_block(fd, state_block(f, cm, take, b), b);
	}
	close(fd);
	memcpy(f->prev, take, (cm->n / 64 + 1) * sizeof(uint64_t));
	r5_crash_track_reset(&f->track);
	if (r->o.verify_restore)
		verify_file(f, cm, take);
}

void
cs_state_build(struct run *r, int set, const uint64_t *bits, uint32_t use)
{
	size_t base = 0;
	double t0 = cs_now();

	reaper_wait(set);
	add_time(r, 6, cs_now() - t0);
	t0 = cs_now();

	for (int i = 0; i < N; i++) {
		const size_t n = r->npieces[i];
		uint64_t *take = calloc(n / 64 + 1, sizeof(uint64_t));

		if (!take)
			cs_die("out of memory", NULL);
		for (size_t j = 0; j < n; j++)
			if (taken(bits, base + j))
				take[j / 64] |= 1ull << (j % 64);
		if ((use & (1u << i)) && r->sf[set][i].used)
			build_file(r, &r->sf[set][i], i, take);
		free(take);
		base += n;
	}
	add_time(r, 0, cs_now() - t0);
}

/* ---- assembling and checking one state ---- */

/* The versions a block may be found in on its member: what was fsynced,
 * and each version written since. */
static const uint8_t *
version(const struct run *r, uint64_t b, uint32_t v)
{
	return v == 0 ? r->e.old + b * BLK : r->e.ver[b] + (size_t)(v - 1) * BLK;
}

/* No change, or one of the n(n-1)/2 changes between two of n versions. */
static uint64_t
npairs(uint32_t n)
{
	return 1 + (uint64_t)n * (n - 1) / 2;
}

/* May block b read as `got`, neither its fsynced data nor a version
 * written since? Only as docs/write-hole.md allows: it is on a member that
 * does not take part (missing, or rebuilt after the crash from the others),
 * was being written, and so was another block of its stripe row; it then
 * comes from parity and the others as they are on their members:
 *     P ^ sum(D_s) = D_b(t) ^ sum over s of (D_s(t) ^ D_s(t_s))
 * where parity is from some time t and each D_s on its member from some
 * time t_s: one of b's versions, with each other block's change between
 * two of its versions added. Checks got against every such value. */
static bool
torn_as_allowed(const struct run *r, uint32_t use, uint64_t b, const uint8_t *got)
{
	uint64_t other[N], nother = 0, combos = 1;
	struct r5_location loc;
	uint8_t acc[BLK];

	if (!r->e.nver[b])
		return false;
	r5_layout_map(&r->geo, b * BLK, &loc);
	if ((use & (1u << loc.member)) &&
	    !(r->rebuilding == (int)loc.member && loc.member_offset >= r->rebuild_valid_below))
		return false;
	for (uint32_t s = 0; s < N; s++) {
		uint64_t img;

		if (s != loc.member && s != loc.parity_member &&
		    r5_layout_unmap(&r->geo, s, loc.member_offset / BLK * BLK, &img) == 0 &&
		    r->e.nver[img / BLK]) {
			other[nother++] = img / BLK;
			combos *= npairs(r->e.nver[img / BLK] + 1);
		}
	}
	if (!nother)
		return false;
	/* combination c: for each other block no change, or the change
	 * between two of its versions x < y */
	for (uint64_t c = 0; c < combos; c++) {
		uint64_t rest = c;

		memcpy(acc, got, BLK);
		for (uint64_t k = 0; k < nother; k++) {
			const uint32_t nv = r->e.nver[other[k]] + 1;
			uint32_t p = (uint32_t)(rest % npairs(nv)), x = 0, y;

			rest /= npairs(nv);
			if (p-- == 0)
				continue;
			while (p >= nv - 1 - x) /* the p-th pair (x, y), x < y */
				p -= nv - 1 - x++;
			y = x + 1 + p;
			const uint8_t *vx = version(r, other[k], x), *vy = version(r, other[k], y);

			for (unsigned i = 0; i < BLK; i++)
				acc[i] ^= vx[i] ^ vy[i];
		}
		for (uint32_t v = 0; v <= r->e.nver[b]; v++)
			if (!memcmp(acc, version(r, b, v), BLK))
				return true;
	}
	return false;
}

/* `skip`: blocks not to look at (NULL: none). */
static int
check_image(struct run *r, uint32_t use, const uint8_t *img, const bool *skip, char *why,
	    size_t whylen)
{
	unsigned long tolerated = 0;

	for (uint64_t b = 0; b < r->isize / BLK; b++) {
		const uint8_t *got = img + b * BLK;
		bool ok = (skip && skip[b]) || !memcmp(got, r->e.old + b * BLK, BLK);

		for (uint32_t v = 0; !ok && v < r->e.nver[b]; v++)
			ok = !memcmp(got, r->e.ver[b] + (size_t)v * BLK, BLK);
		if (ok)
			continue;
		if (torn_as_allowed(r, use, b, got)) {
			tolerated++;
			continue;
		}
		snprintf(why, whylen, "image block at %" PRIu64 " %s", b * BLK,
			 r->e.nver[b] ? "(being written) is none of the versions it may be"
				      : "(fsynced, not written since) is not what was fsynced");
		return 1;
	}
	pthread_mutex_lock(&r->stats_lock);
	r->tolerated += tolerated;
	pthread_mutex_unlock(&r->stats_lock);
	return 0;
}

/* May the engine refuse this assembly? When it lacks two members for some
 * rows: a member missing besides the one being rebuilt; or when a degraded
 * run's member is given as it was when left out (stale: it must not be
 * used, and md would not start such an array without being told to). */
static bool
refusal_allowed(const struct run *r, uint32_t use)
{
	return (r->rebuilding >= 0 && (use & (1u << r->rebuilding)) &&
		__builtin_popcount(use) < N) ||
	       (r->absent >= 0 && (use & (1u << r->absent)));
}

/* The image did not read in one go: block by block, to say which block
 * fails. A block may fail only where two members are missing (a member
 * missing besides one rebuilt only up to its checkpoint). */
static int
read_blocks(struct run *r, struct r5_array *a, uint32_t use, uint32_t eff, uint8_t *img,
	    char *why, size_t whylen)
{
	const uint64_t nb = r->isize / BLK;
	bool *unreadable = calloc(nb, sizeof(bool));
	int bad = 0;

	if (!unreadable)
		cs_die("out of memory", NULL);
	for (uint64_t b = 0; b < nb && !bad; b++) {
		struct r5_location loc;

		if (r5_array_read(a, img + b * BLK, BLK, b * BLK) == BLK)
			continue;
		r5_layout_map(&r->geo, b * BLK, &loc);
		unreadable[b] = true;
		if (refusal_allowed(r, use) && loc.member_offset >= r->rebuild_valid_below) {
			pthread_mutex_lock(&r->stats_lock);
			r->unreadable++;
			pthread_mutex_unlock(&r->stats_lock);
			continue;
		}
		snprintf(why, whylen, "image block at %" PRIu64 " (%s) does not read", b * BLK,
			 r->e.nver[b] ? "being written" : "fsynced, not written since");
		bad = 1;
	}
	if (!bad)
		bad = check_image(r, eff, img, unreadable, why, whylen);
	free(unreadable);
	return bad;
}

/* The slots the engine uses (a stale member given is not). */
static uint32_t
in_use(struct r5_array *a)
{
	uint32_t eff = 0;

	for (uint32_t i = 0; i < N; i++)
		if (r5_members_state(a->members, i) == R5_SLOT_IN_SYNC ||
		    r5_members_state(a->members, i) == R5_SLOT_REBUILDING)
			eff |= 1u << i;
	return eff;
}

static void
wait_sync_idle(struct r5_array *a)
{
	for (int i = 0; i < 300000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
		usleep(100);
}

int
cs_state_check(struct run *r, int set, uint32_t use, char *why, size_t whylen)
{
	/* after a run with the log, a dirty degraded array must start as it
	 * is; without it only --force starts one. Small settings: the states
	 * are small, and the engine's threads start and stop each time. */
	struct r5_engine_opts eo = { .force = r->o.policy == R5_CONSISTENCY_BITMAP,
				     .stripe_cache_size = 64, .nr_workers = 2, .nr_io_workers = 1 };
	const char *paths[N];
	struct r5_array *a;
	struct r5_sync_status st;
	char err[256] = "";
	int k = 0, bad = 0;
	uint8_t *img = malloc(r->isize);
	double t0 = cs_now(), t1;

	if (!img)
		cs_die("out of memory", NULL);
	for (int i = 0; i < N; i++)
		if (use & (1u << i))
			paths[k++] = r->sf[set][i].path;
	if (r5_array_assemble(paths, k, &eo, &a, err, sizeof(err)) < 0) {
		free(img);
		if (refusal_allowed(r, use))
			return 2;
		snprintf(why, whylen, "assembly failed: %s", err);
		return 1;
	}
	/* note what the engine writes from now on, to put it back */
	for (int i = 0; i < N; i++) {
		struct r5_member *m = r5_members_member(a->members, (uint32_t)i);

		if ((use & (1u << i)) && m && m->ops &&
		    r5_member_wrap_track(m, &r->sf[set][i].track) < 0)
			cs_die("wrapping a member", NULL);
	}
	if (r5_array_start(a) < 0) {
		r5_array_stop(a);
		free(img);
		if (refusal_allowed(r, use))
			return 2;
		snprintf(why, whylen, "the array does not start");
		return 1;
	}
	/* the resync or recovery at full speed: no user I/O to make room for */
	r5_sync_set_speed(a->sync, 1ull << 40, 1ull << 41);
	t1 = cs_now();
	add_time(r, 1, t1 - t0);
	wait_sync_idle(a);
	r5_sync_get_status(a->sync, &st);
	t0 = cs_now();
	add_time(r, 2, t0 - t1);
	if (st.last_action != R5_SYNC_IDLE && st.last_result != 0) {
		snprintf(why, whylen, "the %s after the crash failed: %s",
			 r5_sync_action_name(st.last_action), strerror(-st.last_result));
		bad = 1;
	} else if (r->rebuilding >= 0 && use == 0xfu &&
		   r5_members_state(a->members, (uint32_t)r->rebuilding) != R5_SLOT_IN_SYNC) {
		snprintf(why, whylen, "the recovery onto slot %d did not resume and finish",
			 r->rebuilding);
		bad = 1;
	} else if (r5_array_read(a, img, r->isize, 0) != (ssize_t)r->isize) {
		bad = read_blocks(r, a, use, in_use(a), img, why, whylen);
	} else {
		bad = check_image(r, in_use(a), img, NULL, why, whylen);
	}
	t1 = cs_now();
	add_time(r, 3, t1 - t0);
	/* every member there and in sync: parity must match everywhere */
	if (!bad && r5_members_nr_failed(a->members) == 0 &&
	    r5_sync_start(a->sync, R5_SYNC_CHECK, -1, 0) == 0) {
		wait_sync_idle(a);
		r5_sync_get_status(a->sync, &st);
		if (st.mismatch_sectors || st.last_result) {
			snprintf(why, whylen, "check after the resync: %" PRIu64 " mismatched sectors%s",
				 st.mismatch_sectors, st.last_result ? " (check failed)" : "");
			bad = 1;
		}
	}
	/* a torn write is the recovery's to settle: no block may have been
	 * reported as corrupt (issue 10, item 4) */
	for (uint32_t i = 0; i < N && !bad; i++) {
		struct r5_slot_info si;

		r5_members_slot_info(a->members, i, &si);
		if (si.csum_errors) {
			snprintf(why, whylen, "%" PRIu64 " false checksum errors on slot %u after recovery",
				 si.csum_errors, i);
			bad = 1;
		}
	}
	add_time(r, 4, cs_now() - t1);
	reaper_stop_later(set, a);
	free(img);
	return bad;
}
