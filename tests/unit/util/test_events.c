/* test_events.c - the array's events (include/raid5fs/events.h): the kept
 * ring, its JSON lines, truncation to whole lines, the listener's order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "raid5fs/events.h"

static unsigned
count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(events, the_last_ones_are_kept_in_order)
{
	struct r5_events *ev;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	unsigned long long seq;

	cr_assert_eq(r5_events_create(&ev), 0);
	cr_assert_eq(r5_events_json(ev, buf, cap), 0, "no events yet");
	for (int i = 0; i < R5_EVENTS_KEEP + 44; i++)
		r5_event(ev, "rebuild-progress", 2, "/m2", "%d", i);
	size_t len = r5_events_json(ev, buf, cap);

	cr_assert_eq(strlen(buf), len);
	cr_assert_eq(count_lines(buf), R5_EVENTS_KEEP);
	cr_assert_eq(sscanf(buf, "{\"seq\":%llu,", &seq), 1);
	cr_assert_eq(seq, 45, "the oldest kept is the 45th");
	cr_assert(strstr(buf, "\"event\":\"rebuild-progress\",\"slot\":2,\"member\":\"/m2\",\"detail\":\"299\"}\n"),
		  "the newest, as a JSON line: %s", buf + len - 200);
	r5_events_destroy(ev);
	free(buf);
}

Test(events, strings_are_escaped_and_short_buffers_keep_whole_newest_lines)
{
	struct r5_events *ev;
	char buf[4096], line[1024];

	cr_assert_eq(r5_events_create(&ev), 0);
	r5_event(ev, "fail", 1, "/data/a \"b\"\\c", "line\nbreak");
	r5_event(ev, "degraded", -1, NULL, "x");
	r5_event(ev, "check-finished", -1, NULL, "check: mismatched stripes 0");
	r5_events_json(ev, buf, sizeof(buf));
	cr_assert(strstr(buf, "\"member\":\"/data/a \\\"b\\\"\\\\c\",\"detail\":\"line\\u000abreak\"}"), "%s", buf);
	cr_assert(strstr(buf, "\"slot\":-1,\"member\":\"\""));
	/* room for two lines only: the two newest, whole */
	size_t all = strlen(buf);
	char *second = strchr(buf, '\n') + 1;
	size_t two = all - (size_t)(second - buf);

	cr_assert_eq(r5_events_json(ev, line, two + 1), two);
	cr_assert_str_eq(line, second);
	cr_assert_eq(r5_events_json(ev, line, 10), 0, "not even one whole line fits");
	cr_assert_str_eq(line, "");
	r5_events_destroy(ev);
}

struct seen {
	unsigned n;
	unsigned long long seq[8];
	char name[8][24];
};

static void
listen(void *arg, const struct r5_event *e)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->seq[s->n] = e->seq;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", e->name);
	}
	s->n++;
}

Test(events, the_listener_hears_each_in_order)
{
	struct r5_events *ev;
	struct seen s = { 0 };

	cr_assert_eq(r5_events_create(&ev), 0);
	r5_event(ev, "before", -1, NULL, "not heard");
	r5_events_set_listener(ev, listen, &s);
	r5_event(ev, "fail", 0, "/m0", "deleted");
	r5_event(ev, "degraded", 0, "/m0", "%s", "");
	r5_events_set_listener(ev, NULL, NULL);
	r5_event(ev, "after", -1, NULL, "not heard");
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.seq[0], 2);
	cr_assert_str_eq(s.name[0], "fail");
	cr_assert_eq(s.seq[1], 3);
	cr_assert_str_eq(s.name[1], "degraded");
	r5_event(NULL, "nothing", -1, NULL, "a NULL set takes nothing");
	r5_events_destroy(ev);
}
