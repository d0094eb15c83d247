/*
 * an_svg.c -- SVG chart writers (see an_svg.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "analyser/an_svg.h"

const char *const an_svg_palette[4] = {
	"#1565c0", "#6a1b9a", "#00838f", "#ef6c00",
};

void
an_xml_escape(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': sbuf_puts(b, "&lt;"); break;
		case '>': sbuf_puts(b, "&gt;"); break;
		case '&': sbuf_puts(b, "&amp;"); break;
		case '"': sbuf_puts(b, "&quot;"); break;
		case '\r': case '\n': case '\t': sbuf_putc(b, ' '); break;
		default:
			if ((unsigned char)*s >= 0x20)
				sbuf_putc(b, *s);
		}
	}
}

static void
an_svg_legend(struct sbuf *b, int x, int y, int n, const char *const *colours,
    const char *const *names)
{
	for (int i = 0; i < n; i++) {
		sbuf_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
		    "fill=\"%s\"/><text x=\"%d\" y=\"%d\">", x, y, colours[i],
		    x + 16, y + 11);
		an_xml_escape(b, names[i]);
		sbuf_puts(b, "</text>");
		x += 24 + 8 * (int)strlen(names[i]);
	}
}

void
an_svg_bars(struct sbuf *b, const char *title, const struct an_bar *bars,
    size_t n, int nseg, const char *const *colours,
    const char *const *names)
{
	const int lw = 150, w = 760, bh = 22, top = 40;
	double max = 0;
	int h = top + (int)n * (bh + 6) + 10;

	for (size_t i = 0; i < n; i++) {
		double s = 0;
		for (int k = 0; k < nseg; k++)
			s += bars[i].v[k];
		max = s > max ? s : max;
	}
	sbuf_printf(b, "<figure><figcaption>");
	an_xml_escape(b, title);
	sbuf_printf(b, "</figcaption><svg class=\"chart\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", w, h, w, h);
	an_svg_legend(b, lw, 8, nseg, colours, names);
	for (size_t i = 0; i < n; i++) {
		int y = top + (int)i * (bh + 6);
		double x = lw;
		sbuf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
		    lw - 6, y + 15);
		an_xml_escape(b, bars[i].label);
		sbuf_puts(b, "</text>");
		for (int k = 0; k < nseg; k++) {
			double bw = max > 0 ? bars[i].v[k] / max * (w - lw - 90) : 0;
			if (bw <= 0)
				continue;
			sbuf_printf(b, "<rect class=\"s%d\" x=\"%.1f\" y=\"%d\" "
			    "width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%.0f"
			    "</title></rect>", k, x, y, bw < 1 ? 1 : bw, bh,
			    colours[k], bars[i].v[k]);
			x += bw;
		}
		sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\">%.0f</text>", x + 4,
		    y + 15, bars[i].v[0] + (nseg > 1 ? bars[i].v[1] : 0) +
		    (nseg > 2 ? bars[i].v[2] : 0));
	}
	sbuf_puts(b, "</svg></figure>\n");
}

/* Smallest 1, 2 or 5 x 10^k >= v. */
static double
an_nice_max(double v)
{
	double p;

	if (v <= 0)
		return 1;
	p = pow(10, floor(log10(v)));
	return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static void
an_svg_lines(struct sbuf *b, const struct an_series *s, size_t ns, size_t n,
    double x0, double dx, int y0, int ph, double ymax)
{
	for (size_t k = 0; k < ns; k++) {
		int pen = 0;
		sbuf_printf(b, "<path class=\"line%zu\" fill=\"none\" stroke=\"%s\" "
		    "stroke-width=\"3\" d=\"", k, an_svg_palette[k % 4]);
		for (size_t i = 0; i < n; i++) {
			double y = s[k].y[i];
			if (isnan(y)) {
				pen = 0;
				continue;
			}
			sbuf_printf(b, "%c%.1f %.1f ", pen ? 'L' : 'M',
			    x0 + dx * ((double)i + 0.5),
			    y0 + ph - (y > ymax ? ymax : y) / ymax * ph);
			pen = 1;
		}
		sbuf_puts(b, "\"/>");
	}
}

void
an_svg_timechart(struct sbuf *b, const char *title,
    const char *const *xlabels, size_t n, const double *vol,
    const struct an_series *s, size_t ns)
{
	const int w = 900, h = 330, l = 70, r = 60, t = 40, ph = 230;
	double vmax = 0, ymax = 0, dx = n ? (double)(w - l - r) / (double)n : 1;
	const char *names[4];
	size_t step = n > 12 ? (n + 11) / 12 : 1;

	for (size_t i = 0; i < n; i++) {
		vmax = vol[i] > vmax ? vol[i] : vmax;
		for (size_t k = 0; k < ns; k++)
			if (!isnan(s[k].y[i]) && s[k].y[i] > ymax)
				ymax = s[k].y[i];
	}
	vmax = an_nice_max(vmax);
	ymax = an_nice_max(ymax);
	sbuf_puts(b, "<figure><figcaption>");
	an_xml_escape(b, title);
	sbuf_printf(b, "</figcaption><svg class=\"chart\" width=\"%d\" "
	    "height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", w, h, w, h);
	for (size_t k = 0; k < ns && k < 4; k++)
		names[k] = s[k].name;
	an_svg_legend(b, l, 8, (int)(ns < 4 ? ns : 4), an_svg_palette, names);
	sbuf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	    "stroke=\"#555\"/>", l, t + ph, w - r, t + ph);
	for (int g = 0; g <= 4; g++) {
		int y = t + ph - g * ph / 4;
		sbuf_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		    "stroke=\"#ddd\"/><text x=\"%d\" y=\"%d\" text-anchor=\"end\">"
		    "%.0f</text><text x=\"%d\" y=\"%d\">%.1f%%</text>", l, y, w - r,
		    y, l - 4, y + 4, vmax * g / 4, w - r + 4, y + 4, ymax * g / 4);
	}
	for (size_t i = 0; i < n; i++) {
		double bh = vol[i] / vmax * ph;
		sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\" fill=\"%s\"/>", l + dx * (double)i + 1,
		    t + ph - bh, dx > 3 ? dx - 2 : dx, bh, AN_COL_VOLUME);
		if (i % step == 0) {
			sbuf_printf(b, "<text x=\"%.1f\" y=\"%d\" "
			    "text-anchor=\"middle\">", l + dx * ((double)i + 0.5),
			    t + ph + 18);
			an_xml_escape(b, xlabels[i]);
			sbuf_puts(b, "</text>");
		}
	}
	an_svg_lines(b, s, ns, n, l, dx, t, ph, ymax);
	sbuf_printf(b, "<text x=\"%d\" y=\"%d\">attempts per bucket (bars, left)"
	    "; deferral rate (lines, right)</text>", l, h - 8);
	sbuf_puts(b, "</svg></figure>\n");
}
