/*
 * "Did you mean": the edit distance both tools and cohete.yaml's checker
 * use to name the word a person most likely meant.
 */
#include <stdint.h>
#include <string.h>

#include <pepita/core.h>

size_t pep_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[3][65], r;

	/* Names and keys are short; longer words are not worth suggesting. */
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	/* Three rows of the matrix: i - 2, i - 1, i (for transpositions). */
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *cur = d[i % 3], *up = d[(i - 1) % 3], *up2 = d[(i + 1) % 3];

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			r = up[j - 1] + (a[i - 1] != b[j - 1]);
			if (up[j] + 1 < r)
				r = up[j] + 1;
			if (cur[j - 1] + 1 < r)
				r = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && up2[j - 2] + 1 < r)
				r = up2[j - 2] + 1;
			cur[j] = r;
		}
	}
	return d[la % 3][lb];
}

const char *pep_closest_word(const char *word, const char *const *names,
			     size_t count)
{
	size_t best = 3, d;
	const char *found = NULL;

	for (size_t i = 0; i < count; i++) {
		if (!names[i])
			continue;
		d = pep_edit_distance(word, names[i]);
		if (d < best && d < strlen(word)) {
			best = d;
			found = names[i];
		}
	}
	return found;
}
