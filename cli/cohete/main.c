/*
 * cohete - command-line front end to libcohete: `cohete <command>
 * [options]`, one cmd_<name>.c per command.
 */
#include "cmd.h"

static const struct cmd cmds[] = {
	{ "agent", cmd_agent,
	  "the on-device daemon: metrics, breaker enforcement, control API" },
	{ "clocks", cmd_clocks,
	  "jetson_clocks: show (parsed), store, restore, on, off" },
	{ "fan", cmd_fan, "show the fan, or set its PWM and check it stuck" },
	{ "model", cmd_model,
	  "inspect a GGUF model: metadata, tensors, memory per level" },
	{ "monitor", cmd_monitor,
	  "full-screen live view: CPU, GPU, memory, thermal, power" },
	{ "power", cmd_power, "list the nvpmodel power modes, or switch and verify" },
	{ "quantize", cmd_quantize,
	  "quantize a GGUF model as llama-quantize does, or to fit a device" },
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
