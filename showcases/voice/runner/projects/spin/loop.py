"""Spin forever, to show the runner's time limit."""

print("Spinning forever...", flush=True)
while True:
    pass
