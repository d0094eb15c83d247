/*
 * test_acctw_util.h -- helpers shared by the accounting writer tests:
 * temporary directories, reading files, listing the acct-*.csv files.
 * Header-only (static functions) so each test binary stays one source.
 */
#ifndef SLUICE_TEST_ACCTW_UTIL_H
#define SLUICE_TEST_ACCTW_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/sbuf.h"
#include "lib/xmalloc.h"

static char *
tu_mkdtemp(void)
{
	char *t = xstrdup("/tmp/sluice-acctw-XXXXXX");

	if (mkdtemp(t) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return t;
}

static void
tu_rmrf(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
}

/* Whole file as a NUL-terminated string (caller frees); NULL if absent. */
static char *
tu_slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct sbuf b;
	char tmp[65536];
	size_t n;

	if (fp == NULL)
		return NULL;
	sbuf_init(&b);
	while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
		sbuf_put(&b, tmp, n);
	fclose(fp);
	sbuf_putc(&b, '\0');
	b.len--;
	return sbuf_steal(&b, len);
}

static int
tu_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names in dir starting with prefix; *n set. Caller frees all. */
static char **
tu_list(const char *dir, const char *prefix, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), tu_cmp);
	return v;
}

static void
tu_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Contents of the only file in dir starting with prefix. */
static char *
tu_only_file(const char *dir, const char *prefix, size_t *len)
{
	size_t n;
	char **v = tu_list(dir, prefix, &n);
	char *path, *s;

	if (n != 1) {
		fprintf(stderr, "%s: %zu files named %s*\n", dir, n, prefix);
		tu_list_free(v, n);
		return NULL;
	}
	path = xasprintf("%s/%s", dir, v[0]);
	s = tu_slurp(path, len);
	free(path);
	tu_list_free(v, n);
	return s;
}

/* Count CRLF-terminated lines (no quoted CRLF in the data used). */
static size_t
tu_count_lines(const char *s)
{
	size_t n = 0;

	/* A plain scan: sanitizer strstr() is strlen() per call. */
	for (const char *p = s; *p != '\0'; p++)
		if (p[0] == '\r' && p[1] == '\n')
			n++;
	return n;
}

#endif
