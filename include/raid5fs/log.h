/* log.h - the daemon's log: one line per message, for core/ and fuse/.
 *
 * Messages go to a sink: stderr ("raid5fs: <line>") until the frontend
 * installs another (syslog once it has daemonized). Priorities use syslog's
 * numbering so a syslog sink can pass them through.
 */
#ifndef RAID5FS_LOG_H
#define RAID5FS_LOG_H

#include <stdarg.h>

enum r5_log_prio {
	R5_LOG_ERR = 3,
	R5_LOG_WARNING = 4,
	R5_LOG_NOTICE = 5,
	R5_LOG_INFO = 6,
};

/* Receives one line without its trailing newline. Called from any thread;
 * the sink serialises itself if it must. */
typedef void (*r5_log_sink_fn)(int prio, const char *line);

/* Installs sink (NULL: back to stderr). Call while single-threaded: the
 * pointer is read without a lock. A sink that must change course once
 * threads run (the frontend's, when the daemon detaches) does so inside
 * itself, behind a flag of its own. */
void r5_log_set_sink(r5_log_sink_fn sink);

/* The default sink: "raid5fs: <line>" on stderr. */
void r5_log_stderr(int prio, const char *line);

/* Formats one message at prio; trailing newlines are dropped. */
void r5_logp(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void r5_vlogp(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* The engine's usual message: r5_logp(R5_LOG_NOTICE, ...). */
void r5_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
