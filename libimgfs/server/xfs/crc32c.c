/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), as XFS stamps it
 * on every v5 metadata block.  Table-driven, eight bytes a step ("slicing
 * by 8": table k holds the CRC of a byte followed by k zero bytes), the
 * tables built once.  Lookups verify several directory blocks each, so
 * this is hot: a byte a step took most of a lookup's time.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "xfs.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		crc_table[0][i] = c;
	}
	for (int k = 1; k < 8; k++)
		for (uint32_t i = 0; i < 256; i++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^
					  crc_table[0][crc_table[k - 1][i] & 0xff];
}

uint32_t xfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint32_t (*t)[256] = crc_table;
	const uint8_t *p = buf;

	pthread_once(&crc_table_once, build_table);
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = crc ^ get_le32(p), hi = get_le32(p + 4);

		crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^
		      t[4][lo >> 24] ^ t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		      t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
	}
	while (len--)
		crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

uint32_t xfs_cksum(const void *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	uint32_t crc = ~0u;

	crc = xfs_crc32c(crc, buf, crc_off);
	crc = xfs_crc32c(crc, zero, sizeof(zero));
	crc = xfs_crc32c(crc, (const uint8_t *)buf + crc_off + 4, len - crc_off - 4);
	return ~crc;
}
