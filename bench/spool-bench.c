/*
 * spool-bench.c -- durable submit throughput of the spool (not run by CI).
 *
 * usage: spool-bench [-n messages] [-s bytes] [-w window] [-r rcpts]
 *                    [-d parent-dir] [-S (no fdatasync)] [-D (deliver)]
 * Submits n messages of s bytes each. With -w 0 all are submitted at once
 * (a burst); with -w W at most W are unacknowledged at any time, which is
 * what W SMTP sessions waiting for their "250" look like. -D also marks
 * every recipient delivered as soon as its message is acknowledged, so
 * segments are deleted while the run goes on (the steady state of a relay).
 * Prints msgs/s, commits/s (fdatasync calls) and MB/s, one line per run.
 * The spool directory is created under the parent dir (default /var/tmp,
 * which is on the real disk) and removed afterwards.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/xmalloc.h"
#include "spool/spool.h"

struct bench {
	struct spool		*s;
	struct event_base	*base;
	struct spool_msg	 msg;
	struct spool_rcpt	 rcpt[8];
	unsigned		 n, window, submitted, acked, failed;
	int			 deliver;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_fill(struct bench *b);

static void
bench_ack(int err, uint64_t id, void *arg)
{
	struct bench *b = arg;

	b->acked++;
	if (err)
		b->failed++;
	else if (b->deliver)
		for (uint32_t i = 0; i < b->msg.nrcpt; i++)
			(void)spool_rcpt_done(b->s, id, i);
	if (b->acked == b->n)
		event_base_loopbreak(b->base);
	else
		bench_fill(b);
}

static void
bench_fill(struct bench *b)
{
	while (b->submitted < b->n &&
	    (b->window == 0 || b->submitted - b->acked < b->window)) {
		b->msg.time_queued = (int64_t)time(NULL);
		if (spool_submit(b->s, &b->msg, bench_ack, b) == -1) {
			fprintf(stderr, "spool-bench: submit failed\n");
			exit(1);
		}
		b->submitted++;
	}
}

static void
rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096 + 512];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
usage(void)
{
	fprintf(stderr, "usage: spool-bench [-n messages] [-s bytes] "
	    "[-w window] [-r rcpts] [-d parent-dir] [-S] [-D]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct spool_params p = { 0 };
	struct bench b = { 0 };
	struct spool_stats st;
	const char *parent = "/var/tmp";
	size_t size = 5120, nrcpt = 1;
	char dir[2048], err[256], *data;
	double t0, t;
	int c;

	b.n = 20000;
	while ((c = getopt(argc, argv, "n:s:w:r:d:SD")) != -1) {
		switch (c) {
		case 'n': b.n = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': size = strtoul(optarg, NULL, 10); break;
		case 'w': b.window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': nrcpt = strtoul(optarg, NULL, 10); break;
		case 'd': parent = optarg; break;
		case 'S': p.no_sync = 1; break;
		case 'D': b.deliver = 1; break;
		default: usage();
		}
	}
	if (b.n == 0 || nrcpt == 0 || nrcpt > 8)
		usage();
	snprintf(dir, sizeof(dir), "%s/spool-bench.XXXXXX", parent);
	if (mkdtemp(dir) == NULL) {
		perror("spool-bench: mkdtemp");
		return 1;
	}
	data = xmalloc(size + 1);
	for (size_t i = 0; i < size; i++)
		data[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' :
		    (char)('a' + i % 26);
	for (size_t i = 0; i < nrcpt; i++) {
		b.rcpt[i].addr = "someone@example.net";
		b.rcpt[i].notify = SPOOL_NOTIFY_FAILURE;
	}
	b.msg.orig = "bounces@example.org";
	b.msg.src_type = "smtp";
	b.msg.src_mta = "bench (127.0.0.1)";
	b.msg.rcv_ip = "127.0.0.1";
	b.msg.vmta = "default";
	b.msg.nrcpt = nrcpt;
	b.msg.rcpts = b.rcpt;
	b.msg.data = data;
	b.msg.datalen = size;

	b.base = event_base_new();
	p.dir = dir;
	if ((b.s = spool_open(b.base, &p, err, sizeof(err))) == NULL ||
	    spool_recover(b.s, NULL, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "spool-bench: %s\n", err);
		return 1;
	}
	t0 = now_s();
	bench_fill(&b);
	event_base_dispatch(b.base);
	t = now_s() - t0;
	spool_get_stats(b.s, &st);
	printf("spool-bench: n=%u size=%zu rcpts=%zu window=%u sync=%s "
	    "deliver=%s: %.0f msgs/s, %.0f commits/s, %.1f records/commit, "
	    "%.0f MB/s, %.3f s, %u failed\n", b.n, size, nrcpt, b.window,
	    p.no_sync ? "off" : "fdatasync", b.deliver ? "yes" : "no",
	    b.n / t, (double)st.commits / t,
	    st.commits ? (double)st.records / (double)st.commits : 0.0,
	    (double)b.n * (double)size / t / 1e6, t, b.failed);
	spool_close(b.s);
	event_base_free(b.base);
	rmtree(dir);
	free(data);
	return b.failed ? 1 : 0;
}
