/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <string.h>

#include "ocistate.h"

static void json_putp(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

static void json_tokener_freep(json_tokener **t)
{
	if (*t)
		json_tokener_free(*t);
}

/*
 * A "\u0000" in a JSON string: json-c keeps it in a value (whose C string
 * it then cuts: "target=/da\u0000ta" would mount at /da) and drops what
 * follows it in a key.  Neither can mean anything to the hook, so the
 * document is refused, showing the string up to the NUL.  @text is valid
 * JSON here: every string is closed and holds no raw control character.
 */
static int refuse_nul(const char *text, size_t len, const char *name, struct imgfs_error *err)
{
	const char *start = NULL;

	for (size_t i = 0; i < len; i++) {
		if (!start) {
			if (text[i] == '"')
				start = text + i + 1;
			continue;
		}
		if (text[i] == '"') {
			start = NULL;
		} else if (text[i] == '\\') {
			if (i + 5 < len && !memcmp(text + i + 1, "u0000", 5)) {
				int shown = (int)MIN(text + i - start, 200);

				return imgfs_error_set(err, EINVAL,
						       "%s: the string \"%.*s%s\" is cut by a NUL character (\\u0000) at byte %zu; remove it",
						       name, shown, start,
						       text + i - start > shown ? "..." : "", i);
			}
			i++;	/* the escaped character, which may be a quote or a backslash */
		}
	}
	return 0;
}

/* Parse one whole JSON object; anything after it but whitespace is an error. */
static int parse_document(const char *text, size_t len, const char *name, json_object **out,
			  struct imgfs_error *err)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
	_cleanup_json_ json_object *obj = NULL;
	enum json_tokener_error jerr;
	size_t end;
	int r;

	if (!tok)
		return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
	if (len > INT_MAX)
		return imgfs_error_set(err, EFBIG, "%s: too large", name);
	/* Runtimes write standard JSON; the lenient extras (trailing commas,
	 * single quotes) would only hide a document someone edited by hand. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (jerr == json_tokener_continue || (!obj && jerr == json_tokener_success))
		return imgfs_error_set(err, EINVAL, "%s: invalid JSON: the document ends too early", name);
	if (jerr != json_tokener_success)
		return imgfs_error_set(err, EINVAL, "%s: invalid JSON at byte %zu: %s", name,
				       json_tokener_get_parse_end(tok),
				       json_tokener_error_desc(jerr));
	/* Strict json-c refuses trailing data itself; this keeps it so everywhere. */
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!isspace((unsigned char)text[end]))
			return imgfs_error_set(err, EINVAL,
					       "%s: invalid JSON: data after the document at byte %zu",
					       name, end);
	if (!json_object_is_type(obj, json_type_object))
		return imgfs_error_set(err, EINVAL, "%s: the document is not a JSON object", name);
	r = refuse_nul(text, len, name, err);
	if (r < 0)
		return r;
	*out = steal_pointer(&obj);
	return 0;
}

/* Member @field of @obj, which must have JSON type @type; @path names it in messages. */
static int get_member(json_object *obj, const char *field, enum json_type type, bool required,
		      const char *name, const char *path, json_object **out,
		      struct imgfs_error *err)
{
	json_object *v = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(obj, field, &v) || !v) {
		/* A JSON null counts as absent: some generators write it for "unset". */
		if (required)
			return imgfs_error_set(err, EINVAL, "%s: missing \"%s\"", name, path);
		return 0;
	}
	if (!json_object_is_type(v, type))
		return imgfs_error_set(err, EINVAL, "%s: \"%s\" must be %s", name, path,
				       type == json_type_string ? "a string" :
				       type == json_type_int ? "an integer" :
				       type == json_type_array ? "an array" :
				       type == json_type_object ? "an object" : "of another type");
	*out = v;
	return 0;
}

static int dup_string(json_object *obj, const char *field, bool required, const char *name,
		      const char *path, char **out, struct imgfs_error *err)
{
	json_object *v;
	int r = get_member(obj, field, json_type_string, required, name, path, &v, err);

	if (r < 0 || !v)
		return r;
	*out = strdup(json_object_get_string(v));
	return *out ? 0 : imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
}

/* An integer member in [@min, @max]. */
static int get_int(json_object *obj, const char *field, int64_t min, int64_t max,
		   const char *name, const char *path, int64_t *out, struct imgfs_error *err)
{
	json_object *v;
	int r = get_member(obj, field, json_type_int, true, name, path, &v, err);

	if (r < 0)
		return r;
	*out = json_object_get_int64(v);
	/* json-c clamps what does not fit in int64, so the clamp fails here too. */
	if (*out < min || *out > max)
		return imgfs_error_set(err, EINVAL, "%s: \"%s\" must be between %lld and %lld", name,
				       path, (long long)min, (long long)max);
	return 0;
}

void oci_annotations_free(struct oci_annotations *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->v[i].key);
		free(a->v[i].value);
	}
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

static int annotations_add(struct oci_annotations *a, const char *key, const char *value)
{
	struct oci_annotation *v = reallocarray(a->v, a->n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	a->v = v;
	v[a->n].key = strdup(key);
	v[a->n].value = strdup(value);
	if (!v[a->n].key || !v[a->n].value) {
		free(v[a->n].key);
		free(v[a->n].value);
		return -ENOMEM;
	}
	a->n++;
	return 0;
}

/* "annotations": an optional object whose values are all strings. */
static int parse_annotations(json_object *obj, const char *name, struct oci_annotations *a,
			     struct imgfs_error *err)
{
	json_object *ann;
	int r = get_member(obj, "annotations", json_type_object, false, name, "annotations", &ann, err);

	if (r < 0 || !ann)
		return r;
	json_object_object_foreach(ann, key, val) {
		if (!json_object_is_type(val, json_type_string))
			return imgfs_error_set(err, EINVAL, "%s: annotation \"%s\" must be a string",
					       name, key);
		if (annotations_add(a, key, json_object_get_string(val)) < 0)
			return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
	}
	return 0;
}

void oci_state_free(struct oci_state *s)
{
	free(s->oci_version);
	free(s->id);
	free(s->status);
	free(s->bundle);
	oci_annotations_free(&s->annotations);
	memset(s, 0, sizeof(*s));
}

int oci_state_parse(const char *json, size_t len, struct oci_state *s, struct imgfs_error *err)
{
	static const char name[] = "OCI state";
	_cleanup_json_ json_object *root = NULL;
	int64_t pid;
	int r;

	memset(s, 0, sizeof(*s));
	r = parse_document(json, len, name, &root, err);
	if (r < 0)
		return r;
	if ((r = dup_string(root, "ociVersion", true, name, "ociVersion", &s->oci_version, err)) < 0 ||
	    (r = dup_string(root, "id", true, name, "id", &s->id, err)) < 0 ||
	    (r = dup_string(root, "status", true, name, "status", &s->status, err)) < 0 ||
	    (r = get_int(root, "pid", 1, INT_MAX, name, "pid", &pid, err)) < 0 ||
	    (r = dup_string(root, "bundle", true, name, "bundle", &s->bundle, err)) < 0 ||
	    (r = parse_annotations(root, name, &s->annotations, err)) < 0)
		return r;
	s->pid = (pid_t)pid;
	if (!*s->id)
		return imgfs_error_set(err, EINVAL, "%s: \"id\" is empty", name);
	/* config.json is found through it, so it must not depend on our cwd. */
	if (s->bundle[0] != '/')
		return imgfs_error_set(err, EINVAL, "%s: \"bundle\" must be an absolute path, not \"%s\"",
				       name, s->bundle);
	return 0;
}

int oci_read_stream(FILE *f, const char *name, char **out, size_t *len,
		    struct imgfs_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 0;

	errno = 0;
	for (;;) {
		size_t got;

		if (cap - n < 4096 + 1) {
			char *nb;

			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (!nb)
				return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > OCI_INPUT_MAX)
			return imgfs_error_set(err, EFBIG, "%s: larger than %u bytes", name, OCI_INPUT_MAX);
		if (got == 0)
			break;
	}
	/* A directory opens but does not read (EISDIR): say why. */
	if (ferror(f))
		return imgfs_error_set(err, errno ? errno : EIO, "%s: read error: %s", name,
				       strerror(errno ? errno : EIO));
	buf[n] = '\0';
	*out = steal_pointer(&buf);
	*len = n;
	return 0;
}

int oci_state_read(FILE *f, struct oci_state *s, struct imgfs_error *err)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	memset(s, 0, sizeof(*s));
	r = oci_read_stream(f, "OCI state", &buf, &len, err);
	return r < 0 ? r : oci_state_parse(buf, len, s, err);
}

void oci_config_free(struct oci_config *c)
{
	free(c->root_path);
	oci_annotations_free(&c->annotations);
	free(c->user_ns.path);
	free(c->mount_ns.path);
	free(c->uid_mappings);
	free(c->gid_mappings);
	memset(c, 0, sizeof(*c));
}

static int parse_root(json_object *top, const char *name, const char *bundle, char **out,
		      struct imgfs_error *err)
{
	_cleanup_free_ char *path = NULL;
	json_object *root;
	int r = get_member(top, "root", json_type_object, true, name, "root", &root, err);

	if (r < 0 || (r = dup_string(root, "path", true, name, "root.path", &path, err)) < 0)
		return r;
	if (!*path)
		return imgfs_error_set(err, EINVAL, "%s: \"root.path\" is empty", name);
	/* The spec makes a relative root.path relative to the bundle. */
	if (path[0] != '/') {
		if (asprintf(out, "%s/%s", bundle, path) < 0)
			return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
		return 0;
	}
	*out = steal_pointer(&path);
	return 0;
}

static int parse_namespaces(json_object *linux_obj, const char *name, struct oci_config *c,
			    struct imgfs_error *err)
{
	json_object *list;
	char path[64];
	size_t n;
	int r = get_member(linux_obj, "namespaces", json_type_array, false, name,
			   "linux.namespaces", &list, err);

	if (r < 0 || !list)
		return r;
	n = json_object_array_length(list);
	for (size_t i = 0; i < n; i++) {
		json_object *ns = json_object_array_get_idx(list, i);
		_cleanup_free_ char *type = NULL, *nspath = NULL;
		struct oci_namespace *want = NULL;

		snprintf(path, sizeof(path), "linux.namespaces[%zu]", i);
		if (!json_object_is_type(ns, json_type_object))
			return imgfs_error_set(err, EINVAL, "%s: \"%s\" must be an object", name, path);
		snprintf(path, sizeof(path), "linux.namespaces[%zu].type", i);
		if ((r = dup_string(ns, "type", true, name, path, &type, err)) < 0)
			return r;
		snprintf(path, sizeof(path), "linux.namespaces[%zu].path", i);
		if ((r = dup_string(ns, "path", false, name, path, &nspath, err)) < 0)
			return r;
		/* Spec: the path is absolute; an empty one means "create a new namespace". */
		if (nspath && *nspath && nspath[0] != '/')
			return imgfs_error_set(err, EINVAL, "%s: \"%s\" must be an absolute path, not \"%s\"",
					       name, path, nspath);
		if (!strcmp(type, "user"))
			want = &c->user_ns;
		else if (!strcmp(type, "mount"))
			want = &c->mount_ns;
		else
			continue;	/* other types do not concern the hook */
		if (want->requested)
			return imgfs_error_set(err, EINVAL, "%s: namespace \"%s\" is listed twice", name, type);
		want->requested = true;
		if (nspath && *nspath)
			want->path = steal_pointer(&nspath);
	}
	return 0;
}

static int parse_mappings(json_object *linux_obj, const char *field, const char *name,
			  struct oci_id_mapping **out, size_t *count, struct imgfs_error *err)
{
	char path[64];
	json_object *list;
	size_t n;
	int r;

	snprintf(path, sizeof(path), "linux.%s", field);
	r = get_member(linux_obj, field, json_type_array, false, name, path, &list, err);
	if (r < 0 || !list)
		return r;
	n = json_object_array_length(list);
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return imgfs_error_set(err, ENOMEM, "%s: out of memory", name);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(list, i);
		int64_t cid, hid, size;

		snprintf(path, sizeof(path), "linux.%s[%zu]", field, i);
		if (!json_object_is_type(m, json_type_object))
			return imgfs_error_set(err, EINVAL, "%s: \"%s\" must be an object", name, path);
		snprintf(path, sizeof(path), "linux.%s[%zu].containerID", field, i);
		if ((r = get_int(m, "containerID", 0, UINT32_MAX, name, path, &cid, err)) < 0)
			return r;
		snprintf(path, sizeof(path), "linux.%s[%zu].hostID", field, i);
		if ((r = get_int(m, "hostID", 0, UINT32_MAX, name, path, &hid, err)) < 0)
			return r;
		snprintf(path, sizeof(path), "linux.%s[%zu].size", field, i);
		if ((r = get_int(m, "size", 1, UINT32_MAX, name, path, &size, err)) < 0)
			return r;
		/* The kernel refuses ranges past 2^32 too; say so before it does. */
		if (cid + size > (int64_t)UINT32_MAX + 1 || hid + size > (int64_t)UINT32_MAX + 1)
			return imgfs_error_set(err, EINVAL, "%s: \"linux.%s[%zu]\" runs past ID 4294967295",
					       name, field, i);
		(*out)[i] = (struct oci_id_mapping){ (uint32_t)cid, (uint32_t)hid, (uint32_t)size };
		*count = i + 1;
	}
	return 0;
}

int oci_config_parse(const char *json, size_t len, const char *name, const char *bundle,
		     struct oci_config *c, struct imgfs_error *err)
{
	_cleanup_json_ json_object *top = NULL;
	json_object *linux_obj;
	int r;

	memset(c, 0, sizeof(*c));
	r = parse_document(json, len, name, &top, err);
	if (r < 0)
		return r;
	if ((r = parse_root(top, name, bundle, &c->root_path, err)) < 0 ||
	    (r = parse_annotations(top, name, &c->annotations, err)) < 0 ||
	    (r = get_member(top, "linux", json_type_object, false, name, "linux", &linux_obj, err)) < 0)
		return r;
	if (!linux_obj)
		return 0;
	if ((r = parse_namespaces(linux_obj, name, c, err)) < 0 ||
	    (r = parse_mappings(linux_obj, "uidMappings", name, &c->uid_mappings,
				&c->n_uid_mappings, err)) < 0 ||
	    (r = parse_mappings(linux_obj, "gidMappings", name, &c->gid_mappings,
				&c->n_gid_mappings, err)) < 0)
		return r;
	return 0;
}

int oci_config_load(const char *bundle, struct oci_config *c, struct imgfs_error *err)
{
	_cleanup_free_ char *path = NULL, *buf = NULL;
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int fd = -1;
	size_t len;
	int r;

	memset(c, 0, sizeof(*c));
	if (asprintf(&path, "%s/config.json", bundle) < 0)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	/* A FIFO or a device there would block the hook, and the runtime with it. */
	r = open_regular(path, O_RDONLY, false, &fd);
	if (r == -EINVAL)
		return imgfs_error_set(err, EINVAL, "%s: not a regular file", path);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s: %s", path, strerror(-r));
	f = fdopen(fd, "r");
	if (!f)
		return imgfs_error_set(err, errno, "%s: %s", path, strerror(errno));
	fd = -1;
	r = oci_read_stream(f, path, &buf, &len, err);
	return r < 0 ? r : oci_config_parse(buf, len, path, bundle, c, err);
}

static int annotation_cmp(const void *a, const void *b)
{
	return strcmp(((const struct oci_annotation *)a)->key,
		      ((const struct oci_annotation *)b)->key);
}

static bool annotations_have(const struct oci_annotations *a, const char *key)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->v[i].key, key))
			return true;
	return false;
}

int oci_annotations_merge(const struct oci_annotations *state,
			  const struct oci_annotations *config, struct oci_annotations *out)
{
	memset(out, 0, sizeof(*out));
	/* First come, first kept: the state's entries go in before config.json's. */
	for (int pass = 0; pass < 2; pass++) {
		const struct oci_annotations *from = pass ? config : state;

		for (size_t i = 0; i < from->n; i++) {
			if (annotations_have(out, from->v[i].key))
				continue;
			if (annotations_add(out, from->v[i].key, from->v[i].value) < 0) {
				oci_annotations_free(out);
				return -ENOMEM;
			}
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), annotation_cmp);
	return 0;
}
