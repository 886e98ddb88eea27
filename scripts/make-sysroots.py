#!/usr/bin/env python3
"""Generate the sysroot fixture trees under tests/fixtures/sysroots/.

Each tree looks like / on one machine (proc/, sys/, etc/, var/) and is what
`cohete status --sysroot DIR` and the fixture suite read. The trees are
CONSTRUCTED, not captured: every value comes from the facts in the project
reference (jetson.md sections 1-4, tegrastats.md) and from one real
tegrastats line per board in tests/fixtures/tegrastats/samples.txt (named
in each table's "sample" field). File layouts follow real sysfs/procfs; where
the layout or a value is a guess, a comment says so.

Usage:
    python3 scripts/make-sysroots.py [--out DIR] [NAME ...]

The output is deterministic (the same bytes on every run). For each tree it
deletes and rewrites tests/fixtures/sysroots/<name>/, except files named
status.golden.json, which the fixture test writes
(COHETE_UPDATE_GOLDEN=1) and which are kept.

Conventions, as on real machines:
  - sysfs values end with "\\n"; device-tree strings end with "\\0";
  - thermal temp in millidegrees C, cpufreq in kHz, devfreq in Hz, GPU load
    per-mille, INA3221 hwmon in mV/mA (the JetPack 4 iio driver adds mW);
  - symlinks are relative, written the way sysfs writes them (up to the
    common ancestor, then down), never absolute: the tree lives under a
    prefix;
  - an offline CPU keeps cpuN/online ("0") but has no cpufreq link and no
    /proc/cpuinfo block, and no cpuN line in /proc/stat;
  - no empty directories (git would not keep them).
"""

import argparse
import os
import sys

GOLDEN = "status.golden.json"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "sysroots")


# ---------------------------------------------------------------------------
# Shared facts
# ---------------------------------------------------------------------------

# /proc/cpuinfo per core type. Orin/Thor kernels (5.x, 6.x) print no
# "model name" line on arm64; the L4T 4.9 kernel (R32) does.
CPU_TYPES = {
    "a78ae": dict(implementer="0x41", variant="0x1", part="0xd42",
                  revision="1", bogomips="62.50",
                  features="fp asimd evtstrm aes pmull sha1 sha2 crc32 "
                           "atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
                           "asimddp uscat ilrcpc flagm paca pacg"),
    # Nano: 19.2 MHz architected timer, hence BogoMIPS 38.40.
    "a57-t210": dict(implementer="0x41", variant="0x1", part="0xd07",
                     revision="1", bogomips="38.40",
                     features="fp asimd evtstrm aes pmull sha1 sha2 crc32"),
    "a57-t186": dict(implementer="0x41", variant="0x1", part="0xd07",
                     revision="3", bogomips="62.50",
                     features="fp asimd evtstrm aes pmull sha1 sha2 crc32"),
    "denver2": dict(implementer="0x4e", variant="0x0", part="0x003",
                    revision="0", bogomips="62.50",
                    features="fp asimd evtstrm aes pmull sha1 sha2 crc32"),
    "carmel": dict(implementer="0x4e", variant="0x0", part="0x004",
                   revision="0", bogomips="62.50",
                   features="fp asimd evtstrm aes pmull sha1 sha2 crc32 "
                            "atomics fphp asimdhp cpuid asimdrdm dcpop"),
    # Thor (guess): Neoverse V3AE part number and a 1 GHz system counter.
    "neoverse-v3ae": dict(implementer="0x41", variant="0x0", part="0xd83",
                          revision="1", bogomips="2000.00",
                          features="fp asimd evtstrm aes pmull sha1 sha2 "
                                   "crc32 atomics fphp asimdhp cpuid asimdrdm "
                                   "jscvt fcma lrcpc dcpop sha3 sm3 sm4 "
                                   "asimddp sha512 sve asimdfhm dit uscat "
                                   "ilrcpc flagm sb paca pacg dcpodp sve2 "
                                   "sveaes svepmull svebitperm svesha3 svesm4 "
                                   "flagm2 frint svei8mm svebf16 i8mm bf16 "
                                   "dgh bti ecv afp wfxt"),
}


def grid(start, step, top, extra=()):
    """A frequency table: start, start+step, ... <= top, plus extra values."""
    out = list(range(start, top + 1, step))
    return out + [f for f in extra if f not in out]


# CPU frequency tables (kHz).
ORIN_CPU_KHZ = grid(115200, 76800, 2188800)          # 115.2 MHz .. 2188.8 MHz


def orin_cpu(top):
    return [f for f in ORIN_CPU_KHZ if f <= top] + (
        [top] if top not in ORIN_CPU_KHZ else [])


CARMEL_KHZ = grid(115200, 76800, 2265600)
TX2_A57_KHZ = grid(345600, 153600, 2035200)
NANO_A57_KHZ = [102000, 204000, 307200, 403200, 518400, 614400, 710400,
                825600, 921600, 1036800, 1132800, 1224000, 1326000, 1428000,
                1479000]
THOR_KHZ = grid(972000, 108000, 2592000, extra=[2601000])  # guess

# GPU frequency tables (Hz).
ORIN_GPU_HZ = [306000000, 408000000, 510000000, 612000000, 714000000,
               816000000, 918000000, 1020000000, 1122000000, 1224000000,
               1300500000]
ORIN_R35_AGX_GPU_HZ = [114750000, 216750000, 318750000, 420750000, 522750000,
                       624750000, 726750000, 828750000, 930750000, 1032750000,
                       1134750000, 1236750000, 1300500000]
GV11B_AGX_HZ = [114750000, 216750000, 318750000, 420750000, 522750000,
                624750000, 675750000, 828750000, 905250000, 1032750000,
                1198500000, 1236750000, 1338750000, 1377000000]
GV11B_NX_HZ = [114750000, 204000000, 306000000, 408000000, 510000000,
               599250000, 701250000, 752250000, 803250000, 854250000,
               905250000, 956250000, 1007250000, 1058250000, 1109250000]
GP10B_HZ = [114750000, 216750000, 318750000, 420750000, 522750000, 624750000,
            726750000, 828750000, 930750000, 1032750000, 1134750000,
            1236750000, 1300500000]
# Thor (guess): only the maxima (1575 MHz GPC, 1556 MHz NVD) are from samples.
THOR_GPC_HZ = [315000000, 630000000, 945000000, 1260000000, 1575000000]
THOR_NVD_HZ = [311200000, 622400000, 933600000, 1244800000, 1556000000]
GM20B_HZ = [76800000, 153600000, 230400000, 307200000, 384000000, 460800000,
            537600000, 614400000, 691200000, 768000000, 844800000, 921600000]


def upto(table, top):
    return [f for f in table if f <= top] + ([top] if top not in table else [])


# /etc/nv_tegra_release lines. R36.4.3 and R36.4.4 are quoted in jetson.md;
# the other GCIDs and dates are from memory and unverified.
def nv_release(major, rev, gcid, board, date):
    return (f"# R{major} (release), REVISION: {rev}, GCID: {gcid}, "
            f"BOARD: {board}, EABI: aarch64, DATE: {date}\n")


R36_4_3 = nv_release(36, "4.3", 38968081, "generic", "Wed Jan  8 01:49:37 UTC 2025")
R36_4_4 = nv_release(36, "4.4", 41062509, "generic", "Mon Jun 16 16:07:13 UTC 2025")
R36_3_0 = nv_release(36, "3.0", 36191598, "generic", "Mon May  6 17:34:21 UTC 2024")
R35_4_1 = nv_release(35, "4.1", 33958178, "t186ref", "Tue Aug  1 19:57:35 UTC 2023")
R35_3_1 = nv_release(35, "3.1", 32827747, "t186ref", "Sun Mar 19 15:19:21 UTC 2023")
R35_2_1 = nv_release(35, "2.1", 32413640, "t186ref", "Tue Jan 24 23:38:33 UTC 2023")
R32_7_4 = nv_release(32, "7.4", 33514132, "t186ref", "Fri Jun  9 04:25:08 UTC 2023")
R32_7_2 = nv_release(32, "7.2", 30192233, "t186ref", "Tue Apr 26 23:28:23 UTC 2022")
R32_7_1 = nv_release(32, "7.1", 29818004, "t210ref", "Sat Feb 19 17:05:08 UTC 2022")
R32_6_1 = nv_release(32, "6.1", 27863751, "t186ref", "Mon Jul 26 19:36:31 UTC 2021")
R32_5_1 = nv_release(32, "5.1", 27362550, "t186ref", "Wed May 19 18:16:00 UTC 2021")
R38_2_0 = nv_release(38, "2.0", 41844464, "generic", "Fri Aug 22 00:55:42 UTC 2025")

# Build-host prefix of nvidia,dtsfilename (R32/R35 form; R36/R38 reuse it).
DTS = ("/dvs/git/dirty/git-master_linux/kernel/kernel-{k}/arch/arm64/boot/dts/"
       "../../../../../../hardware/nvidia/platform/{plat}/kernel-dts/{name}")
DTS_R36 = ("/dvs/git/dirty/git-master_linux/kernel-devicetree/generic-dts/"
           "../../hardware/nvidia/t23x/nv-public/nv-platform/{name}")

# Mode tuples for nvpmodel.conf: (id, name, online cores, CPU max kHz,
# GPU max Hz); -1 = no cap. Names and ids are from jetson.md 4.2; the caps
# not listed there are illustrative.
ORIN_NANO_8GB_SUPER_MODES = [
    (0, "15W", 6, 1497600, 612000000),
    (1, "25W", 6, 1344000, 918000000),
    (2, "MAXN_SUPER", 6, -1, -1),
]
ORIN_NANO_4GB_MODES = [
    (0, "10W", 6, 1510400, 625000000),
    (1, "7W_AI", 4, 960000, 625000000),
    (2, "7W_CPU", 6, 1190400, 306000000),
]
ORIN_NANO_8GB_MODES = [
    (0, "15W", 6, 1510400, 625000000),
    (1, "7W", 4, 960000, 408000000),
]
ORIN_NX_16GB_MODES = [
    (0, "MAXN", 8, -1, -1),
    (1, "10W", 4, 1420800, 612000000),
    (2, "15W", 8, 1420800, 612000000),
    (3, "25W", 8, 1984000, 408000000),
]
ORIN_NX_8GB_MODES = [
    (0, "MAXN", 6, -1, -1),
    (1, "10W", 4, 1420800, 612000000),
    (2, "15W", 6, 1420800, 612000000),
    (3, "20W", 6, 1984000, 765000000),
]
AGX_ORIN_64GB_MODES = [
    (0, "MAXN", 12, -1, -1),
    (1, "MODE_15W", 4, 1113600, 408000000),
    (2, "MODE_30W", 8, 1728000, 612000000),
    (3, "MODE_50W", 12, 1497600, 816000000),
]
AGX_ORIN_32GB_MODES = [
    (0, "MAXN", 8, -1, -1),
    (1, "MODE_15W", 4, 1113600, 420750000),
    (2, "MODE_30W", 8, 1728000, 624750000),
    (3, "MODE_40W", 8, 1497600, 828750000),
]
XAVIER_NX_MODES = [                         # unverified in jetson.md
    (0, "MODE_15W_2CORE", 2, 1907200, 1109250000),
    (1, "MODE_15W_4CORE", 4, 1651200, 1109250000),
    (2, "MODE_15W_6CORE", 6, 1420800, 1109250000),
    (3, "MODE_10W_2CORE", 2, 1497600, 803250000),
    (4, "MODE_10W_4CORE", 4, 1190400, 803250000),
]
# R35's nvpmodel_t194_p3668.conf keeps ids 0-4 and adds the desktop and
# 20 W modes after them (ids and names as printed by `nvpmodel -p --verbose`
# on an R35.1 Xavier NX; the caps are illustrative, as above).
XAVIER_NX_R35_MODES = XAVIER_NX_MODES + [
    (5, "MODE_10W_DESKTOP", 4, 1907200, 510000000),
    (6, "MODE_20W_2CORE", 2, 1907200, 1109250000),
    (7, "MODE_20W_4CORE", 4, 1420800, 1109250000),
    (8, "MODE_20W_6CORE", 6, 1420800, 1109250000),
]
AGX_XAVIER_MODES = [
    (0, "MAXN", 8, -1, -1),
    (1, "MODE_10W", 2, 1190400, 522750000),
    (2, "MODE_15W", 4, 1190400, 675750000),
    (3, "MODE_30W_ALL", 8, 1190400, 905250000),
    (4, "MODE_30W_6CORE", 6, 1420800, 905250000),
    (5, "MODE_30W_4CORE", 4, 1804800, 905250000),
    (6, "MODE_30W_2CORE", 2, 2265600, 905250000),
]
NANO_MODES = [
    (0, "MAXN", 4, -1, -1),
    (1, "5W", 2, 921600, 614400000),
]
# TX2: cpu1-2 are the Denver cores, so online sets are explicit lists.
TX2_MODES = [
    (0, "MAXN", [0, 1, 2, 3, 4, 5], -1, -1),
    (1, "MAXQ", [0, 3, 4, 5], 1267200, 828750000),
    (2, "MAXP_CORE_ALL", [0, 1, 2, 3, 4, 5], 1420800, 1134750000),
    (3, "MAXP_CORE_ARM", [0, 3, 4, 5], 2035200, 1134750000),
    (4, "MAXP_CORE_DENVER", [0, 1, 2], 2035200, 1134750000),
]
THOR_MODES = [
    (0, "MAXN", 14, -1, -1),
    (1, "120W", 14, 2601000, 1575000000),
]


# A clock's clk_max_rate when nothing caps it: 2^64 - 1.
NO_CAP = 2**64 - 1


def zram_swap(total_kb, count):
    """nvzramconfig: `count` zram devices sharing half of MemTotal."""
    return [("zram", total_kb // 2 // count * 1024)] * count


# ---------------------------------------------------------------------------
# Boards. One table each; every field is documented on the first one.
# ---------------------------------------------------------------------------

BOARDS = {}

BOARDS["orin-nano-8gb-super-r36"] = dict(
    # The samples.txt comment line whose tegrastats line the values follow.
    sample="Orin Nano 8GB Super (MAXN_SUPER, non-root), L4T R36.4.3 "
           "(JetPack 6.2, nv_tegra_release dated Jan 8 2025)",
    dt=dict(
        model="NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super",
        compatible=["nvidia,p3768-0000+p3767-0005-super", "nvidia,p3767-0005",
                    "nvidia,tegra234"],
        dtsfilename=DTS_R36.format(name="tegra234-p3768-0000+p3767-0005-nv-super.dts"),
        serial="1423921012345",
    ),
    release=R36_4_3,
    kernel="5.15.148-tegra",
    hostname="orin-nano",
    uptime_cs=1284733,                  # /proc/uptime, centiseconds
    cpu=dict(
        types="a78ae",                  # one CPU_TYPES key, or one per CPU
        count=6,                        # CPUs present
        offline=[],
        # cpufreq policies: (CPUs, scaling_cur_freq kHz); a policy whose
        # CPUs are all offline is not written (its kHz is None)
        policies=[([0, 1, 2, 3], 729600), ([4, 5], 729600)],
        load_pct=[0, 0, 0, 0, 0, 0],    # since boot, per online CPU
        min_khz=729600, max_khz=1728000, freqs=orin_cpu(1728000),
        governor="schedutil",
    ),
    mem=dict(total_kb=7803000, used_mb=2147, swap_used_mb=1476,
             swap_cached_mb=1, nvmap_kb=(36608, 287324)),  # (free, used)
    swaps=zram_swap(7803000, 6),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    # (zone type, temp m°C); thermal_zoneN in this order.
    thermal=[("cpu-thermal", 47687), ("gpu-thermal", 48625),
             ("soc0-thermal", 47468), ("soc1-thermal", 48250),
             ("soc2-thermal", 46718), ("tj-thermal", 48625)],
    gpu=dict(style="r36", dev="sys/devices/platform/bus@0/17000000.gpu",
             name="17000000.gpu", of_name="gpu", of_compat="nvidia,ga10b",
             load=0, cur=306000000, min=306000000, max=1020000000,
             freqs=upto(ORIN_GPU_HZ, 1020000000), governor="nvhost_podgov"),
    # INA3221: I2C device dir, hwmon index (or iio), channels
    # (label, mV, mW); the current written is mW * 1000 / mV.
    rails=[dict(dev="sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040",
                hwmon=2, channels=[("VDD_IN", 19104, 4556),
                                   ("VDD_CPU_GPU_CV", 19096, 483),
                                   ("VDD_SOC", 19096, 1451)])],
    nvpmodel=dict(conf="nvpmodel_p3767_0003_super.conf", cpu_param="CPU_A78_0",
                  modes=ORIN_NANO_8GB_SUPER_MODES, default=1, current=2),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon0", 88),
             tach=("sys/devices/platform/bus@0/39c0000.tachometer/hwmon/hwmon1", 1794)),
    # Non-root: no debugfs; nvpmodel's EMC cap file says "no cap" (0).
    emc=dict(style=None, cap=0),
)

BOARDS["orin-nano-4gb-r35"] = dict(
    sample="no Orin Nano 4GB line exists; CPU, GPU, temperatures and rails "
           "follow 'Orin Nano 8GB (6284MB visible), L4T R36.x (JetPack 6)', "
           "the R35 zone set (upper-case, Tboard/Tdiode, CV at -256C) follows "
           "'AGX Orin 64GB devkit (root), L4T R35.2.1 (JetPack 5.1)'",
    dt=dict(
        model="NVIDIA Orin Nano Developer Kit",
        compatible=["nvidia,p3768-0000+p3767-0004", "nvidia,p3767-0004",
                    "nvidia,tegra234"],
        dtsfilename=DTS.format(k="5.10", plat="t23x/p3768",
                               name="tegra234-p3767-0004-p3768-0000-a0.dts"),
        serial="1424121004410",
    ),
    release=R35_4_1,
    kernel="5.10.120-tegra",
    hostname="orin-nano-4gb",
    uptime_cs=8831207,
    cpu=dict(types="a78ae", count=6, offline=[],
             policies=[([0, 1, 2, 3], 1510400), ([4, 5], 729600)],
             load_pct=[6, 6, 10, 7, 29, 18],
             min_khz=729600, max_khz=1510400, freqs=orin_cpu(1510400),
             governor="schedutil"),
    mem=dict(total_kb=3471000, used_mb=1580, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=(20480, 196608)),
    swaps=zram_swap(3471000, 6),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    thermal=[("CPU-therm", 46410), ("GPU-therm", 46030),
             ("CV0-therm", -256000), ("CV1-therm", -256000),
             ("CV2-therm", -256000), ("SOC0-therm", 43620),
             ("SOC1-therm", 44380), ("SOC2-therm", 45340),
             ("tj-therm", 46410), ("Tboard_tegra", 32000),
             ("Tdiode_tegra", 33250)],
    gpu=dict(style="r35", dev="sys/devices/platform/17000000.ga10b",
             name="17000000.ga10b", of_name="ga10b", of_compat="nvidia,ga10b",
             load=260, cur=306000000, min=306000000, max=625000000,
             freqs=upto(ORIN_GPU_HZ, 625000000), governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/platform/c240000.i2c/i2c-1/1-0040", hwmon=1,
                channels=[("VDD_IN", 19112, 4900),
                          ("VDD_CPU_GPU_CV", 19104, 924),
                          ("VDD_SOC", 19104, 1500)])],
    nvpmodel=dict(conf="nvpmodel_p3767_0004.conf", cpu_param="CPU_A78_0",
                  modes=ORIN_NANO_4GB_MODES, default=0, current=0),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon2", 72),
             tach=("sys/devices/platform/39c0000.tachometer/hwmon/hwmon3", 1545)),
)

BOARDS["orin-nx-16gb-r36"] = dict(
    sample="Orin NX 16GB, L4T R36.x (JetPack 6), modelingevolution "
           "BlazorPerfMon TegraStatsLineTests (C#) (the 22:48:37 line)",
    dt=dict(
        model="NVIDIA Jetson Orin NX Engineering Reference Developer Kit",
        compatible=["nvidia,p3768-0000+p3767-0000", "nvidia,p3767-0000",
                    "nvidia,tegra234"],
        dtsfilename=DTS_R36.format(name="tegra234-p3768-0000+p3767-0000-nv.dts"),
        serial="1422822033171",
    ),
    release=R36_3_0,
    kernel="5.15.136-tegra",
    hostname="orin-nx",
    uptime_cs=30712388,
    cpu=dict(types="a78ae", count=8, offline=[4, 5, 6, 7],
             policies=[([0, 1, 2, 3], 1420800), ([4, 5, 6, 7], None)],
             load_pct=[1, 0, 0, 0, None, None, None, None],
             min_khz=729600, max_khz=1420800, freqs=orin_cpu(1984000),
             governor="schedutil"),
    mem=dict(total_kb=16032768, used_mb=1733, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=(0, 142336)),
    swaps=zram_swap(16032768, 8),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    thermal=[("cpu-thermal", 46062), ("gpu-thermal", 43343),
             ("cv0-thermal", 43437), ("cv1-thermal", 43312),
             ("cv2-thermal", 43781), ("soc0-thermal", 44718),
             ("soc1-thermal", 46812), ("soc2-thermal", 43781),
             ("tj-thermal", 46812)],
    gpu=dict(style="r36", dev="sys/devices/platform/bus@0/17000000.gpu",
             name="17000000.gpu", of_name="gpu", of_compat="nvidia,ga10b",
             load=0, cur=306000000, min=306000000, max=612000000,
             freqs=upto(ORIN_GPU_HZ, 918000000), governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040",
                hwmon=2, channels=[("VDD_IN", 19096, 6090),
                                   ("VDD_CPU_GPU_CV", 19088, 396),
                                   ("VDD_SOC", 19088, 2464)])],
    nvpmodel=dict(conf="nvpmodel_p3767_0000.conf", cpu_param="CPU_A78_0",
                  modes=ORIN_NX_16GB_MODES, default=2, current=1),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon0", 88),
             tach=("sys/devices/platform/bus@0/39c0000.tachometer/hwmon/hwmon1", 1820)),
)

BOARDS["orin-nx-8gb-r35"] = dict(
    sample="Orin NX 8GB (7337MB, CV sensors present, 2 cores off, root), "
           "L4T R35.x (JetPack 5), JS dashboard parseTegraStats comment",
    dt=dict(
        model="NVIDIA Orin NX Developer Kit",
        compatible=["nvidia,p3509-0000+p3767-0001", "nvidia,p3767-0001",
                    "nvidia,tegra234"],
        dtsfilename=DTS.format(k="5.10", plat="t23x/p3768",
                               name="tegra234-p3767-0001-p3509-a02.dts"),
        serial="1423221058302",
    ),
    release=R35_3_1,
    kernel="5.10.104-tegra",
    hostname="orin-nx-8gb",
    uptime_cs=417395,
    cpu=dict(types="a78ae", count=6, offline=[4, 5],
             policies=[([0, 1, 2, 3], 729600), ([4, 5], None)],
             load_pct=[11, 13, 9, 18, None, None],
             min_khz=729600, max_khz=1420800, freqs=orin_cpu(1984000),
             governor="schedutil"),
    mem=dict(total_kb=7513088, used_mb=3503, swap_used_mb=430, swap_cached_mb=1,
             nvmap_kb=(8192, 412672)),
    swaps=zram_swap(7513088, 6),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    # No Tboard/Tdiode on this line (p3509 carrier).
    thermal=[("CPU-therm", 44093), ("GPU-therm", 41343),
             ("CV0-therm", 42718), ("CV1-therm", 42250),
             ("CV2-therm", 42875), ("SOC0-therm", 43281),
             ("SOC1-therm", 46968), ("SOC2-therm", 42625),
             ("tj-therm", 46968)],
    gpu=dict(style="r35", dev="sys/devices/platform/17000000.ga10b",
             name="17000000.ga10b", of_name="ga10b", of_compat="nvidia,ga10b",
             load=0, cur=306000000, min=306000000, max=612000000,
             freqs=upto(ORIN_GPU_HZ, 765000000), governor="nvhost_podgov"),
    # The Xavier NX carrier feeds the module 5 V.
    rails=[dict(dev="sys/devices/platform/c240000.i2c/i2c-1/1-0040", hwmon=1,
                channels=[("VDD_IN", 5056, 4915),
                          ("VDD_CPU_GPU_CV", 5048, 449),
                          ("VDD_SOC", 5048, 1431)])],
    nvpmodel=dict(conf="nvpmodel_p3767_0001.conf", cpu_param="CPU_A78_0",
                  modes=ORIN_NX_8GB_MODES, default=2, current=1),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon2", 96),
             tach=("sys/devices/platform/39c0000.tachometer/hwmon/hwmon3", 2034)),
    # Root: EMC_FREQ 0%@2133 under nvpmodel's 2133 MHz cap; VIC_FREQ 115,
    # APE 174.
    emc=dict(style="bpmp", cur=2133000000, min=204000000, max=3199000000,
             cap=2133000000, mc_all=0),
    engines=[("ape", 1, 174000000, 0, NO_CAP), ("dla0_core", 0, 0, 0, 1369600000),
             ("nvdec", 0, 0, 0, 793600000), ("nvenc", 0, 0, 0, 793600000),
             ("nvjpg", 0, 0, 0, 627200000), ("ofa", 0, 0, 0, 793600000),
             ("pva0_vps", 0, 0, 0, 704000000), ("vic", 1, 115200000, 0, 729600000)],
)

BOARDS["agx-orin-64gb-r36"] = dict(
    sample="AGX Orin 64GB (root), L4T R36.4.4 (JetPack 6.2.1), "
           "lesomnus/tegra-exporter stats test (the 18:42:07 line)",
    dt=dict(
        model="NVIDIA Jetson AGX Orin Developer Kit",
        compatible=["nvidia,p3737-0000+p3701-0005", "nvidia,p3701-0005",
                    "nvidia,tegra234"],
        dtsfilename=DTS_R36.format(name="tegra234-p3737-0000+p3701-0005-nv.dts"),
        serial="1421022047761",
    ),
    release=R36_4_4,
    kernel="5.15.148-tegra",
    hostname="agx-orin",
    uptime_cs=259201743,
    cpu=dict(types="a78ae", count=12, offline=[],
             policies=[([0, 1, 2, 3], 1958400), ([4, 5, 6, 7], 1036800),
                       ([8, 9, 10, 11], 1190400)],
             load_pct=[16, 6, 4, 4, 4, 33, 0, 40, 3, 46, 6, 2],
             min_khz=729600, max_khz=2201600, freqs=orin_cpu(2201600),
             governor="schedutil"),
    mem=dict(total_kb=64349184, used_mb=18202, swap_used_mb=86, swap_cached_mb=0,
             nvmap_kb=(0, 2953216)),
    # Real images make one zram device per CPU (12); four keep the tree small.
    swaps=zram_swap(64349184, 4),
    zram_algo="lzo-rle [lz4] zstd",
    # R36.4 AGX Orin exposes only these five zones.
    thermal=[("cpu-thermal", 52343), ("soc0-thermal", 49062),
             ("soc1-thermal", 49531), ("soc2-thermal", 48343),
             ("tj-thermal", 52343)],
    gpu=dict(style="r36", dev="sys/devices/platform/bus@0/17000000.gpu",
             name="17000000.gpu", of_name="gpu", of_compat="nvidia,ga10b",
             load=0, cur=306000000, min=306000000, max=1300500000,
             freqs=ORIN_GPU_HZ, governor="nvhost_podgov"),
    # No board-input rail on AGX Orin: VIN_SYS_5V0 is not the total.
    rails=[dict(dev="sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040",
                hwmon=2, channels=[("VDD_GPU_SOC", 19072, 2412),
                                   ("VDD_CPU_CV", 19072, 1607),
                                   ("VIN_SYS_5V0", 4984, 4607)])],
    nvpmodel=dict(conf="nvpmodel_p3701_0005.conf", cpu_param="CPU_A78_0",
                  modes=AGX_ORIN_64GB_MODES, default=2, current=0),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon0", 75),
             tach=("sys/devices/platform/bus@0/39c0000.tachometer/hwmon/hwmon1", 1122)),
    # Captured as root: BPMP's EMC clock and the engines' clocks in
    # debugfs, following the line's EMC_FREQ 3%@2133, NVENC 78%@166,
    # VIC 32%@115 and APE 174; the rest off.
    emc=dict(style="bpmp", cur=2133000000, min=204000000, max=3199000000,
             cap=0, mc_all=63990),
    engines=[("ape", 1, 174000000, 0, NO_CAP), ("dla0_core", 0, 0, 0, 1600000000),
             ("dla1_core", 0, 0, 0, 1600000000), ("nvdec", 0, 0, 0, 1164800000),
             ("nvenc", 1, 166400000, 0, 1164800000), ("nvjpg", 0, 0, 0, 819200000),
             ("nvjpg1", 0, 0, 0, 819200000), ("ofa", 0, 0, 0, 1164800000),
             ("pva0_vps", 0, 0, 0, 1152000000), ("se", 1, 435200000, 0, NO_CAP),
             ("vic", 1, 115200000, 0, 1075200000)],
    # An NVMe drive's hwmon: a temperature sensor that is not a fan.
    hwmon_temps=[dict(
        dir="sys/devices/platform/bus@0/14160000.pcie/pci0004:00/0004:00:00.0/"
            "0004:01:00.0/nvme/nvme0/hwmon3",
        name="nvme", sensors=[("Composite", 38850), ("Sensor 1", 38850)])],
)

BOARDS["agx-orin-32gb-r35"] = dict(
    sample="AGX Orin 32GB (30623MB, root), L4T R35.x (JetPack 5, 2023), "
           "lab docs rst \"rudi2\" second line (first 8 of its 12 CPU entries; "
           "no tj or Tboard zone on that line)",
    dt=dict(
        model="Jetson AGX Orin",
        compatible=["nvidia,p3737-0000+p3701-0004", "nvidia,p3701-0004",
                    "nvidia,tegra234"],
        dtsfilename=DTS.format(k="5.10", plat="t23x/concord",
                               name="tegra234-p3701-0004-p3737-0000.dts"),
        serial="1421222012088",
    ),
    release=R35_2_1,
    kernel="5.10.104-tegra",
    hostname="agx-orin-32",
    uptime_cs=1930018,
    cpu=dict(types="a78ae", count=8, offline=[],
             policies=[([0, 1, 2, 3], 729600), ([4, 5, 6, 7], 729600)],
             load_pct=[1, 0, 0, 0, 0, 0, 0, 0],
             min_khz=729600, max_khz=1728000, freqs=orin_cpu(2201600),
             governor="schedutil"),
    mem=dict(total_kb=31357952, used_mb=1206, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=(4096, 98304)),
    swaps=zram_swap(31357952, 8),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    thermal=[("CPU-therm", 43906), ("GPU-therm", 38000),
             ("CV0-therm", -256000), ("CV1-therm", -256000),
             ("CV2-therm", -256000), ("SOC0-therm", 40593),
             ("SOC1-therm", 39031), ("SOC2-therm", 40093),
             ("Tdiode_tegra", 32750)],
    gpu=dict(style="r35", dev="sys/devices/platform/17000000.ga10b",
             name="17000000.ga10b", of_name="ga10b", of_compat="nvidia,ga10b",
             load=0, cur=114750000, min=114750000, max=624750000,
             freqs=upto(ORIN_R35_AGX_GPU_HZ, 930750000),
             governor="nvhost_podgov"),
    # NC = unconnected INA3221 channel (reads 0).
    rails=[dict(dev="sys/devices/platform/c240000.i2c/i2c-1/1-0040", hwmon=0,
                channels=[("VDD_GPU_SOC", 19080, 4788),
                          ("VDD_CPU_CV", 19080, 798),
                          ("VIN_SYS_5V0", 4992, 3842)]),
           dict(dev="sys/devices/platform/c240000.i2c/i2c-1/1-0041", hwmon=1,
                channels=[("NC", 0, 0),
                          ("VDDQ_VDD2_1V8AO", 4992, 707),
                          ("NC", 0, 0)])],
    nvpmodel=dict(conf="nvpmodel_p3701_0004.conf", cpu_param="CPU_A78_0",
                  modes=AGX_ORIN_32GB_MODES, default=2, current=2),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon2", 55),
             tach=("sys/devices/platform/39c0000.tachometer/hwmon/hwmon3", 1290)),
)

BOARDS["xavier-nx-r32"] = dict(
    sample="Xavier NX 8GB (root), L4T R32.x (JetPack 4.x; test named "
           "JetPack411), waggle-sensor/jetson-exporter "
           "pkg/tegrastats/tegrastats_test.go",
    dt=dict(
        model="NVIDIA Jetson Xavier NX Developer Kit",
        compatible=["nvidia,p3509-0000+p3668-0001", "nvidia,jetson-xavier-nx",
                    "nvidia,tegra194"],
        dtsfilename=DTS.format(k="4.9", plat="t19x/jakku",
                               name="tegra194-p3668-all-p3509-0000.dts"),
        serial="1420419007215",
    ),
    release=R32_7_4,
    kernel="4.9.337-tegra",
    hostname="xavier-nx",
    uptime_cs=6022871,
    cpu=dict(types="carmel", count=6, offline=[],
             policies=[([0, 1], 1420800), ([2, 3], 1420800), ([4, 5], 1420800)],
             load_pct=[47, 23, 32, 22, 31, 96],
             min_khz=1190400, max_khz=1420800,
             freqs=upto(CARMEL_KHZ, 1907200), governor="schedutil"),
    mem=dict(total_kb=7957744, used_mb=5246, swap_used_mb=983,
             swap_cached_mb=280, nvmap_kb=(52224, 1236992)),
    # 20269 MB in tegrastats: the zram devices plus a 16 GiB swap file.
    swaps=zram_swap(7957744, 6) + [("file", "/swapfile", 16777212)],
    zram_algo="[lzo] lz4 deflate lz4hc",
    thermal=[("AO-therm", 29000), ("CPU-therm", 33500), ("GPU-therm", 31500),
             ("AUX-therm", 30000), ("PMIC-Die", 100000),
             ("thermal-fan-est", 31350)],
    gpu=dict(style="r32", dev="sys/devices/17000000.gv11b",
             name="17000000.gv11b", of_name="gv11b", of_compat="nvidia,gv11b",
             load=0, cur=1109250000, min=114750000, max=1109250000,
             freqs=GV11B_NX_HZ, governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/c250000.i2c/i2c-7/7-0040", iio=0,
                channels=[("VDD_IN", 5064, 6140),
                          ("VDD_CPU_GPU_CV", 5056, 2706),
                          ("VDD_SOC", 5056, 1074)])],
    nvpmodel=dict(conf="nvpmodel_t194_p3668.conf", cpu_param="CPU_DENVER_0",
                  modes=XAVIER_NX_MODES, default=2, current=2),
    fan=dict(style="jp4", target_pwm=77, cur_pwm=77, rpm=2070),
)

BOARDS["xavier-nx-r35"] = dict(
    sample="Xavier NX 8GB (root), L4T R35.4.1 (JetPack 5.1.2), "
           "waggle-sensor/jetson-exporter pkg/tegrastats/tegrastats_test.go",
    dt=dict(
        model="NVIDIA Jetson Xavier NX Developer Kit",
        compatible=["nvidia,p3509-0000+p3668-0001", "nvidia,jetson-xavier-nx",
                    "nvidia,tegra194"],
        # R35 names the DTS module-first with the SKU (guess: the R32
        # "p3668-all" form is gone from the R35 flash configs).
        dtsfilename=DTS.format(k="5.10", plat="t19x/jakku",
                               name="tegra194-p3668-0001-p3509-0000.dts"),
        serial="1422921013447",
    ),
    release=R35_4_1,
    kernel="5.10.120-tegra",
    hostname="xavier-nx-r35",
    uptime_cs=2718342,
    # The sample reads cpu0 at 1397 MHz and cpu1 at 1192 (per-core activity
    # counters on 5.10, between table steps); a shared policy directory holds
    # one value, so every cluster reads the 1190.4 MHz the others show.
    cpu=dict(types="carmel", count=6, offline=[],
             policies=[([0, 1], 1190400), ([2, 3], 1190400), ([4, 5], 1190400)],
             load_pct=[23, 17, 16, 13, 23, 10],
             min_khz=1190400, max_khz=1420800,
             freqs=upto(CARMEL_KHZ, 1907200), governor="schedutil"),
    # RAM 3168/6851MB: R35 reserves more than R32 on the same module.
    mem=dict(total_kb=7015604, used_mb=3168, swap_used_mb=161,
             swap_cached_mb=0, nvmap_kb=(8192, 282624)),
    # SWAP .../3426MB: zram alone (tegrastats rounds), no swap file.
    swaps=zram_swap(7015604, 6),
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    # In the sample's order; PMIC-Die is R35's 50 C placeholder. No
    # Tboard/Tdiode on that line.
    thermal=[("AUX-therm", 45000), ("CPU-therm", 46500),
             ("thermal-fan-est", 45600), ("AO-therm", 45000),
             ("GPU-therm", 45500), ("PMIC-Die", 50000)],
    # GR3D_FREQ 0%@[114]; the 5.10 kernel puts it under platform/, as on
    # the R35 Orins (guess for tegra194).
    gpu=dict(style="r35", dev="sys/devices/platform/17000000.gv11b",
             name="17000000.gv11b", of_name="gv11b", of_compat="nvidia,gv11b",
             load=0, cur=114750000, min=114750000, max=1109250000,
             freqs=GV11B_NX_HZ, governor="nvhost_podgov"),
    # JetPack 5's hwmon driver at the R32 address (guess: the i2c-7 alias
    # survives on 5.10). Voltages are illustrative; the sample prints mW.
    rails=[dict(dev="sys/devices/platform/c250000.i2c/i2c-7/7-0040", hwmon=1,
                channels=[("VDD_IN", 5064, 2763),
                          ("VDD_CPU_GPU_CV", 5056, 650),
                          ("VDD_SOC", 5056, 650)])],
    nvpmodel=dict(conf="nvpmodel_t194_p3668.conf", cpu_param="CPU_DENVER_0",
                  modes=XAVIER_NX_R35_MODES, default=2, current=8),
    # pwmfan plus tegra194's tachometer at 39c0000 as on the R35 Orins
    # (guess); the sample has no fan, so PWM and RPM are illustrative.
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon2", 64),
             tach=("sys/devices/platform/39c0000.tachometer/hwmon/hwmon3", 1750)),
    # Root: EMC_FREQ 2%@204 (mode 8 leaves EMC uncapped), VIC_FREQ 115,
    # APE 150. The engines' maxima are illustrative.
    emc=dict(style="bpmp", cur=204000000, min=204000000, max=1866000000,
             cap=0, mc_all=4080),
    engines=[("ape", 1, 150000000, 0, NO_CAP), ("dla0_core", 0, 0, 0, 1100800000),
             ("dla1_core", 0, 0, 0, 1100800000), ("nvdec", 0, 0, 0, 1113600000),
             ("nvenc", 0, 0, 0, 1113600000), ("nvjpg", 0, 0, 0, 716800000),
             ("vic", 1, 115200000, 0, 1036800000)],
)

BOARDS["agx-xavier-r32"] = dict(
    sample="AGX Xavier 16GB (root), L4T R32.x, rbonghi/jetson_stats history "
           "jtop/jetson_test.ipynb",
    dt=dict(
        model="Jetson-AGX",
        compatible=["nvidia,p2972-0000", "nvidia,galen", "nvidia,tegra194"],
        # The module P-number (p2888-0001) is only in the dts file name.
        dtsfilename=DTS.format(k="4.9", plat="t19x/galen",
                               name="tegra194-p2888-0001-p2822-0000.dts"),
        serial="0422818090211",
    ),
    release=R32_6_1,
    kernel="4.9.253-tegra",
    hostname="agx-xavier",
    uptime_cs=1570442,
    cpu=dict(types="carmel", count=8, offline=[4, 5, 6, 7],
             policies=[([0, 1], 1190400), ([2, 3], 1190400),
                       ([4, 5], None), ([6, 7], None)],
             load_pct=[1, 2, 0, 0, None, None, None, None],
             min_khz=1190400, max_khz=1190400, freqs=CARMEL_KHZ,
             governor="schedutil"),
    mem=dict(total_kb=16206848, used_mb=1736, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=(13312, 66560)),
    swaps=zram_swap(16206848, 8),
    zram_algo="[lzo] lz4 deflate lz4hc",
    thermal=[("AO-therm", 29000), ("CPU-therm", 30000), ("GPU-therm", 30000),
             ("AUX-therm", 29000), ("Tboard_tegra", 30000),
             ("Tdiode_tegra", 33000), ("PMIC-Die", 100000),
             ("thermal-fan-est", 29450), ("iwlwifi", 34000)],
    gpu=dict(style="r32", dev="sys/devices/17000000.gv11b",
             name="17000000.gv11b", of_name="gv11b", of_compat="nvidia,gv11b",
             load=0, cur=114750000, min=114750000, max=675750000,
             freqs=GV11B_AGX_HZ, governor="nvhost_podgov"),
    # No prefix, no input rail: the total is the sum (a floor).
    rails=[dict(dev="sys/devices/c240000.i2c/i2c-1/1-0040", iio=0,
                channels=[("GPU", 19104, 466), ("CPU", 19104, 466),
                          ("SOC", 19104, 932)]),
           dict(dev="sys/devices/c240000.i2c/i2c-1/1-0041", iio=1,
                channels=[("CV", 19104, 0), ("VDDRQ", 19104, 0),
                          ("SYS5V", 4984, 1854)])],
    nvpmodel=dict(conf="nvpmodel_t194.conf", cpu_param="CPU_DENVER_0",
                  modes=AGX_XAVIER_MODES, default=2, current=2),
    fan=dict(style="jp4", target_pwm=40, cur_pwm=40, rpm=861),
)

BOARDS["nano-4gb-r32"] = dict(
    sample="Nano 4GB (non-root), L4T R32.x, lipovsek/jetson_prometheus_exporter "
           "test (also quoted in a Go exporter header)",
    dt=dict(
        model="NVIDIA Jetson Nano Developer Kit",
        compatible=["nvidia,p3449-0000-b00+p3448-0000-b00", "nvidia,jetson-nano",
                    "nvidia,tegra210"],
        dtsfilename=DTS.format(k="4.9", plat="t210/porg",
                               name="tegra210-p3448-0000-p3449-0000-b00.dts"),
        serial="1422019064433",
    ),
    release=R32_7_1,
    kernel="4.9.253-tegra",
    hostname="jetson-nano",
    uptime_cs=4409915,
    cpu=dict(types="a57-t210", count=4, offline=[],
             policies=[([0, 1, 2, 3], 102000)],
             load_pct=[6, 5, 4, 3],
             min_khz=102000, max_khz=1479000, freqs=NANO_A57_KHZ,
             governor="schedutil"),
    mem=dict(total_kb=4059412, used_mb=2015, swap_used_mb=29, swap_cached_mb=3,
             nvmap_kb=(69632, 311296)),
    swaps=zram_swap(4059412, 4),
    zram_algo="[lzo] lz4 deflate lz4hc",
    thermal=[("AO-therm", 36000), ("CPU-therm", 31500), ("GPU-therm", 30500),
             ("PLL-therm", 28000), ("PMIC-Die", 100000),
             ("thermal-fan-est", 31250)],
    gpu=dict(style="r32", dev="sys/devices/57000000.gpu", name="57000000.gpu",
             of_name="gpu", of_compat="nvidia,tegra210-gm20b",
             load=0, cur=76800000, min=76800000, max=921600000,
             freqs=GM20B_HZ, governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/50000000.host1x/546c0000.i2c/i2c-6/6-0040",
                iio=0, channels=[("POM_5V_IN", 5008, 1388),
                                 ("POM_5V_GPU", 5000, 122),
                                 ("POM_5V_CPU", 5000, 163)])],
    nvpmodel=dict(conf="nvpmodel_t210_jetson-nano.conf", cpu_param="CPU_A57",
                  modes=NANO_MODES, default=0, current=0),
    fan=dict(style="jp4", target_pwm=0, cur_pwm=0, rpm=0),
)

BOARDS["tx2-r32"] = dict(
    sample="TX2 (6 cores, VDD_SYS_* rails), L4T R32.x (JetPack 4), "
           "henrygd/beszel PR #1631, with the Denver cores (cpu1-2) off as on "
           "'TX2 (root, Denver off, MSENC/NVDEC active)'",
    dt=dict(
        model="quill",
        compatible=["nvidia,p2771-0000-dsi-hdmi-dp", "nvidia,p2771-0000",
                    "nvidia,tegra186"],
        dtsfilename=DTS.format(k="4.9", plat="t18x/quill",
                               name="tegra186-quill-p3310-1000-c03-00-base.dts"),
        serial="0324617158923",
    ),
    release=R32_5_1,
    kernel="4.9.201-tegra",
    hostname="tx2",
    uptime_cs=9377106,
    cpu=dict(types=["a57-t186", "denver2", "denver2", "a57-t186", "a57-t186",
                    "a57-t186"],
             count=6, offline=[1, 2],
             policies=[([0, 3, 4, 5], 1420800), ([1, 2], None)],
             load_pct=[44, None, None, 17, 25, 8],
             min_khz=345600, max_khz=2035200, freqs=TX2_A57_KHZ,
             governor="schedutil"),
    mem=dict(total_kb=8047616, used_mb=3276, swap_used_mb=1626,
             swap_cached_mb=181, nvmap_kb=(24576, 402432)),
    swaps=zram_swap(8047616, 6) + [("file", "/mnt/swapfile", 8388604)],
    zram_algo="[lzo] lz4 deflate lz4hc",
    thermal=[("BCPU-therm", 42500), ("MCPU-therm", 42500), ("GPU-therm", 39500),
             ("PLL-therm", 42500), ("Tboard_tegra", 38000),
             ("Tdiode_tegra", 39250), ("PMIC-Die", 50000),
             ("thermal-fan-est", 41300)],
    gpu=dict(style="r32", dev="sys/devices/17000000.gp10b",
             name="17000000.gp10b", of_name="gp10b", of_compat="nvidia,gp10b",
             load=0, cur=114750000, min=114750000, max=1134750000,
             freqs=GP10B_HZ, governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/3160000.i2c/i2c-0/0-0040", iio=0,
                channels=[("VDD_SYS_GPU", 19072, 182),
                          ("VDD_SYS_SOC", 19072, 730),
                          ("VDD_4V0_WIFI", 4000, 0)]),
           dict(dev="sys/devices/3160000.i2c/i2c-0/0-0041", iio=1,
                channels=[("VDD_IN", 19080, 5297),
                          ("VDD_SYS_CPU", 19072, 1917),
                          ("VDD_SYS_DDR", 19072, 1241)])],
    nvpmodel=dict(conf="nvpmodel_t186.conf", cpu_param="CPU_A57",
                  modes=TX2_MODES, default=3, current=3),
    fan=dict(style="jp4", target_pwm=0, cur_pwm=0, rpm=0),
)

BOARDS["tx2-nx-r32"] = dict(
    sample="TX2 NX or TX2 4GB (3825MB, Denver cores off, non-root), "
           "L4T R32.6.1 (JetPack 4.6), rbonghi/jetson_stats issue #187 "
           "(the line has no rails, so the tree has no INA3221)",
    dt=dict(
        model="NVIDIA Jetson TX2 NX Developer Kit",
        compatible=["nvidia,p3509-0000+p3636-0001", "nvidia,tegra186"],
        dtsfilename=DTS.format(k="4.9", plat="t18x/lanai",
                               name="tegra186-p3636-0001-p3509-0000-a01.dts"),
        serial="1421521031127",
    ),
    release=R32_7_2,
    kernel="4.9.253-tegra",
    hostname="tx2-nx",
    uptime_cs=215540,
    cpu=dict(types=["a57-t186", "denver2", "denver2", "a57-t186", "a57-t186",
                    "a57-t186"],
             count=6, offline=[1, 2],
             policies=[([0, 3, 4, 5], 345600), ([1, 2], None)],
             load_pct=[3, None, None, 0, 1, 1],
             min_khz=345600, max_khz=2035200, freqs=TX2_A57_KHZ,
             governor="schedutil"),
    mem=dict(total_kb=3916800, used_mb=1689, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=(12288, 180224)),
    swaps=zram_swap(3916800, 6),
    zram_algo="[lzo] lz4 deflate lz4hc",
    thermal=[("BCPU-therm", 50500), ("MCPU-therm", 50500), ("GPU-therm", 50000),
             ("PLL-therm", 50500), ("PMIC-Die", 50000),
             ("thermal-fan-est", 50300)],
    gpu=dict(style="r32", dev="sys/devices/17000000.gp10b",
             name="17000000.gp10b", of_name="gp10b", of_compat="nvidia,gp10b",
             load=0, cur=114750000, min=114750000, max=1134750000,
             freqs=GP10B_HZ, governor="nvhost_podgov"),
    rails=[],
    # Assumed: the TX2 mode table (jetson.md has none for TX2 NX).
    nvpmodel=dict(conf="nvpmodel_t186_p3636.conf", cpu_param="CPU_A57",
                  modes=TX2_MODES, default=3, current=3),
    fan=dict(style="jp4", target_pwm=0, cur_pwm=0, rpm=0),
)

BOARDS["agx-thor-r38"] = dict(
    sample="AGX Thor 128GB (out of scope), L4T R38.4.0 (JetPack 7.1), "
           "lesomnus/tegra-exporter stats test (tree labelled R38.2.0)",
    dt=dict(
        model="NVIDIA Jetson AGX Thor Developer Kit",
        # Guess: the carrier P-number p3971-0000 is not confirmed.
        compatible=["nvidia,p3971-0000+p3834-0008", "nvidia,tegra264"],
        dtsfilename=None,
        serial="1425125000417",
    ),
    release=R38_2_0,
    kernel="6.8.12-tegra",
    hostname="agx-thor",
    uptime_cs=60001290,
    cpu=dict(types="neoverse-v3ae", count=14, offline=[],
             policies=[([0, 1], 972000), ([2, 3], 972000), ([4, 5], 972000),
                       ([6, 7], 972000), ([8, 9], 2601000),
                       ([10, 11], 972000), ([12, 13], 972000)],
             load_pct=[0, 0, 0, 0, 1, 0, 1, 0, 0, 17, 1, 9, 0, 1],
             min_khz=972000, max_khz=2601000, freqs=THOR_KHZ,
             governor="schedutil"),
    # Thor has no nvmap: no NvMapMem* lines.
    mem=dict(total_kb=128791552, used_mb=4280, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=None),
    swaps=[("zram", 2147483648)],
    zram_algo="lzo lzo-rle lz4 lz4hc 842 [zstd]",
    thermal=[("cpu-thermal", 35250), ("tj-thermal", 36031),
             ("soc012-thermal", 36062), ("soc345-thermal", 34500)],
    # Guess: the parent of the gpu-gpc-0/gpu-nvd-0 devices and their lack of
    # an of_node. No load file on Thor (NVML only).
    gpu=dict(style="thor", dev="sys/devices/platform/8808000000.gpu",
            # (devfreq name, cur_freq Hz, available Hz); cur 0 as on the
            # sample line (GR3D_FREQ @[0,0,0], NVDEC0_FREQ @0).
            entries=[("gpu-gpc-0", 0, THOR_GPC_HZ),
                     ("gpu-nvd-0", 0, THOR_NVD_HZ)],
             governor="nvhost_podgov"),
    # Guess: Thor's rails modelled as an INA3221 at 1-0040.
    rails=[dict(dev="sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040",
                hwmon=2, channels=[("VDD_GPU", 19104, 0),
                                   ("VDD_CPU_SOC_MSS", 19104, 4923),
                                   ("VIN_SYS_5V0", 4992, 4327)])],
    nvpmodel=dict(conf="nvpmodel_p3834_0008.conf", cpu_param="CPU_NEOVERSE_0",
                  modes=THOR_MODES, default=0, current=0),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon0", 64),
             tach=("sys/devices/platform/bus@0/39c0000.tachometer/hwmon/hwmon1", 1380)),
)

BOARDS["unknown-pnum"] = dict(
    sample="Orin Nano 8GB Super devkit (non-root), L4T R36.x (JetPack 6.2+), "
           "telemetry test \"real fixtures\" REAL_LINE; module P-number "
           "replaced by the unknown p3767-0099",
    dt=dict(
        model="NVIDIA Jetson Orin Engineering Reference Developer Kit",
        compatible=["nvidia,p3768-0000+p3767-0099", "nvidia,tegra234"],
        dtsfilename=DTS_R36.format(name="tegra234-p3768-0000+p3767-0099-nv.dts"),
        serial="1425021099001",
    ),
    release=R36_4_4,
    kernel="5.15.148-tegra",
    hostname="orin-custom",
    uptime_cs=1723390,
    cpu=dict(types="a78ae", count=6, offline=[],
             policies=[([0, 1, 2, 3], 1036800), ([4, 5], 729600)],
             load_pct=[0, 0, 1, 1, 0, 0],
             min_khz=729600, max_khz=1510400, freqs=orin_cpu(1510400),
             governor="schedutil"),
    mem=dict(total_kb=7803000, used_mb=1488, swap_used_mb=253, swap_cached_mb=2,
             nvmap_kb=(0, 204800)),
    swaps=zram_swap(7803000, 6) + [("file", "/swapfile", 8388604)],
    zram_algo="[lzo-rle] lzo lz4 lz4hc 842 zstd",
    thermal=[("cpu-thermal", 47875), ("gpu-thermal", 50218),
             ("soc0-thermal", 47281), ("soc1-thermal", 48281),
             ("soc2-thermal", 46750), ("tj-thermal", 50218)],
    gpu=dict(style="r36", dev="sys/devices/platform/bus@0/17000000.gpu",
             name="17000000.gpu", of_name="gpu", of_compat="nvidia,ga10b",
             load=0, cur=306000000, min=306000000, max=625000000,
             freqs=upto(ORIN_GPU_HZ, 625000000), governor="nvhost_podgov"),
    rails=[dict(dev="sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040",
                hwmon=2, channels=[("VDD_IN", 19104, 4654),
                                   ("VDD_CPU_GPU_CV", 19096, 560),
                                   ("VDD_SOC", 19096, 1484)])],
    nvpmodel=dict(conf="nvpmodel_p3767_0003.conf", cpu_param="CPU_A78_0",
                  modes=ORIN_NANO_8GB_MODES, default=0, current=0),
    fan=dict(style="hwmon",
             pwm=("sys/devices/platform/pwm-fan/hwmon/hwmon0", 88),
             tach=("sys/devices/platform/bus@0/39c0000.tachometer/hwmon/hwmon1", 1794)),
)

BOARDS["x86-host"] = dict(
    sample="none: an x86-64 desktop (Dell OptiPlex 7090, Core i3-10105); "
           "no tegrastats",
    dt=None,
    release=None,
    kernel="6.8.0-52-generic",
    hostname="build-pc",
    uptime_cs=35512024,
    cpu=dict(types="x86", count=8, offline=[],
             # intel_pstate: one policy per CPU.
             policies=[([0], 3601000), ([1], 4298112), ([2], 3900231),
                       ([3], 800000), ([4], 3712004), ([5], 800000),
                       ([6], 4102533), ([7], 3699870)],
             load_pct=[12, 8, 9, 5, 14, 6, 7, 4],
             min_khz=800000, max_khz=4400000, freqs=None,
             governor="powersave"),
    mem=dict(total_kb=16119956, used_mb=5210, swap_used_mb=0, swap_cached_mb=0,
             nvmap_kb=None),
    swaps=[("zram", 4294967296)],
    zram_algo="lzo lzo-rle lz4 lz4hc 842 [zstd]",
    thermal=[("acpitz", 27800), ("x86_pkg_temp", 45000)],
    gpu=None,
    rails=[],
    nvpmodel=None,
    fan=None,
    hwmon_temps=[
        dict(dir="sys/devices/virtual/thermal/thermal_zone0/hwmon0",
             name="acpitz", sensors=[(None, 27800)]),
        dict(dir="sys/devices/platform/coretemp.0/hwmon/hwmon1",
             name="coretemp", sensors=[("Package id 0", 45000),
                                       ("Core 0", 43000), ("Core 1", 44000),
                                       ("Core 2", 42000), ("Core 3", 45000)]),
    ],
    dmi=dict(sys_vendor="Dell Inc.", product_name="OptiPlex 7090",
             product_family="OptiPlex", product_version="",
             board_vendor="Dell Inc.", board_name="0W0CHX", board_version="A00",
             bios_vendor="Dell Inc.", bios_version="1.24.0",
             bios_date="04/10/2024", chassis_vendor="Dell Inc.",
             chassis_type="3"),
)

# An Orin-like tree with broken files; see break_tree() for what is wrong.
BOARDS["broken"] = dict(
    BOARDS["orin-nano-8gb-super-r36"],
    sample="derived from orin-nano-8gb-super-r36, then damaged "
           "(see break_tree in scripts/make-sysroots.py)",
    hostname="orin-broken",
    post="break_tree",
)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

class Tree:
    """Files and relative symlinks under one sysroot directory."""

    def __init__(self, root):
        self.root = root

    def _abs(self, path):
        assert not path.startswith("/"), path
        return os.path.join(self.root, path)

    def write(self, path, data):
        full = self._abs(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(full, "wb") as f:
            f.write(data)

    def val(self, path, value):
        """A sysfs attribute: the value and a newline."""
        self.write(path, f"{value}\n")

    def dt(self, path, *strings):
        """A device-tree property: NUL-terminated strings."""
        self.write(path, "".join(s + "\0" for s in strings))

    def link(self, path, target):
        """Symlink path -> target (both tree-relative), written as sysfs
        writes it: up to the lowest common ancestor of the link's directory
        and the target's parent, then down."""
        here = os.path.dirname(path).split("/")
        there = target.split("/")
        common = 0
        while (common < len(here) and common < len(there) - 1
               and here[common] == there[common]):
            common += 1
        rel = "/".join([".."] * (len(here) - common) + there[common:])
        self.raw_link(path, rel)

    def raw_link(self, path, rel):
        full = self._abs(path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        os.symlink(rel, full)

    def remove(self, path):
        full = self._abs(path)
        if os.path.isdir(full) and not os.path.islink(full):
            clear_dir(full, keep=())
            os.rmdir(full)
        else:
            os.unlink(full)


def clear_dir(path, keep=(GOLDEN,)):
    """Delete everything under path except files named in keep."""
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if entry.is_dir(follow_symlinks=False):
            clear_dir(entry.path, keep)
            if not os.listdir(entry.path):
                os.rmdir(entry.path)
        elif entry.name not in keep:
            os.unlink(entry.path)


def kv_block(pairs, width=16, unit=" kB"):
    """Lines like /proc/meminfo: "Key:" padded to width, value %8d."""
    out = []
    for key, value, has_unit in pairs:
        out.append(f"{key + ':':<{width}}{value:>8}{unit if has_unit else ''}\n")
    return "".join(out)


def kernel_version(board):
    major, minor = board["kernel"].split(".")[:2]
    return int(major), int(minor)


def online_cpus(board):
    cpu = board["cpu"]
    return [n for n in range(cpu["count"]) if n not in cpu["offline"]]


def cpu_list(cpus):
    """[0, 3, 4, 5] -> "0,3-5"."""
    out, i = [], 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j + 1] == cpus[j] + 1:
            j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}")
        i = j + 1
    return ",".join(out)


# --- identity --------------------------------------------------------------

def write_identity(t, b):
    if b["dt"]:
        dt = b["dt"]
        t.dt("proc/device-tree/model", dt["model"])
        t.dt("proc/device-tree/compatible", *dt["compatible"])
        t.dt("proc/device-tree/serial-number", dt["serial"])
        if dt["dtsfilename"]:
            t.dt("proc/device-tree/nvidia,dtsfilename", dt["dtsfilename"])
    if b["release"]:
        t.write("etc/nv_tegra_release", b["release"])
    t.val("proc/sys/kernel/osrelease", b["kernel"])
    t.val("proc/sys/kernel/hostname", b["hostname"])
    if "dmi" in b:
        base = "sys/devices/virtual/dmi/id"
        for key, value in b["dmi"].items():
            t.val(f"{base}/{key}", value)
        t.link("sys/class/dmi/id", base)


# --- CPU -------------------------------------------------------------------

def cpu_type(b, n):
    types = b["cpu"]["types"]
    return types if isinstance(types, str) else types[n]


def cpuinfo_arm(b):
    old = kernel_version(b) < (5, 0)        # the 4.9 kernel adds model name
    out = []
    for n in online_cpus(b):
        c = CPU_TYPES[cpu_type(b, n)]
        out.append(f"processor\t: {n}\n")
        if old:
            out.append(f"model name\t: ARMv8 Processor rev {c['revision']} (v8l)\n")
        out.append(f"BogoMIPS\t: {c['bogomips']}\n"
                   f"Features\t: {c['features']}\n"
                   f"CPU implementer\t: {c['implementer']}\n"
                   f"CPU architecture: 8\n"
                   f"CPU variant\t: {c['variant']}\n"
                   f"CPU part\t: {c['part']}\n"
                   f"CPU revision\t: {c['revision']}\n\n")
    return "".join(out)


X86_FLAGS = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov "
             "pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe "
             "syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs "
             "bts rep_good nopl xtopology nonstop_tsc cpuid aperfmperf pni "
             "pclmulqdq dtes64 monitor ds_cpl vmx est tm2 ssse3 sdbg fma cx16 "
             "xtpr pdcm pcid sse4_1 sse4_2 x2apic movbe popcnt "
             "tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm "
             "3dnowprefetch cpuid_fault epb ssbd ibrs ibpb stibp "
             "ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase "
             "tsc_adjust bmi1 avx2 smep bmi2 erms invpcid mpx rdseed adx smap "
             "clflushopt intel_pt xsaveopt xsavec xgetbv1 xsaves dtherm ida "
             "arat pln pts hwp hwp_notify hwp_act_window hwp_epp vnmi "
             "md_clear flush_l1d arch_capabilities")


def cpuinfo_x86(b):
    out = []
    cores = b["cpu"]["count"] // 2
    for n in online_cpus(b):
        core = n % cores
        mhz = b["cpu"]["policies"][n][1] / 1000
        out.append(
            f"processor\t: {n}\n"
            "vendor_id\t: GenuineIntel\n"
            "cpu family\t: 6\n"
            "model\t\t: 165\n"
            "model name\t: Intel(R) Core(TM) i3-10105 CPU @ 3.70GHz\n"
            "stepping\t: 3\n"
            "microcode\t: 0xfc\n"
            f"cpu MHz\t\t: {mhz:.3f}\n"
            "cache size\t: 6144 KB\n"
            "physical id\t: 0\n"
            f"siblings\t: {b['cpu']['count']}\n"
            f"core id\t\t: {core}\n"
            f"cpu cores\t: {cores}\n"
            f"apicid\t\t: {core * 2 + n // cores}\n"
            f"initial apicid\t: {core * 2 + n // cores}\n"
            "fpu\t\t: yes\n"
            "fpu_exception\t: yes\n"
            "cpuid level\t: 22\n"
            "wp\t\t: yes\n"
            f"flags\t\t: {X86_FLAGS}\n"
            "vmx flags\t: vnmi preemption_timer invvpid ept_x_only ept_ad "
            "ept_1gb flexpriority tsc_offset vtpr mtf vapic ept vpid "
            "unrestricted_guest ple pml ept_mode_based_exec\n"
            "bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs itlb_multihit "
            "srbds mmio_stale_data retbleed eibrs_pbrsb gds bhi\n"
            "bogomips\t: 7399.70\n"
            "clflush size\t: 64\n"
            "cache_alignment\t: 64\n"
            "address sizes\t: 39 bits physical, 48 bits virtual\n"
            "power management:\n\n")
    return "".join(out)


def write_cpus(t, b):
    cpu = b["cpu"]
    n_cpus = cpu["count"]
    online = online_cpus(b)
    base = "sys/devices/system/cpu"
    everything = f"0-{n_cpus - 1}"
    t.val(f"{base}/present", everything)
    t.val(f"{base}/possible", everything)
    t.val(f"{base}/online", cpu_list(online))
    t.val(f"{base}/offline", cpu_list(cpu["offline"]))
    for n in range(n_cpus):
        if n > 0:
            t.val(f"{base}/cpu{n}/online", 0 if n in cpu["offline"] else 1)
    for cpus, cur in cpu["policies"]:
        live = [n for n in cpus if n in online]
        if not live:                        # whole cluster unplugged
            continue
        pol = f"{base}/cpufreq/policy{cpus[0]}"
        t.val(f"{pol}/affected_cpus", " ".join(map(str, live)))
        t.val(f"{pol}/related_cpus", " ".join(map(str, cpus)))
        t.val(f"{pol}/cpuinfo_min_freq",
              cpu["freqs"][0] if cpu["freqs"] else cpu["min_khz"])
        t.val(f"{pol}/cpuinfo_max_freq",
              cpu["freqs"][-1] if cpu["freqs"] else cpu["max_khz"])
        t.val(f"{pol}/scaling_cur_freq", cur)
        t.val(f"{pol}/scaling_min_freq", cpu["min_khz"])
        t.val(f"{pol}/scaling_max_freq", cpu["max_khz"])
        t.val(f"{pol}/scaling_governor", cpu["governor"])
        if cpu["freqs"]:                    # intel_pstate has no table
            t.val(f"{pol}/scaling_available_frequencies",
                  " ".join(map(str, cpu["freqs"])) + " ")
        for n in live:
            t.link(f"{base}/cpu{n}/cpufreq", pol)
    t.write("proc/cpuinfo",
            cpuinfo_x86(b) if cpu["types"] == "x86" else cpuinfo_arm(b))


def cpu_ticks(b, n, load_pct):
    """One /proc/stat cpuN row: user nice system idle iowait irq softirq
    steal guest guest_nice, in USER_HZ (100/s). Since-boot busy share is the
    sample's load plus 0.3 %."""
    total = b["uptime_cs"] - 37 * n
    busy = total * (load_pct * 10 + 3) // 1000
    user = busy * 70 // 100
    nice = busy // 100
    system = busy * 22 // 100
    irq = busy * 2 // 100
    softirq = busy - user - nice - system - irq
    iowait = (total - busy) // 100
    idle = total - busy - iowait
    return [user, nice, system, idle, iowait, irq, softirq, 0, 0, 0]


def write_proc_stat(t, b):
    rows = {n: cpu_ticks(b, n, b["cpu"]["load_pct"][n]) for n in online_cpus(b)}
    total = [sum(col) for col in zip(*rows.values())]
    up_s = b["uptime_cs"] // 100
    lines = ["cpu  " + " ".join(map(str, total))]
    lines += [f"cpu{n} " + " ".join(map(str, r)) for n, r in rows.items()]
    irqs = [0, 0, up_s * 25, 0, up_s * 3, 0, 0, 0, up_s * 11, 0, 0, 412, 0,
            0, 3, up_s // 2] + [0] * 48
    lines.append(f"intr {up_s * 97} " + " ".join(map(str, irqs)))
    lines.append(f"ctxt {up_s * 2113}")
    lines.append(f"btime {1735689600 + b['uptime_cs'] % 86400}")
    lines.append(f"processes {up_s * 3 + 1021}")
    lines.append("procs_running 2")
    lines.append("procs_blocked 0")
    soft = [up_s * 5, 1, up_s * 2, 17, up_s // 3, up_s // 9, 0, 312, up_s, 0,
            up_s // 4 + 1]
    lines.append(f"softirq {sum(soft)} " + " ".join(map(str, soft)))
    t.write("proc/stat", "\n".join(lines) + "\n")
    idle_cs = sum(r[3] for r in rows.values())
    up = b["uptime_cs"]
    t.write("proc/uptime",
            f"{up // 100}.{up % 100:02d} {idle_cs // 100}.{idle_cs % 100:02d}\n")


# --- memory ----------------------------------------------------------------

def swap_devices(b):
    """[(path, kind, size_kb, used_kb, prio, disksize_bytes|None)]."""
    used_left = b["mem"]["swap_used_mb"] * 1024
    zrams = [s for s in b["swaps"] if s[0] == "zram"]
    per_zram = -(-used_left // max(len(zrams), 1)) // 4 * 4
    out, z = [], 0
    x86 = b["cpu"]["types"] == "x86"
    for s in b["swaps"]:
        if s[0] == "zram":
            size_kb = s[1] // 1024 - 4          # the swap header page
            used = min(per_zram, used_left, size_kb)
            out.append((f"/dev/zram{z}", "partition", size_kb, used,
                        100 if x86 else 5, s[1]))
            z += 1
        else:
            size_kb, used = s[2], min(used_left, s[2])
            out.append((s[1], "file", size_kb, used, -2, None))
        used_left -= used
    return out


def write_swaps(t, b):
    devs = swap_devices(b)
    new = kernel_version(b) >= (5, 8)
    lines = ["Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
             if new else "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n"]
    for path, kind, size, used, prio, _ in devs:
        pad = " " * (40 - len(path) if len(path) < 40 else 1)
        kind_s = "partition" if kind == "partition" else "file\t"
        if new:
            lines.append(f"{path}{pad}{kind_s}\t{size}\t"
                         f"{chr(9) if size < 10000000 else ''}{used}\t"
                         f"{chr(9) if used < 10000000 else ''}{prio}\n")
        else:
            lines.append(f"{path}{pad}{kind_s}\t{size}\t{used}\t{prio}\n")
    t.write("proc/swaps", "".join(lines))

    # /sys/block/zramN; mm_stat has 7 fields on 4.9, 8 on 5.x, 9 on 6.x.
    fields = {4: 7, 5: 8, 6: 9}[kernel_version(b)[0]]
    for path, kind, size, used, prio, disksize in devs:
        if kind != "partition":
            continue
        name = os.path.basename(path)
        dev = f"sys/devices/virtual/block/{name}"
        # orig_data_size compr_data_size mem_used_total mem_limit
        # mem_used_max same_pages pages_compacted huge_pages huge_pages_since
        orig = used * 1024
        compr = orig * 31 // 100
        pages = -(-compr * 11 // 10 // 4096)    # allocator overhead, whole pages
        mem_used = pages * 4096
        mm = [orig, compr, mem_used, 0, mem_used, orig // 4096 // 50, 0, 0, 0]
        t.val(f"{dev}/disksize", disksize)
        t.val(f"{dev}/initstate", 1)
        t.val(f"{dev}/comp_algorithm", b["zram_algo"])
        t.val(f"{dev}/mm_stat", " ".join(f"{v:>8}" for v in mm[:fields]))
        t.link(f"sys/block/{name}", dev)


def write_meminfo(t, b):
    m = b["mem"]
    kv = kernel_version(b)
    arm = b["cpu"]["types"] != "x86"
    total = m["total_kb"]
    used = m["used_mb"] * 1024
    rest = total - used                      # free + buffers + cached
    buffers = total // 64
    cached = rest * 45 // 100
    free = rest - buffers - cached
    available = free + cached * 85 // 100 + buffers // 2
    shmem = total // 200
    anon = used * 55 // 100
    slab = total // 40
    sreclaim = slab * 45 // 100
    devs = swap_devices(b)
    swap_total = sum(d[2] for d in devs)
    swap_free = swap_total - sum(d[3] for d in devs)
    active_file = cached * 40 // 100
    inactive_file = cached + buffers - active_file - shmem
    rows = [
        ("MemTotal", total), ("MemFree", free), ("MemAvailable", available),
        ("Buffers", buffers), ("Cached", cached),
        ("SwapCached", m["swap_cached_mb"] * 1024),
        ("Active", anon // 5 + active_file),
        ("Inactive", anon - anon // 5 + shmem + inactive_file),
        ("Active(anon)", anon // 5), ("Inactive(anon)", anon - anon // 5 + shmem),
        ("Active(file)", active_file), ("Inactive(file)", inactive_file),
        ("Unevictable", 0 if kv < (5, 0) else 24), ("Mlocked", 0 if kv < (5, 0) else 24),
        ("SwapTotal", swap_total), ("SwapFree", swap_free),
    ]
    if kv >= (6, 0):
        rows += [("Zswap", 0), ("Zswapped", 0)]
    rows += [("Dirty", 132), ("Writeback", 0), ("AnonPages", anon),
             ("Mapped", cached // 4), ("Shmem", shmem)]
    if kv >= (5, 0):
        rows.append(("KReclaimable", sreclaim + 5120))
    rows += [("Slab", slab), ("SReclaimable", sreclaim),
             ("SUnreclaim", slab - sreclaim),
             ("KernelStack", 9072 + 1552 * b["cpu"]["count"])]
    rows.append(("PageTables", used // 90))
    if kv >= (6, 3):
        rows.append(("SecPageTables", 0))
    rows += [("NFS_Unstable", 0), ("Bounce", 0), ("WritebackTmp", 0),
             ("CommitLimit", total // 2 + swap_total),
             ("Committed_AS", used * 16 // 10),
             ("VmallocTotal", 263061440 if arm else 34359738367),
             ("VmallocUsed", 41872 if kv >= (5, 0) else 0),
             ("VmallocChunk", 0)]
    if kv >= (5, 0):
        rows.append(("Percpu", 1024 * b["cpu"]["count"] + 1536))
    if not arm:
        rows.append(("HardwareCorrupted", 0))
    rows += [("AnonHugePages", 0), ("ShmemHugePages", 0), ("ShmemPmdMapped", 0)]
    if kv >= (5, 0):
        rows += [("FileHugePages", 0), ("FilePmdMapped", 0)]
    if arm:
        cma = 491520 if b["cpu"]["types"] == "a57-t210" else 0
        rows += [("CmaTotal", cma), ("CmaFree", cma * 3 // 4)]
    plain = [("HugePages_Total", 0), ("HugePages_Free", 0),
             ("HugePages_Rsvd", 0), ("HugePages_Surp", 0)]
    tail = [("Hugepagesize", 2048)]
    if kv >= (5, 0):
        tail.append(("Hugetlb", 0))
    if not arm:
        tail += [("DirectMap4k", 412304), ("DirectMap2M", 10936320),
                 ("DirectMap1G", 5242880)]
    if m["nvmap_kb"] is not None:
        tail += [("NvMapMemFree", m["nvmap_kb"][0]),
                 ("NvMapMemUsed", m["nvmap_kb"][1])]
    text = (kv_block([(k, v, True) for k, v in rows])
            + kv_block([(k, v, False) for k, v in plain])
            + kv_block([(k, v, True) for k, v in tail]))
    t.write("proc/meminfo", text)


# --- thermal and hwmon temperatures --------------------------------------------

def write_thermal(t, b):
    for n, (ztype, temp) in enumerate(b["thermal"]):
        zone = f"sys/devices/virtual/thermal/thermal_zone{n}"
        t.val(f"{zone}/type", ztype)
        # A str is written as is (broken tree); an int is m°C.
        t.write(f"{zone}/temp", temp if isinstance(temp, str) else f"{temp}\n")
        t.val(f"{zone}/policy", "step_wise")
        t.link(f"sys/class/thermal/thermal_zone{n}", zone)
    for h in b.get("hwmon_temps", []):
        t.val(f"{h['dir']}/name", h["name"])
        for i, (label, temp) in enumerate(h["sensors"], start=1):
            if label is not None:
                t.val(f"{h['dir']}/temp{i}_label", label)
            t.val(f"{h['dir']}/temp{i}_input", temp)
        t.link(f"sys/class/hwmon/{os.path.basename(h['dir'])}", h["dir"])


# --- GPU -------------------------------------------------------------------

def write_devfreq(t, dev, name, cur, lo, hi, freqs, governor, device_link=None):
    """dev/devfreq/name with its frequency files and the class link."""
    d = f"{dev}/devfreq/{name}"
    t.val(f"{d}/cur_freq", cur)
    t.val(f"{d}/target_freq", cur)
    t.val(f"{d}/min_freq", lo)
    t.val(f"{d}/max_freq", hi)
    t.val(f"{d}/governor", governor)
    t.val(f"{d}/available_governors",
          "wmark_active nvhost_podgov userspace performance simple_ondemand")
    t.val(f"{d}/available_frequencies", " ".join(map(str, freqs)))
    if device_link is None:
        t.link(f"{d}/device", dev)
    else:
        t.raw_link(f"{d}/device", device_link)
    t.link(f"sys/class/devfreq/{name}", d)


def write_gpu(t, b):
    g = b["gpu"]
    if not g:
        return
    dev = g["dev"]
    if g["style"] == "thor":
        for name, cur, freqs in g["entries"]:
            write_devfreq(t, f"{dev}/{name}", name, cur, freqs[0], freqs[-1],
                          freqs, g["governor"])
        return
    write_devfreq(t, dev, g["name"], g["cur"], g["min"], g["max"], g["freqs"],
                  g["governor"], g.get("device_link"))
    t.val(f"{dev}/load", g["load"])
    t.val(f"{dev}/railgate_enable", 1)
    t.dt(f"{dev}/of_node/name", g["of_name"])
    t.dt(f"{dev}/of_node/compatible", g["of_compat"])
    if g["style"] == "r36":
        # nvpmodel and most scripts use .../17000000.gpu/devfreq_dev/max_freq.
        t.link(f"{dev}/devfreq_dev", f"{dev}/devfreq/{g['name']}")
        t.link("sys/devices/platform/gpu.0", dev)
    else:
        t.link("sys/devices/gpu.0", dev)


def gpu_devfreq_path(b):
    g = b["gpu"]
    if g["style"] == "r36":
        return f"/{g['dev']}/devfreq_dev"
    if g["style"] == "thor":
        return f"/{g['dev']}/gpu-gpc-0/devfreq/gpu-gpc-0"
    return f"/{g['dev']}/devfreq/{g['name']}"


# --- power: INA3221, nvpmodel, fan -------------------------------------------

def bus_links(t, dev, driver):
    addr = os.path.basename(dev)
    t.link(f"sys/bus/i2c/devices/{addr}", dev)
    t.link(f"sys/bus/i2c/drivers/{driver}/{addr}", dev)


def write_rails(t, b):
    for r in b["rails"]:
        dev = r["dev"]
        chans = [(label, mv, (mw * 1000 + mv // 2) // mv if mv else 0, mw)
                 for label, mv, mw in r["channels"]]
        if "hwmon" in r:                    # JetPack 5+: hwmon driver
            t.val(f"{dev}/name", "ina3221")
            h = f"{dev}/hwmon/hwmon{r['hwmon']}"
            t.val(f"{h}/name", "ina3221")
            for i, (label, mv, ma, _) in enumerate(chans, start=1):
                t.val(f"{h}/in{i}_label", label)
                t.val(f"{h}/in{i}_input", mv)
                t.val(f"{h}/in{i}_enable", 1)
                t.val(f"{h}/curr{i}_input", ma)
                t.val(f"{h}/curr{i}_max", 5000 if label == "NC" else 15000)
                t.val(f"{h}/curr{i}_crit", 5000 if label == "NC" else 20000)
                t.val(f"{h}/curr{i}_max_alarm", 0)
                t.val(f"{h}/curr{i}_crit_alarm", 0)
                t.val(f"{h}/shunt{i}_resistor", 5000)
                t.val(f"{h}/in{i + 3}_input", ma * 5)     # shunt µV
            t.val(f"{h}/in7_label", "sum of shunt voltages")
            t.val(f"{h}/in7_input", sum(c[2] for c in chans) * 5)
            t.link(f"sys/class/hwmon/hwmon{r['hwmon']}", h)
            bus_links(t, dev, "ina3221")
        else:                               # JetPack 4: iio driver ina3221x
            t.val(f"{dev}/name", "ina3221x")
            d = f"{dev}/iio:device{r['iio']}"
            t.val(f"{d}/name", "ina3221x")
            for k, (label, mv, ma, mw) in enumerate(chans):
                t.val(f"{d}/rail_name_{k}", label)
                t.val(f"{d}/in_voltage{k}_input", mv)
                t.val(f"{d}/in_current{k}_input", ma)
                t.val(f"{d}/in_power{k}_input", mw)
                t.val(f"{d}/warn_current_limit_{k}", 15000)
                t.val(f"{d}/crit_current_limit_{k}", 20000)
            t.link(f"sys/bus/iio/devices/iio:device{r['iio']}", d)
            bus_links(t, dev, "ina3221x")


def nvpmodel_conf(b):
    nv = b["nvpmodel"]
    cpu = b["cpu"]
    gpu = gpu_devfreq_path(b) if b["gpu"] else None
    c = "/sys/devices/system/cpu"
    lines = [f"# {nv['conf']}: abridged fixture copy (constructed, not shipped)",
             "", "< PARAM TYPE=FILE NAME=CPU_ONLINE >"]
    lines += [f"CORE_{n} {c}/cpu{n}/online" for n in range(cpu["count"])]
    lines += ["", f"< PARAM TYPE=CLOCK NAME={nv['cpu_param']} >",
              f"FREQ_TABLE {c}/cpu0/cpufreq/scaling_available_frequencies",
              f"MAX_FREQ {c}/cpu0/cpufreq/scaling_max_freq",
              f"MIN_FREQ {c}/cpu0/cpufreq/scaling_min_freq"]
    if gpu:
        lines += ["", "< PARAM TYPE=CLOCK NAME=GPU >",
                  f"FREQ_TABLE {gpu}/available_frequencies",
                  f"MAX_FREQ {gpu}/max_freq",
                  f"MIN_FREQ {gpu}/min_freq"]
    for mid, name, cores, cpu_max, gpu_max in nv["modes"]:
        on = cores if isinstance(cores, list) else list(range(cores))
        lines += ["", f"< POWER_MODEL ID={mid} NAME={name} >"]
        lines += [f"CPU_ONLINE CORE_{n} {1 if n in on else 0}"
                  for n in range(cpu["count"])]
        lines += [f"{nv['cpu_param']} MIN_FREQ {cpu['min_khz']}",
                  f"{nv['cpu_param']} MAX_FREQ {cpu_max}"]
        if gpu:
            lines += ["GPU MIN_FREQ 0", f"GPU MAX_FREQ {gpu_max}"]
    lines += ["", f"< PM_CONFIG DEFAULT={nv['default']} >"]
    return "\n".join(lines) + "\n"


def write_nvpmodel(t, b):
    nv = b["nvpmodel"]
    if not nv:
        return
    t.write(f"etc/nvpmodel/{nv['conf']}", nvpmodel_conf(b))
    t.raw_link("etc/nvpmodel.conf", f"nvpmodel/{nv['conf']}")
    fmode = "" if kernel_version(b) < (5, 0) else " fmode:quiet"
    t.write("var/lib/nvpmodel/status", f"pmode:{nv['current']:04d}{fmode}\n")


def write_fan(t, b):
    f = b["fan"]
    if not f:
        return
    if f["style"] == "hwmon":               # JetPack 5+: pwmfan + pwm_tach
        pwm_dir, pwm = f["pwm"]
        tach_dir, rpm = f["tach"]
        t.val(f"{pwm_dir}/name", "pwmfan")
        t.val(f"{pwm_dir}/pwm1", pwm)
        t.val(f"{pwm_dir}/pwm1_enable", 1)
        t.val(f"{tach_dir}/name", "pwm_tach")
        t.val(f"{tach_dir}/rpm", rpm)
        for d in (pwm_dir, tach_dir):
            t.link(f"sys/class/hwmon/{os.path.basename(d)}", d)
    else:                                   # JetPack 4: /sys/devices/pwm-fan
        d = "sys/devices/pwm-fan"
        t.val(f"{d}/target_pwm", f["target_pwm"])
        t.val(f"{d}/cur_pwm", f["cur_pwm"])
        t.val(f"{d}/rpm_measured", f["rpm"])
        t.val(f"{d}/temp_control", 1)
        t.val(f"{d}/pwm_cap", 255)
        t.val(f"{d}/step_time", 100)


def write_emc(t, b):
    e = b.get("emc")
    if not e:
        return
    t.val("sys/kernel/nvpmodel_emc_cap/emc_iso_cap", e["cap"])
    if e["style"] == "bpmp":                # tegra186/194/234, root only
        d = "sys/kernel/debug/bpmp/debug/clk/emc"
        t.val(f"{d}/rate", e["cur"])
        t.val(f"{d}/min_rate", e["min"])
        t.val(f"{d}/max_rate", e["max"])
        t.val(f"{d}/mrq_rate_locked", 0)
        t.val("sys/kernel/debug/bpmp/debug/actmon/mc_all_avg_activity",
              e["mc_all"])


def write_engines(t, b):
    for name, count, rate, lo, hi in b.get("engines", []):
        d = f"sys/kernel/debug/clk/{name}"
        t.val(f"{d}/clk_enable_count", count)
        t.val(f"{d}/clk_rate", rate)
        t.val(f"{d}/clk_min_rate", lo)
        t.val(f"{d}/clk_max_rate", hi)
    if b.get("engines"):
        # Clocks that are not engines, and an engine's part (".buf").
        for name in ("emc", "nvdec.buf", "sdmmc4", "uarta"):
            t.val(f"sys/kernel/debug/clk/{name}/clk_enable_count", 1)
            t.val(f"sys/kernel/debug/clk/{name}/clk_rate", 204000000)


# --- the broken tree ---------------------------------------------------------

def break_tree(t, b):
    """Damage an otherwise normal Orin Nano tree, one fault per subsystem."""
    # meminfo cut mid-line: no MemAvailable, no trailing newline.
    t.write("proc/meminfo", "MemTotal:        7803000 kB\nMemFree:         12")
    # Zone 1 reads garbage, zone 2 reads empty.
    t.write("sys/devices/virtual/thermal/thermal_zone1/temp", "abc\n")
    t.write("sys/devices/virtual/thermal/thermal_zone2/temp", "")
    # No device tree at all, and a release line with no usable revision.
    t.remove("proc/device-tree")
    t.write("etc/nv_tegra_release", "# R36 (release), REVISION: x.y\n")
    # /proc/stat: cpu2 has a non-numeric field, cpu3 is cut short.
    with open(os.path.join(t.root, "proc/stat")) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("cpu2 "):
            fields = line.split(" ")
            fields[3] = "4dd1"
            lines[i] = " ".join(fields)
        elif line.startswith("cpu3 "):
            lines[i] = " ".join(line.split(" ")[:3])
    t.write("proc/stat", "\n".join(lines))
    # INA3221 channel 1 voltage is not a number.
    rail = b["rails"][0]
    t.write(f"{rail['dev']}/hwmon/hwmon{rail['hwmon']}/in1_input", "n/a\n")
    # The GPU devfreq entry's device link points nowhere.
    g = b["gpu"]
    link = f"{g['dev']}/devfreq/{g['name']}/device"
    t.remove(link)
    t.raw_link(link, "../../../17000000.gpu-gone")
    # nvpmodel status without a mode number.
    t.write("var/lib/nvpmodel/status", "pmode:\n")


POST = {"break_tree": break_tree}
DANGLING_OK = {"broken": {"sys/devices/platform/bus@0/17000000.gpu/devfreq/"
                          "17000000.gpu/device"}}


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def build(out, name):
    b = BOARDS[name]
    root = os.path.join(out, name)
    if os.path.isdir(root):
        clear_dir(root)
    os.makedirs(root, exist_ok=True)
    t = Tree(root)
    write_identity(t, b)
    write_cpus(t, b)
    write_proc_stat(t, b)
    write_meminfo(t, b)
    write_swaps(t, b)
    write_thermal(t, b)
    write_gpu(t, b)
    write_rails(t, b)
    write_nvpmodel(t, b)
    write_fan(t, b)
    write_emc(t, b)
    write_engines(t, b)
    if "post" in b:
        POST[b["post"]](t, b)
    check(root, name)


def check(root, name):
    """No absolute or escaping symlinks, no unexpected dangling ones, and no
    empty directories (git would drop them)."""
    real_root = os.path.realpath(root)
    allowed = DANGLING_OK.get(name, set())
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            path = os.path.join(dirpath, entry)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                target = os.readlink(path)
                if os.path.isabs(target):
                    sys.exit(f"{name}: absolute symlink {rel} -> {target}")
                resolved = os.path.realpath(path)
                if not (resolved + "/").startswith(real_root + "/"):
                    sys.exit(f"{name}: symlink {rel} leaves the tree")
                if not os.path.exists(path) and rel not in allowed:
                    sys.exit(f"{name}: dangling symlink {rel} -> {target}")
        if not dirnames and not filenames:
            sys.exit(f"{name}: empty directory {os.path.relpath(dirpath, root)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT,
                    help="directory holding the trees (default: %(default)s)")
    ap.add_argument("names", nargs="*", help="trees to build (default: all)")
    args = ap.parse_args()
    names = args.names or list(BOARDS)
    for name in names:
        if name not in BOARDS:
            sys.exit(f"unknown tree {name!r}; known: {', '.join(BOARDS)}")
    os.makedirs(args.out, exist_ok=True)
    for name in names:
        build(args.out, name)
        print(f"wrote {os.path.relpath(os.path.join(args.out, name))}")
    stale = sorted(set(os.listdir(args.out)) - set(BOARDS))
    for name in stale:
        print(f"warning: {name} is not generated by this script; left as is",
              file=sys.stderr)


if __name__ == "__main__":
    main()
