/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "ocipath.h"

enum oci_path_verdict oci_path_normalise(const char *in, char *out, bool *had_dot)
{
	char *o = out;

	if (had_dot)
		*had_dot = false;
	if (in[0] != '/')
		return OCI_PATH_RELATIVE;
	for (const char *p = in; *p;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return OCI_PATH_DOTDOT;
		if (len == 1 && p[0] == '.') {
			if (had_dot)
				*had_dot = true;
		} else if (len) {
			*o++ = '/';
			memmove(o, p, len);	/* @out may be @in, always behind it */
			o += len;
		}
		p = end;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return OCI_PATH_OK;
}
