/*
 * an_svg.h -- inline SVG charts for the HTML report (no scripts, no
 * network): horizontal stacked bars and a time-series line chart.
 * All text is XML-escaped. Colours are fixed so tests can find them.
 */
#ifndef SLUICE_AN_SVG_H
#define SLUICE_AN_SVG_H

#include <stddef.h>

#include "lib/sbuf.h"

#define AN_COL_DELIVERED	"#2e7d32"
#define AN_COL_DEFERRED		"#f9a825"
#define AN_COL_BOUNCED		"#c62828"
#define AN_COL_VOLUME		"#90a4ae"

extern const char *const an_svg_palette[4];	/* line series */

struct an_bar {
	const char	*label;
	double		 v[3];		/* stacked segments */
};

void an_xml_escape(struct sbuf *b, const char *s);
/* Horizontal stacked bars; colours[i] colours segment i; legend names. */
void an_svg_bars(struct sbuf *b, const char *title, const struct an_bar *bars,
    size_t n, int nseg, const char *const *colours,
    const char *const *names);

struct an_series {
	const char	*name;
	const double	*y;		/* NaN = gap */
};

/*
 * Time chart: grey volume bars (vol, left axis) and percentage lines
 * (right axis, 0..ymax%) over n buckets with x labels.
 */
void an_svg_timechart(struct sbuf *b, const char *title,
    const char *const *xlabels, size_t n, const double *vol,
    const struct an_series *s, size_t ns);

#endif
