/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * When a read-write mount updates access times, as mount(8)'s atime
 * options say.  The helper takes the options and hands the policy to the
 * server (--atime=, --nodiratime); the server applies it after its READs
 * and READDIRs, since the kernel keeps no atime of its own for FUSE.
 */
#ifndef IMGFS_ATIME_H
#define IMGFS_ATIME_H

#include <stddef.h>
#include <string.h>

enum imgfs_atime {
	IMGFS_ATIME_RELATIME,	/* the default, as the kernel's: see imgfs_atime_due() */
	IMGFS_ATIME_STRICT,	/* strictatime: every access */
	IMGFS_ATIME_NONE,	/* noatime */
};

/* The policy's name as --atime= takes it. */
static inline const char *imgfs_atime_name(enum imgfs_atime a)
{
	return a == IMGFS_ATIME_STRICT ? "strictatime" : a == IMGFS_ATIME_NONE ? "noatime" :
									  "relatime";
}

/* 0, or -1 for a name that is none of relatime, strictatime and noatime. */
static inline int imgfs_atime_parse(const char *name, enum imgfs_atime *a)
{
	static const enum imgfs_atime all[] = {
		IMGFS_ATIME_RELATIME, IMGFS_ATIME_STRICT, IMGFS_ATIME_NONE,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (!strcmp(name, imgfs_atime_name(all[i]))) {
			*a = all[i];
			return 0;
		}
	}
	return -1;
}

#endif
