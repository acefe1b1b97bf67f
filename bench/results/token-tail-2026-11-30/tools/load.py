"""Closed-loop HTTP/1.1 keep-alive load: N connections, one request outstanding each.
Writes every request's (send time monotonic, latency s, connection) to OUT (json).
usage: load.py HOST PORT PATH SECONDS CONNS OUT [header=value ...] body=..."""
import asyncio, json, sys, time
import uvloop

host, port, path, seconds, conns, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
headers, body = [], b""
for a in sys.argv[7:]:
    k, v = a.split("=", 1)
    if k == "body":
        body = v.encode()
    else:
        headers.append(f"{k}: {v}")
REQ = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n" + "".join(h + "\r\n" for h in headers)
       + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
mono = time.monotonic
records = []
statuses = {}
ports = {}

class Conn(asyncio.Protocol):
    def __init__(self, idx, stop_at, done):
        self.idx, self.stop_at, self.done = idx, stop_at, done
        self.buf = b""
    def connection_made(self, t):
        self.t = t
        ports[self.idx] = t.get_extra_info("sockname")[1]
        self.send()
    def send(self):
        self.t0 = mono()
        self.t.write(REQ)
    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            i = buf.find(b"content-length: ", 0, end)
            cl = int(buf[i + 16:buf.find(b"\r", i + 16)]) if i >= 0 else 0
            total = end + 4 + cl
            if len(buf) < total:
                self.buf = buf
                return
            status = buf[9:12]
            buf = buf[total:]
            now = mono()
            records.append((self.t0, now - self.t0, self.idx))
            if status != b"200":
                statuses[status] = statuses.get(status, 0) + 1
            if now >= self.stop_at:
                self.buf = b""
                self.t.close()
                self.done.set_result(None) if not self.done.done() else None
                return
            if not buf:
                self.buf = b""
                self.t0 = now
                self.t.write(REQ)
                return
    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(None)

async def main():
    loop = asyncio.get_running_loop()
    start = mono()
    stop_at = start + seconds
    dones = []
    for i in range(conns):
        d = loop.create_future()
        dones.append(d)
        await loop.create_connection(lambda i=i, d=d: Conn(i, stop_at, d), host, port)
    await asyncio.gather(*dones)
    lat = sorted(r[1] for r in records)
    n = len(lat)
    print(json.dumps({"n": n, "rps": n / seconds, "p50": lat[n // 2] * 1000, "p99": lat[int(n * .99)] * 1000,
                      "max": lat[-1] * 1000, "non200": {k.decode(): v for k, v in statuses.items()}}))
    with open(out, "w") as f:
        json.dump(records, f)
    with open(out + ".ports", "w") as f:
        json.dump(ports, f)

uvloop.run(main())
