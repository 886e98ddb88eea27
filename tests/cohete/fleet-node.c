/*
 * fleet-node.c - the device's half of a deploy, without a network: the
 * receive protocol through pipes (a whole file, a cut transfer kept and
 * resumed, a file already there, a wrong digest dropped, names that
 * would leave the models directory refused), verify after another
 * program's copy, and the state document.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/fleet.h>
#include <pepita/core.h>

#include "harness.h"

#define SIZE	(3u << 20)

static char root[] = "/tmp/cohete-fleet-nodeXXXXXX";
static unsigned char *data;
static char digest[PEP_SHA256_HEX];

/* The device's side in a thread; the test plays the deployer. */
struct device {
	const char *name, *sha256;
	uint64_t size;
	int in, out;			/* its stdin and stdout */
	int rc;
	struct pep_err err;
	pthread_t t;
};

static void *device_main(void *arg)
{
	struct device *d = arg;

	d->rc = coh_fleet_node_receive(root, d->name, d->size, d->sha256,
				       d->in, d->out, &d->err);
	close(d->out);
	return NULL;
}

/* Start the device; *to is where the deployer writes, *from where it reads. */
static int start(struct device *d, int *to, int *from)
{
	int a[2], b[2];

	if (pipe(a) || pipe(b))
		return -1;
	d->in = a[0];
	*to = a[1];
	d->out = b[1];
	*from = b[0];
	return pthread_create(&d->t, NULL, device_main, d);
}

static void finish(struct device *d, int to, int from)
{
	if (to >= 0)
		close(to);
	pthread_join(d->t, NULL);
	close(d->in);
	close(from);
}

static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
		n++;
	buf[n] = '\0';
	return (int)n;
}

static int write_all(int fd, const void *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p = (const char *)p + n;
		len -= (size_t)n;
	}
	return 0;
}

static bool file_is(const char *rel, size_t size)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return stat(path, &st) == 0 && (size_t)st.st_size == size;
}

static int test_whole_then_have(void)
{
	struct device d = { .name = "m-Q4_K_M-0123456789abcdef.gguf", .sha256 = digest, .size = SIZE };
	char line[64];
	int to, from;

	CHECK(start(&d, &to, &from) == 0);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "offset 0"));
	CHECK(write_all(to, data, SIZE) == 0);
	close(to);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "ok 3145728"));
	finish(&d, -1, from);
	CHECK(d.rc == 0);
	CHECK(file_is(d.name, SIZE));
	CHECK(!file_is(".incoming/m-Q4_K_M-0123456789abcdef.gguf.part", 0));

	/* Again: the device has it, and reads nothing. */
	memset(&d.err, 0, sizeof(d.err));
	CHECK(start(&d, &to, &from) == 0);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "have 3145728"));
	finish(&d, to, from);
	CHECK(d.rc == 0);
	return T_PASS;
}

static int test_cut_and_resume(void)
{
	struct device d = { .name = "m-Q8_0-0123456789abcdef.gguf", .sha256 = digest, .size = SIZE };
	char line[64];
	int to, from;

	CHECK(start(&d, &to, &from) == 0);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "offset 0"));
	CHECK(write_all(to, data, SIZE / 3) == 0);
	finish(&d, to, from);		/* the connection is cut */
	CHECK(d.rc == -EPIPE);
	CHECK(strstr(d.err.msg, "cut at 1048576 of 3145728 bytes"));
	CHECK(file_is(".incoming/m-Q8_0-0123456789abcdef.gguf.part", SIZE / 3));
	CHECK(!file_is(d.name, SIZE));

	/* The next transfer starts where that one stopped. */
	CHECK(start(&d, &to, &from) == 0);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "offset 1048576"));
	CHECK(write_all(to, data + SIZE / 3, SIZE - SIZE / 3) == 0);
	close(to);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(!strcmp(line, "ok 3145728"));
	finish(&d, -1, from);
	CHECK(d.rc == 0);
	CHECK(file_is(d.name, SIZE));
	return T_PASS;
}

static int test_wrong_digest(void)
{
	char other[PEP_SHA256_HEX], line[64];
	struct device d = { .name = "m-Q2_K-0123456789abcdef.gguf", .sha256 = other, .size = SIZE };
	int to, from;

	memcpy(other, digest, sizeof(other));
	other[0] = other[0] == '0' ? '1' : '0';
	CHECK(start(&d, &to, &from) == 0);
	CHECK(read_line(from, line, sizeof(line)) > 0);
	CHECK(write_all(to, data, SIZE) == 0);
	finish(&d, to, from);
	CHECK(d.rc == -EILSEQ);
	CHECK(strstr(d.err.msg, digest) && strstr(d.err.msg, other));
	CHECK(!file_is(d.name, SIZE));
	CHECK(!file_is(".incoming/m-Q2_K-0123456789abcdef.gguf.part", SIZE));
	return T_PASS;
}

static int test_names_and_args(void)
{
	static const char *const bad[] = { "../x.gguf", "a/b.gguf", ".hidden", "..", "",
					   "x y.gguf", "x\n.gguf" };
	struct pep_err err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(coh_fleet_node_receive(root, bad[i], 1, digest, 0, 1, &err) == -EINVAL);
		CHECK(coh_fleet_node_verify(root, bad[i], digest, &err) == -EINVAL);
	}
	CHECK(coh_fleet_node_receive(root, "ok.gguf", 1, "ABC", 0, 1, &err) == -EINVAL);
	CHECK(strstr(err.msg, "--sha256"));
	return T_PASS;
}

/* A part some other program (rsync) wrote, checked and placed. */
static int test_verify(void)
{
	char path[512], other[PEP_SHA256_HEX];
	struct pep_err err;
	int fd;

	snprintf(path, sizeof(path), "%s/.incoming/r-Q5_K_M-0123456789abcdef.gguf.part", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write_all(fd, data, SIZE) == 0);
	close(fd);
	memcpy(other, digest, sizeof(other));
	other[63] = other[63] == 'a' ? 'b' : 'a';
	CHECK(coh_fleet_node_verify(root, "r-Q5_K_M-0123456789abcdef.gguf", other, &err) == -EILSEQ);
	CHECK(access(path, F_OK) != 0);	/* dropped */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write_all(fd, data, SIZE) == 0);
	close(fd);
	CHECK(coh_fleet_node_verify(root, "r-Q5_K_M-0123456789abcdef.gguf", digest, &err) == 0);
	CHECK(file_is("r-Q5_K_M-0123456789abcdef.gguf", SIZE));
	return T_PASS;
}

static int test_state(void)
{
	struct pep_err err;
	char *text = coh_fleet_node_state(root, NULL, &err);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL, *a;
	size_t i, n = 0;

	CHECK(doc);
	CHECK(!strcmp(json_string_value(json_object_get(doc, "schema")), "cohete.engine-state/1"));
	CHECK(json_integer_value(json_object_get(doc, "free_bytes")) > 0);
	json_array_foreach(json_object_get(doc, "artifacts"), i, a)
		n += json_integer_value(json_object_get(a, "size_bytes")) == SIZE;
	CHECK(n == 3);		/* Q4_K_M, Q8_0 and the verified Q5_K_M */
	CHECK(json_array_size(json_object_get(doc, "models")) == 0);
	json_decref(doc);
	free(text);
	CHECK(coh_fleet_node_state("/nonexistent/cohete", NULL, &err) == NULL);
	CHECK(strstr(err.msg, "/nonexistent/cohete"));
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;
	char cmd[600];

	if (!mkdtemp(root))
		return T_ERROR;
	data = malloc(SIZE);
	if (!data)
		return T_ERROR;
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	pep_sha256_hex(data, SIZE, digest);
	t_run("whole_then_have", test_whole_then_have, &rc);
	t_run("cut_and_resume", test_cut_and_resume, &rc);
	t_run("wrong_digest", test_wrong_digest, &rc);
	t_run("names_and_args", test_names_and_args, &rc);
	t_run("verify", test_verify, &rc);
	t_run("state", test_state, &rc);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		rc = rc ? rc : T_ERROR;
	free(data);
	return rc;
}
