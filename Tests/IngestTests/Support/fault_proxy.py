#!/usr/bin/env python3
"""A TCP forwarder for broker failover tests: 127.0.0.1:<port> -> <host>:<port>.

    fault_proxy.py TARGET_HOST TARGET_PORT

Prints the port it listens on (a free one) on its first line, then forwards
every connection both ways. SIGUSR1 makes it swallow what the target sends from
then on (the client's bytes still reach the target): a broker whose publisher
confirms never arrive; it answers with the line "swallowing". Killing it closes
every connection: a lost broker node.
"""
import signal
import socket
import sys
import threading

swallow = threading.Event()


def swallow_from_now(*_):
    swallow.set()
    print("swallowing", flush=True)


def pump(src, dst, from_target):
    # Signals go to the main thread (which then leaves accept() and runs the handler at once).
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if from_target and swallow.is_set():
                continue
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    # The parent may have started us with SIGUSR1 blocked (an inherited signal mask).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
    signal.signal(signal.SIGUSR1, swallow_from_now)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    while True:
        client, _ = listener.accept()
        try:
            target = socket.create_connection((host, port))
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, target, False), daemon=True).start()
        threading.Thread(target=pump, args=(target, client, True), daemon=True).start()


if __name__ == "__main__":
    main()
