/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Entries and attributes: LOOKUP, GETATTR and READDIRPLUS answers (attr.c). */
#ifndef IMGFS_FUSE_ATTR_H
#define IMGFS_FUSE_ATTR_H

#include "fuse/conn.h"

/* Fill @e for a LOOKUP or READDIRPLUS answer about @ino. */
int imgfs_fuse_entry(struct imgfs_fuse *f, uint64_t ino, struct fuse_entry_param *e);

/*
 * Reply to LOOKUP (or MKNOD, MKDIR, SYMLINK, LINK) with @e, a negative
 * entry when e->ino is 0, counting the reference it gives on a read-write
 * mount (nodes.h); or to GETATTR with @st.
 */
void imgfs_reply_entry(fuse_req_t req, struct imgfs_fuse *f, const struct fuse_entry_param *e);
void imgfs_reply_attr(fuse_req_t req, struct imgfs_fuse *f, const struct stat *st);

#endif
