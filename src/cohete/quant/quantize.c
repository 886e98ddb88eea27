/*
 * quantize.c - a GGUF file quantized as llama-quantize quantizes it.
 *
 * Two passes over the tensors in llama-quantize's order: the first
 * decides every tensor's type (policy.c) and writes the infos, the second
 * streams the data. The data goes in steps of a slab (about SLAB_ELEMS
 * values of one tensor, or SLAB_BYTES of one copied as it is): a slab's
 * rows are widened to f32 a row at a time and quantized on a pepita
 * scheduler, in chunks that share nothing, so the bytes do not depend on
 * the thread count. With threads, step k also reads slab k + 1 and writes
 * slab k - 1 while the chunks of slab k run (two buffers each way), so
 * the disk and the page cache copies hide behind the arithmetic.
 *
 * Input data is read with pread into those buffers rather than through
 * the parser's mapping: faulting in page-cache pages costs more than
 * copying them (4x here), and memory stays at a few slabs whatever the
 * model's size.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pepita/sched.h>
#include <pepita/simd.h>

#include <cohete/quant.h>

/* Values per slab of a converted tensor; bytes per slab of a copied one. */
#define SLAB_ELEMS	(4u << 20)
#define SLAB_BYTES	(16u << 20)
/* Rows per task: llama-quantize's chunk of >= 16384 elements. */
#define CHUNK_ELEMS	16384

struct plan {
	const struct coh_gguf_tensor *in;
	uint32_t type;			/* output type */
	bool convert;
	uint64_t out_bytes;
};

/* ---- row conversion ----------------------------------------------------- */

static int widen_row(uint32_t type, const void *src, float *dst, size_t n)
{
	switch (type) {
	case COH_GGML_F32:
		memcpy(dst, src, n * sizeof(float));
		return 0;
	case COH_GGML_F16:
		pep_vf16_to_f32(dst, src, n);
		return 0;
	case COH_GGML_BF16:
		pep_vbf16_to_f32(dst, src, n);
		return 0;
	default:
		return -EINVAL;
	}
}

/* One step's worth of one tensor: rows [first, first + rows) or bytes. */
struct slab {
	size_t tensor;
	uint64_t in_off, in_len;	/* in the tensor's input data */
	size_t rows;			/* converted slabs; 0 when copied */
	uint64_t out_len;
	bool last;			/* of its tensor */
};

struct chunk {
	const struct plan *p;
	const uint8_t *src;
	uint8_t *dst;
	float *x;			/* a row's worth, this chunk's own */
	size_t first, count, n, row_in, row_out;
	bool measure;
	double sq, max_abs;
	int rc;
};

/* Error of the quantized row against the input, in double; y: n floats. */
static int measure_row(uint32_t type, const void *q, const float *x,
		       float *y, size_t n, double *sq, double *max_abs)
{
	int rc = coh_dequantize_row((enum coh_ggml_type)type, q, y, n);

	for (size_t i = 0; i < n && !rc; i++) {
		double d = fabs((double)y[i] - (double)x[i]);

		*sq += d * d;
		if (d > *max_abs)
			*max_abs = d;
	}
	return rc;
}

static void chunk_run(void *arg)
{
	struct chunk *c = arg;
	/* One dequantization buffer for the chunk's rows, not one a row. */
	float *y = c->measure ? malloc(c->n * sizeof(float)) : NULL;
	enum coh_ggml_type to = (enum coh_ggml_type)c->p->type;

	if (c->measure && !y)
		c->rc = -ENOMEM;
	for (size_t r = c->first; r < c->first + c->count && !c->rc; r++) {
		uint8_t *q = c->dst + r * c->row_out;

		c->rc = widen_row(c->p->in->type, c->src + r * c->row_in, c->x,
				  c->n);
		if (!c->rc)
			c->rc = coh_quantize_row(to, c->x, q, c->n);
		if (!c->rc && coh_quant_row_finite(to, q, c->n) != 1)
			c->rc = -ERANGE;
		if (!c->rc && c->measure)
			c->rc = measure_row(to, q, c->x, y, c->n, &c->sq,
					    &c->max_abs);
	}
	free(y);
}

/* ---- the pipeline -------------------------------------------------------- */

struct run {
	const struct coh_quantize_opts *o;
	struct coh_gguf *g;
	struct coh_gguf_writer *w;
	struct plan *plan;
	size_t n;
	struct pep_sched *sched;	/* NULL: the calling thread alone */
	enum { SCHED_NONE, SCHED_OWN, SCHED_DEFAULT } sched_from;
	int fd;				/* the input, for pread */
	uint64_t data_off;		/* of its data section */

	struct slab *slabs;
	size_t n_slabs;
	uint8_t *in[2], *out[2];	/* slab k uses [k % 2] */
	size_t in_cap, out_cap;
	float *rows;			/* chunk rows: max_chunks x max_n */
	struct chunk *chunks;
	size_t max_chunks, max_n;
	double *sq, *max_abs;		/* per tensor, with measure */
	uint64_t done, total;
};

struct io {
	struct run *r;
	const struct slab *s;
	uint8_t *buf;
	int rc;
};

static void read_slab(void *arg)
{
	struct io *io = arg;
	const struct coh_gguf_tensor *t = io->r->plan[io->s->tensor].in;
	uint64_t off = io->r->data_off + t->offset + io->s->in_off;
	size_t got = 0;

	while (got < io->s->in_len) {
		ssize_t k = pread(io->r->fd, io->buf + got, io->s->in_len - got,
				  (off_t)(off + got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* the parser saw these bytes: the file shrank since */
			io->rc = k < 0 ? -errno : -ENODATA;
			return;
		}
		got += (size_t)k;
	}
}

static void write_slab(void *arg)
{
	struct io *io = arg;

	io->rc = coh_gguf_writer_write_tensor_data(io->r->w, io->s->tensor,
						   io->buf, io->s->out_len);
}

/* What step k does besides its own slab's chunks. */
struct step {
	struct run *r;
	size_t k;
	struct chunk *chunks;
	size_t n_chunks;
	struct io rd, wr;		/* slab k + 1, slab k - 1 */
};

static void step_root(void *arg)
{
	struct step *st = arg;
	struct pep_group g = PEP_GROUP_INIT;

	if (st->wr.s && pep_spawn(&g, write_slab, &st->wr) != 0)
		write_slab(&st->wr);
	if (st->rd.s && pep_spawn(&g, read_slab, &st->rd) != 0)
		read_slab(&st->rd);
	for (size_t i = 1; i < st->n_chunks; i++)
		if (pep_spawn(&g, chunk_run, &st->chunks[i]) != 0)
			chunk_run(&st->chunks[i]);
	if (st->n_chunks)
		chunk_run(&st->chunks[0]);
	pep_sync(&g);
}

/* Slab k's chunks (its input in in[k % 2], output to out[k % 2]). */
static size_t make_chunks(struct run *r, size_t k, struct chunk *chunks)
{
	const struct slab *s = &r->slabs[k];
	const struct plan *p = &r->plan[s->tensor];
	size_t n = p->in->ne[0];
	size_t per = CHUNK_ELEMS / n ? CHUNK_ELEMS / n : 1;
	size_t count = (s->rows + per - 1) / per;

	for (size_t i = 0; i < count; i++) {
		size_t first = i * per;

		chunks[i] = (struct chunk){
			.p = p, .src = r->in[k % 2], .dst = r->out[k % 2],
			.x = r->rows + i * r->max_n, .first = first,
			.count = s->rows - first < per ? s->rows - first : per,
			.n = n, .measure = r->o->measure,
			.row_in = coh_quant_row_bytes((enum coh_ggml_type)p->in->type, n),
			.row_out = coh_quant_row_bytes((enum coh_ggml_type)p->type, n),
		};
	}
	return count;
}

static int slab_error(struct run *r, const struct slab *s, int rc,
		      const char *what, struct pep_err *err)
{
	const struct plan *p = &r->plan[s->tensor];

	if (rc == -ERANGE)
		return pep_err_set(err, -ERANGE, "tensor %s: a row's scale "
				   "overflows fp16 (as llama-quantize, "
				   "refused)", p->in->name);
	if (!strcmp(what, "write"))
		return pep_err_set(err, rc, "%s", coh_gguf_writer_error(r->w));
	if (!strcmp(what, "read"))
		return pep_err_set(err, rc, "tensor %s: reading the input: %s",
				   p->in->name, rc == -ENODATA ?
				   "the file is shorter than it was" :
				   strerror(-rc));
	return pep_err_set(err, rc, "tensor %s: cannot convert to %s",
			   p->in->name, coh_ggml_type_name(p->type));
}

static void progress(struct run *r, size_t i)
{
	struct coh_quantize_progress p = {
		.tensor = i, .n_tensors = r->n, .name = r->plan[i].in->name,
		.done_bytes = r->done, .total_bytes = r->total,
	};

	if (r->o->progress)
		r->o->progress(&p, r->o->arg);
}

static void report(struct run *r, size_t i)
{
	const struct plan *p = &r->plan[i];
	uint64_t n = p->in->ne[0] * p->in->ne[1] * p->in->ne[2] * p->in->ne[3];
	struct coh_quantize_tensor_report rep = {
		.name = p->in->name, .from_type = p->in->type, .to_type = p->type,
		.from_bytes = p->in->nbytes, .to_bytes = p->out_bytes,
		.converted = p->convert,
		.rmse = p->convert && n ? sqrt(r->sq[i] / (double)n) : 0.0,
		.max_abs = p->convert ? r->max_abs[i] : 0.0,
	};

	if (r->o->tensor_done)
		r->o->tensor_done(&rep, r->o->arg);
}

/* Slab k's own work: its chunks, or the copy of a tensor kept as it is. */
static int step_run(struct run *r, struct step *st, struct pep_err *err)
{
	const struct slab *s = &r->slabs[st->k];
	int rc = 0;

	st->n_chunks = s->rows ? make_chunks(r, st->k, st->chunks) : 0;
	if (!s->rows)
		memcpy(r->out[st->k % 2], r->in[st->k % 2], s->in_len);
	if (r->sched)
		pep_sched_run(r->sched, step_root, st);
	else
		step_root(st);
	for (size_t i = 0; i < st->n_chunks; i++) {
		if (st->chunks[i].rc && !rc)
			rc = slab_error(r, s, st->chunks[i].rc, "convert", err);
		r->sq[s->tensor] += st->chunks[i].sq;
		if (st->chunks[i].max_abs > r->max_abs[s->tensor])
			r->max_abs[s->tensor] = st->chunks[i].max_abs;
	}
	return rc;
}

/*
 * Every slab in file order. With threads, step k overlaps slab k's
 * chunks with reading k + 1 and writing k - 1; without, each step reads,
 * converts and writes its own slab.
 */
static int stream_slabs(struct run *r, struct pep_err *err)
{
	bool overlap = r->sched != NULL;
	struct io first = { .r = r, .s = &r->slabs[0], .buf = r->in[0] };
	int rc = 0;

	if (overlap && r->n_slabs) {
		read_slab(&first);
		if (first.rc)
			return slab_error(r, first.s, first.rc, "read", err);
	}
	for (size_t k = 0; k <= r->n_slabs && !rc; k++) {
		struct step st = { .r = r, .k = k, .chunks = r->chunks };
		const struct slab *s = k < r->n_slabs ? &r->slabs[k] : NULL;

		if (overlap && k + 1 < r->n_slabs)
			st.rd = (struct io){ r, &r->slabs[k + 1],
					     r->in[(k + 1) % 2], 0 };
		if (overlap && k >= 1)
			st.wr = (struct io){ r, &r->slabs[k - 1],
					     r->out[(k - 1) % 2], 0 };
		if (!overlap && s) {
			st.rd = (struct io){ r, s, r->in[k % 2], 0 };
			read_slab(&st.rd);
			if (st.rd.rc)
				return slab_error(r, s, st.rd.rc, "read", err);
			st.rd.s = NULL;
		}
		if (s) {
			rc = step_run(r, &st, err);
		} else if (st.wr.s) {
			write_slab(&st.wr);
		}
		if (!rc && st.rd.s && st.rd.rc)
			rc = slab_error(r, st.rd.s, st.rd.rc, "read", err);
		if (!rc && st.wr.s && st.wr.rc)
			rc = slab_error(r, st.wr.s, st.wr.rc, "write", err);
		if (!rc && !overlap && s) {
			st.wr = (struct io){ r, s, r->out[k % 2], 0 };
			write_slab(&st.wr);
			if (st.wr.rc)
				rc = slab_error(r, s, st.wr.rc, "write", err);
		}
		if (!rc && s) {
			r->done += s->in_len;
			progress(r, s->tensor);
			if (s->last)
				report(r, s->tensor);
		}
	}
	return rc;
}

/* ---- the file ------------------------------------------------------------- */

static bool split_key(const char *key)
{
	return strcmp(key, "split.no") == 0 || strcmp(key, "split.count") == 0 ||
	       strcmp(key, "split.tensors.count") == 0;
}

/* Every key as it is, split keys dropped, then the two llama-quantize sets. */
static int copy_metadata(struct run *r, struct pep_err *err)
{
	size_t n = coh_gguf_kv_count(r->g);
	int rc;

	for (size_t i = 0; i < n; i++) {
		const struct coh_gguf_kv *kv = coh_gguf_kv_at(r->g, i);

		if (split_key(kv->key))
			continue;
		rc = coh_gguf_writer_copy_kv(r->w, r->g, i);
		if (rc)
			return pep_err_set(err, rc, "metadata %s: %s", kv->key,
					   coh_gguf_writer_error(r->w));
	}
	rc = coh_gguf_writer_set_u32(r->w, "general.quantization_version", 2);
	if (!rc)
		rc = coh_gguf_writer_set_u32(r->w, "general.file_type",
					     (uint32_t)r->o->ftype);
	return rc ? pep_err_set(err, rc, "metadata: %s",
				coh_gguf_writer_error(r->w)) : 0;
}

static int by_name(const void *a, const void *b)
{
	return coh_quant_tensor_cmp(((const struct plan *)a)->in->name,
				    ((const struct plan *)b)->in->name);
}

static int plan_one(struct run *r, const struct coh_model_shape *shape,
		    struct coh_quant_walk *walk, struct plan *p,
		    struct pep_err *err)
{
	const struct coh_gguf_tensor *t = p->in;
	uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];

	p->type = t->type;
	if (coh_quant_wants(t->name, t->n_dims))
		p->type = coh_quant_tensor_type(&shape->m, walk, r->o->ftype,
						t->name, t->ne[0]);
	if (p->type == COH_GGML_TYPE_MAX)
		return pep_err_set(err, -EINVAL, "tensor %s: rows of %llu "
				   "elements do not divide into blocks of 32",
				   t->name, (unsigned long long)t->ne[0]);
	p->convert = p->type != t->type;
	if (p->convert && t->type != COH_GGML_F32 && t->type != COH_GGML_F16 &&
	    t->type != COH_GGML_BF16)
		return pep_err_set(err, -EINVAL, "tensor %s: requantizing from "
				   "%s is not supported (the input must be "
				   "F32, F16 or BF16)", t->name,
				   coh_ggml_type_name(t->type));
	if (p->convert && !coh_quant_row_bytes((enum coh_ggml_type)p->type, 1 *
					       t->ne[0]))
		return pep_err_set(err, -EINVAL, "tensor %s: type %s cannot be "
				   "written", t->name,
				   coh_ggml_type_name(p->type));
	p->out_bytes = p->convert ?
		coh_quant_row_bytes((enum coh_ggml_type)p->type, t->ne[0]) * rows :
		t->nbytes;
	return 0;
}

static int make_plan(struct run *r, struct pep_err *err)
{
	struct coh_model_shape shape;
	struct coh_quant_tensor *tensors;
	struct coh_quant_walk walk = { 0 };
	int rc = coh_model_shape_from_gguf(r->g, &shape, &tensors, err);

	if (rc)
		return rc;
	free(tensors);
	r->n = coh_gguf_tensor_count(r->g);
	r->plan = calloc(r->n ? r->n : 1, sizeof(*r->plan));
	if (!r->plan)
		return pep_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < r->n; i++)
		r->plan[i].in = coh_gguf_tensor_at(r->g, i);
	qsort(r->plan, r->n, sizeof(*r->plan), by_name);
	for (size_t i = 0; i < r->n && !rc; i++) {
		const struct coh_gguf_tensor *t = r->plan[i].in;

		rc = plan_one(r, &shape, &walk, &r->plan[i], err);
		if (!rc && coh_gguf_writer_add_tensor(r->w, t->name, t->n_dims,
						      t->ne, r->plan[i].type) < 0)
			rc = pep_err_set(err, -EINVAL, "tensor %s: %s", t->name,
					 coh_gguf_writer_error(r->w));
		r->total += t->nbytes;
	}
	return rc;
}

/* The slabs of tensor i, appended to r->slabs (sized by the caller). */
static void add_slabs(struct run *r, size_t i)
{
	const struct plan *p = &r->plan[i];
	const struct coh_gguf_tensor *t = p->in;
	uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
	uint64_t row_in = rows ? t->nbytes / rows : 0;
	uint64_t per = p->convert ?
		(SLAB_ELEMS / t->ne[0] ? SLAB_ELEMS / t->ne[0] : 1) : 0;
	uint64_t step = p->convert ? per * row_in : SLAB_BYTES;
	uint64_t off = 0;

	do {
		uint64_t len = t->nbytes - off < step ? t->nbytes - off : step;
		struct slab *s = &r->slabs[r->n_slabs++];

		*s = (struct slab){ .tensor = i, .in_off = off, .in_len = len };
		if (p->convert && row_in) {
			s->rows = (size_t)(len / row_in);
			s->out_len = s->rows *
				coh_quant_row_bytes((enum coh_ggml_type)p->type,
						    t->ne[0]);
		} else {
			s->out_len = len;
		}
		off += len;
		s->last = off == t->nbytes;
	} while (off < t->nbytes);
}

static uint64_t slab_count(const struct plan *p)
{
	const struct coh_gguf_tensor *t = p->in;
	uint64_t per, rows = t->ne[1] * t->ne[2] * t->ne[3];

	if (!p->convert)
		return t->nbytes ? (t->nbytes + SLAB_BYTES - 1) / SLAB_BYTES : 1;
	per = SLAB_ELEMS / t->ne[0] ? SLAB_ELEMS / t->ne[0] : 1;
	return rows ? (rows + per - 1) / per : 1;
}

/* Every slab, and buffers for the largest. */
static int plan_slabs(struct run *r, struct pep_err *err)
{
	uint64_t count = 0;

	for (size_t i = 0; i < r->n; i++) {
		count += slab_count(&r->plan[i]);
		if (r->plan[i].convert && r->plan[i].in->ne[0] > r->max_n)
			r->max_n = r->plan[i].in->ne[0];
	}
	r->slabs = calloc(count ? count : 1, sizeof(*r->slabs));
	r->sq = calloc(r->n ? r->n : 1, sizeof(*r->sq));
	r->max_abs = calloc(r->n ? r->n : 1, sizeof(*r->max_abs));
	if (!r->slabs || !r->sq || !r->max_abs)
		return pep_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < r->n; i++)
		add_slabs(r, i);
	for (size_t k = 0; k < r->n_slabs; k++) {
		const struct slab *s = &r->slabs[k];

		if (s->in_len > r->in_cap)
			r->in_cap = s->in_len;
		if (s->out_len > r->out_cap)
			r->out_cap = s->out_len;
		if (s->rows) {
			size_t n = r->plan[s->tensor].in->ne[0];
			size_t per_n = CHUNK_ELEMS / n ? CHUNK_ELEMS / n : 1;
			size_t chunks = (s->rows + per_n - 1) / per_n;

			if (chunks > r->max_chunks)
				r->max_chunks = chunks;
		}
	}
	for (int b = 0; b < 2; b++) {
		r->in[b] = malloc(r->in_cap ? r->in_cap : 1);
		r->out[b] = malloc(r->out_cap ? r->out_cap : 1);
		if (!r->in[b] || !r->out[b])
			return pep_err_set(err, -ENOMEM, "out of memory");
	}
	r->rows = malloc((r->max_chunks ? r->max_chunks : 1) *
			 (r->max_n ? r->max_n : 1) * sizeof(float));
	r->chunks = calloc(r->max_chunks ? r->max_chunks : 1,
			   sizeof(*r->chunks));
	if (!r->rows || !r->chunks)
		return pep_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int open_input(struct run *r, const char *path, struct pep_err *err)
{
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0)
		return pep_err_errno(err, "open %s", path);
	r->data_off = coh_gguf_data_offset(r->g);
	return 0;
}

/*
 * out naming the input itself (the same path, a hard link, a symlink to
 * it) would replace the model being quantized: refused unless asked for.
 * When asked, it is safe: the input is read through its own descriptor
 * and mapping, which keep the old file alive, and the output replaces the
 * name only once it is whole.
 */
static int check_not_input(struct run *r, const char *in, const char *out,
			   struct pep_err *err)
{
	struct stat a, b;

	if (fstat(r->fd, &a) < 0)
		return pep_err_errno(err, "stat %s", in);
	if (stat(out, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	if (r->o->replace_input)
		return 0;
	return pep_err_set(err, -EEXIST, "output %s is the input %s (the same "
			   "file): refusing to replace the input", out, in);
}

static void stop_threads(struct run *r)
{
	if (r->sched_from == SCHED_OWN)
		pep_sched_destroy(r->sched);
	else if (r->sched_from == SCHED_DEFAULT)
		pep_sched_default_release(r->sched);
	r->sched = NULL;
	r->sched_from = SCHED_NONE;
}

/*
 * The scheduler coh_quantize_opts.threads names. One of a single worker
 * (the default on a one-CPU machine) would only add hand-offs: the
 * calling thread runs alone then.
 */
static int start_threads(struct run *r, struct pep_err *err)
{
	struct pep_sched_opts so = { .workers = r->o->threads };

	if (r->o->threads == 1)
		return 0;
	if (r->o->threads > 1) {
		if (pep_sched_create(&r->sched, &so, err) != 0)
			return pep_err_set(err, -ENOMEM, "cannot start %u "
					   "threads", r->o->threads);
		r->sched_from = SCHED_OWN;
		return 0;
	}
	if (r->o->sched) {
		r->sched = r->o->sched;
	} else {
		r->sched = pep_sched_default_hold();
		r->sched_from = SCHED_DEFAULT;
	}
	if (r->sched && pep_sched_workers(r->sched) < 2)
		stop_threads(r);
	return 0;
}

static void run_free(struct run *r)
{
	stop_threads(r);
	coh_gguf_writer_abort(r->w);
	coh_gguf_close(r->g);
	if (r->fd >= 0)
		close(r->fd);
	free(r->plan);
	free(r->slabs);
	for (int b = 0; b < 2; b++) {
		free(r->in[b]);
		free(r->out[b]);
	}
	free(r->rows);
	free(r->chunks);
	free(r->sq);
	free(r->max_abs);
}

int coh_quantize_file(const char *in, const char *out,
		      const struct coh_quantize_opts *o, struct pep_err *err)
{
	struct run r = { .o = o, .fd = -1 };
	int rc;

	if (!coh_ftype_name(o->ftype))
		return pep_err_set(err, -EINVAL, "unknown file type %d",
				   (int)o->ftype);
	rc = coh_gguf_open(in, &r.g, err);
	if (!rc)
		rc = open_input(&r, in, err);
	if (!rc)
		rc = check_not_input(&r, in, out, err);
	if (!rc)
		rc = coh_gguf_writer_create(&r.w, out, err);
	if (!rc)
		rc = copy_metadata(&r, err);
	if (!rc)
		rc = make_plan(&r, err);
	if (!rc)
		rc = plan_slabs(&r, err);
	if (!rc)
		rc = start_threads(&r, err);
	if (!rc)
		rc = stream_slabs(&r, err);
	if (!rc) {
		rc = coh_gguf_writer_finish(r.w, err);
		r.w = NULL;	/* freed, on success and failure */
	}
	run_free(&r);
	return rc;
}
