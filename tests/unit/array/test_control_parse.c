/* test_control_parse.c - the control command parser (core/array/
 * control_parse.c): every accepted command becomes the right struct, every
 * bad line a clear one-line reason; and how control.c orders the parser's
 * refusals against "the array is not running". */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control_parse.h"
#include "r5_test_array.h"

#define NR_MEMBERS 4u
#define KNOWN " (known: " R5_KNOWN_COMMANDS ")"

static struct r5_control_cmd cmd;
static char err[512];

static void
expect_parsed(const char *line, enum r5_control_kind kind)
{
	err[0] = 0;
	cr_assert_eq(r5_control_parse(line, NR_MEMBERS, &cmd, err, sizeof(err)), R5_CONTROL_PARSED,
		     "'%s' refused: %s", line, err);
	cr_assert_eq(cmd.kind, kind, "'%s' parsed as kind %d, expected %d", line, cmd.kind, kind);
}

/* The line is refused with exactly this reason, on one line. */
static void
expect_refused(const char *line, enum r5_control_parse_result result, const char *reason)
{
	err[0] = 0;
	cr_assert_eq(r5_control_parse(line, NR_MEMBERS, &cmd, err, sizeof(err)), result,
		     "'%s': wrong result (reason '%s')", line, err);
	cr_assert_str_eq(err, reason, "'%s'", line);
	cr_assert_null(strchr(err, '\n'), "'%s': reason is more than one line", line);
}

/* ---- accepted ---- */

Test(control_parse, commands_without_argument)
{
	expect_parsed("flush", R5_CONTROL_FLUSH);
	expect_parsed("check", R5_CONTROL_CHECK);
	expect_parsed("repair", R5_CONTROL_REPAIR);
	expect_parsed("idle", R5_CONTROL_IDLE);
	expect_parsed("recover", R5_CONTROL_RECOVER);
}

Test(control_parse, blanks_around_words_and_a_final_newline)
{
	expect_parsed("  flush", R5_CONTROL_FLUSH);
	expect_parsed("\tcheck\t ", R5_CONTROL_CHECK);
	expect_parsed("idle\n", R5_CONTROL_IDLE);
	expect_parsed("repair \n\n", R5_CONTROL_REPAIR);
	expect_parsed(" fail \t 2 \n", R5_CONTROL_FAIL);
	cr_assert_eq(cmd.slot, 2);
}

Test(control_parse, fail_every_slot)
{
	for (uint32_t s = 0; s < NR_MEMBERS; s++) {
		char line[32];

		snprintf(line, sizeof(line), "fail %u", s);
		expect_parsed(line, R5_CONTROL_FAIL);
		cr_assert_eq(cmd.slot, s);
	}
}

/* strtoul's view of a decimal number: a leading '+' and zeros pass. */
Test(control_parse, slot_with_sign_or_leading_zeros)
{
	expect_parsed("fail +1", R5_CONTROL_FAIL);
	cr_assert_eq(cmd.slot, 1);
	expect_parsed("fail 003", R5_CONTROL_FAIL);
	cr_assert_eq(cmd.slot, 3);
}

Test(control_parse, replace_with_and_without_file)
{
	expect_parsed("replace 2", R5_CONTROL_REPLACE);
	cr_assert_eq(cmd.slot, 2);
	cr_assert_str_eq(cmd.path, "");
	expect_parsed("replace 0 /srv/disks/new-m0", R5_CONTROL_REPLACE);
	cr_assert_eq(cmd.slot, 0);
	cr_assert_str_eq(cmd.path, "/srv/disks/new-m0");
}

/* A path as long as the frontend can pass (4096-byte writes) fits whole. */
Test(control_parse, replace_keeps_a_long_path_whole)
{
	static char line[4096 + 1], path[4096];
	size_t n = sizeof(line) - 1 - strlen("replace 1 ");

	memset(path, 'p', n);
	path[0] = '/';
	path[n] = 0;
	memcpy(line, "replace 1 ", strlen("replace 1 "));
	memcpy(line + strlen("replace 1 "), path, n + 1);
	expect_parsed(line, R5_CONTROL_REPLACE);
	cr_assert_str_eq(cmd.path, path);
}

Test(control_parse, sync_speeds_with_units)
{
	static const struct {
		const char *line;
		enum r5_control_kind kind;
		uint64_t bytes;
	} cases[] = {
		{ "sync_speed_min 50M", R5_CONTROL_SYNC_SPEED_MIN, 50ull << 20 },
		{ "sync_speed_max 1G", R5_CONTROL_SYNC_SPEED_MAX, 1ull << 30 },
		{ "sync_speed_max 4096", R5_CONTROL_SYNC_SPEED_MAX, 4096 },
		{ "sync_speed_min 4096B", R5_CONTROL_SYNC_SPEED_MIN, 4096 },
		{ "sync_speed_min 8KiB", R5_CONTROL_SYNC_SPEED_MIN, 8ull << 10 },
		{ "sync_speed_max 2kb", R5_CONTROL_SYNC_SPEED_MAX, 2ull << 10 },
		{ "sync_speed_max 1t", R5_CONTROL_SYNC_SPEED_MAX, 1ull << 40 },
		{ "sync_speed_min 1", R5_CONTROL_SYNC_SPEED_MIN, 1 },
		{ "sync_speed_max 18446744073709551615", R5_CONTROL_SYNC_SPEED_MAX, UINT64_MAX },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_parsed(cases[i].line, cases[i].kind);
		cr_assert_eq(cmd.bytes_per_sec, cases[i].bytes, "'%s': %llu", cases[i].line,
			     (unsigned long long)cmd.bytes_per_sec);
	}
}

/* A newline inside a line ends a word and is skipped after it: it acts
 * as a blank between words (the frontend has split lines already). */
Test(control_parse, newline_between_words_separates_them)
{
	expect_parsed("fail\n1", R5_CONTROL_FAIL);
	cr_assert_eq(cmd.slot, 1);
	expect_parsed("replace 3\n/m3", R5_CONTROL_REPLACE);
	cr_assert_eq(cmd.slot, 3);
	cr_assert_str_eq(cmd.path, "/m3");
	expect_refused("flush\ncheck", R5_CONTROL_BAD_COMMAND, "flush takes no argument");
}

/* An embedded NUL ends the line: what follows is never seen. */
Test(control_parse, embedded_nul_ends_the_line)
{
	static const char line[] = "flush\0check now please";

	expect_parsed(line, R5_CONTROL_FLUSH);
	static const char line2[] = "fail 1\0 2";
	expect_parsed(line2, R5_CONTROL_FAIL);
	cr_assert_eq(cmd.slot, 1);
}

/* ---- refused ---- */

Test(control_parse, empty_lines)
{
	expect_refused("", R5_CONTROL_BAD_COMMAND, "empty command" KNOWN);
	expect_refused(" \t ", R5_CONTROL_BAD_COMMAND, "empty command" KNOWN);
	expect_refused("\n", R5_CONTROL_BAD_COMMAND, "empty command" KNOWN);
	/* a newline before the first word leaves the command word empty */
	expect_refused("\nflush", R5_CONTROL_BAD_COMMAND, "empty command" KNOWN);
}

Test(control_parse, unknown_commands)
{
	expect_refused("frobnicate", R5_CONTROL_BAD_COMMAND, "unknown command 'frobnicate'" KNOWN);
	expect_refused("FLUSH", R5_CONTROL_BAD_COMMAND, "unknown command 'FLUSH'" KNOWN);
	expect_refused("flushx", R5_CONTROL_BAD_COMMAND, "unknown command 'flushx'" KNOWN);
	expect_refused("sync_speed 1M", R5_CONTROL_BAD_COMMAND, "unknown command 'sync_speed'" KNOWN);
	expect_refused("stop 1 2", R5_CONTROL_BAD_COMMAND, "unknown command 'stop'" KNOWN);
}

Test(control_parse, extra_argument_to_a_plain_command)
{
	static const char *const words[] = { "flush", "check", "repair", "idle", "recover" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		char line[64], reason[64];

		snprintf(line, sizeof(line), "%s now", words[i]);
		snprintf(reason, sizeof(reason), "%s takes no argument", words[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND, reason);
		snprintf(line, sizeof(line), "%s a b", words[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND, reason);
	}
}

/* More than three words is refused before the command is even looked at. */
Test(control_parse, more_than_three_words)
{
	expect_refused("flush a b c", R5_CONTROL_TOO_MANY_WORDS, "too many arguments for 'flush'");
	expect_refused("fail 1 2 3", R5_CONTROL_TOO_MANY_WORDS, "too many arguments for 'fail'");
	expect_refused("replace 1 /new member", R5_CONTROL_TOO_MANY_WORDS,
		       "too many arguments for 'replace'");
	expect_refused("nonsense a b c d e", R5_CONTROL_TOO_MANY_WORDS,
		       "too many arguments for 'nonsense'");
}

Test(control_parse, fail_missing_or_extra_slot)
{
	expect_refused("fail", R5_CONTROL_BAD_COMMAND, "usage: fail SLOT");
	expect_refused("fail  \t", R5_CONTROL_BAD_COMMAND, "usage: fail SLOT");
	expect_refused("fail 1 2", R5_CONTROL_BAD_COMMAND, "usage: fail SLOT");
}

Test(control_parse, slot_not_a_slot)
{
	static const char *const slots[] = {
		"4",           /* = the member count */
		"31",          "-1",         "-0x1", "x",   "1x", "0x1", "1.0", "1e0",
		"4294967296",  /* 2^32: must not wrap to slot 0 */
		"4294967297",  /* 2^32 + 1: must not wrap to slot 1 */
		"18446744073709551617", /* overflows unsigned long */
		"99999999999999999999999999999999",
	};

	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		char line[64], reason[128];

		snprintf(reason, sizeof(reason), "'%s' is not a slot of this array (0..3)", slots[i]);
		snprintf(line, sizeof(line), "fail %s", slots[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND, reason);
		snprintf(line, sizeof(line), "replace %s /new", slots[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND, reason);
	}
}

Test(control_parse, slot_range_follows_the_member_count)
{
	cr_assert_eq(r5_control_parse("fail 7", 8, &cmd, err, sizeof(err)), R5_CONTROL_PARSED);
	cr_assert_eq(cmd.slot, 7);
	cr_assert_eq(r5_control_parse("fail 3", 3, &cmd, err, sizeof(err)),
		     R5_CONTROL_BAD_COMMAND);
	cr_assert_str_eq(err, "'3' is not a slot of this array (0..2)");
}

Test(control_parse, replace_missing_slot)
{
	expect_refused("replace", R5_CONTROL_BAD_COMMAND, "usage: replace SLOT [FILE]");
	expect_refused("replace\t \n", R5_CONTROL_BAD_COMMAND, "usage: replace SLOT [FILE]");
}

Test(control_parse, sync_speed_bad_values)
{
	static const char *const values[] = {
		"",      "0",   "0M",  "-5",  "+5",  "5X",   "M",    "1.5M", "1MM",  "1Mi",
		"5 6",   /* an extra argument */
		"18446744073709551616", /* 2^64 */
		"16777216T",            /* 2^24 TiB = 2^64 */
		"17179869184G",         /* 2^34 GiB = 2^64 */
	};

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char line[64];

		snprintf(line, sizeof(line), "sync_speed_min %s", values[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND,
			       "usage: sync_speed_min BYTES_PER_SECOND (e.g. 50M)");
		snprintf(line, sizeof(line), "sync_speed_max %s", values[i]);
		expect_refused(line, R5_CONTROL_BAD_COMMAND,
			       "usage: sync_speed_max BYTES_PER_SECOND (e.g. 50M)");
	}
}

/* A command word longer than 31 bytes is cut there: never a known command. */
Test(control_parse, very_long_command_word)
{
	static char line[8192], reason[256];

	memset(line, 'f', sizeof(line) - 1);
	memcpy(line, "flush", 5);
	snprintf(reason, sizeof(reason), "unknown command 'flush%.26s'" KNOWN, line + 5);
	expect_refused(line, R5_CONTROL_BAD_COMMAND, reason);
}

Test(control_parse, very_long_slot_number)
{
	static char line[4096 + 1];

	memset(line, '1', sizeof(line) - 1);
	memcpy(line, "fail ", 5);
	err[0] = 0;
	cr_assert_eq(r5_control_parse(line, NR_MEMBERS, &cmd, err, sizeof(err)),
		     R5_CONTROL_BAD_COMMAND);
	cr_assert_eq(strncmp(err, "'1111", 5), 0, "%s", err);
	cr_assert_eq(strlen(err), sizeof(err) - 1, "the reason fills and stops at the buffer");
	cr_assert_null(strchr(err, '\n'));
}

Test(control_parse, small_or_missing_error_buffer)
{
	char small[8];

	cr_assert_eq(r5_control_parse("frobnicate", NR_MEMBERS, &cmd, small, sizeof(small)),
		     R5_CONTROL_BAD_COMMAND);
	cr_assert_str_eq(small, "unknown");
	cr_assert_eq(r5_control_parse("frobnicate", NR_MEMBERS, &cmd, NULL, 0),
		     R5_CONTROL_BAD_COMMAND);
}

/* ---- control.c: the parser's refusals against the array's state ---- */

TestSuite(control_run);

/* Assembled but not started: only a line of too many words is refused for
 * itself, everything else is "not running" (as before the split). */
Test(control_run, not_started_array, .timeout = 30)
{
	struct r5_test_array t;
	char e[256];

	r5t_create(&t, 3, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 1024 * 1024);
	cr_assert_eq(r5_array_assemble(t.paths, 3, NULL, &t.a, e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(r5_array_control(t.a, "flush a b c", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "too many arguments for 'flush'");
	cr_assert_eq(r5_array_control(t.a, "frobnicate", e, sizeof(e)), -EIO);
	cr_assert_str_eq(e, "the array is not running");
	cr_assert_eq(r5_array_control(t.a, "fail 9", e, sizeof(e)), -EIO);
	cr_assert_str_eq(e, "the array is not running");
	cr_assert_eq(r5_array_control(t.a, "flush", e, sizeof(e)), -EIO);
	cr_assert_str_eq(e, "the array is not running");
	r5t_cleanup(&t);
}

Test(control_run, started_array, .timeout = 30)
{
	struct r5_test_array t;
	char e[256];

	r5t_create(&t, 3, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 1024 * 1024);
	r5t_start(&t, 0x7, NULL);
	cr_assert_eq(r5_array_control(t.a, "frobnicate", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "unknown command 'frobnicate'" KNOWN);
	cr_assert_eq(r5_array_control(t.a, "fail 3", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "'3' is not a slot of this array (0..2)");
	cr_assert_eq(r5_array_control(t.a, "sync_speed_max 0", e, sizeof(e)), -EINVAL);
	cr_assert_eq(r5_array_control(t.a, "flush", e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(r5_array_control(t.a, "sync_speed_max 4M", e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(r5_array_control(t.a, "recover", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "no member is waiting to be rebuilt (use replace)");
	cr_assert_eq(r5_array_control(t.a, "fail 1", e, sizeof(e)), 0, "%s", e);
	cr_assert_eq(r5_members_state(t.a->members, 1), R5_SLOT_FAULTY);
	cr_assert_eq(r5_array_control(t.a, "fail 1", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "slot 1 is not in use");
	cr_assert_eq(r5_array_control(t.a, "fail 0", e, sizeof(e)), -EBUSY);
	cr_assert_str_eq(e, "slot 0 is needed: the array is already degraded and would fail");
	cr_assert_eq(r5_array_control(t.a, "check", e, sizeof(e)), -EINVAL);
	cr_assert_str_eq(e, "the array is degraded: there is no redundancy to check");
	r5t_cleanup(&t);
}

Test(control_parse, spares_add_and_remove_take_one_file)
{
	expect_parsed("add /srv/disks/spare0", R5_CONTROL_SPARE_ADD);
	cr_assert_str_eq(cmd.path, "/srv/disks/spare0");
	expect_parsed("remove /srv/disks/spare0\n", R5_CONTROL_SPARE_REMOVE);
	cr_assert_str_eq(cmd.path, "/srv/disks/spare0");
	expect_refused("add", R5_CONTROL_BAD_COMMAND, "usage: add FILE");
	expect_refused("remove", R5_CONTROL_BAD_COMMAND, "usage: remove FILE");
	expect_refused("add /a /b", R5_CONTROL_BAD_COMMAND, "usage: add FILE");
}
