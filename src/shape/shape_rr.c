/*
 * shape_rr.c -- round-robin selection: source IPs of a vmta (its
 * smtp-source-host lines, or the global ones), members of a pool, and the
 * per-queue set of source IPs disabled by `disable-source-ip`.
 *
 * A struct shape_rr is just the next index to try; picks skip unusable
 * entries and resume after the one returned, so with k usable entries each
 * is returned once every k picks. The disabled set is a small array (a
 * queue rarely has more than a handful of disabled IPs); it owns copies of
 * the IP strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/xmalloc.h"
#include "shape/shape.h"

void
shape_rr_init(struct shape_rr *rr)
{
	rr->next = 0;
}

int
shape_rr_pick(struct shape_rr *rr, size_t n,
    int (*usable)(size_t i, void *arg), void *arg, size_t *out)
{
	if (n == 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		size_t i = (rr->next + k) % n;

		if (usable == NULL || usable(i, arg)) {
			rr->next = (i + 1) % n;
			*out = i;
			return 0;
		}
	}
	return -1;
}

void
shape_srcset_init(struct shape_srcset *s)
{
	memset(s, 0, sizeof(*s));
}

void
shape_srcset_fini(struct shape_srcset *s)
{
	free(s->off);
	memset(s, 0, sizeof(*s));
}

static struct shape_src_off *
srcset_find(const struct shape_srcset *s, const char *ip)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->off[i].ip, ip) == 0)
			return &s->off[i];
	return NULL;
}

void
shape_srcset_disable(struct shape_srcset *s, const char *ip, int64_t until)
{
	struct shape_src_off *o = srcset_find(s, ip);

	if (strlen(ip) >= sizeof(o->ip))
		return;			/* not an IP address */
	if (o != NULL) {
		if (until > o->until)
			o->until = until;
		return;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->off = xreallocarray(s->off, s->cap, sizeof(*s->off));
	}
	o = &s->off[s->n++];
	memset(o, 0, sizeof(*o));
	memcpy(o->ip, ip, strlen(ip) + 1);
	o->until = until;
}

int
shape_srcset_enable(struct shape_srcset *s, const char *ip)
{
	struct shape_src_off *o = srcset_find(s, ip);

	if (o == NULL)
		return 0;
	*o = s->off[--s->n];
	return 1;
}

int
shape_srcset_disabled(const struct shape_srcset *s, const char *ip,
    int64_t now)
{
	const struct shape_src_off *o;

	if (s == NULL || ip == NULL)
		return 0;
	o = srcset_find(s, ip);
	return o != NULL && now < o->until;
}

int64_t
shape_srcset_expire(struct shape_srcset *s, int64_t now)
{
	int64_t next = SHAPE_NEVER;
	size_t i = 0;

	while (i < s->n) {
		if (now >= s->off[i].until) {
			s->off[i] = s->off[--s->n];
			continue;
		}
		if (s->off[i].until < next)
			next = s->off[i].until;
		i++;
	}
	return next;
}

struct src_ctx {
	const struct conf_source_host	*hosts;
	const struct shape_srcset	*off;
	int64_t				 now;
};

static int
src_usable(size_t i, void *arg)
{
	const struct src_ctx *c = arg;

	return !shape_srcset_disabled(c->off, c->hosts[i].ip, c->now);
}

enum shape_src_result
shape_src_pick(struct shape_rr *rr, const struct conf_source_host *hosts,
    size_t n, const struct shape_srcset *off, int64_t now, size_t *idx)
{
	struct src_ctx c = { hosts, off, now };

	if (n == 0)
		return SHAPE_SRC_NONE;
	if (shape_rr_pick(rr, n, src_usable, &c, idx) == -1)
		return SHAPE_SRC_ALL_DISABLED;
	return SHAPE_SRC_OK;
}

struct pool_ctx {
	const struct conf_pool	*pool;
	int			(*usable)(const struct conf_vmta *, void *);
	void			*arg;
};

static int
pool_usable(size_t i, void *arg)
{
	const struct pool_ctx *c = arg;

	return c->usable == NULL || c->usable(c->pool->members[i], c->arg);
}

const struct conf_vmta *
shape_pool_pick(struct shape_rr *rr, const struct conf_pool *pool,
    int (*usable)(const struct conf_vmta *v, void *arg), void *arg)
{
	struct pool_ctx c = { pool, usable, arg };
	size_t i;

	if (shape_rr_pick(rr, pool->nmembers, pool_usable, &c, &i) == -1)
		return NULL;
	return pool->members[i];
}
