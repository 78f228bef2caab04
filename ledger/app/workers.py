"""A bounded pool of worker processes for the heavy work on uploads (Điều 20: the service stays
available): verifying an uploaded học bạ, reading a gradebook file. The event loop only waits.

- One worker process per core (os.cpu_count(), at least one), started when first needed, each a
  fresh interpreter (spawn) at a lower priority than the service, so that the loop answers first.
- A job is a module-level function with picklable arguments and result (bytes, paths, plain data);
  a `DomainError` it raises reaches the request whole (it pickles by its parts).
- Each job has JOB_SECONDS: past that its worker process is killed (a process cannot be asked to
  stop mid-parse) and a fresh one takes its place on the next job; the request gets `upload.timeout`.
- A worker has WORKER_MEMORY of address space; a job that needs more is refused `upload.too_large`.
- At most QUEUE_BOUND jobs wait for a free worker; one more is refused at once with `workers.busy`
  (503, Retry-After), never queued without end.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from ledger.base.errors import TooLarge, Unavailable
from ledger.base.logs import get_logger

log = get_logger(__name__)
T = TypeVar("T")

JOB_SECONDS = 20.0  # one job's time limit
QUEUE_BOUND = 16  # jobs that may wait for a free worker, beyond those running
WORKER_NICENESS = 10  # the workers' priority below the service's
WORKER_MEMORY = 2 * 1024**3  # bytes of address space per worker process


def _serve(conn: Connection) -> None:
    """In a worker process: run the jobs sent on `conn`, one at a time, until told to stop."""
    try:
        os.nice(WORKER_NICENESS)
        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    except (OSError, ValueError):
        pass
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        try:
            outcome: tuple[bool, Any] = (True, fn(*args))
        except Exception as exc:
            outcome = (False, exc)
        try:
            conn.send(outcome)
        except Exception as exc:  # a result or an error that does not pickle
            conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))


def _consumed(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the loop or its sockets
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child,), daemon=True, name="hocba-worker")
        self.process.start()
        child.close()

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> tuple[bool, Any]:
        """Send one job and wait for its outcome (in a thread: this blocks)."""
        self.conn.send((fn, args))
        outcome: tuple[bool, Any] = self.conn.recv()
        return outcome

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=2)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def too_busy() -> Unavailable:
    return Unavailable(
        "workers.busy",
        "Hệ thống đang bận xử lý các tệp khác; vui lòng thử lại sau ít giây.",
        "The service is busy with other uploads; retry in a few seconds.",
        rule="Điều 20",
    )


def too_heavy() -> TooLarge:
    return TooLarge(
        "upload.too_large",
        "Tệp cần quá nhiều bộ nhớ để xử lý.",
        "The file needs too much memory to process.",
        field="file",
        rule="Điều 20",
    )


def too_slow(seconds: float) -> TooLarge:
    return TooLarge(
        "upload.timeout",
        f"Tệp cần quá {seconds:g} giây để xử lý; hệ thống đã dừng việc đọc tệp này.",
        f"The file needs more than {seconds:g} seconds to process; reading it was stopped.",
        field="file",
        rule="Điều 20",
    )


class WorkerPool:
    """At most `size` jobs at a time, each in a worker process of its own, at most `queue` waiting."""

    def __init__(self, size: int | None = None, *, queue: int = QUEUE_BOUND, seconds: float = JOB_SECONDS) -> None:
        self.size = max(1, size or os.cpu_count() or 1)
        self.queue = queue
        self.seconds = seconds
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._waiting = 0
        self._free: asyncio.Semaphore | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def waiting(self) -> int:
        return self._waiting

    async def run(self, fn: Callable[..., T], *args: Any, seconds: float | None = None) -> T:
        """`fn(*args)` in a worker process, within `seconds` (JOB_SECONDS by default)."""
        if self._closed:
            raise too_busy()
        if self._free is None:
            self._free = asyncio.Semaphore(self.size)
            self._threads = ThreadPoolExecutor(max_workers=self.size, thread_name_prefix="hocba-worker")
        if self._free.locked() and self._waiting >= self.queue:
            raise too_busy()
        self._waiting += 1
        try:
            await self._free.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._run(fn, args, seconds or self.seconds)
        finally:
            self._free.release()

    async def _run(self, fn: Callable[..., T], args: tuple[Any, ...], seconds: float) -> T:
        loop = asyncio.get_running_loop()
        worker = self._idle.pop() if self._idle else await loop.run_in_executor(self._threads, _Worker)
        self._busy.add(worker)
        call = loop.run_in_executor(self._threads, worker.call, fn, args)
        call.add_done_callback(_consumed)  # after a timeout no one awaits it: its worker was killed
        try:
            ok, value = await asyncio.wait_for(asyncio.shield(call), seconds)
        except TimeoutError:
            log.warning("upload job over its time limit; its worker is killed", job=fn.__name__, seconds=seconds)
            await self._discard(worker)
            raise too_slow(seconds) from None
        except (EOFError, OSError):  # the worker died on the job (the memory limit, a crash)
            await self._discard(worker)
            raise too_heavy() from None
        except BaseException:  # cancelled (the client went away): never reuse a worker mid-job
            await self._discard(worker)
            raise
        self._busy.discard(worker)
        self._idle.append(worker)
        if isinstance(value, MemoryError):
            raise too_heavy()
        if not ok:
            raise value
        result: T = value
        return result

    async def _discard(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        await asyncio.get_running_loop().run_in_executor(None, worker.kill)

    async def close(self) -> None:
        """Stop every worker process (the service is shutting down)."""
        self._closed = True
        idle, self._idle = self._idle, []
        loop = asyncio.get_running_loop()
        for worker in idle:
            await loop.run_in_executor(None, worker.stop)
        for worker in list(self._busy):  # a job still running when the service stops
            await loop.run_in_executor(None, worker.process.kill)
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
