"""Optional CPU profile of a Runnel measurement (PROFILE_ROWS): `perf record -e cpu-clock -g`
(a software event: no hardware counters needed, as on VMs) on the given pids while the
measurement runs, then a flat `perf report` by thread name, object and symbol as text."""
import os
import re
import signal
import subprocess

from procs import Proc, run


class Profile:
    def __init__(self, pids, out_stem):
        self.pids, self.data, self.text = pids, out_stem + ".perf.data", out_stem + ".perf.txt"
        self.proc = None

    def __enter__(self):
        cmd = ["perf", "record", "-e", "cpu-clock", "-F", "499", "-g", "-o", self.data]
        cmd += ["-p", ",".join(str(p) for p in self.pids)] if self.pids else ["-a"]
        try:
            self.proc = Proc("perf record", cmd, self.data + ".log")
        except OSError as e:
            print(f"  (no profile: {e})", flush=True)
        return self

    def __exit__(self, *exc):
        if self.proc is None:
            return
        if self.proc.alive():
            os.kill(self.proc.pid, signal.SIGINT)
            try:
                self.proc.p.wait(60)
            except subprocess.TimeoutExpired:
                pass
        self.proc.stop()
        with open(self.text, "w") as f:
            for sort, limit in (("comm,dso", "2"), ("comm,dso,symbol", "0.7")):
                rc, out, err = run(["perf", "report", "-i", self.data, "--stdio", "--no-children", "-g", "none",
                                    "--sort", sort, "--percent-limit", limit], timeout=600)
                f.write(f"## perf report --no-children --sort {sort} --percent-limit {limit}\n")
                for line in (out if rc == 0 else err).splitlines():
                    if line.startswith("#") and not line.startswith("# Samples"):
                        continue
                    # Swift symbols make perf pad every column very wide: squeeze the padding.
                    line = re.sub(r"\s+-\s+-\s*$", "", line.rstrip())
                    f.write(re.sub(r"\s{3,}", "  ", line) + "\n")
        os.unlink(self.data)
        print(f"  profile: {self.text}", flush=True)
