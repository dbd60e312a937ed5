/* util.c - small helpers: sizes, random bytes, uuids, clock. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "raid5fs/util.h"

int
r5_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*p))
		return -EINVAL; /* empty, sign, space or garbage first */
	for (; isdigit((unsigned char)*p); p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return -EINVAL;
		v = v * 10 + digit;
	}
	switch (tolower((unsigned char)*p)) {
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	default: break;
	}
	if (shift != 0) {
		p++;
		/* "K", "KB", "KiB" (any case) */
		if (tolower((unsigned char)p[0]) == 'i' && tolower((unsigned char)p[1]) == 'b')
			p += 2;
		else if (tolower((unsigned char)p[0]) == 'b')
			p++;
	} else if (tolower((unsigned char)*p) == 'b') {
		p++; /* "4096B" */
	}
	if (*p != '\0')
		return -EINVAL;
	if (shift != 0 && v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = v << shift;
	return 0;
}

char *
r5_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	const unsigned nunits = sizeof(units) / sizeof(units[0]);
	unsigned u = 0;
	uint64_t whole, tenths;

	if (len == 0)
		return buf;
	while (u + 1 < nunits && bytes >> (10 * (u + 1)) != 0)
		u++;
	if (u == 0) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	whole = bytes >> (10 * u);
	/* one decimal, rounded; rem < 2^60 so rem * 10 cannot overflow */
	{
		uint64_t unit = UINT64_C(1) << (10 * u);
		uint64_t rem = bytes & (unit - 1);

		tenths = (rem * 10 + unit / 2) >> (10 * u);
	}
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	if (whole == 1024 && u + 1 < nunits) {
		u++;
		whole = 1;
		tenths = 0;
	}
	if (tenths == 0)
		snprintf(buf, len, "%" PRIu64 " %s", whole, units[u]);
	else
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", whole, tenths, units[u]);
	return buf;
}

static void
random_fallback(uint8_t *p, size_t n)
{
	static uint64_t counter;
	struct timespec ts;
	uint64_t x;

	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)getpid() << 32) ^ (++counter * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < n; i++) {
		/* xorshift64* */
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		p[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> 56);
	}
}

void
r5_random_bytes(void *buf, size_t n)
{
	uint8_t *p = buf;
	size_t done = 0;
	int fd;

	while (done < n) {
		ssize_t r = getrandom(p + done, n - done, 0);

		if (r > 0)
			done += (size_t)r;
		else if (r < 0 && errno == EINTR)
			continue;
		else
			break;
	}
	if (done == n)
		return;
	fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		while (done < n) {
			ssize_t r = read(fd, p + done, n - done);

			if (r > 0)
				done += (size_t)r;
			else if (r < 0 && errno == EINTR)
				continue;
			else
				break;
		}
		close(fd);
	}
	if (done < n)
		random_fallback(p + done, n - done);
}

void
r5_uuid_format(const uint8_t uuid[16], char *buf)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[o++] = '-';
		buf[o++] = hex[uuid[i] >> 4];
		buf[o++] = hex[uuid[i] & 15];
	}
	buf[o] = '\0';
}

uint64_t
r5_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
r5_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

size_t
r5_json_str(const char *s, char *buf, size_t cap)
{
	size_t n = 0;

#define PUT(c)                          \
	do {                            \
		if (n + 1 >= cap)       \
			return 0;       \
		buf[n++] = (char)(c);   \
	} while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT(ch);
		} else if (ch < 0x20) {
			if (n + 7 >= cap)
				return 0;
			n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
		} else {
			PUT(ch);
		}
	}
	PUT('"');
#undef PUT
	buf[n] = '\0';
	return n;
}
