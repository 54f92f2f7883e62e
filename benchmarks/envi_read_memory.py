"""Peak memory and time of reading an ENVI scene in memory vs chunked on dask (one thread).

Usage (each mode in a fresh process):  python benchmarks/envi_read_memory.py write 1000 /tmp
  python benchmarks/envi_read_memory.py memory 1000 /tmp;  python benchmarks/envi_read_memory.py chunks 1000 /tmp
"""
import resource, sys, time
import numpy as np
mode, rows = sys.argv[1], int(sys.argv[2])
hdr = f"{sys.argv[3] if len(sys.argv) > 3 else '/tmp'}/scene{rows}.hdr"
if mode == "write":
    from spectral.io import envi
    rng = np.random.default_rng(0)
    cube = rng.integers(0, 10000, (rows, rows, 224), dtype=np.int16)
    envi.save_image(hdr, cube, force=True, ext=".img", interleave="bil",
                    metadata={"wavelength": list(np.linspace(400, 2500, 224)), "wavelength units": "nm",
                              "reflectance scale factor": 10000})
    sys.exit()
import threading
peak = {"anon": 0, "file": 0}
def _poll():
    while True:
        d = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith("Rss"))
        peak["anon"] = max(peak["anon"], int(d["RssAnon"].split()[0]) // 1024)
        peak["file"] = max(peak["file"], int(d["RssFile"].split()[0]) // 1024)
        time.sleep(0.005)
threading.Thread(target=_poll, daemon=True).start()
import dask
from hsaug.readers import read_envi
t = time.perf_counter()
if mode == "memory":
    m = float(read_envi(hdr).values.mean(dtype=np.float64))
else:
    with dask.config.set(scheduler="synchronous"):
        m = float(read_envi(hdr, chunks=(100, 100)).data.mean(dtype=np.float64).compute())
dt = time.perf_counter() - t
print(f"{mode} {rows}x{rows}x224 int16: mean {m:.2f}, {dt:.2f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB (anonymous {peak['anon']} MiB, file-backed {peak['file']} MiB)")
