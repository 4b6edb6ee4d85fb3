#!/usr/bin/env python3
"""milvus-yaml.py -- write the whole milvus.yaml (and the embedded etcd's YAML) of one real Milvus
2.3.5 standalone, for scripts/milvus-server.sh.

    milvus-yaml.py TEMPLATE DIR KEY=VALUE...

TEMPLATE is the config.yaml.template that the `milvus` PyPI package ships; its {{ name }}
placeholders are filled from the KEY=VALUE arguments whose KEY has no dot (proxy_port=19530,
etcd_port=2379, ...).  A KEY with dots (minio.address=127.0.0.1, common.storageType=minio) sets
that YAML key: the line is rewritten where the key exists, and inserted under its deepest existing
parent where it does not (the package's own launcher only rewrites keys that exist, which is why
etcd.config.path cannot be set through it).  Writes DIR/configs/milvus.yaml and
DIR/configs/glog.conf.  Standard library only: the venv has no YAML module.
"""
import os
import re
import shutil
import sys

PLACEHOLDER = re.compile(r"\{\{([^}]*)\}\}")
KEYLINE = re.compile(r"^( *)([A-Za-z0-9_]+):(.*)$")


def fill_placeholders(text, values):
    def repl(m):
        inner = m.group(1).strip()
        name, default = (inner.split(":", 1) + [None])[:2] if ":" in inner else (inner, None)
        name = name.split("(")[0].strip()
        if name in values:
            return values[name]
        if default is not None and default.strip():
            return default.strip()
        sys.exit(f"milvus-yaml: template placeholder '{name}' has no value")
    return PLACEHOLDER.sub(repl, text)


def set_key(lines, dotted, value):
    """Set the YAML key DOTTED (a.b.c) to VALUE in LINES (a list of str, modified in place)."""
    want = dotted.split(".")
    stack = []  # (indent, key) of the enclosing keys of the current line
    best = (-1, 0, -1)  # (line index, depth matched, indent) of the deepest matched parent
    for i, line in enumerate(lines):
        if line.lstrip().startswith("#"):
            continue
        m = KEYLINE.match(line)
        if not m:
            continue
        indent, key = len(m.group(1)), m.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        path = [k for _, k in stack]
        if path == want:
            rest = m.group(3)
            comment = ""
            if " #" in rest:
                comment = " #" + rest.split(" #", 1)[1]
            lines[i] = f"{m.group(1)}{key}: {value}{comment}"
            return
        if path == want[:len(path)] and len(path) > best[1]:
            best = (i, len(path), indent)
    i, depth, indent = best
    if depth == 0:
        i, indent = len(lines) - 1, -2
    new = []
    for k in want[depth:]:
        indent += 2
        new.append(" " * indent + k + ":")
    new[-1] += f" {value}"
    lines[i + 1:i + 1] = new


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: milvus-yaml.py TEMPLATE DIR KEY=VALUE...")
    template, outdir = sys.argv[1], sys.argv[2]
    values, keys = {}, []
    for arg in sys.argv[3:]:
        k, _, v = arg.partition("=")
        if "." in k:
            keys.append((k, v))
        else:
            values[k] = v
    with open(template, encoding="utf-8") as f:
        text = fill_placeholders(f.read(), values)
    lines = text.split("\n")
    for k, v in keys:
        set_key(lines, k, v)
    confdir = os.path.join(outdir, "configs")
    os.makedirs(confdir, exist_ok=True)
    with open(os.path.join(confdir, "milvus.yaml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    glog = os.path.join(os.path.dirname(template), "glog.conf")
    if os.path.exists(glog):
        shutil.copy(glog, os.path.join(confdir, "glog.conf"))


if __name__ == "__main__":
    main()
