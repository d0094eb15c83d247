/*
 * test_spool_util.h -- helpers shared by the spool unit tests: temporary
 * spool directories, deterministic test messages, callback collectors.
 * Everything here aborts the test (cmocka assert) on unexpected failure.
 */
#ifndef SLUICE_TEST_SPOOL_UTIL_H
#define SLUICE_TEST_SPOOL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "spool/spool.h"

struct event_base;

#define TSP_MAXRCPT	4

/* A message whose bytes are derived from seed (NULs and 8-bit included). */
struct tsp_msg {
	struct spool_msg	 m;
	struct spool_rcpt	 r[TSP_MAXRCPT];
	char			 addr[TSP_MAXRCPT][64];
	char			 orig[64];
	char			*data;
};

struct tsp_acks {
	uint64_t	*ids;
	int		*errs;
	size_t		 n, cap;
};

struct tsp_rec {
	uint64_t		 id;
	size_t			 nrcpt;
	char			 orig[64];
	char			 addr[TSP_MAXRCPT][64];
	char			 vmta[TSP_MAXRCPT][64];	/* "" = NULL */
	char			 msg_vmta[64];
	uint8_t			 state[TSP_MAXRCPT];
	uint32_t		 attempts[TSP_MAXRCPT];
	int64_t			 next[TSP_MAXRCPT];
	size_t			 datalen;
	int64_t			 time_queued;
};

struct tsp_recs {
	struct tsp_rec	*v;
	size_t		 n, cap;
};

char *tsp_mkdtemp(void);
void tsp_rmtree(char *dir);
int tsp_count_segs(const char *dir);
char *tsp_last_seg(const char *dir);
struct spool *tsp_open(struct event_base *base, const char *dir,
    size_t segsize);
void tsp_msg_fill(struct tsp_msg *tm, unsigned seed, size_t nrcpt,
    size_t datalen);
void tsp_msg_free(struct tsp_msg *tm);
void tsp_data_expect(unsigned seed, size_t datalen, char *out);
void tsp_ack_cb(int err, uint64_t id, void *arg);
void tsp_acks_free(struct tsp_acks *a);
void tsp_rec_cb(const struct spool_msg *m, void *arg);
void tsp_recs_free(struct tsp_recs *r);
const struct tsp_rec *tsp_recs_find(const struct tsp_recs *r, uint64_t id);
int tsp_acks_wait(struct event_base *base, struct tsp_acks *a, size_t n,
    int timeout_ms);

#endif
