/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "dirpos.h"

int imgfs_dirpos_fill(void *ctx, const struct imgfs_dirent *de)
{
	struct imgfs_dirpos *p = ctx;

	if (de->next <= p->from)
		return 0;
	return p->fill(p->ctx, de) ? 1 : 0;
}
