/* cmd_create.c - raid5fs create: make the member files of a new array. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "raid5fs/array.h"
#include "raid5fs/checksum.h"
#include "raid5fs/layout.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

static void
create_help(void)
{
	printf("Usage: raid5fs create [OPTION]... MEMBER...\n"
	       "Make the member files of a new RAID-5 array (3 to %u members). Missing\n"
	       "files are created sparse; the array is consistent at once (no initial sync).\n\n"
	       "  -c, --chunk SIZE    chunk size, a power of two from 4K to 1M (default 64K)\n"
	       "  -l, --layout NAME   left-symmetric (default), left-asymmetric,\n"
	       "                      right-symmetric, right-asymmetric (or ls, la, rs, ra)\n"
	       "  -s, --size SIZE     data size of each member (like mdadm --size); needed\n"
	       "                      when files are created, else taken from the smallest file\n"
	       "  -n, --name NAME     array name (at most %u bytes)\n"
	       "  -C, --checksum ALG  per-block checksums: crc32c (default), sha256,\n"
	       "                      hmac-sha256 (keyed: members on storage you do not\n"
	       "                      control cannot be changed undetected) or none\n"
	       "  -k, --key-file FILE hmac-sha256's key (16 to 4096 bytes, e.g. from\n"
	       "                      head -c 32 /dev/urandom); needed at every mount too\n"
	       "  -f, --force         reuse files that already hold data or a raid5fs member\n"
	       "  -h, --help          this help\n\n"
	       "SIZE takes K, M, G, T suffixes (binary). The image is (N-1) x the member size.\n"
	       "Example: raid5fs create --chunk 64K --size 1G d/m0 d/m1 d/m2 d/m3\n",
	       R5_MAX_MEMBERS, R5_NAME_LEN - 1);
}

/* One line about the new array, read back from the first member. */
static void
create_summary(const char *path, int n)
{
	struct r5_member m;
	struct r5_superblock sb;
	struct r5_geometry g;
	char uuid[37], chunk[32], msize[32], isize[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || r5_member_from_fd(&m, fd, path) < 0) {
		printf("raid5fs: created an array of %d members\n", n);
		return;
	}
	if (r5_sb_load(&m, &sb) != R5_SB_OK) {
		r5_member_close(&m);
		printf("raid5fs: created an array of %d members\n", n);
		return;
	}
	r5_member_close(&m);
	r5_sb_geometry(&sb, &g);
	r5_uuid_format(sb.array_uuid, uuid);
	printf("raid5fs: created array %s%s%s%s: %u members, chunk %s, %s, member data %s, image %s, checksums %s\n",
	       uuid, sb.name[0] ? " (" : "", sb.name, sb.name[0] ? ")" : "", g.nr_members,
	       r5_format_size(g.chunk_size, chunk, sizeof(chunk)),
	       r5_layout_name(g.layout) ? r5_layout_name(g.layout) : "?",
	       r5_format_size(g.member_data_size, msize, sizeof(msize)),
	       r5_format_size(r5_geometry_image_size(&g), isize, sizeof(isize)),
	       r5_csum_alg_name(sb.csum_alg) ? r5_csum_alg_name(sb.csum_alg) : "?");
}

int
cmd_create(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "chunk", required_argument, NULL, 'c' },
		{ "layout", required_argument, NULL, 'l' },
		{ "size", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' },
		{ "checksum", required_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct r5_create_opts opts = { .layout = R5_DEFAULT_LAYOUT };
	char err[512];
	uint64_t v;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:c:l:s:n:C:k:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (cli_parse_size("create", "--chunk", optarg, &v) != 0)
				return CLI_USAGE;
			if (v > UINT32_MAX)
				return cli_usage("create", "--chunk: %s is too large", optarg);
			opts.chunk_size = (uint32_t)v;
			if (opts.chunk_size == 0)
				return cli_usage("create", "--chunk: must not be 0");
			break;
		case 'l':
			if (r5_layout_parse(optarg, &opts.layout) < 0)
				return cli_usage("create", "--layout: unknown layout '%s' (left-symmetric, left-asymmetric, right-symmetric, right-asymmetric)", optarg);
			break;
		case 's':
			if (cli_parse_size("create", "--size", optarg, &opts.member_size) != 0)
				return CLI_USAGE;
			if (opts.member_size == 0)
				return cli_usage("create", "--size: must not be 0");
			break;
		case 'n':
			opts.name = optarg;
			break;
		case 'C':
			opts.checksum = optarg; /* checked by create, with the rest */
			break;
		case 'k':
			opts.key_file = optarg;
			break;
		case 'f':
			opts.force = true;
			break;
		case 'h':
			create_help();
			return CLI_OK;
		default:
			return cli_bad_option("create", argv, c);
		}
	}
	if (optind >= argc)
		return cli_usage("create", "no MEMBER files given");

	err[0] = '\0';
	r = r5_array_create((const char *const *)(argv + optind), argc - optind, &opts, err,
			    sizeof(err));
	if (r < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "raid5fs: %s\n", err);
		else
			fprintf(stderr, "raid5fs: create: %s\n", strerror(-r));
		return CLI_ERR;
	}
	create_summary(argv[optind], argc - optind);
	return CLI_OK;
}
