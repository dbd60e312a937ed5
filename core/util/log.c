/* log.c - one line per message to the installed sink (see log.h). */
#include <stdio.h>
#include <string.h>

#include "raid5fs/log.h"

void
r5_log_stderr(int prio, const char *line)
{
	(void)prio;
	fprintf(stderr, "raid5fs: %s\n", line);
}

/* set before any thread starts (log.h), read by all of them */
static r5_log_sink_fn r5_log_sink = r5_log_stderr;

void
r5_log_set_sink(r5_log_sink_fn sink)
{
	r5_log_sink = sink ? sink : r5_log_stderr;
}

void
r5_vlogp(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	r5_log_sink(prio, line);
}

void
r5_logp(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r5_vlogp(prio, fmt, ap);
	va_end(ap);
}

void
r5_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	r5_vlogp(R5_LOG_NOTICE, fmt, ap);
	va_end(ap);
}
