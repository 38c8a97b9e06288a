/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "annotation.h"
#include "ocipath.h"

bool oci_mount_key_is_ours(const char *key)
{
	return !strncmp(key, OCI_MOUNT_PREFIX, strlen(OCI_MOUNT_PREFIX));
}

void oci_mount_free(struct oci_mount *m)
{
	free(m->key);
	free(m->source);
	free(m->target);
	memset(m, 0, sizeof(*m));
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The keys an annotation value may hold; ro and rw share one slot. */
enum { K_SOURCE, K_TARGET, K_MODE, K_TYPE, K_OFFSET, K_PARTITION, K_COUNT };

static const struct {
	const char *word;
	int slot;
	bool takes_value;
} keys[] = {
	{ "source", K_SOURCE, true },
	{ "target", K_TARGET, true },
	{ "ro", K_MODE, false },
	{ "rw", K_MODE, false },
	{ "type", K_TYPE, true },
	{ "offset", K_OFFSET, true },
	{ "partition", K_PARTITION, true },
};

static int parse_type(const char *key, const char *val, struct oci_mount *m,
		      struct imgfs_error *err)
{
	struct imgfs_error why;

	/*
	 * The annotation format names the drivers (ext4 serves ext2 and ext3
	 * too), not every word imgfs-mount accepts.
	 */
	if (strcmp(val, "auto") && strcmp(val, "ext4") && strcmp(val, "xfs"))
		return imgfs_error_set(err, EINVAL, "%s: type=%s: unknown filesystem type (auto, ext4, xfs)",
				       key, val);
	if (imgfs_image_parse_option("type", val, &m->img, &why) < 0)
		return imgfs_error_set(err, EINVAL, "%s: %s", key, why.msg);
	return 0;
}

static int parse_location(const char *key, const char *k, const char *val, struct oci_mount *m,
			  struct imgfs_error *err)
{
	struct imgfs_error why;

	/* image.c is the one place that decides what is in range. */
	if (imgfs_image_parse_option(k, val, &m->img, &why) < 0)
		return imgfs_error_set(err, EINVAL, "%s: %s", key, why.msg);
	return 0;
}

static int parse_item(const char *key, char *item, struct oci_mount *m, bool seen[K_COUNT],
		      const char **mode, struct imgfs_error *err)
{
	char *val = strchr(item, '=');
	size_t i;

	if (!*item)
		return imgfs_error_set(err, EINVAL,
				       "%s: empty item (two commas in a row, or a comma at either end)",
				       key);
	if (val)
		*val++ = '\0';
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(item, keys[i].word))
			break;
	if (i == ARRAY_SIZE(keys))
		return imgfs_error_set(err, EINVAL, "%s: unknown key \"%s\"", key, item);
	if (keys[i].takes_value && !val)
		return imgfs_error_set(err, EINVAL, "%s: \"%s\" needs a value (%s=...)", key, item, item);
	if (!keys[i].takes_value && val)
		return imgfs_error_set(err, EINVAL, "%s: \"%s\" takes no value", key, item);
	if (val && !*val)
		return imgfs_error_set(err, EINVAL, "%s: %s= has an empty value", key, item);
	if (seen[keys[i].slot]) {
		if (keys[i].slot == K_MODE && strcmp(*mode, item))
			return imgfs_error_set(err, EINVAL, "%s: \"ro\" and \"rw\" exclude each other", key);
		return imgfs_error_set(err, EINVAL, "%s: duplicate key \"%s\"", key, item);
	}
	seen[keys[i].slot] = true;

	switch (keys[i].slot) {
	case K_SOURCE:
		/* Relative to what?  The hook's cwd is the runtime's business. */
		if (val[0] != '/')
			return imgfs_error_set(err, EINVAL, "%s: source=%s: not an absolute path", key, val);
		m->source = strdup(val);
		return m->source ? 0 : imgfs_error_set(err, ENOMEM, "%s: out of memory", key);
	case K_TARGET: {
		_cleanup_free_ char *norm = malloc(strlen(val) + 1);

		if (!norm)
			return imgfs_error_set(err, ENOMEM, "%s: out of memory", key);
		/*
		 * ".." is refused rather than resolved: the hook resolves the
		 * target later inside the root without following links out of
		 * it, and a ".." here could only mean the writer hoped to
		 * step outside.
		 */
		switch (oci_path_normalise(val, norm, NULL)) {
		case OCI_PATH_RELATIVE:
			return imgfs_error_set(err, EINVAL, "%s: target=%s: not an absolute path", key, val);
		case OCI_PATH_DOTDOT:
			return imgfs_error_set(err, EINVAL,
					       "%s: target=%s: \"..\" would leave the container root", key, val);
		case OCI_PATH_OK:
			break;
		}
		/* Mounting over the root would hide the container's whole filesystem. */
		if (!strcmp(norm, "/"))
			return imgfs_error_set(err, EINVAL,
					       "%s: target=%s: cannot mount over the container root", key, val);
		m->target = steal_pointer(&norm);
		return 0;
	}
	case K_MODE:
		*mode = keys[i].word;
		m->writable = !strcmp(item, "rw");
		m->img.writable = m->writable;	/* the image is opened read-write too */
		return 0;
	case K_TYPE:
		return parse_type(key, val, m, err);
	default:
		return parse_location(key, item, val, m, err);
	}
}

int oci_mount_parse(const char *key, const char *value, struct oci_mount *m,
		    struct imgfs_error *err)
{
	size_t plen = strlen(OCI_MOUNT_PREFIX);
	_cleanup_free_ char *copy = NULL;
	bool seen[K_COUNT] = { false };
	const char *mode = NULL;
	struct imgfs_error why;
	char *item;
	int r;

	memset(m, 0, sizeof(*m));
	if (!oci_mount_key_is_ours(key))
		return imgfs_error_set(err, EINVAL, "%s: not an %s<name> annotation", key,
				       OCI_MOUNT_PREFIX);
	if (!key[plen])
		return imgfs_error_set(err, EINVAL, "%s: empty mount name after \"%s\"", key,
				       OCI_MOUNT_PREFIX);
	for (const char *c = key + plen; *c; c++)
		if (!name_char_ok(*c))
			return imgfs_error_set(err, EINVAL,
					       "%s: the mount name may only hold letters, digits, '_', '.' and '-'",
					       key);
	m->key = strdup(key);
	copy = strdup(value);
	if (!m->key || !copy)
		return imgfs_error_set(err, ENOMEM, "%s: out of memory", key);
	m->name = m->key + plen;
	if (!*copy)
		return imgfs_error_set(err, EINVAL, "%s: empty value; expected source=...,target=...", key);

	/* Not strtok: it would skip empty items, and ",," must be an error. */
	for (item = copy;;) {
		char *comma = strchr(item, ',');

		if (comma)
			*comma = '\0';
		r = parse_item(key, item, m, seen, &mode, err);
		if (r < 0)
			return r;
		if (!comma)
			break;
		item = comma + 1;
	}

	if (!seen[K_SOURCE])
		return imgfs_error_set(err, EINVAL, "%s: missing source=<path of the image on the host>", key);
	if (!seen[K_TARGET])
		return imgfs_error_set(err, EINVAL, "%s: missing target=<path in the container>", key);
	if (imgfs_image_check_options(&m->img, &why) < 0)
		return imgfs_error_set(err, EINVAL, "%s: %s", key, why.msg);
	return 0;
}
