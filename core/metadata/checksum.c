/* checksum.c - the per-block checksum algorithms and key files
 * (include/raid5fs/checksum.h has the definitions and the table format).
 *
 * crc32c is isa-l's (the cost must stay small next to parity); sha256 and
 * hmac-sha256 go through OpenSSL's EVP interface. The HMAC is keyed once
 * per member: each block duplicates the keyed context instead of keying
 * again, which is what makes HMAC over 4 KiB blocks affordable.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <isa-l/crc.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "le.h"
#include "raid5fs/checksum.h"
#include "raid5fs/util.h"

struct r5_csum {
	uint32_t alg;
	uint8_t member_uuid[16];
	EVP_MD *sha256;       /* sha256 */
	EVP_MAC_CTX *hmac;    /* hmac-sha256: keyed, never used directly */
};

static const char *const alg_names[] = {
	[R5_CSUM_NONE] = "none",
	[R5_CSUM_CRC32C] = "crc32c",
	[R5_CSUM_SHA256] = "sha256",
	[R5_CSUM_HMAC_SHA256] = "hmac-sha256",
};

const char *
r5_csum_alg_name(uint32_t alg)
{
	return alg < sizeof(alg_names) / sizeof(alg_names[0]) ? alg_names[alg] : NULL;
}

int
r5_csum_alg_parse(const char *name, enum r5_csum_alg *out)
{
	for (uint32_t i = 0; i < sizeof(alg_names) / sizeof(alg_names[0]); i++)
		if (strcmp(name, alg_names[i]) == 0) {
			*out = (enum r5_csum_alg)i;
			return 0;
		}
	return -EINVAL;
}

uint32_t
r5_csum_entry_size(uint32_t alg)
{
	switch (alg) {
	case R5_CSUM_CRC32C: return 4;
	case R5_CSUM_SHA256:
	case R5_CSUM_HMAC_SHA256: return 32;
	default: return 0;
	}
}

uint32_t
r5_csum_per_page(uint32_t alg)
{
	uint32_t sz = r5_csum_entry_size(alg);

	return sz ? R5_CSUM_PAGE_PAYLOAD / sz : 0;
}

uint64_t
r5_csum_table_bytes(uint32_t alg, uint64_t member_data_size)
{
	uint32_t per_page = r5_csum_per_page(alg);
	uint64_t blocks = (member_data_size + R5_CSUM_BLOCK - 1) / R5_CSUM_BLOCK;

	if (!per_page)
		return 0;
	return (blocks + per_page - 1) / per_page * R5_CSUM_PAGE;
}

uint32_t
r5_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* isa-l's crc32_iscsi leaves out the final inversion and takes the
	 * register as it was: invert on the way in and out. */
	crc = ~crc;
	while (len > 0) {
		int n = len > (1u << 30) ? (1 << 30) : (int)len;

		crc = crc32_iscsi((unsigned char *)p, n, crc);
		p += n;
		len -= (size_t)n;
	}
	return ~crc;
}

int
r5_csum_key_load(const char *path, struct r5_csum_key *key, bool *world_readable, char *err,
		 size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	memset(key, 0, sizeof(*key));
	*world_readable = false;
	if (fd < 0) {
		int e = errno;

		r5_errf(err, errlen, "key file %s: %s", path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		r5_errf(err, errlen, "key file %s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size < (off_t)R5_CSUM_KEY_MIN || st.st_size > (off_t)R5_CSUM_KEY_MAX) {
		close(fd);
		r5_errf(err, errlen,
			"key file %s: %lld bytes; a key is %u to %u bytes (e.g. head -c 32 /dev/urandom)",
			path, (long long)st.st_size, R5_CSUM_KEY_MIN, R5_CSUM_KEY_MAX);
		return -EINVAL;
	}
	n = pread(fd, key->bytes, (size_t)st.st_size, 0);
	int saved = errno;
	close(fd);
	if (n != st.st_size) {
		memset(key, 0, sizeof(*key));
		r5_errf(err, errlen, "key file %s: %s", path,
			n < 0 ? strerror(saved) : "changed while being read");
		return -EIO;
	}
	key->len = (size_t)n;
	*world_readable = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	return 0;
}

/* HMAC-SHA-256 of the concatenation of parts under key into out. */
static int
hmac_parts(const uint8_t *k, size_t klen, const void *const *parts, const size_t *lens, int n,
	   uint8_t out[32])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;
	int ok = ctx && EVP_MAC_init(ctx, k, klen, params) == 1;

	for (int i = 0; ok && i < n; i++)
		ok = EVP_MAC_update(ctx, parts[i], lens[i]) == 1;
	ok = ok && EVP_MAC_final(ctx, out, &outl, 32) == 1 && outl == 32;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

int
r5_csum_key_check(const struct r5_csum_key *key, const uint8_t array_uuid[16], uint8_t out[32])
{
	static const char label[] = "raid5fs key check";
	const void *parts[] = { label, array_uuid };
	const size_t lens[] = { sizeof(label) - 1, 16 };

	return hmac_parts(key->bytes, key->len, parts, lens, 2, out);
}

int
r5_csum_create(uint32_t alg, const struct r5_csum_key *key, const uint8_t member_uuid[16],
	       struct r5_csum **out)
{
	struct r5_csum *cs;

	*out = NULL;
	if (alg == R5_CSUM_NONE || !r5_csum_alg_name(alg) || (alg == R5_CSUM_HMAC_SHA256 && !key))
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->alg = alg;
	memcpy(cs->member_uuid, member_uuid, 16);
	if (alg == R5_CSUM_SHA256) {
		cs->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (!cs->sha256)
			goto fail;
	} else if (alg == R5_CSUM_HMAC_SHA256) {
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		cs->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac); /* the context keeps its own reference */
		if (!cs->hmac || EVP_MAC_init(cs->hmac, key->bytes, key->len, params) != 1)
			goto fail;
	}
	*out = cs;
	return 0;
fail:
	r5_csum_destroy(cs);
	return -ENOMEM;
}

void
r5_csum_destroy(struct r5_csum *cs)
{
	if (!cs)
		return;
	EVP_MD_free(cs->sha256);
	EVP_MAC_CTX_free(cs->hmac);
	free(cs);
}

uint32_t
r5_csum_alg(const struct r5_csum *cs)
{
	return cs->alg;
}

int
r5_csum_block(const struct r5_csum *cs, uint64_t block, const void *data, uint8_t *out)
{
	uint8_t num[8];

	r5_put_le64(num, block);
	switch (cs->alg) {
	case R5_CSUM_CRC32C: {
		uint32_t crc = r5_crc32c(r5_crc32c(0, num, 8), data, R5_CSUM_BLOCK);

		r5_put_le32(out, crc);
		return 0;
	}
	case R5_CSUM_SHA256: {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned int len = 0;
		int ok = ctx && EVP_DigestInit_ex(ctx, cs->sha256, NULL) == 1 &&
			 EVP_DigestUpdate(ctx, num, 8) == 1 &&
			 EVP_DigestUpdate(ctx, data, R5_CSUM_BLOCK) == 1 &&
			 EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;

		EVP_MD_CTX_free(ctx);
		return ok ? 0 : -EIO;
	}
	case R5_CSUM_HMAC_SHA256: {
		/* the keyed template is shared: each block works on a copy */
		EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(cs->hmac);
		size_t len = 0;
		int ok = ctx && EVP_MAC_update(ctx, cs->member_uuid, 16) == 1 &&
			 EVP_MAC_update(ctx, num, 8) == 1 &&
			 EVP_MAC_update(ctx, data, R5_CSUM_BLOCK) == 1 &&
			 EVP_MAC_final(ctx, out, &len, 32) == 1 && len == 32;

		EVP_MAC_CTX_free(ctx);
		return ok ? 0 : -EIO;
	}
	default:
		return -EINVAL;
	}
}
