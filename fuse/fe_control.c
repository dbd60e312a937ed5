/* fe_control.c - /.raid5fs/control: each write runs command lines through
 * the engine, each read returns a reply ("ok" or "error: reason").
 *
 * Replies belong to the open file that wrote the command, so that two
 * clients at once never read each other's replies; a handle that never
 * wrote reads the mount's last reply (see fe_control_read). */
#include "frontend_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raid5fs/array.h"

#define R5_FE_CMD_MAX 4096 /* longest control write */

int
fe_control_open(struct r5_fe_file *f)
{
	f->reply = calloc(1, R5_FE_REPLY_MAX); /* "": nothing written yet */
	return f->reply != NULL ? 0 : -ENOMEM;
}

/* The reply to a command written through f: kept in f for reads of that
 * handle, and as the mount's last reply for handles that never wrote. */
static void
fe_set_reply(struct r5_fe *fe, struct r5_fe_file *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
fe_set_reply(struct r5_fe *fe, struct r5_fe_file *f, const char *fmt, ...)
{
	char reply[R5_FE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&fe->reply_lock);
	memcpy(f->reply, reply, sizeof(reply));
	memcpy(fe->reply, reply, sizeof(reply));
	pthread_mutex_unlock(&fe->reply_lock);
}

/* Runs each non-empty line of buf as one command, stops at the first error.
 * The reply ("ok" or "error: reason") is kept for reads (fe_control_read). */
int
fe_control_write(struct r5_fe *fe, struct r5_fe_file *f, const char *buf, size_t size)
{
	char cmds[R5_FE_CMD_MAX + 1];
	char err[512];
	char *save = NULL;
	char *line;

	if (!fe_caller_is_owner(fe))
		return -EACCES;
	if (size > R5_FE_CMD_MAX) {
		fe_set_reply(fe, f, "error: command longer than %u bytes\n", R5_FE_CMD_MAX);
		return -EINVAL;
	}
	memcpy(cmds, buf, size);
	cmds[size] = '\0'; /* an embedded NUL simply ends the input */
	for (line = strtok_r(cmds, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t n;
		int r;

		while (*line == ' ' || *line == '\t')
			line++;
		n = strlen(line);
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		err[0] = '\0';
		r = r5_array_control(fe->a, line, err, sizeof(err));
		if (r < 0) {
			r = fe_errno(r);
			if (err[0] == '\0')
				snprintf(err, sizeof(err), "%s", strerror(-r));
			fe_set_reply(fe, f, "error: %s\n", err);
			r5_logp(R5_LOG_WARNING, "control \"%s\": %s", line, err);
			return r;
		}
		r5_logp(R5_LOG_INFO, "control \"%s\": ok", line);
	}
	fe_set_reply(fe, f, "ok\n");
	return (int)size;
}

/* A handle that wrote a command reads the reply to it; one that never wrote
 * reads the mount's last reply, so that "echo cmd > control; cat control"
 * works at a shell. That second read can see another client's reply:
 * scripts and tools must read the reply from the fd they wrote to. */
int
fe_control_read(struct r5_fe *fe, struct r5_fe_file *f, char *buf, size_t size, off_t off)
{
	const char *reply;
	size_t len, n = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&fe->reply_lock);
	reply = f->reply[0] != '\0' ? f->reply : fe->reply;
	len = strlen(reply);
	if ((uint64_t)off < len) {
		n = len - (size_t)off;
		if (n > size)
			n = size;
		memcpy(buf, reply + off, n);
	}
	pthread_mutex_unlock(&fe->reply_lock);
	return (int)n;
}
