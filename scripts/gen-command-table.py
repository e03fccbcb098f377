#!/usr/bin/env python3
"""Generate Sources/RESP/Commands/RedisCommandTable+generated.swift from a real redis-server.

Usage: scripts/gen-command-table.py [--port PORT] [--output FILE]

Without --port it starts its own redis-server on a free loopback port (with a
temporary directory) and stops it afterwards. It reads COMMAND INFO (arity,
flags, first/last/step, ACL categories, key specs, subcommands) and
COMMAND DOCS (group, summary) and writes one Swift file with a banner naming
the server version. Run it again when the platform's Redis version changes.
"""
import argparse, os, socket, subprocess, sys, tempfile, time

OUTPUT = "Sources/RESP/Commands/RedisCommandTable+generated.swift"


class RESP:
    """A minimal RESP2 client: enough for COMMAND INFO / DOCS."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)


def pairs(flat):
    """RESP2 renders maps as flat arrays."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)} if isinstance(flat, list) else {}


def camel(word):
    parts = word.replace("-", "_").split("_")
    return parts[0] + "".join(p.capitalize() for p in parts[1:])


def swift_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_spec(spec):
    spec = pairs(spec)
    flags = "[" + ", ".join("." + camel(f.lower()) for f in spec.get("flags", [])) + "]"
    bs = pairs(spec.get("begin_search", []))
    bss = pairs(bs.get("spec", []))
    if bs.get("type") == "index":
        begin = ".index(%d)" % bss["index"]
    elif bs.get("type") == "keyword":
        begin = ".keyword(%s, startFrom: %d)" % (swift_string(bss["keyword"]), bss["startfrom"])
    else:
        begin = ".unknown"
    fk = pairs(spec.get("find_keys", []))
    fks = pairs(fk.get("spec", []))
    if fk.get("type") == "range":
        find = ".range(lastKey: %d, step: %d, limit: %d)" % (fks["lastkey"], fks["keystep"], fks["limit"])
    elif fk.get("type") == "keynum":
        find = ".keynum(index: %d, firstKey: %d, step: %d)" % (fks["keynumidx"], fks["firstkey"], fks["keystep"])
    else:
        find = ".unknown"
    return "RedisKeySpec(begin: %s, find: %s, flags: %s)" % (begin, find, flags)


def entries(info, docs, parent=None):
    name, arity, flags, first, last, step, acl = info[:7]
    specs = info[8] if len(info) > 8 else []
    subs = info[9] if len(info) > 9 else []
    doc = docs.get(name.split("|")[-1] if parent else name, {})
    doc = pairs(doc) if isinstance(doc, list) else doc
    out = [(name.lower(), arity, flags, first, last, step, acl, specs, bool(subs),
            doc.get("group", ""), doc.get("summary", ""))]
    subdocs = pairs(doc.get("subcommands", []))
    for sub in subs or []:
        out += entries(sub, {k.split("|")[-1]: v for k, v in subdocs.items()}, parent=name)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, help="use a running redis-server on 127.0.0.1:PORT")
    ap.add_argument("--output", default=OUTPUT)
    args = ap.parse_args()

    server = None
    port = args.port
    if port is None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        tmp = tempfile.mkdtemp(prefix="gen-command-table.")
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", tmp],
                                  stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                RESP(port).call("PING")
                break
            except OSError:
                time.sleep(0.05)
    try:
        r = RESP(port)
        version = pairs([x for line in r.call("INFO", "server").splitlines() if ":" in line
                         for x in line.split(":", 1)]).get("redis_version", "?")
        infos = r.call("COMMAND", "INFO")
        docs = pairs(r.call("COMMAND", "DOCS"))
        docs = {k: pairs(v) for k, v in docs.items()}
    finally:
        if server:
            server.terminate()
            server.wait()

    rows = []
    for info in infos:
        rows += entries(info, docs)
    rows.sort(key=lambda r: r[0])

    lines = [
        "// GENERATED FILE — do not edit. Regenerate with scripts/gen-command-table.py",
        "// from redis-server %s (COMMAND INFO, COMMAND DOCS): %d commands and subcommands." % (version, len(rows)),
        "// swiftlint:disable all",
        "",
        "extension RedisCommandTable {",
        "    /// The Redis version the table was generated from.",
        "    public static let generatedFrom = %s" % swift_string(version),
        "",
        "    static let generated: [RedisCommandInfo] = [",
    ]
    for (name, arity, flags, first, last, step, acl, specs, container, group, summary) in rows:
        fl = ", ".join("." + camel(f) for f in flags)
        ac = ", ".join("." + camel(a.lstrip("@")) for a in acl)
        ks = ", ".join(key_spec(s) for s in specs)
        lines.append("        RedisCommandInfo(name: %s, arity: %d, flags: [%s], firstKey: %d, lastKey: %d, step: %d,"
                     % (swift_string(name), arity, fl, first, last, step))
        lines.append("                         categories: [%s], keySpecs: [%s]," % (ac, ks))
        lines.append("                         hasSubcommands: %s, group: %s, summary: %s),"
                     % ("true" if container else "false", swift_string(group), swift_string(summary)))
    lines += ["    ]", "}", ""]
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        f.write("\n".join(lines))
    print("wrote %s: %d entries from redis %s" % (args.output, len(rows), version), file=sys.stderr)


if __name__ == "__main__":
    main()
