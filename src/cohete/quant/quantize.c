/*
 * quantize.c - a GGUF file quantized as llama-quantize quantizes it.
 *
 * Two passes over the tensors in llama-quantize's order: the first
 * decides every tensor's type (policy.c) and writes the infos, the second
 * converts and streams the data. A tensor is converted a slab of rows at
 * a time: the slab's rows are widened to f32 and quantized on a pepita
 * scheduler, in chunks that share nothing, so the bytes do not depend on
 * the thread count; then the slab is written. Memory stays at one slab
 * of f32 and one of output whatever the model's size.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/sched.h>
#include <pepita/simd.h>

#include <cohete/quant.h>

/* Rows per slab: about this many input elements. */
#define SLAB_ELEMS	(4u << 20)
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

struct slab {
	const struct plan *p;
	const uint8_t *src;		/* first row of the slab */
	uint8_t *dst;
	float *f32;			/* the slab widened */
	size_t rows, row_in, row_out, n;
	bool measure;
	double sq, max_abs;		/* per chunk, folded after */
	int rc;
};

struct chunk {
	struct slab *s;
	size_t first, count;
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
	struct slab *s = c->s;
	/* One dequantization buffer for the chunk's rows, not one a row. */
	float *y = s->measure ? malloc(s->n * sizeof(float)) : NULL;

	if (s->measure && !y)
		c->rc = -ENOMEM;
	for (size_t r = c->first; r < c->first + c->count && !c->rc; r++) {
		float *x = s->f32 + r * s->n;
		uint8_t *q = s->dst + r * s->row_out;

		c->rc = widen_row(s->p->in->type, s->src + r * s->row_in, x, s->n);
		if (!c->rc)
			c->rc = coh_quantize_row((enum coh_ggml_type)s->p->type,
						 x, q, s->n);
		if (!c->rc && coh_quant_row_finite((enum coh_ggml_type)s->p->type,
						   q, s->n) != 1)
			c->rc = -ERANGE;
		if (!c->rc && s->measure)
			c->rc = measure_row(s->p->type, q, x, y, s->n, &c->sq,
					    &c->max_abs);
	}
	free(y);
}

struct slab_job {
	struct slab *s;
	struct chunk *chunks;
	size_t n_chunks;
};

static void slab_root(void *arg)
{
	struct slab_job *j = arg;
	struct pep_group g = PEP_GROUP_INIT;

	for (size_t i = 1; i < j->n_chunks; i++)
		if (pep_spawn(&g, chunk_run, &j->chunks[i]) != 0)
			chunk_run(&j->chunks[i]);
	if (j->n_chunks)
		chunk_run(&j->chunks[0]);
	pep_sync(&g);
}

/* Convert the slab's rows, in chunks over the scheduler (or here). */
static int slab_convert(struct slab *s, struct pep_sched *sched)
{
	size_t per = CHUNK_ELEMS / s->n ? CHUNK_ELEMS / s->n : 1;
	struct slab_job j = { .s = s };
	int rc = 0;

	j.n_chunks = (s->rows + per - 1) / per;
	j.chunks = calloc(j.n_chunks ? j.n_chunks : 1, sizeof(*j.chunks));
	if (!j.chunks)
		return -ENOMEM;
	for (size_t i = 0; i < j.n_chunks; i++) {
		size_t first = i * per;

		j.chunks[i] = (struct chunk){
			.s = s, .first = first,
			.count = s->rows - first < per ? s->rows - first : per,
		};
	}
	if (sched)
		pep_sched_run(sched, slab_root, &j);
	else
		slab_root(&j);
	for (size_t i = 0; i < j.n_chunks; i++) {
		if (j.chunks[i].rc && !rc)
			rc = j.chunks[i].rc;
		s->sq += j.chunks[i].sq;
		if (j.chunks[i].max_abs > s->max_abs)
			s->max_abs = j.chunks[i].max_abs;
	}
	free(j.chunks);
	return rc;
}

/* ---- the file ------------------------------------------------------------- */

struct run {
	const struct coh_quantize_opts *o;
	struct coh_gguf *g;
	struct coh_gguf_writer *w;
	struct plan *plan;
	size_t n;
	struct pep_sched *sched;
	float *f32;
	uint8_t *out;
	size_t f32_cap, out_cap;
	uint64_t done, total;
};

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

static int grow(void **buf, size_t *cap, size_t bytes)
{
	void *p;

	if (*cap >= bytes)
		return 0;
	p = realloc(*buf, bytes);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = bytes;
	return 0;
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

static int write_converted(struct run *r, size_t i, struct slab *s,
			   struct pep_err *err)
{
	const struct plan *p = &r->plan[i];
	uint64_t rows = p->in->nbytes / s->row_in;
	size_t slab_rows = SLAB_ELEMS / s->n ? SLAB_ELEMS / s->n : 1;
	int rc;

	if (grow((void **)&r->f32, &r->f32_cap, slab_rows * s->n * 4) ||
	    grow((void **)&r->out, &r->out_cap, slab_rows * s->row_out))
		return pep_err_set(err, -ENOMEM, "out of memory");
	for (uint64_t row = 0; row < rows; row += s->rows) {
		s->rows = rows - row < slab_rows ? rows - row : slab_rows;
		s->src = (const uint8_t *)p->in->data + row * s->row_in;
		s->dst = r->out;
		s->f32 = r->f32;
		rc = slab_convert(s, r->sched);
		if (rc == -ERANGE)
			return pep_err_set(err, -ERANGE, "tensor %s: a row's "
					   "scale overflows fp16 (as "
					   "llama-quantize, refused)",
					   p->in->name);
		if (rc)
			return pep_err_set(err, rc, "tensor %s: cannot convert "
					   "to %s", p->in->name,
					   coh_ggml_type_name(p->type));
		rc = coh_gguf_writer_write_tensor_data(r->w, i, r->out,
						       s->rows * s->row_out);
		if (rc)
			return pep_err_set(err, rc, "%s",
					   coh_gguf_writer_error(r->w));
		r->done += s->rows * s->row_in;
		progress(r, i);
	}
	return 0;
}

static void report(struct run *r, size_t i, const struct slab *s)
{
	const struct plan *p = &r->plan[i];
	uint64_t n = p->in->ne[0] * p->in->ne[1] * p->in->ne[2] * p->in->ne[3];
	struct coh_quantize_tensor_report rep = {
		.name = p->in->name, .from_type = p->in->type, .to_type = p->type,
		.from_bytes = p->in->nbytes, .to_bytes = p->out_bytes,
		.converted = p->convert,
		.rmse = s && n ? sqrt(s->sq / (double)n) : 0.0,
		.max_abs = s ? s->max_abs : 0.0,
	};

	if (r->o->tensor_done)
		r->o->tensor_done(&rep, r->o->arg);
}

static int write_tensor(struct run *r, size_t i, struct pep_err *err)
{
	const struct plan *p = &r->plan[i];
	struct slab s = {
		.p = p, .n = p->in->ne[0], .measure = r->o->measure,
	};
	int rc;

	if (!p->convert) {
		rc = coh_gguf_writer_write_tensor_data(r->w, i, p->in->data,
						       p->in->nbytes);
		if (rc)
			return pep_err_set(err, rc, "%s",
					   coh_gguf_writer_error(r->w));
		r->done += p->in->nbytes;
		progress(r, i);
		report(r, i, NULL);
		return 0;
	}
	s.row_in = coh_quant_row_bytes((enum coh_ggml_type)p->in->type, s.n);
	s.row_out = coh_quant_row_bytes((enum coh_ggml_type)p->type, s.n);
	rc = write_converted(r, i, &s, err);
	if (!rc)
		report(r, i, &s);
	return rc;
}

static int start_threads(struct run *r, struct pep_err *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = r->o->threads ? r->o->threads :
			 (unsigned int)(cpus > 0 ? cpus : 1);
	struct pep_sched_opts so = { .workers = n };

	if (n <= 1)
		return 0;
	if (pep_sched_create(&r->sched, &so, err) != 0)
		return pep_err_set(err, -ENOMEM, "cannot start %u threads", n);
	return 0;
}

static void run_free(struct run *r)
{
	if (r->sched)
		pep_sched_destroy(r->sched);
	coh_gguf_writer_abort(r->w);
	coh_gguf_close(r->g);
	free(r->plan);
	free(r->f32);
	free(r->out);
}

int coh_quantize_file(const char *in, const char *out,
		      const struct coh_quantize_opts *o, struct pep_err *err)
{
	struct run r = { .o = o };
	int rc;

	if (!coh_ftype_name(o->ftype))
		return pep_err_set(err, -EINVAL, "unknown file type %d",
				   (int)o->ftype);
	rc = coh_gguf_open(in, &r.g, err);
	if (!rc)
		rc = coh_gguf_writer_create(&r.w, out, err);
	if (!rc)
		rc = copy_metadata(&r, err);
	if (!rc)
		rc = make_plan(&r, err);
	if (!rc)
		rc = start_threads(&r, err);
	for (size_t i = 0; i < r.n && !rc; i++)
		rc = write_tensor(&r, i, err);
	if (!rc) {
		rc = coh_gguf_writer_finish(r.w, err);
		r.w = NULL;	/* freed, on success and failure */
	}
	run_free(&r);
	return rc;
}
