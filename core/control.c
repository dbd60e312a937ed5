/* control.c - commands written to the mount's control file. One command a
 * line; a bad command changes nothing and says why in one line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "array_internal.h"

int
r5_array_control(struct r5_array *a, const char *cmd, char *err, size_t errlen)
{
	char word[32] = "";
	size_t n = 0;

	while (*cmd == ' ' || *cmd == '\t')
		cmd++;
	while (cmd[n] && cmd[n] != ' ' && cmd[n] != '\t' && cmd[n] != '\n' && n + 1 < sizeof(word)) {
		word[n] = cmd[n];
		n++;
	}
	word[n] = 0;
	const char *rest = cmd + n;
	while (*rest == ' ' || *rest == '\t' || *rest == '\n')
		rest++;

	if (!strcmp(word, "flush")) {
		if (*rest) {
			snprintf(err, errlen, "flush takes no argument");
			return -EINVAL;
		}
		int ret = r5_array_flush(a);
		if (ret < 0)
			snprintf(err, errlen, "flush failed: %s", strerror(-ret));
		return ret;
	}
	if (!word[0]) {
		snprintf(err, errlen, "empty command (known: flush)");
		return -EINVAL;
	}
	snprintf(err, errlen, "unknown command '%s' (known: flush)", word);
	return -EINVAL;
}
