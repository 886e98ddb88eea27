/*
 * Tasks and results on the wire: what `pepita worker` receives and sends
 * back over a pepita transport connection. Little-endian, length-prefixed:
 *
 *   task:   u32 argc, argc x str; u32 envc (UINT32_MAX: inherit), envc x
 *           str; str cwd (length UINT32_MAX: none); bytes stdin;
 *           u32 timeout_ms; u64 max_output
 *   result: i32 error; str message; u8 exited, i32 exit_code, u8 signaled,
 *           i32 signal_no, u8 timed_out, u8 out_truncated, u8 err_truncated;
 *           bytes out; bytes err; u64 wall_ns, user_ns, sys_ns
 *   str/bytes: u32 length, then the bytes
 *
 * The decoder trusts nothing: every length is checked against what is
 * left, counts against the frame's size, and a string may hold no NUL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/task.h>

#define NONE UINT32_MAX

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int failed;
};

static void put(struct wbuf *b, const void *src, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		size_t cap = (b->len + n) * 2 + 64;
		uint8_t *np = realloc(b->p, cap);

		if (!np) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	put(b, x, 4);
}

static void put_u64(struct wbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_bytes(struct wbuf *b, const void *p, size_t n)
{
	if (n >= NONE) {
		b->failed = 1;
		return;
	}
	put_u32(b, (uint32_t)n);
	put(b, p, n);
}

static void put_str(struct wbuf *b, const char *s)
{
	if (!s)
		put_u32(b, NONE);
	else
		put_bytes(b, s, strlen(s));
}

static size_t count(const char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static int finish(struct wbuf *b, uint8_t **out, size_t *len, struct pep_err *err)
{
	if (b->failed) {
		free(b->p);
		return pep_err_set(err, -ENOMEM, "task wire: out of memory");
	}
	*out = b->p;
	*len = b->len;
	return 0;
}

int pep_task_encode(const struct pep_task *t, uint8_t **out, size_t *len,
		    struct pep_err *err)
{
	struct wbuf b = { 0 };
	size_t i, n;

	if (!t || t->kind != PEP_TASK_PROC || !t->argv || !t->argv[0])
		return pep_err_set(err, -EINVAL, "task wire: only program tasks "
				   "travel");
	n = count(t->argv);
	put_u32(&b, (uint32_t)n);
	for (i = 0; i < n; i++)
		put_str(&b, t->argv[i]);
	if (!t->proc.envp) {
		put_u32(&b, NONE);
	} else {
		n = count(t->proc.envp);
		put_u32(&b, (uint32_t)n);
		for (i = 0; i < n; i++)
			put_str(&b, t->proc.envp[i]);
	}
	put_str(&b, t->proc.cwd);
	put_bytes(&b, t->proc.stdin_data ? t->proc.stdin_data : "",
		  t->proc.stdin_data ? t->proc.stdin_len : 0);
	put_u32(&b, t->proc.timeout_ms);
	put_u64(&b, t->proc.max_output);
	return finish(&b, out, len, err);
}

int pep_result_encode(const struct pep_task_result *r, uint8_t **out,
		      size_t *len, struct pep_err *err)
{
	struct wbuf b = { 0 };
	uint8_t flags[2];

	put_u32(&b, (uint32_t)r->error);
	put_str(&b, r->message);
	flags[0] = (uint8_t)!!r->exited;
	put(&b, flags, 1);
	put_u32(&b, (uint32_t)r->exit_code);
	flags[0] = (uint8_t)!!r->signaled;
	put(&b, flags, 1);
	put_u32(&b, (uint32_t)r->signal_no);
	flags[0] = (uint8_t)!!r->timed_out;
	flags[1] = (uint8_t)!!r->out_truncated;
	put(&b, flags, 2);
	flags[0] = (uint8_t)!!r->err_truncated;
	put(&b, flags, 1);
	put_bytes(&b, r->out ? r->out : "", r->out ? r->out_len : 0);
	put_bytes(&b, r->err ? r->err : "", r->err ? r->err_len : 0);
	put_u64(&b, r->wall_ns);
	put_u64(&b, r->user_ns);
	put_u64(&b, r->sys_ns);
	return finish(&b, out, len, err);
}

/* Decoding. */

struct rbuf {
	const uint8_t *p;
	size_t left;
	const char *field;	/* what failed */
};

static int get(struct rbuf *b, void *dst, size_t n, const char *field)
{
	if (n > b->left) {
		b->field = field;
		return -1;
	}
	memcpy(dst, b->p, n);
	b->p += n;
	b->left -= n;
	return 0;
}

static int get_u32(struct rbuf *b, uint32_t *v, const char *field)
{
	uint8_t x[4];

	if (get(b, x, 4, field))
		return -1;
	*v = (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 |
	     (uint32_t)x[3] << 24;
	return 0;
}

static int get_u64(struct rbuf *b, uint64_t *v, const char *field)
{
	uint32_t lo, hi;

	if (get_u32(b, &lo, field) || get_u32(b, &hi, field))
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

static int get_u8(struct rbuf *b, int *v, const char *field)
{
	uint8_t x;

	if (get(b, &x, 1, field))
		return -1;
	*v = x;
	return 0;
}

/*
 * A malloc'd copy of the next string or bytes (NUL-terminated), *len its
 * length; *out NULL for NONE when none_ok. A string may not hold a NUL.
 */
static int get_blob(struct rbuf *b, char **out, size_t *len, int is_str,
		    int none_ok, const char *field)
{
	uint32_t n;

	*out = NULL;
	if (get_u32(b, &n, field))
		return -1;
	if (n == NONE && none_ok)
		return 0;
	if (n > b->left || (is_str && memchr(b->p, '\0', n))) {
		b->field = field;
		return -1;
	}
	*out = malloc((size_t)n + 1);
	if (!*out) {
		b->field = "memory";
		return -1;
	}
	memcpy(*out, b->p, n);
	(*out)[n] = '\0';
	b->p += n;
	b->left -= n;
	if (len)
		*len = n;
	return 0;
}

/* A NULL-terminated vector of count strings; each at least 4 bytes on the wire. */
static int get_vec(struct rbuf *b, char ***out, const char *field, int none_ok)
{
	uint32_t n, i;

	*out = NULL;
	if (get_u32(b, &n, field))
		return -1;
	if (n == NONE && none_ok)
		return 0;
	if (n > b->left / 4 || n == NONE) {
		b->field = field;
		return -1;
	}
	*out = calloc((size_t)n + 1, sizeof(**out));
	if (!*out) {
		b->field = "memory";
		return -1;
	}
	for (i = 0; i < n; i++)
		if (get_blob(b, &(*out)[i], NULL, 1, 0, field))
			return -1;
	return 0;
}

static void free_vec(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void pep_wire_task_free(struct pep_wire_task *w)
{
	if (!w)
		return;
	free_vec(w->argv);
	free_vec(w->envp);
	free(w->cwd);
	free(w->stdin_data);
	memset(w, 0, sizeof(*w));
}

static int decode_error(struct rbuf *b, const char *what, struct pep_err *err)
{
	return pep_err_set(err, b->field && !strcmp(b->field, "memory") ?
			   -ENOMEM : -EBADMSG, "%s: bad or truncated field %s",
			   what, b->field ? b->field : "?");
}

int pep_task_decode(const void *buf, size_t len, struct pep_wire_task *w,
		    struct pep_err *err)
{
	struct rbuf b = { buf, len, NULL };
	uint64_t max;

	memset(w, 0, sizeof(*w));
	if (get_vec(&b, &w->argv, "argv", 0) ||
	    get_vec(&b, &w->envp, "env", 1) ||
	    get_blob(&b, &w->cwd, NULL, 1, 1, "cwd") ||
	    get_blob(&b, &w->stdin_data, &w->stdin_len, 0, 0, "stdin") ||
	    get_u32(&b, &w->timeout_ms, "timeout_ms") ||
	    get_u64(&b, &max, "max_output")) {
		pep_wire_task_free(w);
		return decode_error(&b, "task", err);
	}
	if (!w->argv[0] || !w->argv[0][0] || b.left) {
		pep_wire_task_free(w);
		return pep_err_set(err, -EBADMSG, "task: %s", b.left ?
				   "bytes after the last field" : "empty argv");
	}
	w->max_output = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
	return 0;
}

/* Fill a program task from a decoded one (pointers into w). */
void pep_wire_task_to_task(const struct pep_wire_task *w, struct pep_task *t)
{
	memset(t, 0, sizeof(*t));
	t->kind = PEP_TASK_PROC;
	t->argv = (const char *const *)w->argv;
	t->proc.envp = (const char *const *)w->envp;
	t->proc.cwd = w->cwd;
	t->proc.stdin_data = w->stdin_len ? w->stdin_data : NULL;
	t->proc.stdin_len = w->stdin_len;
	t->proc.timeout_ms = w->timeout_ms;
	t->proc.max_output = w->max_output;
}

int pep_result_decode(const void *buf, size_t len, struct pep_task_result *r,
		      struct pep_err *err)
{
	struct rbuf b = { buf, len, NULL };
	uint32_t error, code, sig;
	char *msg = NULL;
	int ok;

	memset(r, 0, sizeof(*r));
	ok = !get_u32(&b, &error, "error") &&
	     !get_blob(&b, &msg, NULL, 1, 1, "message") &&
	     !get_u8(&b, &r->exited, "exited") &&
	     !get_u32(&b, &code, "exit_code") &&
	     !get_u8(&b, &r->signaled, "signaled") &&
	     !get_u32(&b, &sig, "signal_no") &&
	     !get_u8(&b, &r->timed_out, "timed_out") &&
	     !get_u8(&b, &r->out_truncated, "out_truncated") &&
	     !get_u8(&b, &r->err_truncated, "err_truncated") &&
	     !get_blob(&b, &r->out, &r->out_len, 0, 0, "stdout") &&
	     !get_blob(&b, &r->err, &r->err_len, 0, 0, "stderr") &&
	     !get_u64(&b, &r->wall_ns, "wall_ns") &&
	     !get_u64(&b, &r->user_ns, "user_ns") &&
	     !get_u64(&b, &r->sys_ns, "sys_ns");
	if (ok && b.left) {
		ok = 0;
		b.field = "end (bytes after the last field)";
	}
	if (!ok || (int32_t)error > 0) {
		free(msg);
		pep_task_result_free(r);
		if (ok)
			b.field = "error (positive)";
		return decode_error(&b, "result", err);
	}
	r->error = (int32_t)error;
	r->exit_code = (int32_t)code;
	r->signal_no = (int32_t)sig;
	snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
	free(msg);
	return 0;
}
