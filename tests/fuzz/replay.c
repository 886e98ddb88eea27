/*
 * Runs a libFuzzer target over corpus files without libFuzzer, so the
 * corpus is a regression test with any compiler (and under qemu-aarch64).
 * Usage: replay FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	unsigned char buf[1 << 16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int replay_dir(const char *dir, unsigned int *count)
{
	struct dirent *de;
	char path[4096];
	DIR *d = opendir(dir);

	if (!d) {
		if (replay_file(dir) < 0)
			return -1;
		++*count;
		return 0;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (replay_file(path) < 0) {
			closedir(d);
			return -1;
		}
		++*count;
	}
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int count = 0;

	for (int i = 1; i < argc; i++)
		if (replay_dir(argv[i], &count) < 0)
			return T_ERROR;
	if (count == 0) {
		fprintf(stderr, "no corpus files given\n");
		return T_ERROR;
	}
	fprintf(stderr, "replayed %u inputs\n", count);
	return T_PASS;
}
