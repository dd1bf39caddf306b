#!/usr/bin/env python3
"""Fails if a crate's modules import each other in a cycle.

Every .rs file is a module. An edge a -> b is a `crate::...` or `super::...` path in a's code
(comments and the #[cfg(test)] module left out) that names b or an item of b. A module using
its own ancestor (`use super::X`) is not an edge: a parent declares its children, so that
direction is the module tree's, not a dependency between peers.

Usage: module_cycles.py SRC_DIR...   (exit 1, listing the cycles, if any crate has one)
"""
import os
import re
import sys


def modules(root):
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                if parts[-1] in ("mod", "lib", "main"):
                    parts = parts[:-1]
                found["::".join(parts)] = path
    return found


def edges(found):
    def resolve(path):
        segments = path.split("::")
        for n in range(len(segments), 0, -1):
            if "::".join(segments[:n]) in found:
                return "::".join(segments[:n])
        return None

    graph = {m: set() for m in found}
    for module, path in found.items():
        text = open(path, encoding="utf-8").read()
        text = text.split("#[cfg(test)]")[0]
        text = "\n".join(l for l in text.splitlines() if not l.strip().startswith("//"))
        here = module.split("::") if module else []
        for match in re.finditer(r"\b(crate|super)((?:::\w+)+)", text):
            rest = match.group(2)[2:].split("::")
            if match.group(1) == "crate":
                full = rest
            else:
                full = here[:-1] + rest
            target = resolve("::".join(full))
            if target and target != module and not module.startswith(target + "::"):
                graph[module].add(target)
    return graph


def cycles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


failed = False
for root in sys.argv[1:]:
    found = modules(root)
    for component in cycles(edges(found)):
        failed = True
        print(f"{root}: modules import each other in a cycle: {' <-> '.join(component)}")
    print(f"{root}: {len(found)} modules checked", file=sys.stderr)
sys.exit(1 if failed else 0)
