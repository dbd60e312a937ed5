/* cmd_examine.c - raid5fs examine: print a member's superblock. Opens the
 * file read-only: examining never changes a member. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "raid5fs/checksum.h"
#include "raid5fs/layout.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

static void
examine_help(void)
{
	printf("Usage: raid5fs examine MEMBER\n"
	       "Print the superblock of a member file (read-only).\n\n"
	       "  -h, --help   this help\n");
}

static const char *
examine_role(uint8_t role)
{
	switch (role) {
	case R5_ROLE_IN_SYNC:
		return "in-sync";
	case R5_ROLE_FAULTY:
		return "faulty";
	case R5_ROLE_REBUILDING:
		return "rebuilding";
	case R5_ROLE_SPARE:
		return "spare";
	case R5_ROLE_EMPTY:
		return "empty";
	default:
		return "unknown";
	}
}

static void
examine_offset(const char *label, uint64_t off)
{
	char h[32];

	if (off == R5_OFFSET_DONE)
		printf("%16s : done\n", label);
	else
		printf("%16s : %" PRIu64 " (%s)\n", label, off, r5_format_size(off, h, sizeof(h)));
}

static void
examine_time(const char *label, uint64_t t)
{
	char buf[64];
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) != NULL && strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z", &tm) > 0)
		printf("%16s : %s\n", label, buf);
	else
		printf("%16s : %" PRIu64 "\n", label, t);
}

static void
examine_print(const char *path, const struct r5_superblock *sb)
{
	struct r5_geometry g;
	char uuid[37], h1[32], h2[32];
	const char *layout = r5_layout_name(sb->layout);
	uint32_t i;

	r5_sb_geometry(sb, &g);
	printf("%s:\n", path);
	printf("%16s : %u\n", "Version", sb->version);
	r5_uuid_format(sb->array_uuid, uuid);
	printf("%16s : %s\n", "Array UUID", uuid);
	printf("%16s : %s\n", "Name", sb->name[0] ? sb->name : "(none)");
	r5_uuid_format(sb->member_uuid, uuid);
	printf("%16s : %s\n", "Member UUID", uuid);
	if (sb->role == R5_SB_ROLE_SPARE)
		printf("%16s : spare (in no slot) of %u\n", "Slot", sb->nr_members);
	else
		printf("%16s : %u of %u\n", "Slot", sb->role, sb->nr_members);
	printf("%16s : %s\n", "Chunk size", r5_format_size(sb->chunk_size, h1, sizeof(h1)));
	if (layout != NULL)
		printf("%16s : %s\n", "Layout", layout);
	else
		printf("%16s : unknown (%u)\n", "Layout", sb->layout);
	printf("%16s : %" PRIu64 " (%s)\n", "Data offset", sb->data_offset,
	       r5_format_size(sb->data_offset, h1, sizeof(h1)));
	printf("%16s : %" PRIu64 " (%s)\n", "Data size", sb->data_size,
	       r5_format_size(sb->data_size, h1, sizeof(h1)));
	printf("%16s : %" PRIu64 " (%s)\n", "Image size", r5_geometry_image_size(&g),
	       r5_format_size(r5_geometry_image_size(&g), h1, sizeof(h1)));
	printf("%16s : %s\n", "State",
	       sb->state == R5_STATE_CLEAN    ? "clean"
	       : sb->state == R5_STATE_ACTIVE ? "active (not cleanly stopped)"
					      : "unknown");
	printf("%16s : %" PRIu64 "\n", "Events", sb->events);
	printf("%16s : %" PRIu64 "\n", "Generation", sb->generation);
	examine_time("Created", sb->ctime);
	examine_time("Updated", sb->utime);
	examine_offset("Resync offset", sb->resync_offset);
	examine_offset("Recovery offset", sb->recovery_offset);
	printf("%16s : offset %" PRIu64 ", size %s, one bit per %s\n", "Bitmap", sb->bitmap_offset,
	       r5_format_size(sb->bitmap_size, h1, sizeof(h1)),
	       r5_format_size(sb->bitmap_region_size, h2, sizeof(h2)));
	printf("%16s : offset %" PRIu64 ", size %s\n", "Reserved", sb->reserved_offset,
	       r5_format_size(sb->reserved_size, h1, sizeof(h1)));
	if (sb->csum_alg == R5_CSUM_NONE)
		printf("%16s : none%s\n", "Checksums",
		       sb->version < 2 ? " (format version 1, before per-block checksums)" : "");
	else
		printf("%16s : %s, table at offset %" PRIu64 ", size %s\n", "Checksums",
		       r5_csum_alg_name(sb->csum_alg) ? r5_csum_alg_name(sb->csum_alg) : "unknown",
		       sb->csum_offset, r5_format_size(sb->csum_size, h1, sizeof(h1)));
	printf("%16s : 0x%x\n", "Flags", sb->flags);
	printf("%16s :", "Roles");
	for (i = 0; i < sb->nr_members && i < R5_MAX_MEMBERS; i++)
		printf(" %u=%s%s", i, examine_role(sb->roles[i]), i == sb->role ? "(this)" : "");
	printf("\n");
	if (sb->nr_spares) {
		printf("%16s :", "Spares");
		for (i = 0; i < sb->nr_spares && i < R5_MAX_SPARES; i++) {
			char u[40];

			r5_uuid_format(sb->spare_uuid[i], u);
			printf(" %s", u);
		}
		printf("\n");
	}
}

int
cmd_examine(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct r5_member m;
	struct r5_superblock sb;
	enum r5_sb_status st;
	const char *path;
	int c, fd, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			examine_help();
			return CLI_OK;
		default:
			return cli_bad_option("examine", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("examine", "need exactly one MEMBER file");
	path = argv[optind];
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cli_error(path, "%s", strerror(errno));
	r = r5_member_from_fd(&m, fd, path); /* owns fd, even on failure */
	if (r < 0)
		return cli_error(path, "%s", strerror(-r));
	st = r5_sb_load(&m, &sb);
	r5_member_close(&m);
	if (st != R5_SB_OK)
		return cli_error(path, "%s", r5_sb_status_str(st));
	examine_print(path, &sb);
	return CLI_OK;
}
