/*
 * qdomain.c -- the queue domain a recipient is placed under (the
 * scheduler's queue_domain hook), and what a new configuration resets:
 *  - `queue-to NAME` in the recipient domain's <domain> (for its vmta):
 *    the queue NAME/vmta, PowerMTA's manual grouping; applied only when
 *    <domain NAME> has smtp-hosts, as PowerMTA requires (else the mail
 *    would go to the MX of the queue's name): otherwise ignored with a
 *    warning;
 *  - MX rollup: a domain delivery.c has seen roll up (sv->rollup).
 * Both answers are O(1) map lookups per placed recipient; queue-to is
 * looked up in the config once per (domain, vmta) and remembered.
 *
 * On start and every reload (qdomain_conf_applied) the remembered
 * queue-to answers and the domain -> rollup map are dropped, so changed
 * <domain> or <mx-rollup-list> settings apply to new recipients (rollups
 * are learnt again by the next MX lookup); sv->rollup_members (rollup ->
 * a member domain to resolve) is kept, since existing rollup queues still
 * need it. Directives Sluice accepts without acting on them are logged.
 * Loop thread only; the maps are owned by struct server (server.c).
 */
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "sched/sched.h"
#include "daemon/server.h"

static void
lower(char *dst, size_t len, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i < len - 1; i++)
		dst[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' :
		    s[i]);
	dst[i] = '\0';
}

/* queue-to target for (domain, vmta), NULL if none (or not usable). */
static const char *
queue_to(struct server *sv, const char *domain, const char *vmta)
{
	char key[SCHED_NAME_MAX + 2];
	const char *v, *vm = strcmp(vmta, SCHED_DEFAULT_VMTA) ? vmta : NULL;
	const char *t;

	snprintf(key, sizeof(key), "%s/%s", domain, vmta);
	if ((v = sched_map_get(sv->queue_to, key)) != NULL)
		return v[0] ? v : NULL;
	t = conf_domain_lookup(sv->conf, vm, domain)->queue_to;
	if (t != NULL && conf_domain_lookup(sv->conf, vm, t)->nsmtp_hosts == 0) {
		log_warnx("queue-to %s for %s (vmta %s) ignored: <domain %s> "
		    "has no smtp-hosts", t, domain, vmta, t);
		t = NULL;
	}
	sched_map_put(sv->queue_to, key, t ? t : "");
	return t;
}

const char *
qdomain_hook(void *arg, const char *domain, const char *vmta)
{
	struct server *sv = arg;
	char key[256];
	const char *t;

	lower(key, sizeof(key), domain);
	if (sv->queue_to && (t = queue_to(sv, key, vmta)) != NULL)
		return t;
	if (sv->conf->nrollups == 0 || sv->rollup == NULL)
		return NULL;
	return sched_map_get(sv->rollup, key);
}

void
qdomain_conf_applied(struct server *sv)
{
	const struct conf *c = sv->conf;

	sched_map_free(sv->queue_to);
	sv->queue_to = sched_map_new();
	sched_map_free(sv->rollup);
	sv->rollup = sched_map_new();
	for (size_t i = 0; i < c->nrollups; i++)
		if (c->rollups[i].by_ip)
			log_warnx("<mx-rollup-list> mx %s %s: rollup-by-ip has "
			    "no effect of its own (docs/config.md)",
			    c->rollups[i].mx, c->rollups[i].name);
	for (size_t i = 0; i < c->npattern_lists; i++)
		for (size_t k = 0; k < c->pattern_lists[i].nrules; k++)
			if (c->pattern_lists[i].rules[k].recipient_priority >=
			    0) {
				log_warnx("<pattern-list %s>: recipient-priority "
				    "is ignored (docs/config.md)",
				    c->pattern_lists[i].name);
				break;
			}
}
