/* array.h - the array as a whole: create, assemble, I/O, flush, status, stop.
 *
 * This is the only engine interface the FUSE adapter and the command use.
 * Every function returns 0 (or a byte count) or a negative errno. Functions
 * that can fail because of user input also take an error buffer and write a
 * one-line reason there that names the file concerned.
 *
 * Lifecycle:  r5_array_assemble -> r5_array_start -> I/O ... -> r5_array_stop
 * Assembly does all validation and opens the members but starts no thread,
 * so the caller may fork (daemonize) between assemble and start.
 */
#ifndef RAID5FS_ARRAY_H
#define RAID5FS_ARRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "raid5fs/layout.h"

struct r5_array; /* opaque */

struct r5_create_opts {
	uint32_t chunk_size;  /* 0 = R5_DEFAULT_CHUNK */
	uint32_t layout;      /* enum r5_layout */
	uint64_t member_size; /* size of each member's DATA area; 0 = from existing file sizes */
	bool force;           /* overwrite files that already hold a raid5fs superblock */
	const char *name;     /* optional array name, may be NULL */
	const char *checksum; /* "crc32c" (NULL: this default), "sha256", "hmac-sha256", "none" */
	const char *key_file; /* hmac-sha256's key (include/raid5fs/checksum.h) */
};

/* Creates the member files (sparse; all-zero data is parity-consistent so no
 * initial sync is needed) and writes their superblocks. Nothing is written
 * unless every argument checks out. */
int r5_array_create(const char *const *paths, int n, const struct r5_create_opts *opts,
		    char *err, size_t errlen);

/* What makes parity right again after a crash (md's consistency_policy). */
enum r5_consistency {
	R5_CONSISTENCY_DEFAULT = 0, /* ppl */
	R5_CONSISTENCY_PPL,         /* the partial parity log and the bitmap: no write hole */
	R5_CONSISTENCY_BITMAP,      /* the bitmap only: a dirty, degraded start needs --force */
};

struct r5_engine_opts {
	uint32_t stripe_cache_size; /* stripe_heads in the pool; 0 = default */
	uint32_t strip_size;        /* bytes per member per stripe_head; 0 = default */
	uint32_t nr_workers;        /* worker threads; 0 = default */
	uint32_t nr_io_workers;     /* threads that only do member I/O; 0 = default */
	bool force;                 /* start even when md would refuse (later use) */
	uint32_t consistency_policy; /* enum r5_consistency */
	const char *key_file;       /* key of an hmac-sha256 array, else NULL */
};

/* Opens and validates the members (order does not matter: each superblock
 * names its slot). On success *out is ready for r5_array_start. */
int r5_array_assemble(const char *const *paths, int n, const struct r5_engine_opts *opts,
		      struct r5_array **out, char *err, size_t errlen);

/* Allocates the stripe cache and starts the worker threads; marks the array
 * active in the superblocks on the first write. */
int r5_array_start(struct r5_array *a);

/* Image I/O; the image is a fixed-size, device-like file and these are the
 * only place its bounds are applied. A read returns the bytes before the end
 * (0 at or after it); a write stores the part before the end and returns
 * its length, or -ENOSPC when it starts at or after the end. Otherwise the
 * whole length or -errno. Writes return once the stripe cache holds the data
 * (write-back); r5_array_flush makes them durable. */
ssize_t r5_array_read(struct r5_array *a, void *buf, size_t len, uint64_t off);
ssize_t r5_array_write(struct r5_array *a, const void *buf, size_t len, uint64_t off);

/* Zeros [off, off+len) of the image (a discard; bounds as for a write,
 * but past the end there is nothing to do). Rows that then hold only
 * zeros stop counting as in use: they read as zeros without touching the
 * members and a rebuild skips them. 0 or -errno. */
int r5_array_discard(struct r5_array *a, uint64_t off, uint64_t len);

/* Writes back every stripe dirty at the time of the call and fdatasyncs the
 * members. Returns -EIO if any of that data could not be stored. */
int r5_array_flush(struct r5_array *a);

uint64_t r5_array_size(const struct r5_array *a);

/* Status snapshots. Return the length written (truncated to len-1, always
 * NUL-terminated) or -errno. */
int r5_array_status_text(struct r5_array *a, char *buf, size_t len);
int r5_array_status_json(struct r5_array *a, char *buf, size_t len);
/* The array's events (include/raid5fs/events.h): read them, or install a
 * listener before the array starts. */
struct r5_events *r5_array_events(struct r5_array *a);

/* One control command line, e.g. "check" or "sync_speed_min 50M" (the
 * README lists them). On error returns -errno and a one-line reason in err. */
int r5_array_control(struct r5_array *a, const char *cmd, char *err, size_t errlen);

/* Flushes, marks the members clean, stops the threads, closes the members
 * and frees everything. Safe on an array that was never started. */
int r5_array_stop(struct r5_array *a);

#endif
