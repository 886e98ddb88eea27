/*
 * cohete - command-line front end to libcohete: `cohete <command>
 * [options]`, one cmd_<name>.c per command.
 */
#include <pepita/core.h>
#include <pepita/simd.h>

#include "cmd.h"

/*
 * Quantizing runs pepita's SIMD kernels, which follow PEPITA_SIMD. A tier
 * the CPU lacks is refused here, before any work, with the library's
 * reason: left to the first kernel, the library would run the best tier.
 */
static int cmd_quantize_on_tier(int argc, char **argv)
{
	struct pep_err err;

	pep_err_clear(&err);
	if (pep_simd_init(&err) < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_USAGE;
	}
	return cmd_quantize(argc, argv);
}

static const struct cmd cmds[] = {
	{ "agent", cmd_agent,
	  "the on-device daemon: metrics, breaker enforcement, control API" },
	{ "clocks", cmd_clocks,
	  "jetson_clocks: show (parsed), store, restore, on, off" },
	{ "config", cmd_config,
	  "cohete.yaml: check, show the effective values, JSON Schema, init" },
	{ "deploy", cmd_deploy,
	  "put the right model on every device of a cohete.yaml; --plan, --check" },
	{ "discover", cmd_discover,
	  "find Jetsons on USB, by mDNS and over SSH; save the inventory" },
	{ "engine", cmd_engine,
	  "this device's inference engines: state, activate, rollback (deploy's half)" },
	{ "fan", cmd_fan, "show the fan, or set its PWM and check it stuck" },
	{ "model", cmd_model,
	  "inspect a GGUF model: metadata, tensors, memory per level" },
	{ "monitor", cmd_monitor,
	  "full-screen live view: CPU, GPU, memory, thermal, power" },
	{ "power", cmd_power, "list the nvpmodel power modes, or switch and verify" },
	{ "quantize", cmd_quantize_on_tier,
	  "quantize a GGUF model as llama-quantize does, or to fit a device" },
	{ "rollback", cmd_rollback,
	  "the fleet's devices back on the version they ran before" },
	{ "run", cmd_run,
	  "commands on the fleet's devices in parallel, while they are cool" },
	{ "status", cmd_status,
	  "device, memory, temperatures, CPU, GPU, power and fan at a glance" },
	{ "tegrastats", cmd_tegrastats,
	  "parse tegrastats lines (any L4T release) into JSON" },
};

int main(int argc, char **argv)
{
	const struct cli_tool tool = {
		.name = "cohete",
		.version = "cohete " COHETE_VERSION,
		.cmds = cmds,
		.cmd_count = sizeof(cmds) / sizeof(cmds[0]),
	};

	return cli_main(&tool, argc, argv);
}
