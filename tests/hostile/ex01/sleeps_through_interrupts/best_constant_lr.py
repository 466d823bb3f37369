import signal
import time
signal.signal(signal.SIGINT, signal.SIG_IGN)
time.sleep(10**6)
# SOLUTION
