/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The readdir contract of fs.h over a backend's walk of a directory.  The
 * walk starts anywhere at or before @pos (the block holding it, say) and
 * hands every entry it passes to imgfs_dirpos_fill(), which reports to the
 * caller's filler exactly the entries whose @next is above @pos, and stops
 * the walk (returns 1) when the filler says so.
 */
#ifndef IMGFS_DIRPOS_H
#define IMGFS_DIRPOS_H

#include <stdint.h>

#include "fs.h"

struct imgfs_dirpos {
	imgfs_filldir_t fill;
	void *ctx;
	uint64_t from;		/* report entries that end after this position */
};

/* An imgfs_filldir_t for the walk, with a struct imgfs_dirpos as @ctx. */
int imgfs_dirpos_fill(void *ctx, const struct imgfs_dirent *de);

#endif
