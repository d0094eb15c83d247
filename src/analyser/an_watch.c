/*
 * an_watch.c -- `sluice acct watch FILE` (see an_watch.h).
 *
 * The file is polled every 0.5 s. New bytes go through the same parser
 * and aggregate code as the batch reports, into a ring of time slots
 * (arrival time) covering --window; every --interval the slots are merged,
 * alerts are evaluated and changes plus a one-line summary are printed.
 * Rotation: when the path names a different inode, the old file is read
 * to its end and the new one is opened from its start (its header comes
 * first); when the file shrinks (truncation) it is re-read from the start.
 * If we start at the end of an existing file, its header is read first
 * and its lines are counted (up to AN_WATCH_COUNT_MAX bytes), so malformed
 * lines are reported as file:line; past that size they are reported as
 * "line N after watch start". Each malformed line is printed to stderr
 * when it is read; the summary line carries the count since start.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyser/an_agg.h"
#include "analyser/an_alert.h"
#include "analyser/an_watch.h"
#include "lib/xmalloc.h"

#define AN_WATCH_SLOTS	15
#define AN_WATCH_BUF	(4u << 20)
#define AN_WATCH_COUNT_MAX ((off_t)1 << 30)

static volatile sig_atomic_t an_watch_stop;

struct an_watch {
	const struct an_opts *o;
	struct an_ctx	 ctx;
	struct an_agg	 slot[AN_WATCH_SLOTS];
	int64_t		 slot_id[AN_WATCH_SLOTS];
	int64_t		 slot_len;
	struct an_parser ps;
	int		 fd;
	ino_t		 ino;
	off_t		 off;
	char		*buf;
	size_t		 have;
	char		(*active)[200];	/* alerts currently firing */
	size_t		 nactive;
	struct an_errlog errs;		/* malformed lines not yet printed */
	uint64_t	 nerr;		/* malformed lines since start */
	int		 lines_known;	/* ps.line counts from file start */
};

static void
an_watch_sig(int sig)
{
	(void)sig;
	an_watch_stop = 1;
}

static double
an_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Route records to the slot of the current wall-clock time. */
static void
an_watch_rec(void *arg, const struct an_rec *r)
{
	struct an_watch *w = arg;
	int64_t id = (int64_t)time(NULL) / w->slot_len;
	int k = (int)(id % AN_WATCH_SLOTS);

	if (w->slot_id[k] != id) {
		an_agg_fini(&w->slot[k]);
		an_agg_init(&w->slot[k], &w->ctx);
		w->slot_id[k] = id;
	}
	an_agg_record(&w->slot[k], r);
	if (w->slot[k].errs.n)		/* e.g. a bad timeLogged */
		an_errlog_merge(&w->errs, &w->slot[k].errs, 0);
}

/* Print the malformed lines read since the last call; count them. */
static void
an_watch_errs(struct an_watch *w)
{
	struct an_errlog *l = &w->errs;

	for (size_t i = 0; i < l->nkept; i++) {
		const struct an_err *e = &l->kept[i];

		if (w->lines_known)
			fprintf(stderr, "sluice acct watch: %s:%llu: %s\n",
			    e->file, (unsigned long long)e->line, e->msg);
		else
			fprintf(stderr, "sluice acct watch: %s: line %llu "
			    "after watch start: %s\n", e->file,
			    (unsigned long long)e->line, e->msg);
	}
	if (l->n > l->nkept)
		fprintf(stderr, "sluice acct watch: %llu more malformed "
		    "lines\n", (unsigned long long)(l->n - l->nkept));
	w->nerr += l->n;
	an_errlog_fini(l);
}

/* Number of LFs in the first len bytes of fd. */
static uint64_t
an_watch_count_lines(int fd, off_t len)
{
	char *buf = xmalloc(1u << 20);
	uint64_t lines = 0;
	off_t off = 0;
	ssize_t n;

	while (off < len && (n = pread(fd, buf, (size_t)(len - off) <
	    (1u << 20) ? (size_t)(len - off) : (1u << 20), off)) > 0) {
		for (const char *p = buf, *e = buf + n;
		    (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++)
			lines++;
		off += n;
	}
	free(buf);
	return lines;
}

/* Open path; when at_end, remember its header and start at its end. */
static int
an_watch_open(struct an_watch *w, const char *path, int at_end)
{
	struct stat sb;
	char hdr[65536];
	ssize_t n;
	char *nl;

	if ((w->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	fstat(w->fd, &sb);
	w->ino = sb.st_ino;
	w->off = 0;
	w->have = 0;
	an_parser_fini(&w->ps);
	an_parser_init(&w->ps, path, w->ctx.need, an_watch_rec, w, &w->errs);
	w->lines_known = 1;
	if (at_end && sb.st_size > 0) {
		n = pread(w->fd, hdr, sizeof(hdr) - 1, 0);
		if (n > 0 && (nl = memchr(hdr, '\n', (size_t)n)) != NULL)
			an_parser_feed(&w->ps, hdr, (size_t)(nl + 1 - hdr), 0);
		an_watch_errs(w);
		w->off = sb.st_size;
		w->lines_known = sb.st_size <= AN_WATCH_COUNT_MAX;
		w->ps.line = w->lines_known ?
		    an_watch_count_lines(w->fd, sb.st_size) : 0;
	}
	return 0;
}

/* Read what is new; 1 if the file was replaced or truncated. */
static int
an_watch_read(struct an_watch *w, const char *path)
{
	struct stat sb, cur;
	ssize_t n;
	size_t used;

	for (;;) {
		n = pread(w->fd, w->buf + w->have, AN_WATCH_BUF - w->have, w->off);
		if (n <= 0)
			break;
		w->off += n;
		w->have += (size_t)n;
		used = an_parser_feed(&w->ps, w->buf, w->have, 0);
		an_watch_errs(w);
		memmove(w->buf, w->buf + used, w->have - used);
		w->have -= used;
		if (w->have == AN_WATCH_BUF)
			w->have = 0;	/* cannot happen: records < 1 MiB */
	}
	if (stat(path, &sb) != 0)
		return 0;		/* rotated away, new file not there yet */
	fstat(w->fd, &cur);
	return sb.st_ino != w->ino || cur.st_size < w->off;
}

static int
an_watch_has(char (*v)[200], size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], key) == 0)
			return 1;
	return 0;
}

static void
an_watch_summary(const struct an_agg *a, const struct an_watch *w)
{
	const struct an_counts *c = &a->total;
	uint64_t at = an_attempts(c);
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	printf("%s last %llds: %llu records, %llu attempts, delivered %.1f%%, "
	    "deferred %.1f%%, bounced %.1f%%, %llu malformed since start\n", ts,
	    (long long)w->o->window, (unsigned long long)a->records,
	    (unsigned long long)at, an_rate(c->n[ACCT_R_D], at),
	    an_rate(c->n[ACCT_R_T], at), an_rate(c->n[ACCT_R_B], at),
	    (unsigned long long)w->nerr);
}

/* Merge the live slots, print alert changes and the summary line. */
static int
an_watch_tick(struct an_watch *w)
{
	struct an_agg all;
	struct an_alerts al;
	char (*keys)[200];
	int64_t oldest = (int64_t)time(NULL) / w->slot_len - AN_WATCH_SLOTS;
	int maxl;

	an_agg_init(&all, &w->ctx);
	for (int k = 0; k < AN_WATCH_SLOTS; k++)
		if (w->slot_id[k] > oldest)
			an_agg_merge(&all, &w->slot[k]);
	an_alerts_eval(&all, &al);
	keys = xcalloc(al.n + 1, sizeof(*keys));
	for (size_t i = 0; i < al.n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "%s %s", al.v[i].kind,
		    al.v[i].subject);
		if (!an_watch_has(w->active, w->nactive, keys[i]))
			printf("ALERT %s %s: %s\n", an_level_name(al.v[i].level),
			    keys[i], al.v[i].msg);
	}
	for (size_t i = 0; i < w->nactive; i++)
		if (!an_watch_has(keys, al.n, w->active[i]))
			printf("CLEARED %s\n", w->active[i]);
	free(w->active);
	w->active = keys;
	w->nactive = al.n;
	an_watch_summary(&all, w);
	fflush(stdout);
	maxl = al.max_level;
	an_alerts_fini(&al);
	an_agg_fini(&all);
	return maxl;
}

static void
an_watch_setup(struct an_watch *w, const struct an_opts *o,
    const struct an_isp_map *isps, struct an_opts *wo)
{
	struct sigaction sa;

	*wo = *o;
	wo->sections = AN_SBIT(AN_S_SUMMARY) | AN_SBIT(AN_S_ALERTS);
	memset(w, 0, sizeof(*w));
	w->o = o;
	w->fd = -1;
	an_ctx_init(&w->ctx, wo, isps);
	w->slot_len = o->window / AN_WATCH_SLOTS > 0 ?
	    o->window / AN_WATCH_SLOTS : 1;
	for (int k = 0; k < AN_WATCH_SLOTS; k++) {
		an_agg_init(&w->slot[k], &w->ctx);
		w->slot_id[k] = -1;
	}
	w->buf = xmalloc(AN_WATCH_BUF);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = an_watch_sig;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int
an_watch_main(const struct an_opts *o, const struct an_isp_map *isps)
{
	struct an_watch w;
	struct an_opts wo;
	struct timespec nap = { 0, 200 * 1000 * 1000 };
	double start = an_now(), next;
	const char *path;
	int maxl = 0;

	if (o->nfiles != 1 || strcmp(o->files[0], "-") == 0) {
		fprintf(stderr, "sluice acct watch: give exactly one file\n");
		return 2;
	}
	path = o->files[0];
	an_watch_setup(&w, o, isps, &wo);
	an_parser_init(&w.ps, path, w.ctx.need, an_watch_rec, &w, &w.errs);
	if (an_watch_open(&w, path, !o->from_start) != 0)
		fprintf(stderr, "sluice acct watch: %s: %s (waiting)\n", path,
		    strerror(errno));
	next = an_now() + o->interval;
	while (!an_watch_stop && (o->exit_after <= 0 ||
	    an_now() - start < o->exit_after)) {
		if (w.fd < 0)
			an_watch_open(&w, path, 0);
		else if (an_watch_read(&w, path)) {
			an_watch_read(&w, path);	/* drain the old file */
			close(w.fd);
			w.fd = -1;
			if (an_watch_open(&w, path, 0) == 0)
				an_watch_read(&w, path);
		}
		if (an_now() >= next) {
			maxl = an_watch_tick(&w);
			next += o->interval;
		}
		nanosleep(&nap, NULL);
	}
	an_watch_tick(&w);
	if (w.fd >= 0)
		close(w.fd);
	an_parser_fini(&w.ps);
	for (int k = 0; k < AN_WATCH_SLOTS; k++)
		an_agg_fini(&w.slot[k]);
	free(w.active);
	free(w.buf);
	an_errlog_fini(&w.errs);
	(void)maxl;
	return 0;
}
