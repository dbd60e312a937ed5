/* r5_control_pair.c - two clients of one control file at once must each
 * read the reply to their own command (tests/integration/t_control.sh).
 *
 *   r5_control_pair CONTROL [BAD_CMD [GOOD_CMD]]
 *       opens CONTROL (MOUNTPOINT/.raid5fs/control) twice with O_RDWR,
 *       writes BAD_CMD (default "no_such_command") on fd A, which must fail,
 *       then GOOD_CMD (default "flush") on fd B, which must succeed, and then
 *       preads each fd from offset 0: A must read "error: ...", B "ok". With
 *       one reply shared by the whole mount, A reads B's "ok".
 *
 * Prints what each fd read. Exit 0 ok, 1 wrong reply, 2 usage or I/O error.
 * Only libc; no project headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An I/O error (errno) or a usage error (err 0): one line, exit 2. */
static void fatal(const char *what, int err) __attribute__((noreturn));

static void
fatal(const char *what, int err)
{
	fprintf(stderr, "r5_control_pair: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	exit(2);
}

/* One write of "cmd\n"; returns 0 or the errno of the failed write. */
static int
send_cmd(int fd, const char *cmd)
{
	char line[4096];
	int n = snprintf(line, sizeof(line), "%s\n", cmd);
	ssize_t w;

	if (n < 0 || (size_t)n >= sizeof(line))
		fatal("command too long", 0);
	do
		w = write(fd, line, (size_t)n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno;
	return w == n ? 0 : EIO;
}

/* The reply as read from offset 0 of fd, NUL-terminated, newline dropped. */
static void
read_reply(int fd, const char *name, char *buf, size_t len)
{
	ssize_t r;

	do
		r = pread(fd, buf, len - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		fatal(name, errno);
	buf[r] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int
main(int argc, char **argv)
{
	const char *path, *bad, *good;
	char reply_a[1024], reply_b[1024];
	int a, b, err, rc = 0;

	if (argc < 2 || argc > 4)
		fatal("usage: r5_control_pair CONTROL [BAD_CMD [GOOD_CMD]]", 0);
	path = argv[1];
	bad = argc > 2 ? argv[2] : "no_such_command";
	good = argc > 3 ? argv[3] : "flush";

	/* Both open before either writes: two commands run at once. */
	a = open(path, O_RDWR | O_CLOEXEC);
	if (a < 0)
		fatal(path, errno);
	b = open(path, O_RDWR | O_CLOEXEC);
	if (b < 0)
		fatal(path, errno);

	err = send_cmd(a, bad);
	if (err == 0) {
		fprintf(stderr, "r5_control_pair: A: '%s' was accepted (expected an error)\n", bad);
		rc = 1;
	}
	err = send_cmd(b, good);
	if (err != 0) {
		fprintf(stderr, "r5_control_pair: B: '%s' failed: %s\n", good, strerror(err));
		rc = 1;
	}

	read_reply(a, "pread (A)", reply_a, sizeof(reply_a));
	read_reply(b, "pread (B)", reply_b, sizeof(reply_b));
	printf("A (%s): %s\nB (%s): %s\n", bad, reply_a, good, reply_b);
	if (strncmp(reply_a, "error: ", 7) != 0) {
		fprintf(stderr, "r5_control_pair: A read '%s', expected 'error: ...'\n", reply_a);
		rc = 1;
	}
	if (strcmp(reply_b, "ok") != 0) {
		fprintf(stderr, "r5_control_pair: B read '%s', expected 'ok'\n", reply_b);
		rc = 1;
	}
	close(a);
	close(b);
	return rc;
}
