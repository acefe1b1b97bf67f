"""Run the baseline app in N uvicorn processes, each with its own SO_REUSEPORT socket.

`uvicorn --workers N` shares one listening socket: when a burst of keep-alive connections
arrives (a load generator opening 32 at once), one worker may accept all of them and the
other sits idle. With one SO_REUSEPORT socket per process the kernel spreads connections
across the processes by a hash of the address pair instead.
Usage: serve_reuseport.py PORT PROCESSES
"""
import multiprocessing as mp
import signal
import socket
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))


def serve(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    config = uvicorn.Config("app:app", loop="uvloop", http="httptools", access_log=False,
                            log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    port, count = int(sys.argv[1]), int(sys.argv[2])
    procs = [mp.Process(target=serve, args=(port,)) for _ in range(count)]
    for p in procs:
        p.start()

    def stop(*_):
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.join()
