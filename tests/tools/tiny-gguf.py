#!/usr/bin/python3
"""Write a llama-architecture GGUF model with random weights.

llama.cpp loads and runs it (the text it writes is noise, the work is
real): the tokenizer is copied from llama.cpp's vocab-only
ggml-vocab-llama-spm.gguf (32000 SentencePiece tokens), the weights are
drawn from a seeded generator (the same options give the same bytes), and
a ChatML chat template lets llama-server answer /v1/chat/completions.

    tiny-gguf.py OUT.gguf [--layers N] [--embd N] [--ff N] [--heads N]
                 [--heads-kv N] [--context N] [--type f32|f16] [--seed N]
                 [--tied] [--llama-dir DIR]

DIR is what scripts/build-llama-server.sh prints: gguf-py/ and
models/ggml-vocab-llama-spm.gguf are found there (default
$COHETE_LLAMA_SERVER_DIR). Run with /usr/bin/python3 and Debian's
python3-numpy.

K-quants work in rows of 256: with --embd and --ff multiples of 256 every
level of `cohete quantize` is its own (with less, llama.cpp's fallbacks make
several levels alike).
"""
import argparse
import os
import sys

CHATML = ("{% for message in messages %}"
          "{{ '<|im_start|>' + message['role'] + '\\n' + message['content']"
          " + '<|im_end|>' + '\\n' }}"
          "{% endfor %}"
          "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
          "{% endif %}")

VOCAB = "models/ggml-vocab-llama-spm.gguf"


def positive(text):
    n = int(text)
    if n <= 0:
        raise argparse.ArgumentTypeError("%s is not a positive number" % text)
    return n


def parse_args():
    p = argparse.ArgumentParser(
        description="a random-weight llama GGUF that llama.cpp runs")
    p.add_argument("out", help="the GGUF file to write")
    p.add_argument("--layers", type=positive, default=2, help="blocks (2)")
    p.add_argument("--embd", type=positive, default=64,
                   help="embedding length (64)")
    p.add_argument("--ff", type=positive, default=128,
                   help="feed-forward length (128)")
    p.add_argument("--heads", type=positive, default=4,
                   help="attention heads (4)")
    p.add_argument("--heads-kv", type=positive,
                   help="key/value heads (default: --heads)")
    p.add_argument("--context", type=positive, default=2048,
                   help="context length the model declares (2048)")
    p.add_argument("--type", choices=("f32", "f16"), default="f32",
                   help="type of the 2-D weights (norms stay F32)")
    p.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    p.add_argument("--tied", action="store_true",
                   help="no output.weight: the output reuses token_embd")
    p.add_argument("--llama-dir",
                   default=os.environ.get("COHETE_LLAMA_SERVER_DIR"),
                   help="what scripts/build-llama-server.sh prints")
    a = p.parse_args()
    a.heads_kv = a.heads_kv or a.heads
    if a.embd % a.heads or a.heads % a.heads_kv:
        p.error("--embd must divide by --heads, --heads by --heads-kv")
    if (a.embd // a.heads) % 2:
        p.error("the head size (--embd / --heads) must be even (RoPE)")
    if not a.llama_dir:
        p.error("no --llama-dir and no $COHETE_LLAMA_SERVER_DIR")
    return a


def copy_tokenizer(gguf, writer, path):
    """Every tokenizer.* key of the vocab file, its bytes and types as they are."""
    reader = gguf.GGUFReader(path)
    copied = 0
    for key, f in reader.fields.items():
        if not key.startswith("tokenizer."):
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = f.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                val = [bytes(f.parts[i]) for i in f.data]
            else:
                val = [f.parts[i].tolist()[0] for i in f.data]
            writer.add_key_value(key, val, vtype, sub)
        elif vtype == gguf.GGUFValueType.STRING:
            writer.add_key_value(key, bytes(f.parts[-1]), vtype)
        else:
            writer.add_key_value(key, f.parts[-1].tolist()[0], vtype)
        copied += 1
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if not copied or tokens is None:
        sys.exit("tiny-gguf: %s has no tokenizer" % path)
    return len(tokens.data)


def main():
    a = parse_args()
    sys.path.insert(0, os.path.join(a.llama_dir, "gguf-py"))
    import numpy as np
    import gguf

    head_dim = a.embd // a.heads
    rng = np.random.default_rng(a.seed)
    wtype = np.float16 if a.type == "f16" else np.float32

    def weight(rows, cols):
        # numpy (rows, cols) is GGUF ne = [cols, rows]: rows of cols.
        scale = 1.0 / np.sqrt(cols)
        w = rng.standard_normal((rows, cols), dtype=np.float32) * scale
        return w.astype(wtype)

    def norm(n):
        return np.ones(n, dtype=np.float32)

    tmp = a.out + ".part"
    w = gguf.GGUFWriter(tmp, "llama")
    w.add_name("tiny random llama %dx%d" % (a.layers, a.embd))
    w.add_context_length(a.context)
    w.add_embedding_length(a.embd)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ff)
    w.add_head_count(a.heads)
    w.add_head_count_kv(a.heads_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if a.type == "f16"
                    else gguf.LlamaFileType.ALL_F32)
    n_vocab = copy_tokenizer(gguf, w, os.path.join(a.llama_dir, VOCAB))
    w.add_vocab_size(n_vocab)
    w.add_chat_template(CHATML)

    w.add_tensor("token_embd.weight", weight(n_vocab, a.embd))
    w.add_tensor("output_norm.weight", norm(a.embd))
    if not a.tied:
        w.add_tensor("output.weight", weight(n_vocab, a.embd))
    for i in range(a.layers):
        b = "blk.%d." % i
        w.add_tensor(b + "attn_norm.weight", norm(a.embd))
        w.add_tensor(b + "attn_q.weight", weight(a.heads * head_dim, a.embd))
        w.add_tensor(b + "attn_k.weight", weight(a.heads_kv * head_dim, a.embd))
        w.add_tensor(b + "attn_v.weight", weight(a.heads_kv * head_dim, a.embd))
        w.add_tensor(b + "attn_output.weight", weight(a.embd, a.heads * head_dim))
        w.add_tensor(b + "ffn_norm.weight", norm(a.embd))
        w.add_tensor(b + "ffn_gate.weight", weight(a.ff, a.embd))
        w.add_tensor(b + "ffn_up.weight", weight(a.ff, a.embd))
        w.add_tensor(b + "ffn_down.weight", weight(a.embd, a.ff))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
