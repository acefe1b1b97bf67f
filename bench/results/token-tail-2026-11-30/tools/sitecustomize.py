# timeline instrumentation for uvicorn server processes (only when TL_OUT is set)
import os
OUT = os.environ.get("TL_OUT")
if OUT:
    import atexit, gc, json, threading, time
    events = []  # (kind, start, end, extra, thread)
    mono = time.monotonic
    tcpu = time.thread_time

    def wrap(cls, name, kind):
        orig = getattr(cls, name)
        def inner(*a, **k):
            t0, c0 = mono(), tcpu()
            try:
                return orig(*a, **k)
            finally:
                events.append((kind, t0, mono(), tcpu() - c0, threading.current_thread().name))
        setattr(cls, name, inner)

    gc_start = [0.0]
    def gccb(phase, info):
        if phase == "start":
            gc_start[0] = mono()
        else:
            events.append(("gc%d" % info["generation"], gc_start[0], mono(), info["collected"], ""))
    def dump():
        with open(os.path.join(OUT, "server-%d.json" % os.getpid()), "w") as f:
            json.dump(events, f)

    try:
        import uvicorn
        from uvicorn.protocols.http import httptools_impl
        orig_cm = httptools_impl.HttpToolsProtocol.connection_made
        def connection_made(self, transport):
            peer = transport.get_extra_info("peername")
            events.append(("conn", mono(), mono(), peer[1] if peer else 0, ""))
            return orig_cm(self, transport)
        httptools_impl.HttpToolsProtocol.connection_made = connection_made
        orig_startup = uvicorn.Server.startup
        async def startup(self, sockets=None):
            await orig_startup(self, sockets)
            import asyncio, signal
            loop = asyncio.get_running_loop()
            gc.callbacks.append(gccb)
            atexit.register(dump)
            loop.add_signal_handler(signal.SIGUSR1, dump)
            step = 0.001
            state = {"due": mono() + step}
            def tick():
                now = mono()
                lag = now - state["due"]
                if lag > 0.004:
                    events.append(("lag", state["due"], now, lag, ""))
                state["due"] = now + step
                loop.call_later(step, tick)
            loop.call_later(step, tick)
        uvicorn.Server.startup = startup
    except Exception as exc:
        print("tl instrumentation (uvicorn) failed", exc)
    try:
        from casegate import audit, logs
        from casegate.storage import checkpoint
        from casegate.oauth import keys
        wrap(audit.BatchedAudit, "flush", "audit")
        wrap(logs.BufferedStream, "flush", "log")
        wrap(checkpoint.Checkpointer, "checkpoint", "ckpt")
        wrap(keys.KeyRing, "load", "keys")
    except Exception as exc:
        pass
