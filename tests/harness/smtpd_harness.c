/*
 * smtpd_harness.c -- test program: runs the sluice_smtpd server on
 * 127.0.0.1 (port 0 unless --port), prints "PORT <n>" on stdout, and writes
 * every submitted message to --dir as msg-<n>.env (envelope, "key: value"
 * lines) and msg-<n>.eml (data), the .env renamed into place last so a
 * reader never sees a half-written pair. Answers 250, or 452 with
 * --fail-submit, optionally after --submit-delay-ms; --discard stores
 * nothing (for measuring the server alone). Exits on SIGTERM or
 * SIGINT, or after --max-seconds (default 60) so a forgotten harness never
 * outlives its test.
 * Used only by tests/integration/test_smtpd*.py.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "lib/log.h"
#include "lib/xmalloc.h"
#include "smtpd/smtpd.h"

struct harness {
	struct event_base	*base;
	struct smtpd_policy	 pol;
	const char		*dir;
	char			**users;	/* "user:pass" */
	int			 nusers;
	int			 fail_submit;
	int			 discard;	/* benchmark: store nothing */
	int			 delay_ms;
	unsigned long		 seq;
	struct pending		*pending;	/* delayed answers */
};

struct pending {
	struct harness		*h;
	struct smtpd_submit	*t;
	struct event		*ev;
	struct pending		*next;
};

static void
harness_policy(const struct sockaddr *peer, const struct smtpd_listener *l,
    struct smtpd_policy *out, void *arg)
{
	struct harness *h = arg;

	(void)peer;
	(void)l;
	*out = h->pol;
}

static int
harness_auth(const char *user, const char *pass, void *arg)
{
	struct harness *h = arg;
	size_t ul = strlen(user);
	int i;

	for (i = 0; i < h->nusers; i++)
		if (strncmp(h->users[i], user, ul) == 0 &&
		    h->users[i][ul] == ':' &&
		    strcmp(h->users[i] + ul + 1, pass) == 0)
			return 1;
	return 0;
}

static void
write_env(FILE *f, const struct smtpd_msg *m)
{
	size_t i;

	fprintf(f, "helo: %s\npeer_ip: %s\nlocal_port: %u\n", m->helo,
	    m->peer_ip, m->local_port);
	fprintf(f, "auth_user: %s\nmail_from: %s\n",
	    m->auth_user ? m->auth_user : "", m->mail_from);
	fprintf(f, "envid: %s\nret_full: %d\nvmta: %s\njob_id: %s\n",
	    m->envid ? m->envid : "", m->ret_full, m->vmta ? m->vmta : "",
	    m->job_id ? m->job_id : "");
	for (i = 0; i < m->nrcpt; i++)
		fprintf(f, "rcpt: %s notify=%u orcpt=%s\n", m->rcpts[i].addr,
		    m->rcpts[i].notify,
		    m->rcpts[i].orcpt ? m->rcpts[i].orcpt : "");
	fprintf(f, "datalen: %zu\n", m->datalen);
}

static int
save_msg(struct harness *h, const struct smtpd_msg *m)
{
	char path[4096], tmp[4096];
	unsigned long n = ++h->seq;
	FILE *f;

	snprintf(path, sizeof(path), "%s/msg-%lu.eml", h->dir, n);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	fwrite(m->data, 1, m->datalen, f);
	if (fclose(f) != 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s/.msg-%lu.env.tmp", h->dir, n);
	snprintf(path, sizeof(path), "%s/msg-%lu.env", h->dir, n);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	write_env(f, m);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void
answer(struct harness *h, struct smtpd_submit *t)
{
	char reply[64];

	if (h->fail_submit) {
		smtpd_submit_done(t, 452, "4.3.1 Insufficient system storage");
		return;
	}
	snprintf(reply, sizeof(reply), "2.0.0 OK queued as %lu", h->seq);
	smtpd_submit_done(t, 250, reply);
}

static void
delayed_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct pending *p = arg, **pp;

	(void)fd;
	(void)ev;
	for (pp = &p->h->pending; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	answer(p->h, p->t);
	event_free(p->ev);
	free(p);
}

static void
harness_submit(const struct smtpd_msg *m, struct smtpd_submit *t, void *arg)
{
	struct harness *h = arg;
	struct pending *p;
	struct timeval tv;

	if (h->discard)
		h->seq++;
	else if (!h->fail_submit && save_msg(h, m) < 0) {
		log_warn("harness: cannot save message");
		smtpd_submit_done(t, 451, "4.3.0 Cannot save message");
		return;
	}
	if (h->delay_ms <= 0) {
		answer(h, t);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->h = h;
	p->t = t;
	p->ev = evtimer_new(h->base, delayed_cb, p);
	p->next = h->pending;
	h->pending = p;
	tv.tv_sec = h->delay_ms / 1000;
	tv.tv_usec = (h->delay_ms % 1000) * 1000;
	evtimer_add(p->ev, &tv);
}

static void
stop_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	event_base_loopbreak(arg);
}

static SSL_CTX *
tls_ctx(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		fatalx("harness: cannot load TLS cert/key");
	}
	return ctx;
}

enum {
	O_RELAY = 256, O_REQAUTH, O_CERT, O_KEY, O_USER, O_MAXSIZE, O_MAXCONN,
	O_TIMEOUT, O_DTIMEOUT, O_PXV, O_PXJ, O_JOBHDR, O_DEFVMTA, O_NORECV,
	O_HIDE, O_MSGID, O_DATE, O_MAXRCPT, O_MAXERR, O_MAXLINE, O_MAXDLINE,
	O_FAIL, O_DELAY, O_NOSERVICE, O_DIR, O_MAXSEC, O_HOST, O_NOTLS,
	O_PORT, O_DISCARD,
};

static const struct option longopts[] = {
	{ "relay", no_argument, NULL, O_RELAY },
	{ "require-auth", no_argument, NULL, O_REQAUTH },
	{ "tls-cert", required_argument, NULL, O_CERT },
	{ "tls-key", required_argument, NULL, O_KEY },
	{ "user", required_argument, NULL, O_USER },
	{ "max-size", required_argument, NULL, O_MAXSIZE },
	{ "max-conn", required_argument, NULL, O_MAXCONN },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "data-timeout", required_argument, NULL, O_DTIMEOUT },
	{ "process-x-virtual-mta", no_argument, NULL, O_PXV },
	{ "process-x-job", no_argument, NULL, O_PXJ },
	{ "jobid-header", required_argument, NULL, O_JOBHDR },
	{ "default-vmta", required_argument, NULL, O_DEFVMTA },
	{ "no-received", no_argument, NULL, O_NORECV },
	{ "hide-source", no_argument, NULL, O_HIDE },
	{ "add-message-id", no_argument, NULL, O_MSGID },
	{ "add-date", no_argument, NULL, O_DATE },
	{ "max-rcpt", required_argument, NULL, O_MAXRCPT },
	{ "max-errors", required_argument, NULL, O_MAXERR },
	{ "max-line", required_argument, NULL, O_MAXLINE },
	{ "max-data-line", required_argument, NULL, O_MAXDLINE },
	{ "fail-submit", no_argument, NULL, O_FAIL },
	{ "submit-delay-ms", required_argument, NULL, O_DELAY },
	{ "no-service", no_argument, NULL, O_NOSERVICE },
	{ "dir", required_argument, NULL, O_DIR },
	{ "max-seconds", required_argument, NULL, O_MAXSEC },
	{ "hostname", required_argument, NULL, O_HOST },
	{ "no-starttls", no_argument, NULL, O_NOTLS },
	{ "port", required_argument, NULL, O_PORT },
	{ "discard", no_argument, NULL, O_DISCARD },
	{ NULL, 0, NULL, 0 },
};

struct opts {
	const char	*cert, *key;
	int		 max_seconds, port;
};

static void
parse_opt(int c, struct harness *h, struct smtpd_params *p, struct opts *o)
{
	switch (c) {
	case O_RELAY: h->pol.always_allow_relaying = 1; break;
	case O_REQAUTH: h->pol.require_auth = 1; break;
	case O_CERT: o->cert = optarg; break;
	case O_KEY: o->key = optarg; break;
	case O_USER:
		h->users = xreallocarray(h->users, (size_t)h->nusers + 1,
		    sizeof(*h->users));
		h->users[h->nusers++] = optarg;
		break;
	case O_MAXSIZE: h->pol.max_message_size = strtoul(optarg, NULL, 10);
		break;
	case O_MAXCONN: p->max_connections = atoi(optarg); break;
	case O_TIMEOUT: p->cmd_timeout = p->data_timeout = atoi(optarg); break;
	case O_DTIMEOUT: p->data_timeout = atoi(optarg); break;
	case O_PXV: h->pol.process_x_virtual_mta = 1; break;
	case O_PXJ: h->pol.process_x_job = 1; break;
	case O_JOBHDR: h->pol.jobid_header = optarg; break;
	case O_DEFVMTA: h->pol.default_vmta = optarg; break;
	case O_NORECV: h->pol.add_received_header = 0; break;
	case O_HIDE: h->pol.hide_message_source = 1; break;
	case O_MSGID: h->pol.add_message_id_header = 1; break;
	case O_DATE: h->pol.add_date_header = 1; break;
	case O_MAXRCPT: h->pol.max_rcpt_per_message = strtoul(optarg, NULL,
		    10); break;
	case O_MAXERR: p->max_errors = atoi(optarg); break;
	case O_MAXLINE: p->max_line = strtoul(optarg, NULL, 10); break;
	case O_MAXDLINE: p->max_data_line = strtoul(optarg, NULL, 10); break;
	case O_FAIL: h->fail_submit = 1; break;
	case O_DELAY: h->delay_ms = atoi(optarg); break;
	case O_NOSERVICE: h->pol.smtp_service = 0; break;
	case O_DIR: h->dir = optarg; break;
	case O_MAXSEC: o->max_seconds = atoi(optarg); break;
	case O_HOST: p->hostname = optarg; break;
	case O_NOTLS: h->pol.allow_starttls = 0; break;
	case O_PORT: o->port = atoi(optarg); break;
	case O_DISCARD: h->discard = 1; break;
	default:
		fprintf(stderr, "usage: smtpd-harness --dir DIR [options]\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct harness h = { 0 };
	struct smtpd_params p = { .hostname = "harness.test" };
	struct smtpd_cbs cbs = { harness_policy, harness_auth, harness_submit };
	struct smtpd_listener l = { .addr = "127.0.0.1" };
	struct opts o = { .max_seconds = 60 };
	struct event *sigterm, *sigint, *deadline;
	struct timeval tv;
	struct smtpd *s;
	char err[256];
	int c, idx;

	log_init("smtpd-harness", getenv("HARNESS_VERBOSE") != NULL);
	h.pol.smtp_service = h.pol.allow_starttls = 1;
	h.pol.add_received_header = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
		parse_opt(c, &h, &p, &o);
	if (h.dir == NULL)
		fatalx("--dir is required");
	if (o.cert && o.key)
		p.ssl_ctx = tls_ctx(o.cert, o.key);
	signal(SIGPIPE, SIG_IGN);
	h.base = event_base_new();
	s = smtpd_new(h.base, &p, &cbs, &h);
	l.port = (uint16_t)o.port;
	if ((idx = smtpd_listen(s, &l, err, sizeof(err))) < 0)
		fatalx("harness: %s", err);
	printf("PORT %u\n", smtpd_listener_port(s, idx));
	fflush(stdout);
	sigterm = evsignal_new(h.base, SIGTERM, stop_cb, h.base);
	sigint = evsignal_new(h.base, SIGINT, stop_cb, h.base);
	deadline = evtimer_new(h.base, stop_cb, h.base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	tv.tv_sec = o.max_seconds;
	tv.tv_usec = 0;
	evtimer_add(deadline, &tv);
	event_base_dispatch(h.base);
	smtpd_stop_listening(s);
	while (h.pending)
		delayed_cb(-1, 0, h.pending);
	smtpd_free(s);
	event_free(sigterm);
	event_free(sigint);
	event_free(deadline);
	free(h.users);
	event_base_free(h.base);
	if (p.ssl_ctx)
		SSL_CTX_free(p.ssl_ctx);
	return 0;
}
