/*
 * cohete quantize: a GGUF model in a GGML format, byte for byte what
 * llama-quantize writes, or the best level that fits a device's memory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cohete/device.h>
#include <cohete/config.h>
#include <cohete/quant.h>

#include "cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete quantize IN.gguf OUT.gguf TYPE|auto [options]\n\n"
		"Quantize a GGUF model as llama-quantize IN OUT TYPE does (the same\n"
		"bytes), many times faster. TYPE: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K\n"
		"Q3_K_S Q3_K_M Q3_K_L Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K F16 BF16 F32.\n"
		"auto: the best of Q8_0 .. Q2_K whose weights, KV cache, compute\n"
		"buffers and runtime fit the device's memory or --budget-mb.\n\n"
		"  --device NAME     a Jetson from `cohete status`'s table (P-number or\n"
		"                    name, e.g. \"Orin Nano 8GB\"): its memory less 2 GiB\n"
		"                    and 1/16 for the system\n"
		"  --budget-mb N     memory for the model, in MiB\n"
		"  --context N       tokens of context per slot (default 4096)\n"
		"  --parallel N      slots served at once (default 1)\n"
		"  --threads N       threads (default: every CPU)\n"
		"  --report          per tensor: type, RMSE and max error, size\n"
		"  --force           OUT may be IN itself (the same file, also through\n"
		"                    a link): IN is replaced once OUT is whole\n"
		"  --config FILE     cohete.yaml: a fleet device's memory_budget_mb and\n"
		"                    inference context_length and parallel are the\n"
		"                    defaults of --budget-mb, --context and --parallel\n"
		"                    (also $COHETE_CONFIG)\n"
		"  --for ID          that device of the --config fleet (default: this\n"
		"                    machine's entry, or the fleet's only device)\n"
		"  -h, --help        this help\n");
}

struct opts {
	const char *in, *out, *type, *device, *for_id;
	uint64_t budget_mb;
	int budget_from_config;		/* not given: no warning outside auto */
	unsigned int context, parallel, threads;
	int report;
	int force;
};

static int parse_uint(const char *opt, const char *arg, uint64_t max,
		      uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (end == arg || *end || errno || v == 0 || v > max || arg[0] == '-') {
		cli_error("%s: '%s' is not a number 1..%" PRIu64,
			  opt, arg, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- the budget ----------------------------------------------------------- */

/*
 * A module by P-number or name, or by a part of its name that every match
 * shares the memory of ("Orin Nano 8GB": the module, its Super and its
 * developer kit are all 8 GB; "Orin" is too vague).
 */
static const struct coh_module_spec *find_device(const char *name)
{
	unsigned int n;
	const struct coh_module_spec *t = coh_module_table(&n), *found = NULL;
	int vague = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (!strcasecmp(t[i].pnum, name) || !strcasecmp(t[i].name, name))
			return &t[i];
		if (!strcasestr(t[i].name, name))
			continue;
		if (found && found->ram_gb != t[i].ram_gb)
			vague = 1;
		found = found ? found : &t[i];
	}
	if (found && !vague)
		return found;
	cli_error("--device '%s' %s; known devices:", name,
		  found ? "matches modules of different memory" : "matches none");
	for (unsigned int i = 0; i < n; i++)
		fprintf(stderr, "  %-12s %2u GB  %s\n", t[i].pnum, t[i].ram_gb,
			t[i].name);
	return NULL;
}

/* A module's memory less what the system keeps: 2 GiB and 1/16. */
static void print_levels(const struct coh_quant_estimate *e, size_t n,
			 uint64_t budget)
{
	printf("%-8s %10s %9s %9s %9s %10s  fits %.0f MiB\n", "level",
	       "weights", "KV", "compute", "runtime", "total", cli_mib(budget));
	for (size_t i = 0; i < n; i++)
		printf("%-8s %10.0f %9.0f %9.0f %9.0f %10.0f  %s\n",
		       coh_ftype_name(e[i].ftype), cli_mib(e[i].weights),
		       cli_mib(e[i].kv), cli_mib(e[i].compute), cli_mib(e[i].runtime),
		       cli_mib(e[i].total), e[i].fits ? "yes" : "no");
}

/* TYPE auto: the level, or an exit code (> 0) after saying why not. */
static int choose_level(const struct opts *o, enum coh_ftype *ftype)
{
	struct coh_quant_target t = {
		.context = o->context, .parallel = o->parallel,
		.budget_bytes = o->budget_mb << 20,
	};
	struct coh_quant_estimate est[16];
	struct coh_quant_tensor *tensors = NULL;
	struct coh_model_shape shape;
	struct coh_gguf *g;
	struct pep_err err;
	size_t n;
	int rc;

	if (o->device) {
		const struct coh_module_spec *m = find_device(o->device);

		if (!m)
			return CMD_EXIT_USAGE;
		t.budget_bytes = coh_quant_device_budget((uint64_t)m->ram_gb << 30);
		printf("%s: %u GB, %.0f MiB for the model\n", m->name, m->ram_gb,
		       cli_mib(t.budget_bytes));
	}
	if (!t.budget_bytes) {
		cli_error("auto needs --device NAME or --budget-mb N");
		return CMD_EXIT_USAGE;
	}
	pep_err_clear(&err);
	rc = coh_gguf_open(o->in, &g, &err);
	if (!rc)
		rc = coh_model_shape_from_gguf(g, &shape, &tensors, &err);
	if (!rc)
		rc = coh_quant_choose(&shape, &t, ftype, est, &err);
	if (!rc || rc == -ENOSPC) {
		coh_quant_ladder(&n);
		print_levels(est, n, t.budget_bytes);
	}
	free(tensors);
	coh_gguf_close(g);
	if (rc) {
		cli_error("%s: %s", o->in, err.msg);
		return rc == -ENOSPC ? CMD_EXIT_FAIL : CMD_EXIT_FAIL;
	}
	printf("auto: %s\n", coh_ftype_name(*ftype));
	return 0;
}

/* ---- progress and report ------------------------------------------------- */

struct ui {
	int bar;			/* stderr is a terminal */
	int report;
	uint64_t start_ns;
	uint64_t in_total, out_total;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void on_progress(const struct coh_quantize_progress *p, void *arg)
{
	struct ui *ui = arg;
	double s = (double)(now_ns() - ui->start_ns) / 1e9;
	double frac = p->total_bytes ? (double)p->done_bytes /
				       (double)p->total_bytes : 1.0;
	double rate = s > 0 ? (double)p->done_bytes / s : 0;
	double eta = rate > 0 ? (double)(p->total_bytes - p->done_bytes) / rate : 0;
	char bar[31];
	int fill = (int)(frac * 30);

	if (!ui->bar)
		return;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(30 - fill));
	bar[30] = '\0';
	fprintf(stderr, "\r[%s] %3.0f%% tensor %zu/%zu %.0f/%.0f MiB %.0f MiB/s "
		"ETA %.0fs \033[K", bar, frac * 100, p->tensor + 1, p->n_tensors,
		cli_mib(p->done_bytes), cli_mib(p->total_bytes), rate / 1048576.0, eta);
}

static void on_tensor(const struct coh_quantize_tensor_report *r, void *arg)
{
	struct ui *ui = arg;

	ui->in_total += r->from_bytes;
	ui->out_total += r->to_bytes;
	if (!ui->report)
		return;
	if (ui->bar)
		fprintf(stderr, "\r\033[K");
	printf("%-36s %-5s -> %-5s %9.2f -> %9.2f MiB", r->name,
	       coh_ggml_type_name(r->from_type), coh_ggml_type_name(r->to_type),
	       cli_mib(r->from_bytes), cli_mib(r->to_bytes));
	if (r->converted)
		printf("  rmse %.3g max %.3g", r->rmse, r->max_abs);
	putchar('\n');
}

static int quantize(const struct opts *o, enum coh_ftype ftype)
{
	struct ui ui = {
		.bar = isatty(STDERR_FILENO), .report = o->report,
		.start_ns = now_ns(),
	};
	struct coh_quantize_opts qo = {
		.ftype = ftype, .threads = o->threads, .measure = o->report,
		.progress = on_progress, .tensor_done = on_tensor, .arg = &ui,
		.replace_input = o->force,
	};
	struct pep_err err;
	double s;
	int rc;

	pep_err_clear(&err);
	rc = coh_quantize_file(o->in, o->out, &qo, &err);
	if (ui.bar)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		cli_error("%s%s", err.msg, rc == -EEXIST && !o->force ?
			  " (--force replaces it)" : "");
		return CMD_EXIT_FAIL;
	}
	s = (double)(now_ns() - ui.start_ns) / 1e9;
	printf("%s: %s, %.1f MiB -> %.1f MiB (%.1f%%) in %.2f s\n", o->out,
	       coh_ftype_name(ftype), cli_mib(ui.in_total), cli_mib(ui.out_total),
	       ui.in_total ? 100.0 * (double)ui.out_total / (double)ui.in_total : 0,
	       s);
	return CMD_EXIT_OK;
}

/* ---- the command ------------------------------------------------------------ */

/* What --config gives for the options not on the command line. */
static int config_defaults(struct opts *o)
{
	const struct cli_config *c = cli_config();
	const struct coh_config_device *d;
	const struct coh_config_inference *inf;

	if (!c) {
		if (!o->for_id)
			return 0;
		cli_error("--for needs --config FILE (or $COHETE_CONFIG)");
		return CMD_EXIT_USAGE;
	}
	d = o->for_id ? coh_config_find_device(c->cfg, o->for_id) : c->local;
	if (o->for_id && !d) {
		cli_error("--for: no device '%s' in %s", o->for_id, c->path);
		return CMD_EXIT_USAGE;
	}
	inf = d ? &d->inference : &c->cfg->inference;
	if (!o->context)
		o->context = inf->context_length;
	if (!o->parallel)
		o->parallel = inf->parallel;
	if (d && !o->budget_mb && !o->device && d->memory_budget_mb) {
		o->budget_mb = d->memory_budget_mb;
		o->budget_from_config = 1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "budget-mb", required_argument, NULL, 'b' },
		{ "context", required_argument, NULL, 'c' },
		{ "parallel", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "report", no_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'C' },
		{ "for", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	c = cli_config_open(argc, argv);
	if (c)
		return c;
	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case 'd': o->device = optarg; break;
		case 'r': o->report = 1; break;
		case 'f': o->force = 1; break;
		case 'C': break;	/* read by cli_config_open() */
		case 'F': o->for_id = optarg; break;
		case 'h': usage(stdout); return -1;
		case 'b':
			if (parse_uint("--budget-mb", optarg, 1u << 30, &o->budget_mb))
				return CMD_EXIT_USAGE;
			break;
		case 'c': case 'p': case 't':
			if (parse_uint(c == 'c' ? "--context" : c == 'p' ?
				       "--parallel" : "--threads", optarg,
				       c == 't' ? 1024 : 1u << 24, &v))
				return CMD_EXIT_USAGE;
			*(c == 'c' ? &o->context : c == 'p' ? &o->parallel :
			  &o->threads) = (unsigned int)v;
			break;
		default:
			return CMD_EXIT_USAGE;
		}
	}
	if (argc - optind != 3) {
		cli_error("usage: cohete quantize IN.gguf OUT.gguf TYPE|auto");
		return CMD_EXIT_USAGE;
	}
	o->in = argv[optind];
	o->out = argv[optind + 1];
	o->type = argv[optind + 2];
	return config_defaults(o);
}

int cmd_quantize(int argc, char **argv)
{
	struct opts o = { 0 };
	enum coh_ftype ftype;
	struct pep_err err;
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? CMD_EXIT_OK : rc;
	if (strcasecmp(o.type, "auto") == 0) {
		rc = choose_level(&o, &ftype);
		if (rc)
			return rc;
	} else {
		pep_err_clear(&err);
		if (coh_ftype_parse(o.type, &ftype, &err)) {
			cli_error("%s", err.msg);
			return CMD_EXIT_USAGE;
		}
		if (o.device || (o.budget_mb && !o.budget_from_config))
			cli_error("--device and --budget-mb only matter with auto");
	}
	return quantize(&o, ftype);
}
