/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <libgen.h>
#include <limits.h>
#include <linux/fuse.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "fuse_dev.h"
#include "seccomp-policy.h"

#define MAX_CONDITIONS 6

static const struct {
	const char *name;
	uint64_t value;
} policy_names[] = {
#define NAME(n) { #n, (uint64_t)(n) }
	NAME(CLONE_VM), NAME(CLONE_FS), NAME(CLONE_FILES), NAME(CLONE_SIGHAND),
	NAME(CLONE_THREAD), NAME(CLONE_SYSVSEM), NAME(CLONE_SETTLS),
	NAME(CLONE_PARENT_SETTID), NAME(CLONE_CHILD_CLEARTID),
	NAME(CLONE_NEWNS), NAME(CLONE_NEWUSER), NAME(CLONE_NEWPID), NAME(CLONE_NEWNET),
	NAME(CLONE_NEWIPC), NAME(CLONE_NEWUTS), NAME(CLONE_NEWCGROUP),
	NAME(PROT_READ), NAME(PROT_WRITE), NAME(PROT_EXEC), NAME(PROT_NONE),
	NAME(FUSE_DEV_IOC_CLONE), NAME(FUSE_DEV_IOC_BACKING_OPEN),
#undef NAME
};

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "ENOSYS", ENOSYS }, { "EPERM", EPERM }, { "EACCES", EACCES },
};

void imgfs_seccomp_policy_path(char *path, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		if (strcmp(dirname(self), IMGFS_BUILDDIR "/cmd") == 0) {
			snprintf(path, size, "%s/seccomp/%s", IMGFS_SRCDIR, IMGFS_SECCOMP_POLICY);
			return;
		}
	}
	snprintf(path, size, "%s/%s", IMGFS_SECCOMPDIR, IMGFS_SECCOMP_POLICY);
}

/* NAME|NAME|0x10 ... */
static int parse_value(const char *s, uint64_t *out)
{
	_cleanup_free_ char *copy = strdup(s);
	char *save = NULL;
	uint64_t v = 0;

	if (!copy)
		return -ENOMEM;
	for (char *part = strtok_r(copy, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
		uint64_t n;
		size_t i;

		for (i = 0; i < ARRAY_SIZE(policy_names); i++)
			if (strcmp(part, policy_names[i].name) == 0)
				break;
		if (i < ARRAY_SIZE(policy_names))
			n = policy_names[i].value;
		else if (parse_u64(part, &n) < 0 || strpbrk(part, "kKmMgGtT"))
			return -EINVAL;
		v |= n;
	}
	*out = v;
	return 0;
}

/* argN==V, argN!=V or argN&M==V */
static int parse_condition(const char *tok, struct scmp_arg_cmp *cmp)
{
	_cleanup_free_ char *copy = strdup(tok);
	char *rest, *op;
	uint64_t mask = 0, value;
	unsigned arg;

	if (!copy)
		return -ENOMEM;
	if (strncmp(copy, "arg", 3) || !isdigit((unsigned char)copy[3]) || copy[4] == '\0')
		return -EINVAL;
	arg = copy[3] - '0';
	rest = copy + 4;
	if (arg > 5)
		return -EINVAL;
	if (*rest == '&') {
		op = strstr(rest, "==");
		if (!op)
			return -EINVAL;
		*op = '\0';
		if (parse_value(rest + 1, &mask) < 0)
			return -EINVAL;
		if (parse_value(op + 2, &value) < 0)
			return -EINVAL;
		*cmp = SCMP_CMP64(arg, SCMP_CMP_MASKED_EQ, mask, value);
		return 0;
	}
	if (strncmp(rest, "==", 2) && strncmp(rest, "!=", 2))
		return -EINVAL;
	if (parse_value(rest + 2, &value) < 0)
		return -EINVAL;
	*cmp = SCMP_CMP64(arg, rest[0] == '=' ? SCMP_CMP_EQ : SCMP_CMP_NE, value);
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, char *line, const char *path, unsigned lineno,
		    struct imgfs_error *err)
{
	struct scmp_arg_cmp cmps[MAX_CONDITIONS];
	uint32_t action = SCMP_ACT_ALLOW;
	unsigned ncmp = 0;
	char *save = NULL, *tok;
	const char *name = strtok_r(line, " \t", &save);
	int nr, r;

	nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR)
		return imgfs_error_set(err, EINVAL, "%s:%u: unknown system call \"%s\"", path, lineno,
				       name);
	while ((tok = strtok_r(NULL, " \t", &save))) {
		if (strncmp(tok, "errno=", 6) == 0) {
			size_t i;

			for (i = 0; i < ARRAY_SIZE(errno_names); i++)
				if (strcmp(tok + 6, errno_names[i].name) == 0)
					break;
			if (i == ARRAY_SIZE(errno_names))
				return imgfs_error_set(err, EINVAL, "%s:%u: unknown error \"%s\"", path,
						       lineno, tok + 6);
			action = SCMP_ACT_ERRNO(errno_names[i].value);
			continue;
		}
		if (ncmp == MAX_CONDITIONS || parse_condition(tok, &cmps[ncmp]) < 0)
			return imgfs_error_set(err, EINVAL, "%s:%u: bad condition \"%s\"", path, lineno,
					       tok);
		ncmp++;
	}
	r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmps);
	if (r < 0)
		return imgfs_error_set(err, -r, "%s:%u: libseccomp refused the rule for %s: %s", path,
				       lineno, name, strerror(-r));
	return 0;
}

struct imgfs_seccomp {
	scmp_filter_ctx ctx;
};

void imgfs_seccomp_free(struct imgfs_seccomp *filter)
{
	if (filter->ctx)
		seccomp_release(filter->ctx);
	free(filter);
}

#define MAX_LINE 511

static int parse_lines(scmp_filter_ctx ctx, FILE *f, const char *path, struct imgfs_error *err)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		char *p = line, *end;
		int r;

		lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > MAX_LINE)
			return imgfs_error_set(err, EINVAL, "%s:%u: line too long", path, lineno);
		end = strchr(p, '#');
		if (end)
			*end = '\0';
		end = p + strlen(p);
		while (end > p && isspace((unsigned char)end[-1]))
			*--end = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		r = add_rule(ctx, p, path, lineno, err);
		if (r < 0)
			return r;
	}
	if (ferror(f))
		return imgfs_error_set(err, EIO, "cannot read the seccomp policy %s", path);
	return 0;
}

int imgfs_seccomp_parse(const char *path, struct imgfs_seccomp **filter, struct imgfs_error *err)
{
	_cleanup_seccomp_ struct imgfs_seccomp *s = calloc(1, sizeof(*s));
	_cleanup_fclose_ FILE *f = NULL;
	int r;

	if (!s)
		return imgfs_error_set(err, ENOMEM, "out of memory");
	f = fopen(path, "re");
	if (!f)
		return imgfs_error_set(err, errno, "cannot read the seccomp policy %s: %s", path,
				       strerror(errno));
	s->ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!s->ctx)
		return imgfs_error_set(err, ENOMEM, "seccomp_init failed");
	/* One filter for every thread, present and future. */
	r = seccomp_attr_set(s->ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0)
		return imgfs_error_set(err, -r, "seccomp: cannot synchronise threads: %s", strerror(-r));
	r = parse_lines(s->ctx, f, path, err);
	if (r < 0)
		return r;
	*filter = steal_pointer(&s);
	return 0;
}

int imgfs_seccomp_install(struct imgfs_seccomp *filter, struct imgfs_error *err)
{
	int r = seccomp_load(filter->ctx);

	if (r < 0)
		return imgfs_error_set(err, -r, "cannot install the seccomp filter: %s", strerror(-r));
	return 0;
}
