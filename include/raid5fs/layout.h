/* layout.h - array geometry and the address mapping (docs/architecture.md).
 *
 * Terms: a "chunk" is chunk_size contiguous bytes of one member; a "row" is
 * the chunks at the same member offset on every member (D = N-1 data chunks
 * and one parity chunk). Logical chunk c of the image lives in row c / D.
 * Layout numbers are md's (mdadm --layout) so that the mapping can be
 * compared with md's raid5.c.
 */
#ifndef RAID5FS_LAYOUT_H
#define RAID5FS_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define R5_MIN_MEMBERS 3
#define R5_MAX_MEMBERS 32
#define R5_MIN_CHUNK (4u * 1024)
#define R5_MAX_CHUNK (1024u * 1024)
#define R5_DEFAULT_CHUNK (64u * 1024)

enum r5_layout {
	R5_LAYOUT_LEFT_ASYMMETRIC = 0,
	R5_LAYOUT_RIGHT_ASYMMETRIC = 1,
	R5_LAYOUT_LEFT_SYMMETRIC = 2, /* md's default */
	R5_LAYOUT_RIGHT_SYMMETRIC = 3,
};
#define R5_DEFAULT_LAYOUT R5_LAYOUT_LEFT_SYMMETRIC

struct r5_geometry {
	uint32_t nr_members;       /* N, 3..32 */
	uint32_t chunk_size;       /* bytes, power of two, 4 KiB..1 MiB */
	uint32_t layout;           /* enum r5_layout */
	uint64_t member_data_size; /* bytes of data area per member, multiple of chunk_size */
};

/* Where one byte of the image (or one chunk) lives. */
struct r5_location {
	uint32_t member;        /* slot holding the data */
	uint64_t member_offset; /* byte offset inside the member's data area */
	uint32_t parity_member; /* slot holding this row's parity */
	uint64_t row;           /* row number = member_offset / chunk_size */
};

/* 0 if valid; else -EINVAL and a one-line reason in why (if why != NULL). */
int r5_geometry_validate(const struct r5_geometry *g, char *why, size_t whylen);

/* (N-1) * member_data_size. */
uint64_t r5_geometry_image_size(const struct r5_geometry *g);

/* Parity slot of a row. */
uint32_t r5_layout_parity_member(const struct r5_geometry *g, uint64_t row);

/* Maps an image byte offset (< image size) to its data location. */
void r5_layout_map(const struct r5_geometry *g, uint64_t image_offset,
		   struct r5_location *loc);

/* Inverse map: the image offset stored at (member, member_offset).
 * Returns 0 and sets *image_offset, or 1 if that byte is parity. */
int r5_layout_unmap(const struct r5_geometry *g, uint32_t member,
		    uint64_t member_offset, uint64_t *image_offset);

/* "left-symmetric" etc.; NULL for an unknown number. */
const char *r5_layout_name(uint32_t layout);
/* Accepts the names above (and md's short forms ls, la, rs, ra). -EINVAL if unknown. */
int r5_layout_parse(const char *name, uint32_t *layout);

#endif
