/* r5_shutdown.c - cut the power of mounted filesystems, as the integration
 * tests see it (t_power_loss).
 *
 *   r5_shutdown DIR...
 *       opens every DIR first, then shuts down the filesystem of each, one
 *       right after the other, with the "going down" ioctl and the flag
 *       NOLOGFLUSH: nothing more is written to the device, neither the
 *       dirty page cache nor the log. What is on the device at that moment
 *       is what a power loss would have left; after an umount and a mount
 *       (log recovery) the files show it. The ioctls take a moment each:
 *       a program still writing to these filesystems may see the first go
 *       down before the last; freeze it first (SIGSTOP) for one instant.
 *
 * The ioctl is XFS_IOC_GOINGDOWN = _IOR('X', 125, __u32) (0x8004587d) with
 * XFS_FSOP_GOING_FLAGS_NOLOGFLUSH (2); ext4 honours the same number and
 * flag (EXT4_IOC_SHUTDOWN, EXT4_GOING_FLAGS_NOLOGFLUSH). Defined here: the
 * headers that name them (xfslibs-dev) are not needed. Needs
 * CAP_SYS_ADMIN.
 *
 * Exit 0 when every filesystem was shut down, 1 when one refused (the rest
 * are still shut down), 2 on usage or open errors (nothing was shut down).
 * Only libc; no project headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define R5_IOC_GOINGDOWN _IOR('X', 125, uint32_t)
#define R5_GOING_FLAGS_NOLOGFLUSH 2u
_Static_assert(R5_IOC_GOINGDOWN == 0x8004587dUL, "XFS_IOC_GOINGDOWN is 0x8004587d");
#define MAX_FS 64

int
main(int argc, char **argv)
{
	int fds[MAX_FS];
	int errs[MAX_FS];
	int i, n = argc - 1, rc = 0;

	if (n < 1 || n > MAX_FS) {
		fprintf(stderr, "usage: r5_shutdown DIR... (at most %d)\n", MAX_FS);
		return 2;
	}
	for (i = 0; i < n; i++) {
		fds[i] = open(argv[i + 1], O_RDONLY | O_DIRECTORY);
		if (fds[i] < 0) {
			fprintf(stderr, "r5_shutdown: %s: %s\n", argv[i + 1], strerror(errno));
			return 2;
		}
	}
	/* all at once: no output, no other call between the ioctls */
	for (i = 0; i < n; i++) {
		uint32_t flags = R5_GOING_FLAGS_NOLOGFLUSH;

		errs[i] = ioctl(fds[i], R5_IOC_GOINGDOWN, &flags) < 0 ? errno : 0;
	}
	for (i = 0; i < n; i++) {
		if (errs[i]) {
			fprintf(stderr, "r5_shutdown: %s: shutdown ioctl: %s\n", argv[i + 1],
				strerror(errs[i]));
			rc = 1;
		}
		close(fds[i]);
	}
	return rc;
}
