/*
 * tests/pepita/zram-data.h - page contents for the zram store's tests and
 * benchmark: the kinds a compressed page store sees.
 */
#ifndef TESTS_ZRAM_DATA_H
#define TESTS_ZRAM_DATA_H

#include <stdint.h>
#include <string.h>

#define ZD_PAGE 4096u

static inline uint64_t zd_rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Random bytes: LZ4 cannot shrink them, the store keeps them raw. */
static inline void zd_random(void *page, uint64_t seed)
{
	uint64_t *w = page, s = seed * 0x9e3779b97f4a7c15ull + 1;
	unsigned int i;

	for (i = 0; i < ZD_PAGE / 8; i++)
		w[i] = zd_rng(&s);
}

/*
 * About 2:1 under LZ4 (2.1 on average, 1.8 to 2.4 per page): at random,
 * either 4-15 fresh random bytes or a copy of 12-35 bytes from earlier in
 * the page, which LZ4 finds as a match.
 */
static inline void zd_half(void *page, uint64_t seed)
{
	unsigned char *p = page;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 7;
	unsigned int at = 0;

	while (at < ZD_PAGE) {
		uint64_t r = zd_rng(&s);
		int match = at >= 64 && (r & 1);
		unsigned int n = match ? 12 + (unsigned int)(r >> 8) % 24 :
				 4 + (unsigned int)(r >> 8) % 12;

		if (n > ZD_PAGE - at)
			n = ZD_PAGE - at;
		if (match) {
			/* Only bytes already written: the result depends
			   on the seed alone, not on what page held. */
			unsigned int from = (unsigned int)(r >> 40) % (at - n);

			memcpy(p + at, p + from, n);
		} else {
			unsigned int k;

			for (k = 0; k < n; k++)
				p[at + k] = (unsigned char)(zd_rng(&s) >> 56);
		}
		at += n;
	}
}

/* Every 64-bit word the same (zero when word is 0). */
static inline void zd_same(void *page, uint64_t word)
{
	uint64_t *w = page;
	unsigned int i;

	for (i = 0; i < ZD_PAGE / 8; i++)
		w[i] = word;
}

#endif /* TESTS_ZRAM_DATA_H */
