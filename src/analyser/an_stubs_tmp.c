#include "analyser/an_html.h"
#include "analyser/an_watch.h"
#include <stdio.h>
int an_html_write(const struct an_report *r, const char *path) { (void)r; (void)path; return -1; }
int an_watch_main(const struct an_opts *o, const struct an_isp_map *isps) { (void)o; (void)isps; return 2; }
