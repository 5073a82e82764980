"""The garbage collector in the service's long-lived processes (I/O: none).

Python's collector walks every container object it tracks when its oldest generation is
collected: in a process that has Prefect, SQLAlchemy, pypdf and docxtpl imported, some 170,000
to 400,000 objects, nearly all of them modules, classes and caches that live as long as the
process. ``freeze`` moves what is alive once the process is warm out of the collector's reach
(``gc.freeze``): the collector then walks only what was made since. Measured on a pass of 500
applications (issue 20): collecting took the flow process 0.29 s, a fifth of that once frozen,
and a reading process about 1 ms per application, half of that once frozen.

A frozen object is never collected: a cycle that was still alive when the process froze and
dies later is not freed. So a process freezes when it has loaded what it keeps (a reading
process after its imports, the pass runner after its first intake pass), and collects first,
so that no garbage is frozen. In the warm start process it also keeps the forked runs from
writing to the pages they share with it, as a collection would (it marks each object it walks).
"""

from __future__ import annotations

import atexit
import gc


def freeze(*, collect: bool = True) -> None:
    """Collect, then exempt every object alive now from later collections. At exit the
    objects are handed back, so that the interpreter's shutdown frees them as before (else
    extension modules report them as leaked).

    ``collect=False`` for a process that made no garbage since it was forked from one that
    holds none (a reading process forked from the warm start's fork server, which only
    imported modules: 6 unreachable objects of 128,000): the collection would walk every
    object for nothing, 60–85 ms of a reading process's start, on the run's critical path."""
    if collect:
        gc.collect()
    gc.freeze()
    atexit.unregister(gc.unfreeze)  # once, however often a process freezes
    atexit.register(gc.unfreeze)
