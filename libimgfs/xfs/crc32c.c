/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CRC32C (Castagnoli, reflected polynomial 0x82f63b78), as XFS stamps it
 * on every v5 metadata block.  Table-driven, a table built once; metadata
 * blocks are small and read once each, so this is not a hot path.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "xfs.h"

#define CRC32C_POLY_REFLECTED 0x82f63b78u

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t xfs_crc32c(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_table_once, build_table);
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
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
