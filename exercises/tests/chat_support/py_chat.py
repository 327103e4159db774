"""The notes' Python chat (作业 › 多线程聊天器), as the tests drive it.

Like the notes' script: one UDP socket, a thread that receives and decodes each datagram as
the wire encoding (strictly, as `.decode('gbk')` does), and sending with `sendto`. For the
tests it differs in what they need to see:

- it binds the address given on the command line (port 0: any free port) and prints it;
- it reads commands, one JSON object per line, from stdin instead of `input()`:
    {"peer": ["127.0.0.1", 30001]}   where to send
    {"send": "text"}                  send text.encode(encoding), as the notes do
    {"raw": "c4e3ff"}                 send these bytes; prints what Python decodes them to
    {"python_replace": "text"}        prints text.encode(encoding, 'replace'), decoded back
    {"quit": true}                    close the socket and exit
- everything it prints is a JSON object on one line, on stdout;
- where the notes' script would fail, it writes a line to stderr and goes on, so a test can
  assert that stderr stays empty: a datagram longer than the notes' recvfrom(1024) (which would
  be cut), bytes that .decode() rejects (which would kill the receiving thread), any exception.
"""

import json
import socket
import sys
import threading

NOTES_RECV_SIZE = 1024
print_lock = threading.Lock()


def say(**fields):
    with print_lock:
        print(json.dumps(fields, ensure_ascii=True), flush=True)


def complain(message):
    with print_lock:
        print(message, file=sys.stderr, flush=True)


def recv_msg(udp_socket, encoding):
    while True:
        try:
            data, address = udp_socket.recvfrom(65536)
        except OSError:
            return  # the socket was closed: quit
        try:
            if len(data) > NOTES_RECV_SIZE:
                complain(f"recvfrom({NOTES_RECV_SIZE}) would cut a {len(data)}-byte datagram")
            text = data.decode(encoding)
        except UnicodeDecodeError as e:
            complain(f"decode error (the notes' receiving thread would die): {e}")
            continue
        say(received=text, length=len(data), source=[address[0], address[1]])


def main():
    host, port, encoding = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp_socket = socket.socket(family, socket.SOCK_DGRAM)
    udp_socket.bind((host, port))
    bound = udp_socket.getsockname()
    say(bound=[bound[0], bound[1]])
    threading.Thread(target=recv_msg, args=(udp_socket, encoding), daemon=True).start()
    peer = None
    for line in sys.stdin:
        try:
            command = json.loads(line)
            if "peer" in command:
                peer = tuple(command["peer"])
            elif "send" in command:
                data = command["send"].encode(encoding)
                udp_socket.sendto(data, peer)
                say(sent=len(data))
            elif "raw" in command:
                data = bytes.fromhex(command["raw"])
                udp_socket.sendto(data, peer)
                say(sent_raw=command["raw"], python_reads=data.decode(encoding, "replace"))
            elif "python_replace" in command:
                text = command["python_replace"]
                say(python_replace=text.encode(encoding, "replace").decode(encoding))
            elif "quit" in command:
                break
        except Exception as e:  # noqa: BLE001 - the test must see every failure
            complain(f"{type(e).__name__}: {e}")
    udp_socket.close()


if __name__ == "__main__":
    main()
