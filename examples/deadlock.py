"""A service that deadlocked: two workers each hold one lock and want the other.

Run: python3 examples/deadlock.py [READY_FILE]
The READY_FILE (optional) is created once both workers are stuck.
"""
import os
import sys
import threading
import time

accounts_lock = threading.Lock()
audit_lock = threading.Lock()
both_hold = threading.Barrier(3)


def transfer():
    with accounts_lock:
        both_hold.wait()
        with audit_lock:  # waits forever: audit() holds it
            pass


def audit():
    with audit_lock:
        both_hold.wait()
        with accounts_lock:  # waits forever: transfer() holds it
            pass


def main():
    workers = [threading.Thread(target=transfer, name="transfer"),
               threading.Thread(target=audit, name="audit")]
    for w in workers:
        w.start()
    both_hold.wait()
    time.sleep(0.1)
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            f.write(str(os.getpid()))
    for w in workers:
        w.join()


if __name__ == "__main__":
    main()
