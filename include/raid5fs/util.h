/* util.h - small helpers shared by core, fuse and tools. */
#ifndef RAID5FS_UTIL_H
#define RAID5FS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* "4096", "64K", "1M", "3G", "1T" (binary units, case-insensitive, optional
 * trailing "iB"/"B"). 0 or -EINVAL (garbage, overflow, empty). */
int r5_parse_size(const char *s, uint64_t *out);
/* "64 KiB", "1.5 GiB": human form into buf; returns buf. */
char *r5_format_size(uint64_t bytes, char *buf, size_t len);
/* Fills n bytes from /dev/urandom (falls back to a time-seeded generator). */
void r5_random_bytes(void *buf, size_t n);
/* Formats a 16-byte uuid as 8-4-4-4-12 hex into buf (>= 37 bytes). */
void r5_uuid_format(const uint8_t uuid[16], char *buf);
/* Monotonic clock in nanoseconds. */
uint64_t r5_now_ns(void);
/* Writes a one-line reason into err (if err and errlen are non-zero): the
 * error buffer that functions failing on user input fill in. */
void r5_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* s as a JSON string literal (quotes included, control characters as
 * \u00XX) at buf, NUL-terminated: its length, or 0 when it does not fit
 * in cap. */
size_t r5_json_str(const char *s, char *buf, size_t cap);

#endif
