/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <string.h>

#include "hookconf.h"
#include "ocistate.h"
#include "ocipath.h"

void hookconf_free(struct hookconf *conf)
{
	for (size_t i = 0; i < conf->n_allow; i++)
		free(conf->allow[i]);
	free(conf->allow);
	conf->allow = NULL;
	conf->n_allow = 0;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int add_dir(struct hookconf *conf, const char *dir)
{
	char **v = reallocarray(conf->allow, conf->n_allow + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	conf->allow = v;
	v[conf->n_allow] = strdup(dir);
	if (!v[conf->n_allow])
		return -ENOMEM;
	conf->n_allow++;
	return 0;
}

static int parse_line(char *line, const char *name, unsigned lineno, struct hookconf *conf,
		      struct imgfs_error *err)
{
	char *s = trim(line), *eq, *key, *val;
	_cleanup_free_ char *dir = NULL;
	bool had_dot;

	if (!*s || *s == '#')
		return 0;
	eq = strchr(s, '=');
	if (!eq)
		return imgfs_error_set(err, EINVAL, "%s:%u: expected \"allow = /directory\", got \"%s\"",
				       name, lineno, s);
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	if (strcmp(key, "allow"))
		return imgfs_error_set(err, EINVAL, "%s:%u: unknown key \"%s\" (the only key is \"allow\")",
				       name, lineno, key);
	if (!*val)
		return imgfs_error_set(err, EINVAL, "%s:%u: allow = needs a directory", name, lineno);
	if (val[0] != '/')
		return imgfs_error_set(err, EINVAL, "%s:%u: allow = %s: not an absolute path",
				       name, lineno, val);
	/*
	 * "." and ".." are refused rather than interpreted: the source is
	 * compared as a real path, so the directory must be written as one.
	 */
	dir = malloc(strlen(val) + 1);
	if (!dir)
		return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
	if (oci_path_normalise(val, dir, &had_dot) != OCI_PATH_OK || had_dot)
		return imgfs_error_set(err, EINVAL,
				       "%s:%u: allow = %s: write the directory without \".\" or \"..\"",
				       name, lineno, val);
	if (add_dir(conf, dir) < 0)
		return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
	return 0;
}

int hookconf_parse(FILE *f, const char *name, struct hookconf *conf, struct imgfs_error *err)
{
	_cleanup_free_ char *buf = NULL;
	unsigned lineno = 1;
	char *line, *nul;
	size_t len;
	int r;

	memset(conf, 0, sizeof(*conf));
	/* Whole and capped, as the state is: --config /dev/zero must not read for ever. */
	r = oci_read_stream(f, name, &buf, &len, err);
	if (r < 0)
		return r;
	nul = memchr(buf, '\0', len);
	if (nul) {
		for (const char *c = buf; c < nul; c++)
			lineno += *c == '\n';
		return imgfs_error_set(err, EINVAL, "%s:%u: NUL byte in line", name, lineno);
	}
	for (line = buf; *line; lineno++) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		r = parse_line(line, name, lineno, conf, err);
		if (r < 0)
			return r;
		if (!end)
			break;
		line = end + 1;
	}
	return 0;
}

int hookconf_load(const char *path, struct hookconf *conf, struct imgfs_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	int fd, r;

	memset(conf, 0, sizeof(*conf));
	/* Not a FIFO or a device, which would block the hook. */
	r = open_regular(path, O_RDONLY, false, &fd);
	/* No file: nothing configured, so nothing allowed (not an error). */
	if (r == -ENOENT)
		return 0;
	if (r == -EINVAL)
		return imgfs_error_set(err, EINVAL, "%s: not a regular file", path);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: %s", path, strerror(-r));
	f = fdopen(fd, "r");
	if (!f) {
		r = -errno;
		close(fd);
		return imgfs_error_set(err, -r, "%s: %s", path, strerror(-r));
	}
	return hookconf_parse(f, path, conf, err);
}

bool hookconf_source_allowed(const struct hookconf *conf, const char *source)
{
	if (source[0] != '/')
		return false;
	for (size_t i = 0; i < conf->n_allow; i++) {
		const char *dir = conf->allow[i];
		/* "/" ends in the separator already; other dirs never do. */
		size_t len = strcmp(dir, "/") ? strlen(dir) : 0;

		/* A prefix match must end at a separator: /srv/img is not /srv/images2. */
		if (!strncmp(source, dir, len) && source[len] == '/' && source[len + 1])
			return true;
	}
	return false;
}

int hookconf_check_source(const struct hookconf *conf, const char *conf_path,
			  const char *annotation, const char *source, struct imgfs_error *err)
{
	if (!conf->n_allow)
		return imgfs_error_set(err, EPERM,
				       "%s: rootful mounts are refused: %s allows no directory; "
				       "add a line \"allow = /directory/of/images\" to it to allow images there",
				       annotation, conf_path);
	if (!hookconf_source_allowed(conf, source))
		return imgfs_error_set(err, EPERM,
				       "%s: source %s is not inside a directory allowed in %s "
				       "(add \"allow = /its/directory\" there to allow it)",
				       annotation, source, conf_path);
	return 0;
}
