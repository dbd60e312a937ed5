/* test_util.c - size parsing and formatting, uuids, random bytes, clock. */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "raid5fs/util.h"

static void
accepts(const char *s, uint64_t want)
{
	uint64_t v = 12345;

	cr_assert_eq(r5_parse_size(s, &v), 0, "\"%s\" rejected", s);
	cr_assert_eq(v, want, "\"%s\" -> %lu, want %lu", s, (unsigned long)v,
		     (unsigned long)want);
}

static void
rejects(const char *s)
{
	uint64_t v = 12345;

	cr_assert_eq(r5_parse_size(s, &v), -EINVAL, "\"%s\" accepted", s ? s : "(null)");
	cr_assert_eq(v, 12345, "\"%s\": output changed on failure", s ? s : "(null)");
}

Test(util, parse_size_accepts)
{
	accepts("0", 0);
	accepts("4096", 4096);
	accepts("4096B", 4096);
	accepts("4096b", 4096);
	accepts("64K", 65536);
	accepts("64k", 65536);
	accepts("64KB", 65536);
	accepts("64KiB", 65536);
	accepts("64kib", 65536);
	accepts("1M", 1ull << 20);
	accepts("1MiB", 1ull << 20);
	accepts("3G", 3ull << 30);
	accepts("3gb", 3ull << 30);
	accepts("1T", 1ull << 40);
	accepts("16777215T", 16777215ull << 40);   /* largest T that fits */
	accepts("18446744073709551615", UINT64_MAX);
	accepts("007", 7);
}

Test(util, parse_size_rejects)
{
	rejects(NULL);
	rejects("");
	rejects("K");
	rejects("-1");
	rejects("+1");
	rejects(" 1");
	rejects("1 ");
	rejects("1 K");
	rejects("1.5G");
	rejects("12x");
	rejects("1KK");
	rejects("1iB");
	rejects("1Ki");
	rejects("1KiBB");
	rejects("1P");       /* no peta suffix */
	rejects("0x10");
	rejects("18446744073709551616");     /* 2^64 */
	rejects("99999999999999999999999");
	rejects("16777216T");                /* 2^64 bytes */
	rejects("17179869184G");             /* 2^64 bytes */
}

static void
formats(uint64_t bytes, const char *want)
{
	char buf[32];

	cr_assert_str_eq(r5_format_size(bytes, buf, sizeof(buf)), want, "%lu bytes",
			 (unsigned long)bytes);
}

Test(util, format_size)
{
	formats(0, "0 B");
	formats(1, "1 B");
	formats(1023, "1023 B");
	formats(1024, "1 KiB");
	formats(65536, "64 KiB");
	formats(1536, "1.5 KiB");
	formats(3ull << 29, "1.5 GiB");
	formats(1ull << 20, "1 MiB");
	formats((1ull << 20) - 1, "1 MiB");   /* rounds up into the next unit */
	formats((1ull << 20) + 1, "1 MiB");   /* .0 is dropped */
	formats(1ull << 40, "1 TiB");
	formats(5ull << 50, "5 PiB");
	formats(UINT64_MAX, "16 EiB");
	formats(2000, "2 KiB");               /* 1.95 -> 2.0 */
	formats(1900, "1.9 KiB");             /* 1.855 -> 1.9 */
}

Test(util, format_size_truncates)
{
	char buf[5];

	r5_format_size(65536, buf, sizeof(buf));
	cr_assert_str_eq(buf, "64 K");
}

Test(util, uuid_format)
{
	const uint8_t u[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	char buf[37];

	memset(buf, 'x', sizeof(buf));
	r5_uuid_format(u, buf);
	cr_assert_str_eq(buf, "01234567-89ab-cdef-fedc-ba9876543210");
}

Test(util, random_bytes)
{
	uint8_t a[64], b[64];
	int zeros = 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	r5_random_bytes(a, sizeof(a));
	r5_random_bytes(b, sizeof(b));
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
	for (size_t i = 0; i < sizeof(a); i++)
		zeros += a[i] == 0;
	cr_assert_lt(zeros, 16);
	r5_random_bytes(a, 0); /* no-op */
}

Test(util, now_ns_monotonic)
{
	uint64_t t0 = r5_now_ns(), t1 = r5_now_ns();

	cr_assert_gt(t0, 0);
	cr_assert_geq(t1, t0);
}
