/*
 * dns_order.c -- RFC 5321 §5.1 ordering of MX records and RFC 7505 null MX
 * detection.
 *
 * Invariants: the array is permuted in place, nothing is allocated; the
 * random source is injected so tests can make shuffling deterministic.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns_internal.h"

void
dns_order_mx(struct dns_mx *mx, size_t n, dns_rand_fn *rnd)
{
	/* Insertion sort: MX sets are small and this keeps it stable. */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx t = mx[i];
		size_t j = i;

		while (j > 0 && mx[j - 1].pref > t.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = t;
	}
	/* Fisher-Yates within each run of equal preference. */
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && mx[end].pref == mx[start].pref)
			end++;
		for (size_t k = end - start; k > 1; k--) {
			size_t r = start + rnd((uint32_t)k);
			struct dns_mx t = mx[start + k - 1];

			mx[start + k - 1] = mx[r];
			mx[r] = t;
		}
		start = end;
	}
}

int
dns_order_is_nullmx(const struct dns_mx *mx, size_t n)
{
	if (n != 1 || mx[0].pref != 0)
		return 0;
	return mx[0].name[0] == '\0' || strcmp(mx[0].name, ".") == 0;
}
