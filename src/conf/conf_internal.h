/*
 * conf_internal.h -- private types shared by the conf_*.c files.
 *
 * The directive table (conf_table.c) describes every keyword; the parser
 * (conf_parse.c) keeps a stack of open blocks and calls conf_directive_set()
 * for each line. <domain> and <source> blocks are kept as separate records
 * with a bitmap of the directives they set, so lookups can merge them
 * general -> specific. Everything here is owned by struct conf_internal,
 * which conf_free() releases.
 */
#ifndef SLUICE_CONF_INTERNAL_H
#define SLUICE_CONF_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/* Scopes (bit mask: where a directive may appear). */
enum conf_scope {
	CS_GLOBAL	= 1 << 0,
	CS_SOURCE	= 1 << 1,
	CS_DOMAIN	= 1 << 2,
	CS_VMTA		= 1 << 3,
	CS_POOL		= 1 << 4,
	CS_ACCT		= 1 << 5,
	CS_SPOOL	= 1 << 6,
	CS_SPL		= 1 << 7,	/* <smtp-pattern-list> */
	CS_PL		= 1 << 8,	/* <pattern-list> */
	CS_ROLLUP	= 1 << 9,	/* <mx-rollup-list> */
	CS_BOUNCE	= 1 << 10,	/* <bounce-category-patterns> */
	CS_USER		= 1 << 11,	/* <smtp-user> */
};

enum conf_type {
	CT_BOOL, CT_INT, CT_SIZE, CT_TIME, CT_RATE, CT_STR, CT_ENUM,
	CT_TIMELIST, CT_FN, CT_BLOCK,
};

#define CF_NEVER	0x1	/* CT_TIME accepts "never" (-1) */
#define CF_ARG		0x2	/* CT_BLOCK: <tag ARG> needs an argument */
#define CF_PATH		0x4	/* CT_STR: path, relative to the file */

struct conf_parser;
struct conf_directive;

typedef int conf_fn(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg);

struct conf_enum {
	const char	*name;
	int		 value;
};

struct conf_directive {
	const char		*name;
	unsigned		 scopes;
	enum conf_type		 type;
	const char		*def;		/* default, as written; NULL */
	int64_t			 min, max;	/* CT_INT/CT_SIZE/CT_TIME */
	size_t			 off;		/* field offset in scope struct */
	size_t			 size;		/* bytes merged (domain/source) */
	unsigned		 flags;
	const struct conf_enum	*enums;		/* CT_ENUM */
	conf_fn			*fn;		/* CT_FN, CT_BLOCK */
	const char		*alias;		/* canonical name if an alias */
	const char		*help;
};

extern const struct conf_directive conf_directives[];
extern const size_t conf_ndirectives;

#define CONF_SETBITS	4	/* 256 directives max */

struct conf_dblock {			/* one <domain PATTERN> */
	char			*pattern;	/* after macro expansion */
	char			*base;		/* domain part, lower case */
	int			 kind;		/* CONF_DK_* */
	int			 labels;
	int			 from_macro;
	int			 order;
	uint64_t		 set[CONF_SETBITS];
	struct conf_domain	 v;
};

enum { CONF_DK_ALL, CONF_DK_DOMSUB, CONF_DK_SUB, CONF_DK_EXACT };

struct conf_dblist {
	struct conf_dblock	**v;
	size_t			 n;
	int			 has_blocks;
};

struct conf_sblock {			/* one <source CIDR|NAME> */
	char			*name;
	int			 named;
	struct conf_cidr	 cidr;
	int			 order;
	uint64_t		 set[CONF_SETBITS];
	struct conf_source	 v;
	struct conf_source	 merged;
};

struct conf_macro {
	char		*name;
	char		**vals;
	size_t		 nvals;
	char		*file;
	int		 line;
	char		**exp;		/* fully expanded values */
	size_t		 nexp;
	int		 state;		/* 0 new, 1 resolving, 2 done */
};

/* A name that must resolve once everything is parsed. */
enum conf_ref_kind {
	CONF_REF_SPL, CONF_REF_PL, CONF_REF_VMTA_OR_POOL, CONF_REF_SOURCE,
	CONF_REF_POOL_MEMBER,
};

struct conf_ref {
	enum conf_ref_kind	 kind;
	char			*name;
	char			*file;
	int			 line;
	size_t			 owner;		/* pool index (POOL_MEMBER) */
	const char		*val;		/* the stored value (reroute) */
};

/* Merged result for one sequence of matching blocks (the signature), so
 * the cache is bounded by the config, not by the number of domains. */
struct conf_cache_ent {
	const struct conf_dblock **sig;
	size_t			 nsig;
	uint64_t		 hash;
	struct conf_domain	 d;
	struct conf_cache_ent	*next;
};

struct conf_internal {
	struct conf_dblist	 global;
	struct conf_dblist	*vmta_blocks;	/* parallel to c->vmtas */
	struct conf_dblist	*pool_blocks;	/* parallel to c->pools */
	int			*vmta_line;	/* definition line, for errors */
	char			**vmta_file;
	int			*pool_line;
	char			**pool_file;
	struct conf_sblock	**sources;
	size_t			 nsources;
	struct conf_source	 src_default;
	struct conf_domain	 dom_default;
	struct conf_macro	*macros;
	size_t			 nmacros;
	struct conf_ref		*refs;
	size_t			 nrefs;
	void			**strings;	/* misc owned memory */
	size_t			 nstrings;
	int			 spool_seen;
	int			 norder;
	pthread_mutex_t		 lock;
	struct conf_cache_ent	**cache;
	size_t			 ncache_buckets;
};

/* Parser state: one frame per open block. */
struct conf_frame {
	unsigned	 scope;
	const char	*tag;
	void		*obj;		/* typed object for offsets */
	uint64_t	*set;		/* set-bits for mergeable blocks */
	struct conf_dblock **dblocks;	/* <domain> with macros: several */
	size_t		 ndblocks;
	size_t		 index;		/* vmta/pool/list index */
	int		 line;
};

#define CONF_MAX_DEPTH		8
#define CONF_MAX_INCLUDE	16

struct conf_parser {
	struct conf		*c;
	char			*err;
	size_t			 errlen;
	const char		*file;
	int			 line;
	struct conf_frame	 stack[CONF_MAX_DEPTH];
	int			 depth;
	char			*incl[CONF_MAX_INCLUDE];	/* realpaths */
	int			 nincl;
};

int conf_perr(struct conf_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* conf_table.c */
/* Directive `name` allowed in `scope`; NULL if unknown (*known = 0) or
 * not allowed there (*known = 1). Aliases resolve to their target. */
const struct conf_directive *conf_directive_find(const char *name,
    unsigned scope, int *known);
const char *conf_scope_name(unsigned scope);
int conf_directive_index(const struct conf_directive *d);
int conf_directive_set(struct conf_parser *p, const struct conf_directive *d,
    void *obj, const char *arg);
void conf_defaults_apply(unsigned scope, void *obj);
void conf_merge(void *dst, const void *src, const uint64_t *set,
    unsigned scope);

/* conf_parse.c */
int conf_parse_file(struct conf_parser *p, const char *path);
int conf_parse_text(struct conf_parser *p, const char *name, char *text);
char *conf_strdup(struct conf *c, const char *s);	/* conf-owned */
void conf_own(struct conf *c, void *ptr);	/* free()d by conf_free */
char *conf_resolve_path(struct conf_parser *p, const char *path);
void conf_add_ref(struct conf_parser *p, enum conf_ref_kind k,
    const char *name, size_t owner);

/* conf_blocks.c: block open handlers (CT_BLOCK fn) */
int conf_block_open(struct conf_parser *p, const struct conf_directive *d,
    const char *arg);

/* conf_domain.c */
int conf_domain_block_open(struct conf_parser *p, struct conf_dblist *l,
    const char *pattern, struct conf_frame *f);
int conf_macro_define(struct conf_parser *p, const char *arg);
int conf_macros_check(struct conf_parser *p);
void conf_dblist_sort(struct conf_dblist *l);
void conf_dblist_free(struct conf_dblist *l);
void conf_cache_free(struct conf_internal *in);

/* conf_source.c */
int conf_source_block_open(struct conf_parser *p, const char *arg,
    struct conf_frame *f);
void conf_sources_finalize(struct conf *c);

/* conf_finalize.c */
int conf_finalize(struct conf_parser *p);

/* conf_reroute.c: (backoff-)reroute-to-virtual-mta loops, after the block
 * lists are sorted: -1 with FILE:LINE of a directive on the loop. */
int conf_reroute_check(struct conf_parser *p);

/* handlers (conf_handlers.c, conf_lists.c) */
conf_fn conf_h_include, conf_h_listener, conf_h_source_host,
    conf_h_postmaster, conf_h_http_access, conf_h_domain_key,
    conf_h_macro, conf_h_smtp_hosts, conf_h_retry_schedule,
    conf_h_no_mx, conf_h_records, conf_h_record_fields, conf_h_reply,
    conf_h_mx, conf_h_member, conf_h_pattern, conf_h_user_password,
    conf_h_user_source, conf_h_dns_server, conf_h_default_vmta,
    conf_h_pattern_list_ref, conf_h_spl_ref, conf_h_reroute;
conf_fn conf_h_dkim_identity;		/* conf_dkim.c */
int conf_bounce_line(struct conf_parser *p, const char *line);
void conf_lists_free(struct conf *c);

#endif
