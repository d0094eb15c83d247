/*
 * an_isp.h -- destination domain -> mailbox provider ("ISP") mapping.
 *
 * Built-in rules (gmail.com/googlemail.com -> Gmail; outlook/hotmail/live/
 * msn -> Microsoft; yahoo/aol/ymail -> Yahoo; ...) plus rule files users
 * write (`--isp-map FILE`, lines "PATTERN ISP NAME"); user rules win. A
 * PATTERN is "example.com" (the domain and its subdomains), "name.*" (name
 * under any TLD such as name.com, name.co.uk, name.fr) or "*.example.com"
 * (subdomains only). Unmatched domains map to ISP 0, "Other".
 * The map is read-only once built and shared by all threads.
 */
#ifndef SLUICE_AN_ISP_H
#define SLUICE_AN_ISP_H

#include <stddef.h>

#define AN_ISP_MAX	64

struct an_isp_rule {
	char	*pat;		/* without "*." / ".*" */
	size_t	 len;
	int	 kind;		/* 0 exact+subdomains, 1 any TLD, 2 subdomains */
	int	 isp;
};

struct an_isp_map {
	int			 n;
	char			*names[AN_ISP_MAX];
	struct an_isp_rule	*rules;
	size_t			 nrules;
};

void an_isp_map_init(struct an_isp_map *m);	/* built-in rules */
void an_isp_map_fini(struct an_isp_map *m);
/* Add rules from a file, ahead of earlier ones. 0, or -1 after printing
 * "file:line: message" to stderr. */
int an_isp_map_load(struct an_isp_map *m, const char *path);
/* Add one rule ahead of earlier ones; -1 if the pattern is invalid or the
 * ISP table is full. */
int an_isp_map_add(struct an_isp_map *m, const char *pat, const char *isp);
/* ISP of a lower-case domain; 0 ("Other") if none matches. */
int an_isp_lookup(const struct an_isp_map *m, const char *dom, size_t len);

#endif
