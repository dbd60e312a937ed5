/* fe_log.c - the daemon's log (include/raid5fs/log.h): stderr in the
 * foreground and until the daemon detaches, syslog after; libfuse's own
 * messages; the daemon's stderr pumped into the log. */
#include "frontend_internal.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Set once the daemon has detached from the terminal; read by every thread
 * that logs. The sink itself is installed before any thread starts (as
 * log.h asks) and only this flag changes later: the engine is running by the
 * time the daemon detaches. */
static atomic_bool fe_syslog;

static void
fe_log_sink(int prio, const char *line)
{
	if (atomic_load_explicit(&fe_syslog, memory_order_relaxed))
		syslog(prio, "%s", line);
	else
		r5_log_stderr(prio, line);
}

/* libfuse's own messages go the same way as ours, one line at a time (it
 * sometimes builds a line from several calls). While the mount is being set
 * up they are kept instead, so that a failure is reported as ONE line that
 * carries libfuse's reason. */
static bool fe_capture;              /* set only while single-threaded */
static char fe_fuse_msg[1024];       /* last line libfuse logged while capturing */
static __thread char fe_fuse_line[1024]; /* partial line of this thread */
static __thread size_t fe_fuse_len;      /* bytes in fe_fuse_line */

static void fe_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
fe_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char *nl;
	int n;

	n = vsnprintf(fe_fuse_line + fe_fuse_len, sizeof(fe_fuse_line) - fe_fuse_len, fmt, ap);
	if (n < 0)
		return;
	fe_fuse_len += (size_t)n;
	if (fe_fuse_len >= sizeof(fe_fuse_line) - 1) {
		fe_fuse_len = sizeof(fe_fuse_line) - 2; /* overlong: cut it here */
		fe_fuse_line[fe_fuse_len++] = '\n';
		fe_fuse_line[fe_fuse_len] = '\0';
	}
	while ((nl = strchr(fe_fuse_line, '\n')) != NULL) {
		*nl = '\0';
		if (fe_fuse_line[0] != '\0') {
			if (fe_capture)
				snprintf(fe_fuse_msg, sizeof(fe_fuse_msg), "%s", fe_fuse_line);
			else
				r5_logp((int)level, "%s", fe_fuse_line); /* syslog numbering */
		}
		fe_fuse_len -= (size_t)(nl + 1 - fe_fuse_line);
		memmove(fe_fuse_line, nl + 1, fe_fuse_len + 1);
	}
}

void
fe_log_start(void)
{
	atomic_store(&fe_syslog, false);
	openlog("raid5fs", LOG_PID, LOG_DAEMON);
	/* Stays installed after r5_frontend_run: once detached, syslog is the
	 * only place left for a message. */
	r5_log_set_sink(fe_log_sink);
	fe_fuse_msg[0] = '\0';
	fe_capture = true;
	fuse_set_log_func(fe_fuse_log);
}

void
fe_log_capture_end(void)
{
	fe_capture = false;
}

const char *
fe_fuse_reason(char *buf, size_t len)
{
	if (fe_fuse_msg[0] == '\0')
		return "";
	snprintf(buf, len, ": %s", fe_fuse_msg);
	return buf;
}

/* Once daemonized, anything the engine (or a library) writes to stderr is
 * forwarded to the log (syslog by then: a sink writing to stderr would feed
 * the pump its own lines) line by line, so no message is lost to /dev/null. */
static void *
fe_log_pump(void *arg)
{
	FILE *in = fdopen((int)(intptr_t)arg, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (in == NULL) {
		close((int)(intptr_t)arg);
		return NULL;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		r5_logp(R5_LOG_NOTICE, "%s", line);
	}
	free(line);
	fclose(in);
	return NULL;
}

void
fe_log_detach(struct r5_fe_pump *pump)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int p[2];

	pump->started = false;
	atomic_store(&fe_syslog, true); /* before the pump starts (fe_log_pump) */
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	if (pipe2(p, O_CLOEXEC) == 0) {
		if (pthread_create(&pump->thread, NULL, fe_log_pump, (void *)(intptr_t)p[0]) == 0) {
			pump->started = true;
			dup2(p[1], STDERR_FILENO);
		} else {
			close(p[0]);
		}
		close(p[1]);
	}
	if (!pump->started && null >= 0)
		dup2(null, STDERR_FILENO);
	if (null >= 0)
		close(null);
}

void
fe_log_stop_pump(const struct r5_fe_pump *pump)
{
	int null;

	if (!pump->started)
		return;
	fflush(stderr);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDERR_FILENO); /* drops the last write end: pump sees EOF */
		close(null);
		pthread_join(pump->thread, NULL);
	}
}
