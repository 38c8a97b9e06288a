/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the hook learns from the runtime: the OCI state on stdin and the
 * bundle's config.json (OCI runtime spec, "State" and "config.json").
 * Only the fields the hook needs are kept; the rest is ignored, so newer
 * runtimes with more fields still work.
 */
#ifndef IMGFS_OCI_STATE_H
#define IMGFS_OCI_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "util.h"

/*
 * Bigger input than this is not a runtime talking to us, nor a hook
 * configuration someone wrote: the state, config.json and oci-hook.conf
 * are all read through oci_read_stream(), so none is read without limit
 * (--config /dev/zero).
 */
#define OCI_INPUT_MAX (16u << 20)

struct oci_annotation {
	char *key;
	char *value;
};

struct oci_annotations {
	struct oci_annotation *v;
	size_t n;
};

struct oci_state {
	char *oci_version;
	char *id;
	char *status;		/* "creating", "created", ...; not checked */
	pid_t pid;		/* > 0: the hook runs while the container has one */
	char *bundle;		/* absolute */
	struct oci_annotations annotations;	/* in document order */
};

/* One linux.uidMappings / gidMappings entry. */
struct oci_id_mapping {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;		/* > 0, and neither range wraps past 2^32 */
};

struct oci_namespace {
	bool requested;		/* listed in linux.namespaces */
	char *path;		/* join this one instead of creating one, or NULL */
};

struct oci_config {
	char *root_path;	/* root.path, made absolute against the bundle */
	struct oci_annotations annotations;
	struct oci_namespace user_ns, mount_ns;
	struct oci_id_mapping *uid_mappings, *gid_mappings;
	size_t n_uid_mappings, n_gid_mappings;
};

/*
 * Parse the state document @json (@len bytes; need not be NUL-terminated).
 * @state is zeroed first; free it with oci_state_free() in every case.
 * Errors (-EINVAL, -ENOMEM, read errors) come with one line in @err that
 * starts with "OCI state".
 */
int oci_state_parse(const char *json, size_t len, struct oci_state *state,
		    struct imgfs_error *err);
/* The same, reading @f to its end (the hook's stdin). */
int oci_state_read(FILE *f, struct oci_state *state, struct imgfs_error *err);
void oci_state_free(struct oci_state *state);

/*
 * Parse a config.json document; @name is used in messages (normally the
 * file's path), @bundle (absolute) anchors a relative root.path.
 */
int oci_config_parse(const char *json, size_t len, const char *name, const char *bundle,
		     struct oci_config *config, struct imgfs_error *err);
/* Read and parse @bundle/config.json. */
int oci_config_load(const char *bundle, struct oci_config *config, struct imgfs_error *err);
void oci_config_free(struct oci_config *config);

/*
 * Runtimes pass annotations in the state and in config.json; they normally
 * agree, but the state is what the runtime acts on, so it wins.  @out gets
 * the union sorted by key, for a deterministic order of mounts and errors.
 */
int oci_annotations_merge(const struct oci_annotations *state,
			  const struct oci_annotations *config, struct oci_annotations *out);
void oci_annotations_free(struct oci_annotations *a);

/*
 * Read all of @f into *@out (NUL-terminated, *@len bytes without it),
 * refusing more than OCI_INPUT_MAX bytes with -EFBIG; @name starts the
 * message in @err.
 */
int oci_read_stream(FILE *f, const char *name, char **out, size_t *len, struct imgfs_error *err);

#endif
