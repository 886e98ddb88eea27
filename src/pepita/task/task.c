/*
 * Tasks: checking one before it is queued, judging its result, freeing
 * what the result holds.
 */
#include <errno.h>
#include <stdlib.h>

#include <pepita/task.h>

static const char *name_of(const struct pep_task *t)
{
	if (t->name)
		return t->name;
	if (t->kind == PEP_TASK_PROC && t->argv && t->argv[0])
		return t->argv[0];
	return "task";
}

int pep_task_check(const struct pep_task *t, struct pep_err *err)
{
	if (!t)
		return pep_err_set(err, -EINVAL, "task is NULL");
	if (t->prio < PEP_PRIO_HIGH || t->prio > PEP_PRIO_LOW)
		return pep_err_set(err, -EINVAL, "%s: priority %d (high 0, normal 1, "
				   "low 2)", name_of(t), (int)t->prio);
	switch (t->kind) {
	case PEP_TASK_FN:
		if (!t->fn)
			return pep_err_set(err, -EINVAL, "%s: function task "
					   "without fn", name_of(t));
		return 0;
	case PEP_TASK_PROC:
		if (!t->argv || !t->argv[0] || !t->argv[0][0])
			return pep_err_set(err, -EINVAL, "%s: program task "
					   "without argv[0]", name_of(t));
		return 0;
	case PEP_TASK_RANGE:
		if (!t->kernel)
			return pep_err_set(err, -EINVAL, "%s: range task without "
					   "kernel", name_of(t));
		return 0;
	}
	return pep_err_set(err, -EINVAL, "%s: unknown kind %d", name_of(t),
			   (int)t->kind);
}

int pep_task_ok(enum pep_task_kind kind, const struct pep_task_result *res)
{
	if (!res || res->error)
		return 0;
	if (kind != PEP_TASK_PROC)
		return 1;
	return res->exited && res->exit_code == 0 && !res->timed_out;
}

void pep_task_result_free(struct pep_task_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
}
