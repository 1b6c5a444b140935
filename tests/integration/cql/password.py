#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# password.py -- `spate cql` never takes a password in argv (every user can read it in ps)
# and asks on the terminal with echo off. Needs no Cassandra: port 1 refuses, after the
# prompt. Usage: password.py SPATE_BIN. Prints "N passed, N failed".
import os
import pty
import subprocess
import sys
import time

spate = sys.argv[1]
passed = failed = 0


def check(cond, msg, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + msg)
    else:
        failed += 1
        print("FAIL " + msg + (": " + str(detail)[:300] if detail != "" else ""))


for args in (["-p", "hunter2"], ["--password=hunter2"], ["-phunter2"]):
    r = subprocess.run([spate, "cql", "-H", "127.0.0.1", "-P", "1", "-u", "alice", *args, "-e", "SELECT 1"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "visible to every user" in r.stderr and "hunter2" not in r.stderr,
          f"spate cql {' '.join(args)}: refused (exit 2), the password is not echoed", (r.returncode, r.stderr))

# -p alone: asked on the terminal, not echoed, not in the process's argv
pid, fd = pty.fork()
if pid == 0:
    os.execv(spate, [spate, "cql", "-H", "127.0.0.1", "-P", "1", "-u", "alice", "-p", "-e", "SELECT 1"])
out = b""
deadline = time.time() + 20
while b"password" not in out and time.time() < deadline:
    try:
        out += os.read(fd, 1024)
    except OSError:
        break
cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
os.write(fd, b"hunter2\n")
while time.time() < deadline:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
text = out.decode(errors="replace")
check("Cassandra password for alice" in text, "-p asks for the password on the terminal", text)
check("hunter2" not in text, "the typed password is not echoed", text)
check(b"hunter2" not in cmdline, "nor in the process's argv", cmdline)
check(os.WEXITSTATUS(status) == 1 and "cannot connect" in text, "then connects (here: refused, exit 1)", text)
print(f"password: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
