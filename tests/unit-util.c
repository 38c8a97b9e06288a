/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for util.c: number parsing and error reporting. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "util.h"

static void test_parse_u64(void)
{
	static const struct {
		const char *in;
		int ret;
		uint64_t out;
	} cases[] = {
		{ "0", 0, 0 },
		{ "1048576", 0, 1048576 },
		{ "0x100000", 0, 1048576 },
		{ "010", 0, 10 },
		{ "0x", -EINVAL, 0 },
		{ "0xg", -EINVAL, 0 },
		{ "1k", 0, 1024 },
		{ "1M", 0, 1048576 },
		{ "2g", 0, 2ULL << 30 },
		{ "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -EINVAL, 0 },
		{ "17179869184G", -ERANGE, 0 },
		{ "", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
		{ "12abc", -EINVAL, 0 },
		{ "1kk", -EINVAL, 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t v = 0;
		int r = parse_u64(cases[i].in, &v);

		ok(r == cases[i].ret && (r < 0 || v == cases[i].out),
		   "parse_u64(\"%s\") = %d, %llu", cases[i].in, r, (unsigned long long)v);
	}
}

static void test_error_set(void)
{
	struct imgfs_error err = { 0 };
	int r = imgfs_error_set(&err, ENOENT, "%s: %s", "img", "gone");

	is_int(r, -ENOENT, "imgfs_error_set returns -code");
	is_int(err.code, ENOENT, "imgfs_error_set stores the code");
	ok(!strcmp(err.msg, "img: gone"), "imgfs_error_set formats the message");
	is_int(imgfs_error_set(NULL, EIO, "x"), -EIO, "imgfs_error_set accepts no error struct");
}

int main(void)
{
	test_parse_u64();
	test_error_set();
	return done_testing();
}
