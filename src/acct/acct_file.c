/*
 * acct_file.c -- live accounting file: naming, header, rotation, pruning.
 *
 * All I/O errors are local and transient (tier 3): logged with the path
 * and returned as -1; the writer thread keeps the data and retries.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acct/acct_file.h"
#include "lib/fsutil.h"
#include "lib/log.h"
#include "lib/xmalloc.h"

#define ACCT_FILE_MAXSEQ 10000

int
acct_file_init(struct acct_file *f, const char *path, const char *move_to,
    char *err, size_t errlen)
{
	const char *slash, *base, *dot;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(err, errlen, "%s: not a file name", path);
		return -1;
	}
	f->dir = slash ? (slash == path ? xstrdup("/") :
	    xstrndup(path, (size_t)(slash - path))) : xstrdup(".");
	dot = strrchr(base, '.');
	if (dot == NULL || dot == base)
		dot = base + strlen(base);
	f->stem = xstrndup(base, (size_t)(dot - base));
	f->ext = xstrdup(dot);
	f->move_to = move_to ? xstrdup(move_to) : NULL;
	sbuf_init(&f->header);
	return 0;
}

void
acct_file_fini(struct acct_file *f)
{
	acct_file_finish(f);
	free(f->dir);
	free(f->stem);
	free(f->ext);
	free(f->move_to);
	free(f->cur);
	sbuf_fini(&f->header);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

static int
acct_file_exists(const char *dir, const char *name)
{
	struct stat st;
	char *p = xasprintf("%s/%s", dir, name);
	int r = stat(p, &st) == 0;

	free(p);
	return r;
}

/* Create the first free <stem>-DATE-NNNN<ext>; fd or -1. */
static int
acct_file_create(struct acct_file *f, const char *date)
{
	if (fs_mkdir_p(f->dir, 0755) == -1) {
		log_warn("acct: mkdir %s", f->dir);
		return -1;
	}
	for (int n = 0; n < ACCT_FILE_MAXSEQ; n++) {
		char *name = xasprintf("%s-%s-%04d%s", f->stem, date, n, f->ext);
		char *p;
		int fd;

		if (f->move_to && acct_file_exists(f->move_to, name)) {
			free(name);
			continue;
		}
		p = xasprintf("%s/%s", f->dir, name);
		free(name);
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC,
		    0640);
		if (fd >= 0) {
			free(f->cur);
			f->cur = p;
			return fd;
		}
		if (errno != EEXIST) {
			log_warn("acct: create %s", p);
			free(p);
			return -1;
		}
		free(p);
	}
	log_warnx("acct: %s/%s: no free file number for today", f->dir,
	    f->stem);
	return -1;
}

int
acct_file_start(struct acct_file *f, int64_t now)
{
	char date[16];
	struct tm tm;
	time_t t = (time_t)now;
	size_t done;

	if (f->fd >= 0)
		return 0;
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	if ((f->fd = acct_file_create(f, date)) < 0)
		return -1;
	f->size = 0;
	f->nrec = 0;
	f->started = now;
	f->nstarted++;
	if (acct_file_write(f, f->header.p, f->header.len, 0, &done) != 0) {
		/* Leave no header-less file behind. */
		close(f->fd);
		f->fd = -1;
		unlink(f->cur);
		return -1;
	}
	return 0;
}

void
acct_file_finish(struct acct_file *f)
{
	char *dst;
	const char *base;

	if (f->fd < 0)
		return;
	if (close(f->fd) != 0)
		log_warn("acct: close %s", f->cur);
	f->fd = -1;
	if (f->nrec == 0) {
		unlink(f->cur);
		return;
	}
	if (f->move_to == NULL)
		return;
	base = strrchr(f->cur, '/');
	base = base ? base + 1 : f->cur;
	dst = xasprintf("%s/%s", f->move_to, base);
	if (rename(f->cur, dst) != 0)
		log_warn("acct: move %s to %s", f->cur, dst);
	free(dst);
}

int
acct_file_rotate(struct acct_file *f, int64_t now)
{
	acct_file_finish(f);
	if (acct_file_start(f, now) != 0)
		return -1;
	acct_file_prune(f, now);
	return 0;
}

int
acct_file_write(struct acct_file *f, const char *p, size_t len, size_t nrec,
    size_t *done)
{
	ssize_t n;

	*done = 0;
	while (*done < len) {
		n = write(f->fd, p + *done, len - *done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn("acct: write %s", f->cur);
			f->size += *done;
			return -1;
		}
		*done += (size_t)n;
	}
	f->size += len;
	f->nrec += nrec;
	if (f->sync && fdatasync(f->fd) != 0)
		log_warn("acct: fdatasync %s", f->cur);
	return 0;
}

/* Does s[0..n) consist of digits and '-' in the shape YYYY-MM-DD-NNNN? */
static int
acct_file_date_seq(const char *s)
{
	static const char shape[] = "dddd-dd-dd-dddd";

	for (size_t i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != '-')
			return 0;
	}
	return 1;
}

int
acct_file_name_match(const struct acct_file *f, const char *s)
{
	size_t ls = strlen(f->stem), le = strlen(f->ext), n = strlen(s);

	if (n != ls + 1 + 15 + le || strncmp(s, f->stem, ls) != 0 ||
	    s[ls] != '-' || strcmp(s + n - le, f->ext) != 0)
		return 0;
	return acct_file_date_seq(s + ls + 1);
}

void
acct_file_prune(struct acct_file *f, int64_t now)
{
	struct dirent *de;
	struct stat st;
	DIR *d;

	f->last_prune = now;
	if (f->move_to != NULL || f->delete_after < 0)
		return;
	if ((d = opendir(f->dir)) == NULL) {
		log_warn("acct: opendir %s", f->dir);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (!acct_file_name_match(f, de->d_name))
			continue;
		p = xasprintf("%s/%s", f->dir, de->d_name);
		if ((f->cur == NULL || strcmp(p, f->cur) != 0) &&
		    stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    (int64_t)st.st_mtime + f->delete_after < now) {
			if (unlink(p) == 0)
				log_info("acct: deleted %s (delete-after)", p);
			else
				log_warn("acct: unlink %s", p);
		}
		free(p);
	}
	closedir(d);
}
