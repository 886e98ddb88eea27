#!/usr/bin/env python3
"""Generator of the golden data in tests/cohete/quant-formats.c.

A second, deliberately plain implementation of ggml's reference quantizers
(quantize_row_<type>_ref, shared/reference/ggml-quants.md; for IQ4_NL
quantize_iq4_nl, which llama-quantize calls) and of dequantize_row_<type>,
written apart from src/cohete/quant/formats.c.
Python floats are doubles: every float32 operation is emulated as the
double result rounded to float32 (f32()), which is exact for + - * / and
sqrt (a double holds more than 2 x 24 + 2 bits). Inputs come from
generators both sides compute exactly (small integers times powers of two).

Output, in two parts: goldens[] (six 256-element rows, every format: the
bytes and a digest of the dequantized floats; IQ4_NL last, so the older
formats' entries stay as they were) and, after the "batch"
comment, batches[] (256 rows, one checksum pair per format). Paste them
into the two arrays of quant-formats.c:

    python3 tests/cohete/quant-golden.py > /tmp/golden.h    # about 16 s

Not run by the build.
"""
import math
import struct
import sys

INF = float("inf")


def f32(v):
    try:
        return struct.unpack("<f", struct.pack("<f", v))[0]
    except OverflowError:
        return math.copysign(INF, v)


def div(a, b):
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return float("nan")
        return math.copysign(INF, a) * math.copysign(1.0, b)
    return f32(a / b)


def mul(a, b):
    return f32(a * b)


def add(a, b):
    return f32(a + b)


def sub(a, b):
    return f32(a - b)


def f16_bits(v):
    """fp32 -> fp16, round to nearest even (CPython's 'e' packing)."""
    if math.isnan(v):
        return 0x7E00 | (0x8000 if math.copysign(1.0, v) < 0 else 0)
    try:
        return struct.unpack("<H", struct.pack("<e", v))[0]
    except OverflowError:
        return 0xFC00 if v < 0 else 0x7C00


def f16_val(h):
    return struct.unpack("<e", struct.pack("<H", h))[0]


def nearest_int(v):
    """ggml's nearest_int: 1.5 * 2^23 added in float32, low mantissa bits."""
    s = add(v, 12582912.0)
    i = struct.unpack("<I", struct.pack("<f", s))[0]
    return (i & 0x7FFFFF) - 0x400000


def trunc_i8(v):
    """(int8_t)v on x86-64: cvttss2si (INT32_MIN if invalid), low byte."""
    if math.isnan(v) or not (-2147483648.0 < v < 2147483648.0):
        i = -2147483648
    else:
        i = int(v)
    b = i & 0xFF
    return b - 256 if b > 127 else b


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def le16(h):
    return [h & 0xFF, h >> 8]


# ---- 32-element formats -----------------------------------------------

def absmax_signed(x):
    amax, mx = 0.0, 0.0
    for v in x:
        if amax < abs(v):
            amax, mx = abs(v), v
    return mx


def q4_0(x):
    d = div(absmax_signed(x), -8.0)
    idv = div(1.0, d) if d != 0 else 0.0
    q = [min(15, trunc_i8(add(mul(v, idv), 8.5))) & 0xFF for v in x]
    return le16(f16_bits(d)) + [(q[j] | q[j + 16] << 4) & 0xFF for j in range(16)]


def q5_0(x):
    d = div(absmax_signed(x), -16.0)
    idv = div(1.0, d) if d != 0 else 0.0
    q = [min(31, trunc_i8(add(mul(v, idv), 16.5))) & 0xFF for v in x]
    qh = 0
    for j in range(32):
        qh |= (q[j] >> 4 & 1) << j
    return (le16(f16_bits(d)) + list(struct.pack("<I", qh)) +
            [(q[j] & 15) | (q[j + 16] & 15) << 4 for j in range(16)])


def q4_1_like(x, nmax, clampit):
    mn, mx = 3.4028234663852886e38, -3.4028234663852886e38
    for v in x:
        mn = v if v < mn else mn
        mx = v if v > mx else mx
    d = div(sub(mx, mn), float(nmax))
    idv = div(1.0, d) if d != 0 else 0.0
    q = []
    for v in x:
        t = trunc_i8(add(mul(sub(v, mn), idv), 0.5))
        q.append((min(nmax, t) if clampit else t) & 0xFF)
    return le16(f16_bits(d)) + le16(f16_bits(mn)), q


def q4_1(x):
    head, q = q4_1_like(x, 15, True)
    return head + [(q[j] | q[j + 16] << 4) & 0xFF for j in range(16)]


def q5_1(x):
    head, q = q4_1_like(x, 31, False)
    qh = 0
    for j in range(32):
        qh |= (q[j] >> 4 & 1) << j
    return (head + list(struct.pack("<I", qh)) +
            [(q[j] & 15) | (q[j + 16] & 15) << 4 for j in range(16)])


def roundf(v):
    if math.isnan(v) or math.isinf(v):
        return v
    return math.copysign(math.floor(abs(v) + 0.5), v)


def q8_0(x):
    amax = 0.0
    for v in x:
        a = abs(v)
        amax = amax if amax > a else a
    d = div(amax, 127.0)
    idv = div(1.0, d) if d != 0 else 0.0
    return le16(f16_bits(d)) + [trunc_i8(roundf(mul(v, idv))) & 0xFF for v in x]


# ---- K-quant fits -----------------------------------------------------

def qx_fit(x, nmax):
    """make_qx_quants, rmse_type 1: returns (scale, L = l + nmax)."""
    amax, mx = 0.0, 0.0
    for v in x:
        if abs(v) > amax:
            amax, mx = abs(v), v
    if amax < f32(1e-15):
        return 0.0, [0] * len(x)

    def levels(iscale):
        return [clamp(nearest_int(mul(iscale, v)), -nmax, nmax - 1) for v in x]

    def sums(ls):
        slx = sl2 = 0.0
        for v, l in zip(x, ls):
            w = mul(v, v)
            slx = add(slx, mul(mul(w, v), float(l)))
            sl2 = add(sl2, mul(mul(w, float(l)), float(l)))
        return slx, sl2

    ls = levels(div(float(-nmax), mx))
    slx, sl2 = sums(ls)
    scale = div(slx, sl2) if sl2 != 0 else 0.0
    best = mul(scale, slx)
    out = ls
    for step in range(-9, 10):
        if step == 0:
            continue
        iscale = div(-add(float(nmax), mul(f32(0.1), float(step))), mx)
        ls2 = levels(iscale)
        slx, sl2 = sums(ls2)
        if sl2 > 0 and mul(slx, slx) > mul(best, sl2):
            out = ls2
            scale = div(slx, sl2)
            best = mul(scale, slx)
    return scale, [l + nmax for l in out]


def q3_fit(x, nmax):
    """make_q3_quants with do_rmse: returns (scale, L = l + nmax)."""
    amax, mx = 0.0, 0.0
    for v in x:
        if abs(v) > amax:
            amax, mx = abs(v), v
    if amax < f32(1e-15):
        return 0.0, [0] * len(x)
    iscale = div(float(-nmax), mx)
    L = []
    slx_t = sl2_t = 0.0
    for v in x:
        l = clamp(nearest_int(mul(iscale, v)), -nmax, nmax - 1)
        L.append(l)
        w = mul(v, v)
        slx_t = add(slx_t, mul(mul(w, v), float(l)))
        sl2_t = add(sl2_t, mul(mul(w, float(l)), float(l)))
    for _ in range(5):
        changed = 0
        for i, v in enumerate(x):
            w = mul(v, v)
            slx = sub(slx_t, mul(mul(w, v), float(L[i])))
            if not slx > 0:
                continue
            sl2 = sub(sl2_t, mul(mul(w, float(L[i])), float(L[i])))
            nl = clamp(nearest_int(div(mul(v, sl2), slx)), -nmax, nmax - 1)
            if nl == L[i]:
                continue
            slx = add(slx, mul(mul(w, v), float(nl)))
            sl2 = add(sl2, mul(mul(w, float(nl)), float(nl)))
            if sl2 > 0 and mul(mul(slx, slx), sl2_t) > mul(mul(slx_t, slx_t), sl2):
                L[i], slx_t, sl2_t = nl, slx, sl2
                changed += 1
        if not changed:
            break
    return (div(slx_t, sl2_t) if sl2_t > 0 else 0.0), [l + nmax for l in L]


def qkx2_fit(x, w, nmax, rmin, rdelta, nstep, use_mad):
    """make_qkx2_quants: returns (scale, the_min, L)."""
    n = len(x)
    mn = mx = x[0]
    sum_w = w[0]
    sum_x = mul(sum_w, x[0])
    for i in range(1, n):
        mn = x[i] if x[i] < mn else mn
        mx = x[i] if x[i] > mx else mx
        sum_w = add(sum_w, w[i])
        sum_x = add(sum_x, mul(w[i], x[i]))
    if mn > 0:
        mn = 0.0
    if mx == mn:
        return 0.0, -mn, [0] * n

    def err(scale, m, ls):
        e = 0.0
        for i in range(n):
            diff = sub(add(mul(scale, float(ls[i])), m), x[i])
            diff = abs(diff) if use_mad else mul(diff, diff)
            e = add(e, mul(w[i], diff))
        return e

    iscale = div(float(nmax), sub(mx, mn))
    scale = div(1.0, iscale)
    L = [clamp(nearest_int(mul(iscale, sub(v, mn))), 0, nmax) for v in x]
    best = err(scale, mn, L)
    for step in range(nstep + 1):
        # mn is the best fit so far: later candidates start from it
        iscale = div(add(add(rmin, mul(rdelta, float(step))), float(nmax)),
                     sub(mx, mn))
        la = [clamp(nearest_int(mul(iscale, sub(v, mn))), 0, nmax) for v in x]
        s_l = s_l2 = s_xl = 0.0
        for i in range(n):
            wl = mul(w[i], float(la[i]))
            s_l = add(s_l, wl)
            s_l2 = add(s_l2, mul(wl, float(la[i])))
            s_xl = add(s_xl, mul(wl, x[i]))
        D = sub(mul(sum_w, s_l2), mul(s_l, s_l))
        if not D > 0:
            continue
        t_scale = div(sub(mul(sum_w, s_xl), mul(sum_x, s_l)), D)
        t_min = div(sub(mul(s_l2, sum_x), mul(s_l, s_xl)), D)
        if t_min > 0:
            t_min = 0.0
            t_scale = div(s_xl, s_l2)
        e = err(t_scale, t_min, la)
        if e < best:
            L, best, scale, mn = la, e, t_scale, t_min
    return scale, -mn, L


def pack2(L):
    out = []
    for h in range(2):
        b = 128 * h
        out += [L[b + l] | L[b + l + 32] << 2 | L[b + l + 64] << 4 |
                L[b + l + 96] << 6 for l in range(32)]
    return out


def q2_k(x):
    sc, mins, L = [], [], []
    for j in range(16):
        xs = x[16 * j:16 * j + 16]
        s, m, ls = qkx2_fit(xs, [abs(v) for v in xs], 3, f32(-0.5), f32(0.1), 15, True)
        sc.append(s)
        mins.append(m)
        L += ls
    max_scale = max([0.0] + [s for s in sc if s > 0])
    max_min = max([0.0] + [m for m in mins if m > 0])
    scales = [0] * 16
    d = dmin = 0
    if max_scale > 0:
        isc = div(15.0, max_scale)
        scales = [nearest_int(mul(isc, s)) & 0xFF for s in sc]
        d = f16_bits(div(max_scale, 15.0))
    if max_min > 0:
        isc = div(15.0, max_min)
        scales = [(scales[j] | nearest_int(mul(isc, mins[j])) << 4) & 0xFF for j in range(16)]
        dmin = f16_bits(div(max_min, 15.0))
    for j in range(16):
        dj = mul(f16_val(d), float(scales[j] & 15))
        if dj == 0:
            continue
        mj = mul(f16_val(dmin), float(scales[j] >> 4))
        for i in range(16):
            L[16 * j + i] = clamp(nearest_int(div(add(x[16 * j + i], mj), dj)), 0, 3)
    return scales + pack2(L) + le16(d) + le16(dmin)


def q3_k(x):
    sc, L = [], []
    for j in range(16):
        s, ls = q3_fit(x[16 * j:16 * j + 16], 4)
        sc.append(s)
        L += ls
    amax, max_scale = 0.0, 0.0
    for s in sc:
        if abs(s) > amax:
            amax, max_scale = abs(s), s
    s6 = [0] * 16     # 6-bit stored scales, offset 32
    d = 0
    if max_scale != 0:
        isc = div(-32.0, max_scale)
        s6 = [clamp(nearest_int(mul(isc, s)), -32, 31) + 32 for s in sc]
        d = f16_bits(div(1.0, isc))
    packed = [0] * 12
    for j in range(16):
        if j < 8:
            packed[j] |= s6[j] & 15
        else:
            packed[j - 8] |= (s6[j] & 15) << 4
        packed[8 + j % 4] |= (s6[j] >> 4) << (2 * (j // 4))
    for j in range(16):
        dj = mul(f16_val(d), float(s6[j] - 32))
        if dj == 0:
            continue
        for i in range(16):
            L[16 * j + i] = clamp(nearest_int(div(x[16 * j + i], dj)), -4, 3) + 4
    hmask = [0] * 32
    for j in range(256):
        if L[j] > 3:
            hmask[j % 32] |= 1 << (j // 32)
            L[j] -= 4
    return hmask + pack2(L) + packed + le16(d)


def k4_scales(x, nmax, rmin, nstep):
    sc, mins, L = [], [], []
    for j in range(8):
        xs = x[32 * j:32 * j + 32]
        s2 = 0.0
        for v in xs:
            s2 = add(s2, mul(v, v))
        av = f32(math.sqrt(div(s2, 32.0)))
        w = [add(av, abs(v)) for v in xs]
        s, m, ls = qkx2_fit(xs, w, nmax, rmin, f32(0.1), nstep, False)
        sc.append(s)
        mins.append(m)
        L += ls
    max_scale = max([0.0] + [s for s in sc if s > 0])
    max_min = max([0.0] + [m for m in mins if m > 0])
    inv_s = div(63.0, max_scale) if max_scale > 0 else 0.0
    inv_m = div(63.0, max_min) if max_min > 0 else 0.0
    ls6 = [min(63, nearest_int(mul(inv_s, s)) & 0xFF) for s in sc]
    lm6 = [min(63, nearest_int(mul(inv_m, m)) & 0xFF) for m in mins]
    packed = [0] * 12
    for j in range(8):
        if j < 4:
            packed[j] = ls6[j]
            packed[j + 4] = lm6[j]
        else:
            packed[j + 4] = (ls6[j] & 15) | (lm6[j] & 15) << 4
            packed[j - 4] |= (ls6[j] >> 4) << 6
            packed[j] |= (lm6[j] >> 4) << 6
    d = f16_bits(div(max_scale, 63.0))
    dmin = f16_bits(div(max_min, 63.0))
    for j in range(8):
        dj = mul(f16_val(d), float(ls6[j]))
        if dj == 0:
            continue
        mj = mul(f16_val(dmin), float(lm6[j]))
        for i in range(32):
            L[32 * j + i] = clamp(nearest_int(div(add(x[32 * j + i], mj), dj)), 0, nmax)
    return le16(d) + le16(dmin) + packed, L


def q4_k(x):
    head, L = k4_scales(x, 15, f32(-1.0), 20)
    qs = []
    for c in range(4):
        qs += [L[64 * c + l] | L[64 * c + l + 32] << 4 for l in range(32)]
    return head + qs


def q5_k(x):
    head, L = k4_scales(x, 31, f32(-0.5), 15)
    qh = [0] * 32
    qs = []
    for c in range(4):
        for l in range(32):
            a, b = L[64 * c + l], L[64 * c + l + 32]
            qh[l] |= (a >> 4) << (2 * c) | (b >> 4) << (2 * c + 1)
            qs.append((a & 15) | (b & 15) << 4)
    return head + qh + qs


def q6_k(x):
    sc, L = [], []
    for j in range(16):
        s, ls = qx_fit(x[16 * j:16 * j + 16], 32)
        sc.append(s)
        L += ls
    amax, max_scale = 0.0, 0.0
    for s in sc:
        if abs(s) > amax:
            amax, max_scale = abs(s), s
    if amax < f32(1e-15):
        return [0] * 210
    isc = div(-128.0, max_scale)
    d = f16_bits(div(1.0, isc))
    s8 = [min(127, nearest_int(mul(isc, s))) for s in sc]
    for j in range(16):
        dj = mul(f16_val(d), float(s8[j]))
        if dj == 0:
            continue
        for i in range(16):
            L[16 * j + i] = clamp(nearest_int(div(x[16 * j + i], dj)), -32, 31) + 32
    ql = [0] * 128
    qh = [0] * 64
    for h in range(2):
        b = 128 * h
        for l in range(32):
            q = [L[b + l + 32 * k] for k in range(4)]
            ql[64 * h + l] = (q[0] & 15) | (q[2] & 15) << 4
            ql[64 * h + l + 32] = (q[1] & 15) | (q[3] & 15) << 4
            qh[32 * h + l] = (q[0] >> 4) | (q[1] >> 4) << 2 | (q[2] >> 4) << 4 | (q[3] >> 4) << 6
    return ql + qh + [s & 0xFF for s in s8] + le16(d)


# ---- IQ4_NL: quantize_iq4_nl (quantize_row_iq4_nl_impl, ntry 7) -------

IQ4NL = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]


def iq4nl_index(v):
    """best_index_int8: the nearer level, a tie going up; NaN -> 15."""
    if v <= IQ4NL[0]:
        return 0
    if v >= IQ4NL[15]:
        return 15
    lo, hi = 0, 15
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if v < IQ4NL[mid]:
            hi = mid
        else:
            lo = mid
    return hi - 1 if sub(v, IQ4NL[hi - 1]) < sub(IQ4NL[hi], v) else hi


def iq4nl_sums(x, w, idv):
    sqx = sq2 = 0.0
    for v, wv in zip(x, w):
        q = float(IQ4NL[iq4nl_index(mul(idv, v))])
        sqx = add(sqx, mul(mul(wv, q), v))
        sq2 = add(sq2, mul(mul(wv, q), q))
    return sqx, sq2


def iq4_nl(x):
    w = [mul(v, v) for v in x]
    amax, mx = 0.0, 0.0
    for v in x:
        if abs(v) > amax:
            amax, mx = abs(v), v
    d = 0.0
    if amax >= f32(1e-15):
        d = div(-mx, float(IQ4NL[0]))
        sqx, sq2 = iq4nl_sums(x, w, div(1.0, d))
        d = div(sqx, sq2) if sq2 > 0 else 0.0
        best = mul(d, sqx)
        for itry in range(-7, 8):
            sqx, sq2 = iq4nl_sums(x, w, div(float(itry + IQ4NL[0]), mx))
            if sq2 > 0 and mul(sqx, sqx) > mul(best, sq2):
                d = div(sqx, sq2)
                best = mul(d, sqx)
    idv = div(1.0, d) if d != 0 else 0.0
    L = [iq4nl_index(mul(idv, v)) for v in x]
    return le16(f16_bits(d)) + [L[j] | L[j + 16] << 4 for j in range(16)]


# ---- dequantization, as dequantize_row_<type> computes it ---------------

def u16(b, o):
    return b[o] | b[o + 1] << 8


def dq_32(name, b):
    d = f16_val(u16(b, 0))
    if name == "IQ4_NL":
        return ([mul(d, float(IQ4NL[v & 15])) for v in b[2:18]] +
                [mul(d, float(IQ4NL[v >> 4])) for v in b[2:18]])
    if name == "Q8_0":
        return [mul(float(v - 256 if v > 127 else v), d) for v in b[2:34]]
    m = f16_val(u16(b, 2)) if name in ("Q4_1", "Q5_1") else 0.0
    qs = b[{"Q4_0": 2, "Q4_1": 4, "Q5_0": 6, "Q5_1": 8}[name]:][:16]
    qh = 0
    if name in ("Q5_0", "Q5_1"):
        o = 2 if name == "Q5_0" else 4
        qh = b[o] | b[o + 1] << 8 | b[o + 2] << 16 | b[o + 3] << 24
    q = [qs[j] & 15 for j in range(16)] + [qs[j] >> 4 for j in range(16)]
    q = [q[j] | (qh >> j & 1) << 4 for j in range(32)]
    if name in ("Q4_0", "Q5_0"):
        off = 8 if name == "Q4_0" else 16
        return [mul(float(v - off), d) for v in q]
    return [add(mul(float(v), d), m) for v in q]


def crumb(qs, e):
    """2-bit element e of a Q2_K/Q3_K qs array."""
    r = e % 128
    return qs[e // 128 * 32 + r % 32] >> (2 * (r // 32)) & 3


def dq_k(name, b):
    y = []
    if name == "Q2_K":
        d, dmin = f16_val(u16(b, 80)), f16_val(u16(b, 82))
        for e in range(256):
            sc = b[e // 16]
            y.append(sub(mul(mul(d, float(sc & 15)), float(crumb(b[16:80], e))),
                         mul(dmin, float(sc >> 4))))
    elif name == "Q3_K":
        d = f16_val(u16(b, 108))
        s = b[96:108]
        for e in range(256):
            j = e // 16
            lo = s[j] & 15 if j < 8 else s[j - 8] >> 4
            sc = (lo | (s[8 + j % 4] >> (2 * (j // 4)) & 3) << 4) - 32
            h = b[e % 32] >> (e // 32) & 1
            y.append(mul(mul(d, float(sc)), float(crumb(b[32:96], e) - (0 if h else 4))))
    elif name in ("Q4_K", "Q5_K"):
        d, dmin = f16_val(u16(b, 0)), f16_val(u16(b, 2))
        s = b[4:16]
        qs = b[16:144] if name == "Q4_K" else b[48:176]
        for e in range(256):
            j = e // 32
            if j < 4:
                sc, m = s[j] & 63, s[j + 4] & 63
            else:
                sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4
                m = (s[j + 4] >> 4) | (s[j] >> 6) << 4
            c, hi, l = e // 64, j % 2, e % 32
            q = qs[32 * c + l] >> (4 * hi) & 15
            if name == "Q5_K":
                q += 16 * (b[16 + l] >> (2 * c + hi) & 1)
            y.append(sub(mul(mul(d, float(sc)), float(q)), mul(dmin, float(m))))
    else:
        d = f16_val(u16(b, 208))
        for e in range(256):
            n, r = e // 128, e % 128
            k, l = r // 32, r % 32
            lo = b[64 * n + l + 32 * (k & 1)] >> (4 * (k >> 1)) & 15
            q = (lo | (b[128 + 32 * n + l] >> (2 * k) & 3) << 4) - 32
            sc = b[192 + e // 16]
            sc = sc - 256 if sc > 127 else sc
            y.append(mul(mul(d, float(sc)), float(q)))
    return y


def digest(y):
    """Order-sensitive checksum of float32 bit patterns, mod 2^32."""
    h = 0
    for i, v in enumerate(y):
        h = (h + struct.unpack("<I", struct.pack("<f", v))[0] * (i + 1)) & 0xFFFFFFFF
    return h


# ---- inputs both sides generate exactly --------------------------------

def xorshift(seed):
    s = seed & 0xFFFFFFFF
    while True:
        s ^= (s << 13) & 0xFFFFFFFF
        s ^= s >> 17
        s ^= (s << 5) & 0xFFFFFFFF
        yield s


def gauss_row(seed, n, exp2):
    """Sum of three 16-bit uniforms, centred, times 2^(exp2 - 15): exact."""
    g = xorshift(seed)
    out = []
    for _ in range(n):
        a, b, c = next(g) >> 16, next(g) >> 16, next(g) >> 16
        out.append(math.ldexp(float(a + b + c - 3 * 32768), exp2 - 15))
    return out


def cases():
    ramp = [i / 256.0 for i in range(256)]
    signed = [(i - 100) / 64.0 for i in range(256)]
    spiky = gauss_row(7, 256, 0)
    spiky[3] = 40.0
    spiky[200] = -25.0
    return [("ramp", ramp), ("signed_ramp", signed),
            ("gauss1", gauss_row(1, 256, 0)),
            ("gauss2_small", gauss_row(2, 256, -10)),
            ("gauss3_big", gauss_row(3, 256, 10)),
            ("spiky", spiky)]


def batch_row(r):
    """Row r of the 256-row batch: four kinds, scales 2^-12 .. 2^12."""
    seed, kind, e = 1000 + r, r % 4, (r // 4) % 9 * 3 - 12
    if kind == 1:                          # quarter steps: many ties
        g = xorshift(seed)
        return [math.ldexp(float((next(g) >> 28) - 8), e - 2) for _ in range(256)]
    x = gauss_row(seed, 256, e)
    if kind == 2:                          # all positive
        return [add(abs(v), math.ldexp(1.0, e - 1)) for v in x]
    if kind == 3:                          # constant sub-blocks, zeros
        for i in range(256):
            if i // 16 % 5 == 0:
                x[i] = x[i & ~15]
            elif i % 3 == 0:
                x[i] = 0.0
    return x


def fnv1a(data, h=0x811C9DC5):
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


TYPES = [("Q4_0", 32, q4_0), ("Q4_1", 32, q4_1), ("Q5_0", 32, q5_0),
         ("Q5_1", 32, q5_1), ("Q8_0", 32, q8_0), ("Q2_K", 256, q2_k),
         ("Q3_K", 256, q3_k), ("Q4_K", 256, q4_k), ("Q5_K", 256, q5_k),
         ("Q6_K", 256, q6_k), ("IQ4_NL", 32, iq4_nl)]


def main():
    w = sys.stdout.write
    w("/* generated by tests/cohete/quant-golden.py */\n")
    for cname, x in cases():
        for tname, blk, fn in TYPES:
            data, y = [], []
            for i in range(0, 256, blk):
                b = fn(x[i:i + blk])
                data += b
                y += dq_32(tname, b) if blk == 32 else dq_k(tname, b)
            hexs = "".join("%02x" % b for b in data)
            w("\t{ \"%s\", COH_GGML_%s, 0x%08x,\n" % (cname, tname, digest(y)))
            for k in range(0, len(hexs), 64):
                w("\t  \"%s\"\n" % hexs[k:k + 64])
            w("\t},\n")
    w("/* batch: type, FNV-1a of the 256 quantized rows, sum of digests */\n")
    rows = [batch_row(r) for r in range(256)]
    for tname, blk, fn in TYPES:
        h, dsum = 0x811C9DC5, 0
        for x in rows:
            y = []
            for i in range(0, 256, blk):
                b = fn(x[i:i + blk])
                h = fnv1a(b, h)
                y += dq_32(tname, b) if blk == 32 else dq_k(tname, b)
            dsum = (dsum + digest(y)) & 0xFFFFFFFF
        w("\t{ COH_GGML_%s, 0x%08x, 0x%08x },\n" % (tname, h, dsum))


if __name__ == "__main__":
    main()
